"""Answer types, evidence and whole-answer checks: pure rules tested on invented examples."""

import pytest

from rag.backends.extractive import ExtractiveBackend
from rag.evidence import Evidence, unmentioned
from rag.judge import addresses, answered_plainly, first_repeat
from rag.question import answer_strength, answer_type, mentions, names
from rag.settings import Settings
from vectorstore.records import Hit


def hit(text, score=0.6, n=1, title=None):
    return Hit(f"c{n}", f"a{n}", text, 0, len(text), score, title, f"/src/{n}")


@pytest.mark.parametrize(
    "question, kind",
    [
        ("How many hives did the beekeepers lose over the winter?", "quantity"),
        ("What percentage of the orchard flooded?", "quantity"),
        ("What did the new lock gates cost?", "quantity"),
        ("What will the sea wall cost ratepayers?", "quantity"),
        ("What does the replacement bell weigh?", "quantity"),
        ("What did the warden say about the cost?", "quote"),
        ("When did the ferry resume sailing?", "date"),
        ("At what time did the alarm sound?", "date"),
        ("What did the harbour master call the new timetable?", "quote"),
        ("How did the growers describe the frost?", "quote"),
        ("Who repaired the lighthouse lens?", "person"),
        ("Which agency inspected the dam?", "organisation"),
        ("Where was the missing kayak found?", "place"),
        ("Which town hosts the cider festival?", "place"),
        ("Why was the regatta postponed?", "reason"),
        ("What caused the orchard fire?", "reason"),
        ("What is a cofferdam?", "definition"),
        ("Did the council approve the bike lanes?", "yesno"),
        ("Tell me about the bakery strike", "other"),
    ],
)
def test_questions_are_classified_by_the_answer_they_ask_for(question, kind):
    assert answer_type(question) == kind


@pytest.mark.parametrize(
    "kind, question, holds, loosely, lacks",
    [
        (
            "quantity",
            "How many hives were lost?",
            "Keepers lost 340 hives.",
            "The farm is 12 miles away.",
            "Keepers lost many hives.",
        ),
        (
            "quantity",
            "How much did the roof cost?",
            "The roof cost twelve thousand euros.",
            "It took 3 weeks.",
            "The roof was costly.",
        ),
        (
            "date",
            "At what time did the ferry sail?",
            "It sailed at 6:45 p.m. on Friday.",
            "It sailed on 3 May.",
            "It sailed after the storm.",
        ),
        (
            "date",
            "What year did the mill close?",
            "The mill closed in 2021.",
            "The mill closed in March.",
            "The mill closed for good.",
        ),
        (
            "person",
            "Who repaired the lens?",
            "The lens was repaired by engineer Tomas Verhoeven.",
            "The lens went to Harbour Works Ltd in Port Elrick.",
            "Engineers repaired the lens.",
        ),
        (
            "place",
            "Where was the kayak found?",
            "It was found near Port Elrick.",
            "Port Elrick wardens found it.",
            "It was found on a beach.",
        ),
        (
            "quote",
            "What did she call the plan?",
            "She called it “a paper fortress”.",
            "She called it cruel.",
            "She criticised the plan.",
        ),
        (
            "reason",
            "Why was the regatta postponed?",
            "It was postponed because of gales.",
            "It was postponed after a meeting.",
            "It was postponed.",
        ),
    ],
)
def test_a_sentence_holds_the_kind_of_answer_asked_for_surely_loosely_or_not(kind, question, holds, loosely, lacks):
    assert answer_strength(kind, holds, question) == 1.0
    assert answer_strength(kind, loosely, question) == pytest.approx(0.5, abs=0.2)
    assert answer_strength(kind, lacks, question) == 0.0


def test_a_number_the_question_gives_is_no_answer():
    assert answer_strength("date", "The pact was signed in 2019.", "Where was the pact of 2019 signed?") == 0.0
    inspected = "The Water Safety Authority inspected it."
    assert answer_strength("organisation", inspected, "Which agency inspected the dam?") == 1.0


def test_names_are_capitalised_runs_without_question_words_titles_or_a_lone_opening_word():
    assert names("Did Dr. Lena Ostrova visit the Kessel Valley dam?") == ["Lena Ostrova", "Kessel Valley"]
    assert names("Officials said the Harbor Board met.") == ["Harbor Board"]
    assert names("Where did Ruiz and Abara meet?") == ["Ruiz", "Abara"]
    assert mentions("Lena Ostrova", "Ostrova, the inspector, said no.")
    assert mentions("NTSB", "The National Transportation Safety Board opened a file.")
    assert not mentions("Lena Ostrova", "The inspector said no.")


def test_a_question_naming_what_no_passage_mentions_is_not_covered():
    hits = [hit("The Kessel Valley dam was inspected in May by the regional water board.", 0.7)]
    assert unmentioned("When was the Brenna dam inspected?", hits) == ("Brenna",)
    assert unmentioned("When was the Kessel Valley dam inspected?", hits) == ()
    assert not Evidence(0.9, 0.9, 1.0, ("Brenna",)).covers(0.35)


@pytest.mark.parametrize(
    "evidence, covers",
    [
        (Evidence(0.50, 0.40, 0.30, ()), True),  # the passage as a whole is relevant
        (Evidence(0.28, 0.74, 0.50, ()), True),  # one sentence matches though the passage is about something else
        (Evidence(0.25, 0.45, 0.95, ()), True),  # the question's rare words together in one sentence
        (Evidence(0.10, 0.45, 0.95, ()), False),  # ... but in a passage about nothing near it
        (Evidence(0.25, 0.40, 0.40, ()), False),
    ],
)
def test_evidence_weighs_sentences_and_rare_words_not_only_passages(evidence, covers):
    assert evidence.covers(0.35) is covers


class WordsEmbedder:
    """Sentences sharing words with the question are closer (enough for ranking tests)."""

    def embed_batch(self, texts):
        from tests.conftest import FakeEmbedder

        return FakeEmbedder().embed_batch(texts)


def answer(question, passage, sentences=2):
    backend = ExtractiveBackend(WordsEmbedder(), Settings(max_sentences=sentences))
    return "".join(backend.stream(question, [hit(passage)], []))


def test_the_answer_quotes_the_neighbour_that_holds_the_kind_of_answer_asked_for():
    passage = (
        "The harbour master spoke about the ferry timetable at length on Monday. "
        "She called it “a paper fortress”. Dock workers gathered outside the harbour office."
    )
    text = answer("What did the harbour master call the ferry timetable?", passage)
    assert "a paper fortress" in text
    passage = (
        "Volunteers counted the colonies of the upland bee farms after the cold winter. "
        "In all, 1,240 hives were lost. The count is repeated each spring."
    )
    assert "1,240" in answer("How many hives did the upland bee farms lose?", passage)


def test_an_answer_that_misses_the_question_is_noticed():
    hits = [
        hit(
            "The city will spend 4 million on flood barriers along the river. "
            "Road repairs in the old town will cost 1.5 million. Parking fees rise in May."
        )
    ]
    question = "How much will the city spend on flood barriers?"
    assert addresses(question, "The city will spend 4 million on flood barriers [1].", hits)
    assert not addresses(question, "Road repairs in the old town will cost 1.5 million [1].", hits)
    assert not addresses(question, "The city discussed flood barriers at length [1].", hits)  # no amount


def test_a_refusal_is_contradicted_only_when_a_passage_plainly_answers():
    hits = [hit("The lighthouse lens was repaired by Tomas Verhoeven in April. Visitors may climb the tower.")]
    assert answered_plainly("Who repaired the lighthouse lens?", hits)
    assert not answered_plainly("Who painted the lighthouse door?", hits)


def test_a_looping_answer_is_cut_at_the_first_repeated_sentence():
    text = "The dam held through the storm [1]. Crews checked it twice [2]. The dam held through the storm [1]. Crews"
    cut = first_repeat(text)
    assert text[:cut].strip() == "The dam held through the storm [1]. Crews checked it twice [2]."
    assert first_repeat("Yes. Yes. It rained all week [1].") is None  # short sentences are not a loop
    assert first_repeat("It rained all week [1]. It rained all", complete=False) is None


def test_the_names_that_place_a_question_weigh_less_than_what_it_asks():
    passage = (
        "BRACKEN FALLS, May 2 (Wire) — Orrin Valve Works Ltd said on Friday it would recall 800 pressure valves "
        "sold to Orrin Valve Works customers in three counties. "
        "Chief executive Marta Quist said the company regretted the fault and would replace every valve."
    )
    assert "Marta Quist" in answer("Who is the chief executive of Orrin Valve Works?", passage, sentences=1)


def test_words_opening_a_sentence_or_line_are_no_names_and_a_month_is_no_typo_of_a_name():
    assert names("Where did the ferry leave from? Give details.") == []
    assert names("So what did the divers find?\nBe brief.") == []
    assert names("What happened at 9:40 A.M.?") == []
    assert not mentions("Marsh", "The ferry sailed on 3 March.")
    assert mentions("Brandt", "Ilse Brandt, the skipper, said the harbour was calm.")


def test_a_number_in_the_question_is_removed_from_a_sentence_only_where_it_stands_alone():
    assert answer_strength("date", "Route 9 opened in 1990.", "What year did Route 9 open?") == 1.0
    assert (
        answer_strength(
            "quantity", "In all 2 ferries and 12 barges sank.", "How many barges sank besides the 2 ferries?"
        )
        > 0
    )


def test_a_question_longer_than_a_question_is_refused_in_one_line(tmp_path, fake_embedder):
    from rag import Assistant, DossierError

    with pytest.raises(DossierError, match="characters long; ask in under"):
        Assistant(tmp_path / "store", embedder=fake_embedder).ask("why " * 1000)
