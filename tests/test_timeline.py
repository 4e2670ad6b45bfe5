"""Answers to "how has X changed?": which questions ask it, the dated list of one quoted line per article,
oldest first, and which earlier figures a later one supersedes (rag.dates, rag.timeline; pure)."""

import pytest

from dossier_core.text import content_words
from rag.dates import asks_timeline, topic
from rag.timeline import Entry, entry, one_per_article, timeline
from vectorstore.records import Hit


def hit(n: int, text: str, day: str | None, outlet: str = "", score: float = 0.8) -> Hit:
    return Hit(f"c{n}", f"a{n}", text, 0, len(text), score, f"Title {n}", f"/s/{n}", outlet=outlet, published_at=day)


def whole(h: Hit) -> Entry:
    return Entry(h, (0, len(h.text)))


@pytest.mark.parametrize(
    "question",
    [
        "How has the price of a season ticket at Corran Park changed?",
        "how have bus fares in Elvet changed since 2021?",
        "How did the size of the herd change over the last decade?",
        "How is the vaccination rate evolving?",
        "What has happened with the Ashby pier?",  # "since May" cut from it by the date filter
        "Give me a timeline of the Quarry Lane dispute.",
        "What has happened with the Ashby pier since March?",
        "What happened to the Ashby pier since the storm?",
        "Chronology of the Pellow inquiry, please",
        "How have house prices in Tarn shifted over the years?",
        "What is the history of the Ashby pier?",
    ],
)
def test_questions_asking_how_something_changed(question):
    assert asks_timeline(question)


@pytest.mark.parametrize(
    "question",
    [
        "How did the fire at the mill start?",
        "How did the fall of the old bridge happen?",
        "Who changed the rules of the league?",
        "How is the climate change levy spent?",
        "What is the change in the council's policy on parking?",
        "How does the new tide gauge work?",
        "What happened at the Ashby pier on Saturday?",
        "What happened to the ferry after the storm?",
        "How have the students moved in?",
    ],
)
def test_questions_that_do_not(question):
    assert not asks_timeline(question)


def test_the_topic_leaves_out_the_words_of_change():
    assert (
        topic("How has the toll on the Ferris bridge changed over the years?")
        == "How has the toll on the Ferris bridge?"
    )
    assert content_words(topic("Please give me a timeline of the Quarry Lane dispute.")) == {
        "quarry",
        "lane",
        "disput",
    }


def test_a_list_oldest_first_each_line_dated_and_cited_the_undated_last():
    entries = [
        whole(hit(1, "The toll on the Ferris bridge was set at £1.20 for cars.", "2019-04-02", "Ferris Council")),
        whole(hit(2, "The toll on the Ferris bridge is now £1.80 for cars.", "2022-07-15", "Ferris Post")),
        whole(hit(3, "The Ferris bridge toll is paid at the north end.", None, "Ferris Guide")),
    ]
    answer = timeline("How has the toll on the Ferris bridge changed?", entries)
    lines = answer.text.splitlines()
    assert lines[0] == "What the articles reported, oldest first:"
    assert lines[1].startswith("- 2 Apr 2019, Ferris Council: The toll on the Ferris bridge was set at £1.20")
    assert lines[1].endswith("[1] (superseded by £1.80 [2])")
    assert lines[2] == "- 15 Jul 2022, Ferris Post: The toll on the Ferris bridge is now £1.80 for cars. [2]"
    assert lines[3].startswith("- Undated, Ferris Guide:") and "superseded" not in lines[3]
    assert [c.article_id for c in answer.citations] == ["a1", "a2", "a3"]
    assert [s.citations for s in answer.sentences] == [(1, 2), (2,), (3,)]
    assert all(s.supported for s in answer.sentences) and not answer.abstained
    assert answer.citations[0].highlights == ((0, len(entries[0].hit.text)),)


def test_a_figure_is_superseded_only_by_another_value_of_the_same_thing():
    entries = [
        whole(hit(1, "Ferry fares on the Holm crossing rose to £3.00 for adults.", "2020-01-10")),
        whole(hit(2, "The Holm crossing carried 41,000 passengers last year.", "2021-01-10")),  # another unit
        whole(hit(3, "Adult fares on the Holm crossing are £3.00 again this year.", "2022-01-10")),  # agrees
        whole(hit(4, "Ferry fares on the Holm crossing went up to £3.40 for adults.", "2023-01-10")),
    ]
    answer = timeline("How have ferry fares on the Holm crossing changed?", entries)
    assert [s.citations for s in answer.sentences] == [(1, 4), (2,), (3, 4), (4,)]
    assert "(superseded by £3.40 [4])" in answer.text.splitlines()[1]


def test_a_figure_from_another_kind_of_source_does_not_supersede():
    entries = [
        whole(hit(1, "Unemployment in Carrow was 5.2%, according to the statistics office.", "2020-03-01")),
        whole(hit(2, "Unemployment in Carrow is 8.9%, according to a survey by the traders' guild.", "2021-03-01")),
        whole(hit(3, "Unemployment in Carrow fell to 4.8%, the statistics office said on Monday.", "2022-03-01")),
    ]
    answer = timeline("How has unemployment in Carrow changed?", entries)
    assert [s.citations for s in answer.sentences] == [(1, 3), (2,), (3,)]


def test_a_new_holder_of_a_role_supersedes_the_one_before():
    entries = [
        whole(hit(1, "Rhona Baird was elected mayor of Dunlee with 61% of the vote.", "2018-05-05")),
        whole(
            hit(2, "Tomas Veer was elected mayor of Dunlee, defeating the sitting mayor, Rhona Baird.", "2022-05-07")
        ),
    ]
    answer = timeline("How has the mayor of Dunlee changed?", entries)
    assert "(superseded by Tomas Veer [2])" in answer.text


def test_one_passage_per_article_about_what_the_question_names():
    hits = [
        hit(1, "The toll on the Ferris bridge rose to £1.80.", "2022-01-01", score=0.80),
        Hit("c1b", "a1", "Tolls on the Ferris bridge are paid by card.", 50, 99, 0.70, "T", "/s/1"),
        hit(2, "The toll on the Ferris bridge was £1.20.", "2019-01-01", score=0.66),
        hit(3, "The toll on the Marden bridge rose to £2.10.", "2022-01-01", score=0.74),  # another bridge
        hit(4, "The Ferris crossing was painted blue.", "2020-01-01", score=0.72),  # not its toll
        hit(5, "The toll on the Ferris bridge was £1.00.", "2015-01-01", score=0.40),  # below the floor
        hit(6, "The toll on the Ferris bridge is paid at the north end.", None, score=0.90),
    ]
    kept = one_per_article(topic("How has the toll on the Ferris bridge changed?"), hits, 0.55)
    assert [h.chunk_id for h in kept] == ["c2", "c1", "c6"]  # oldest first, the undated last


class _Candidate:
    def __init__(self, *texts: str):
        self.sentences = [type("S", (), {"text": t})() for t in texts]


def test_a_line_quotes_the_figure_the_question_asks_about_without_the_dateline():
    text = (
        "ELVET, March 3 (Norland Wire) - Bus fares in Elvet rose to £2.50 on Monday. "
        "Drivers said 40 routes were late. The council met on Friday."
    )
    fares, routes = (
        "ELVET, March 3 (Norland Wire) - Bus fares in Elvet rose to £2.50 on Monday.",
        "Drivers said 40 routes were late.",
    )
    council = "The council met on Friday."
    h = hit(1, text, "2024-03-03")
    scored = [(_Candidate(council), 1.2), (_Candidate(routes), 1.1), (_Candidate(fares), 0.9)]
    chosen = entry("How have bus fares in Elvet?", h, scored)
    assert text[slice(*chosen.quote)] == "Bus fares in Elvet rose to £2.50 on Monday."
    # Nothing gives a figure about fares: the best quote.
    assert text[slice(*entry("How have bus fares?", h, scored[:1]).quote)] == council


def test_only_a_figure_about_what_the_question_asks_is_superseded():
    entries = [
        whole(hit(1, "The toll on the Ferris bridge was £1.20. Repairs cost £40,000.", "2019-01-01")),
        whole(hit(2, "The toll on the Ferris bridge stays the same. Repairs cost £90,000.", "2021-01-01")),
    ]
    answer = timeline("How has the toll on the Ferris bridge?", entries)
    assert "superseded" not in answer.text


def test_articles_that_disagree_give_rival_figures_not_a_later_one():
    entries = [
        whole(hit(1, "The storm destroyed 140 homes in Ardmoor, the Moor Gazette reported.", "2025-10-04")),
        whole(hit(2, "The storm destroyed 320 homes in Ardmoor.", "2025-10-05")),
    ]
    question = "How has the count of homes destroyed in Ardmoor?"
    assert "(superseded by 320 [2])" in timeline(question, entries).text
    assert "superseded" not in timeline(question, entries, [frozenset({"a1", "a2"})]).text


def test_years_months_and_unreadable_dates_are_labelled_as_they_can_be():
    entries = [
        whole(hit(1, "The Corran levy was set at 2 per cent.", "1790")),
        whole(hit(2, "The Corran levy rose to 3 per cent.", "2025-06")),
        whole(hit(3, "The Corran levy is 3 per cent.", " ")),
    ]
    lines = timeline("How has the Corran levy changed?", entries).text.splitlines()
    assert lines[1].startswith("- 1790: The Corran levy") and lines[1].endswith("(superseded by 3 per cent [2])")
    assert lines[2].startswith("- Jun 2025: ") and lines[3].startswith("- Undated: ")


def test_a_figure_whose_clause_names_nothing_is_read_with_its_sentence():
    entries = [
        whole(hit(1, "The population of Wold Vale is estimated at 48,300, according to the council.", "2019-06-01")),
        whole(hit(2, "The population of Wold Vale has reached 51,900, council estimates show.", "2023-07-01")),
    ]
    assert "(superseded by 51,900 [2])" in timeline("How has the population of Wold Vale?", entries).text
