"""Where sources disagree (rag.conflicts, rag.claims): invented passages, one article each unless said."""

from rag.claims import read_claims
from rag.conflicts import find_conflicts
from rag.disagreement import about
from vectorstore.records import Hit


def hit(n, text, outlet=None, published_at=None, article=None):
    return Hit(f"c{n}", article or f"art-{n}", text, 0, len(text), 0.8, f"Title {n}", f"/src/{n}",
               outlet=outlet, published_at=published_at)  # fmt: skip


def conflicts(question, *passages):
    return find_conflicts(question, [p if isinstance(p, Hit) else hit(n, p) for n, p in enumerate(passages)])


def sides(conflict):
    """The passages on each side of a conflict, side by side."""
    found = {}
    for v in conflict.values:
        found.setdefault(v.side, []).append(v.passage)
    return [found[k] for k in sorted(found)]


def only(found):
    assert len(found) == 1, found
    return found[0]


# Figures that disagree.


def test_two_death_tolls_disagree_and_each_side_is_cited():
    passages = [
        "The storm killed 1,200 people in Lorvik on Monday.",
        "Rescue workers said about 3,000 people had been killed by the storm.",
    ]
    c = only(conflicts("How many people were killed in the storm?", *passages))
    assert (c.kind, about(c), c.correction) == ("number", "the people killed", False)
    assert [(v.value, v.normalized, v.side) for v in c.values] == [("1,200", "1200", 0), ("about 3,000", "~3000", 1)]
    for v, text in zip(c.values, passages):
        start, end = v.sentence
        assert v.value in text[start:end]


def test_money_percentages_measurements_and_dates_that_differ():
    c = only(conflicts("How much did the bridge cost?", "The bridge cost $48 million.", "The bridge cost $52 million."))
    assert (about(c), [v.normalized for v in c.values]) == ("the cost of the bridge", ["USD 48000000", "USD 52000000"])
    c = only(
        conflicts(
            "What is the jobless rate?",
            "The jobless rate rose to 3.5% in May.",
            "The jobless rate rose to 3.9 per cent.",
        )
    )
    assert [v.normalized for v in c.values] == ["3.5 %", "3.9 %"]
    c = only(
        conflicts("How tall is the flood wall?", "The flood wall is 6.4 metres tall.", "The flood wall is 7.1 m tall.")
    )
    assert [v.normalized for v in c.values] == ["6.4 m", "7.1 m"]
    c = only(
        conflicts(
            "When did the bridge open?", "The bridge opened on 3 May 2024.", "The bridge was opened on 5 May 2024."
        )
    )
    assert (c.kind, about(c), [v.normalized for v in c.values]) == (
        "date",
        "when the bridge opened",
        ["2024-05-03", "2024-05-05"],
    )


def test_a_name_in_the_same_role():
    c = only(conflicts(
        "Who runs the water agency?",
        "The agency's director, Ana Ruiz, said the reservoir was safe.",
        "Director Tom Hale told reporters the agency would act.",
    ))  # fmt: skip
    assert (c.kind, about(c)) == ("name", "the director of the agency")
    assert [v.value for v in c.values] == ["Ana Ruiz", "Tom Hale"]


def test_one_article_denies_what_another_reports():
    c = only(
        conflicts("What happened to the minister?", "The minister resigned on Monday.", "The minister did not resign.")
    )
    assert (c.kind, about(c), [v.normalized for v in c.values]) == (
        "denial",
        "whether the minister resigned",
        ["reported", "denied"],
    )
    c = only(conflicts("What happened?", "The fire killed two workers at the plant.", "No one was killed in the fire."))
    assert [(v.passage, v.normalized) for v in c.values] == [(0, "reported"), (1, "denied")]
    c = only(
        conflicts("What happened?", "The company laid off 300 workers.", "The company denied that it laid off workers.")
    )
    assert c.values[1].value.startswith("denied that")


# Values that agree once normalised: the third, differing, article shows they were compared and grouped.


def test_counts_written_differently_agree():
    c = only(conflicts(
        "How many people were killed?",
        "The quake killed 1,200 people.", "The quake killed 1200 people.", "The quake killed twelve hundred people.",
        "The quake killed 1.2 thousand people.", "The quake killed 3,000 people.",
    ))  # fmt: skip
    assert sides(c) == [[0, 1, 2, 3], [4]]
    assert {v.normalized for v in c.values if v.side == 0} == {"1200"}


def test_percentages_measurements_and_money_written_differently_agree():
    c = only(
        conflicts(
            "What was the turnout?",
            "Turnout was 3.5 %.",
            "Turnout was 3.5 percent.",
            "Turnout was 3.5 per cent.",
            "Turnout was 4.1%.",
        )
    )
    assert sides(c) == [[0, 1, 2], [3]]
    walls = [
        "The wall is 6.4 m tall.",
        "The wall is 6.4 metres tall.",
        "The wall is 6.4 meters tall.",
        "The wall is 21 feet tall.",
    ]
    assert sides(only(conflicts("How tall is the wall?", *walls, "The wall is 8 metres tall."))) == [[0, 1, 2, 3], [4]]
    costs = [
        "The dam cost $48 million.",
        "The dam cost 48 million dollars.",
        "The dam cost US$48m.",
        "The dam cost $52 million.",
    ]
    assert sides(only(conflicts("How much did the dam cost?", *costs))) == [[0, 1, 2], [3]]


def test_qualifiers_and_ranges():
    """ "about X" reaches ±10 %, "more than X" the 10 % above, a range what it spans."""
    vague = ["The flood killed about 1,200 people.", "The flood killed 1,250 people.", "The flood killed 3,000 people."]
    assert sides(only(conflicts("How many people did the flood kill?", *vague))) == [[0, 1], [2]]
    above = [
        "The flood killed more than 1,000 people.",
        "The flood killed 1,050 people.",
        "The flood killed 1,250 people.",
    ]
    assert sides(only(conflicts("How many people did the flood kill?", *above))) == [[0, 1], [2]]
    at_least = ["At least four people died in the crash.", "Six people were killed in the crash."]
    assert only(conflicts("How many people died in the crash?", *at_least)).values[0].normalized == ">4"
    ranges = [
        "The flood killed between 1,100 and 1,300 people.", "The flood killed 1,200 people.",
        "The flood killed 1,100–1,300 people.", "The flood killed 2,000 people.",
    ]  # fmt: skip
    c = only(conflicts("How many people did the flood kill?", *ranges))
    assert sides(c) == [[0, 1, 2], [3]] and c.values[0].normalized == "1100-1300"


def test_dates_written_differently_agree_and_a_vaguer_date_sides_with_neither():
    dates = [
        "The bridge opened on 3 May 2024.", "The bridge opened on May 3, 2024.", "The bridge opened on 2024-05-03.",
        "The bridge opened in May 2024.", "The bridge opened on 5 May.",
    ]  # fmt: skip
    c = only(conflicts("When did the bridge open?", *dates))
    assert sides(c) == [[0, 1, 2], [4]]  # "May 2024" agrees with both


def test_three_articles_two_agreeing():
    c = only(conflicts(
        "How many homes were destroyed?",
        hit(0, "The fire destroyed 40 homes.", "Coast Herald", "2024-08-01"),
        hit(1, "The fire destroyed 55 homes, officials said.", "Valley News", "2024-08-02"),
        hit(2, "Forty homes were destroyed by the fire.", "Ridge Times", "2024-08-02"),
    ))  # fmt: skip
    assert sides(c) == [[0, 2], [1]]
    assert [(v.outlet, v.published_at) for v in c.values][:2] == [
        ("Coast Herald", "2024-08-01"),
        ("Ridge Times", "2024-08-02"),
    ]


# Corrections and the same article.


def test_a_later_article_of_the_same_outlet_is_a_correction():
    c = only(conflicts(
        "How many people were killed?",
        hit(0, "The storm killed 15 people.", "Daily Post", "2024-05-03"),
        hit(1, "The storm killed 12 people.", "daily post", "2024-05-01"),
    ))  # fmt: skip
    assert c.correction and [(v.value, v.side) for v in c.values] == [("12", 0), ("15", 1)]


def test_a_correction_takes_the_outlets_latest_value_to_other_outlets():
    post = [hit(0, "The storm killed 12 people.", "Daily Post", "2024-05-01"),
            hit(1, "The storm killed 15 people.", "Daily Post", "2024-05-03")]  # fmt: skip
    found = conflicts(
        "How many people were killed?", *post, hit(2, "The storm killed 15 people.", "Star", "2024-05-02")
    )
    assert [c.correction for c in found] == [True]
    found = conflicts(
        "How many people were killed?", *post, hit(2, "The storm killed 20 people.", "Star", "2024-05-02")
    )
    real = next(c for c in found if not c.correction)
    assert sorted(c.correction for c in found) == [False, True] and [v.passage for v in real.values] == [1, 2]


def test_the_same_outlet_undated_is_a_conflict_and_one_article_never_conflicts_with_itself():
    undated = [hit(0, "The storm killed 12 people.", "Daily Post"), hit(1, "The storm killed 15 people.", "Daily Post")]
    assert not only(conflicts("How many people were killed?", *undated)).correction
    chunks = [
        hit(0, "The storm killed 12 people.", article="a"),
        hit(1, "By Friday the storm killed 15 people.", article="a"),
    ]
    assert conflicts("How many people were killed?", *chunks) == []


def test_a_correction_notice_corrects_the_outlets_earlier_article():
    q = "How much will the sea wall repairs in Dunmere cost?"
    first = hit(
        0, "Repairs to the sea wall in Dunmere will cost £6 million, the council said.", "Harbour Post", "2024-03-01"
    )
    notice = hit(
        1,
        "On 1 March we reported that repairs to the Dunmere sea wall would cost £6 million. That was wrong. "
        "The correct figure is £9 million.",
        "Harbour Post",
        "2024-03-04",
    )
    c = only(conflicts(q, first, notice))
    assert c.correction and [(v.value, v.passage, v.side) for v in c.values] == [
        ("£6 million", 0, 0),
        ("£9 million", 1, 1),
    ]


# Not conflicts. Each case has a control, changed in the one respect the rule reads, that does conflict.


def test_agreeing_sources_are_no_conflict():
    q = "How many people were killed?"
    assert conflicts(q, "The quake killed 1,200 people.", "The quake killed twelve hundred people.") == []
    assert conflicts(q, "The quake killed 1,200 people.", "The quake killed thirteen hundred people.")
    assert conflicts("When did it open?", "The bridge opened on 3 May 2024.", "The bridge opened on May 3.") == []


def test_numbers_about_different_things():
    assert (
        conflicts("What happened?", "The clashes killed 1,200 soldiers.", "The clashes killed 3,000 civilians.") == []
    )
    assert conflicts("What happened?", "The clashes killed 1,200 soldiers.", "The clashes killed 3,000 soldiers.")
    assert conflicts("What happened?", "The city has 3 bridges.", "The bridge cost 48 million dollars.") == []
    assert conflicts("What happened?", "The storm injured 1,200 people.", "The storm killed 3,000 people.") == []
    assert conflicts("What happened?", "The storm killed 1,200 people.", "The storm killed 3,000 people.")
    assert conflicts("How much?", "The bridge cost $48 million.", "The tunnel cost $52 million.") == []
    assert conflicts("How much?", "The bridge cost £48 million.", "The bridge cost $52 million.") == []
    assert conflicts("How much?", "The bridge cost $48 million.", "The bridge cost $52 million.")


def test_other_subjects_modifiers_and_years():
    assert conflicts("When?", "The bridge opened on 3 May 2024.", "The museum opened on 5 May 2024.") == []
    assert (
        conflicts("What happened?", "The bridge cost $48 million.", "Annual upkeep of the bridge costs $2 million.")
        == []
    )
    assert (
        conflicts("What happened?", "Another 300 people were evacuated.", "In all 1,200 people were evacuated.") == []
    )
    assert conflicts("What happened?", "300 people were evacuated.", "In all 1,200 people were evacuated.")
    assert conflicts("What happened?", "Floods killed 12 people in 2019.", "Floods killed 14 people in 2020.") == []
    assert conflicts("What happened?", "Floods killed 12 people in 2019.", "Floods killed 14 people in 2019.")


def test_changes_and_figures_of_other_years():
    q = "What is the jobless rate?"
    assert conflicts(q, "The jobless rate rose by 0.4 per cent.", "The jobless rate rose to 5.1 per cent.") == []
    assert conflicts(q, "The jobless rate rose to 4.8 per cent.", "The jobless rate rose to 5.1 per cent.")
    old, new = hit(0, "The strike closed 40 schools.", published_at="2019-03-01"), "The strike closed 55 schools."
    assert conflicts("How many schools closed?", old, hit(1, new, published_at="2023-03-01")) == []
    assert conflicts("How many schools closed?", old, hit(1, new, published_at="2019-03-02"))


def test_other_stories_and_updates_of_a_growing_total():
    q = "How many people died in the Corran landslide?"
    corran, other = "The Corran landslide killed 12 people.", "The flood in Tessa Valley killed 40 people."
    assert conflicts(q, corran, other) == []  # the flood passage does not name Corran
    assert conflicts(q, corran, "The Corran landslide killed 14 people.")
    assert conflicts("How many people died?", "At Corran a landslide killed 12 people.", other) == []  # no name shared
    day = [hit(0, "The death toll from the landslide rose to 7.", published_at="2024-10-02")]
    assert (
        conflicts("What is the toll?", *day, hit(1, "The death toll has risen to 9.", published_at="2024-10-05")) == []
    )
    assert conflicts("What is the toll?", *day, hit(1, "The death toll has risen to 9.", published_at="2024-10-02"))


def test_an_article_giving_two_values_sits_the_thing_out():
    update = "The storm killed 1,200 people on Monday. By Friday the storm had killed 3,000 people."
    assert conflicts("How many people died?", update, "The storm killed 1,200 people.") == []
    assert conflicts("How many people died?", update.split(". ")[1], "The storm killed 1,200 people.")
    # "from … to …" is a change, not a range that would agree with 3,000
    assert [c.normalized for c in read_claims("It rose from 1,200 to 3,000 people.", (0, 35))] == ["1200", "3000"]


def test_years_identifiers_and_clock_times_are_not_quantities():
    text = "In 2019 crews closed Route 66 at 10:30 and evacuated 40 homes."
    assert [(c.written, c.unit) for c in read_claims(text, (0, len(text)))] == [("40", ("count", "home"))]
    route = ("Crews closed Route 66 roads at dawn.", "Crews closed Route 68 roads at dawn.")
    assert conflicts("What happened?", *route) == []  # a road's number is its name
    assert conflicts("What happened?", *(r.replace("Route ", "") for r in route))  # a count of roads conflicts


def test_names_in_roles_that_do_not_clash():
    roles = ["The agency's former director, Tom Hale, retired.", "The agency's director, Ana Ruiz, spoke."]
    assert conflicts("Who leads the agency?", *roles) == []
    assert conflicts("Who is mayor?", "Mayor Ana Ruiz spoke.", "Mayor Tom Hale spoke.") == []  # no organisation named
    assert conflicts("Who is mayor?", "The mayor of Lorvik, Ana Ruiz, spoke.", "Lorvik’s mayor, Tom Hale, spoke.")
    same = ["Ana Ruiz, the agency's director, spoke.", "Director Ana Ruiz of the agency spoke."]
    assert conflicts("Who leads the agency?", *same) == []


def test_negations_that_deny_nothing():
    assert conflicts("What happened?", "The firm did not respond to requests.", "The firm responded on Friday.") == []
    assert conflicts("What happened?", "The firm did not pay the fine.", "The firm paid the fine on Friday.")
    assert conflicts("What happened?", "It was not immediately clear how many died.", "At least 12 people died.") == []
    assert conflicts("What happened?", "The minister resigned.", "Critics asked whether the minister resigned.") == []


def test_only_the_kind_of_value_the_question_asks_for():
    dated = ["On 3 May the quake killed 1,200 people.", "On 4 May the quake killed 1,200 people."]
    assert conflicts("How many people did the quake kill?", *dated) == []
    assert (
        only(conflicts("When did the quake strike?", "The quake struck on 3 May.", "The quake struck on 4 May.")).kind
        == "date"
    )


# What a conflict is about, read as a reader would say it; values as written, in a sentence's middle.


def test_what_a_conflict_is_about_reads_as_a_noun_phrase():
    cases = [
        ("How many miners were killed at Dray Hill?", "The blast killed 14 miners at Dray Hill.",
         "Rescuers said 19 miners had been killed in the blast at Dray Hill.", "the miners killed"),
        ("How many residents of Orla Bay were evacuated?", "Officials evacuated 2,300 residents of Orla Bay.",
         "About 4,000 residents were evacuated from Orla Bay.", "the residents evacuated"),
        ("How many people joined the vigil in Carrow Square?", "Some 8,000 people joined a vigil in Carrow Square.",
         "About 20,000 people joined a vigil in Carrow Square on Friday.",
         "the people who joined a vigil in Carrow Square"),
        ("How much will the Tollgate Pier upgrade cost?", "The Tollgate Pier upgrade will cost £12 million, they said.",
         "Plans show a £19 million upgrade of Tollgate Pier.", "the cost of the Tollgate Pier upgrade"),
        ("What is unemployment in Brannock?", "Unemployment in Brannock rose to 6.1% in May.",
         "Unemployment in Brannock rose to 7.4 per cent in May.", "the unemployment in Brannock"),
        ("How long is the Carrow viaduct?", "The Carrow viaduct is 410 metres long.",
         "The Carrow viaduct is 380 m long.", "the length of the Carrow viaduct"),
        ("When does the Pellam ferry service end?", "The Pellam ferry service ends on 4 October.",
         "The Pellam ferry service ends on 11 October.", "when the Pellam ferry service ends"),
        ("When will the depot shut?", "Staff were told their last shift is on 2 June, when the depot shuts for good.",
         "The depot shuts for good on 9 June.", "when the depot shuts for good"),
        ("Did the harbour master resign?", "The Orla Bay harbour master resigned on Tuesday.",
         "The harbour master did not resign, the port authority said.",
         "whether the Orla Bay harbour master resigned"),
        ("What did the mayor deny?", "The mayor accepted a £5,000 gift from Orla Homes, the Courier reported.",
         "The mayor denied that she accepted a gift from Orla Homes.",
         "whether the mayor accepted a £5,000 gift from Orla Homes"),
        ("How fast was the bus going?", "The bus was travelling at 60 mph on the Orla road.",
         "Police said the bus was doing 45 mph on the Orla road.", "the speed of the bus"),
        ("How big is the Tarn estate?", "The Tarn estate covers 400 hectares.", "The Tarn estate covers 1,500 acres.",
         "the area of the Tarn estate"),
        ("By how much will rents in Vell go up?", "Rents in Vell will go up by 3% in May.",
         "Rents in Vell will go up by 6% in May.", "the rise in the rents in Vell"),
    ]  # fmt: skip
    for question, one, other, expected in cases:
        assert about(only(conflicts(question, one, other))) == expected, question
    c = only(conflicts(*cases[2][:3]))
    assert [v.value for v in c.values] == ["some 8,000", "about 20,000"]  # not "Some 8,000" mid-sentence


# Names in a role held for one event: the winning goal's scorer, a contest's winner.


def test_the_scorer_of_the_winning_goal():
    q = "Who scored the winning goal against Dunlow City?"
    header = "Mara Quist's late header beat Dunlow City at Rook Park."
    c = only(conflicts(q, header, "Tilde Onwu struck the winner against Dunlow City at Rook Park."))
    assert (c.kind, about(c), [v.value for v in c.values]) == (
        "name",
        "the scorer of the winning goal",
        ["Mara Quist", "Tilde Onwu"],
    )
    assert conflicts(q, header, "Mara Quist headed in the winner against Dunlow City at Rook Park.") == []
    # Other goals, another match, a team: no scorer of this winning goal.
    assert conflicts(q, "Tilde Onwu scored the opener against Dunlow City at Rook Park.", header) == []
    assert conflicts(q, "Tilde Onwu's header levelled the game against Dunlow City at Rook Park.", header) == []
    assert conflicts(q, header, "Tilde Onwu's header beat Dunlow City at Mill Field.") == []
    assert conflicts(q, "Carrow Athletic struck late to beat Dunlow City at Rook Park.", header) == []


def test_the_winner_of_a_contest():
    q, falk = "Who won the Harl marathon?", "Ines Falk won the Harl marathon on Sunday."
    c = only(conflicts(q, falk, "The Harl marathon was won by Oda Brenn."))
    assert (about(c), [v.value for v in c.values]) == ("the winner of the Harl marathon", ["Ines Falk", "Oda Brenn"])
    assert conflicts(q, falk, "The Harl marathon was won by Ines Falk.") == []
    women = falk.replace("the Harl", "the women's Harl")
    assert conflicts(q, women, "Oda Brenn won the Harl marathon on Sunday.") == []  # another race
    assert conflicts(q, "Ines Falk won the Harl marathon in 2021.", "Oda Brenn won the Harl marathon in 2023.") == []


def test_a_possessive_or_a_hyphen_does_not_change_a_name():
    same = ["The agency's director Ana Ruiz's plan was approved.", "Ana Ruiz, the agency's director, spoke."]
    assert conflicts("Who leads the agency?", *same) == []
    text = "Director Abel Mensah-Hart spoke."
    assert [c.written for c in read_claims(text, (0, len(text)))] == ["Abel Mensah-Hart"]


def test_a_correction_notice_alone_gives_what_it_takes_back_and_the_right_value():
    q = "How many homes lost power in Dray Hill?"
    notice = (
        "On Monday we reported that 640 homes in Dray Hill had lost power. That was wrong. The correct figure is 460."
    )
    c = only(conflicts(q, hit(0, notice, "Dray Post", "2024-02-06")))
    assert c.correction and [(v.value, v.passage, v.side) for v in c.values] == [("640", 0, 0), ("460", 0, 1)]
    assert about(c) == "the homes in Dray Hill"
    # It takes back two values: the right one is of the unit it gives.
    two = "On Monday we reported that 640 homes had lost power for 12 hours. The correct figure is 460 homes."
    c = only(conflicts("How many homes lost power?", hit(0, two, "Dray Post", "2024-02-06")))
    assert [v.value for v in c.values] == ["640", "460"]


def test_a_negation_of_a_later_time_or_another_year_denies_nothing():
    q, flooded = "Has the road flooded?", hit(0, "The road flooded twice last winter.", published_at="2024-02-01")
    since = hit(1, "The road has not flooded since the barrier was built.", published_at="2024-06-01")
    assert conflicts(q, flooded, since) == []
    assert conflicts(q, flooded, hit(1, "The road did not flood.", published_at="2027-06-01")) == []
    assert only(conflicts(q, flooded, hit(1, "The road did not flood.", published_at="2024-06-01"))).kind == "denial"
