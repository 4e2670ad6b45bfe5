"""Answers that say where their sources disagree: the extractive answer names each side, cited, on a real store
with the bundled MiniLM; a model's answer keeps its text and gains the conflicts (rag/disagreement.py)."""

import pytest

from rag import Assistant, Library, Settings
from rag.answer import Answer, Citation, Sentence
from rag.conflicts import find_conflicts
from rag.disagreement import about, on_question, reported, with_conflicts
from vectorstore.records import Hit

QUESTION = "How many homes did the storm destroy in Ardmoor?"
# Two outlets give one count, written two ways; a third gives another.
REPORTS = {
    "gazette.md": ("Moor Gazette", "2025-10-04", "Storm Hits Ardmoor", "The storm destroyed 140 homes in Ardmoor."),
    "wire.md": ("Coastal Wire", "2025-10-05", "Ardmoor Counts the Cost", "The storm destroyed 320 homes in Ardmoor."),
    "radio.md": (
        "Radio North",
        "2025-10-05",
        "Firefighters Reach Ardmoor",
        "The storm destroyed three hundred and twenty homes in Ardmoor.",
    ),
}


def hit(n: int, text: str, outlet: str, day: str) -> Hit:
    return Hit(f"c{n}", f"a{n}", text, 0, len(text), 0.8, f"Title {n}", f"/s/{n}", outlet=outlet, published_at=day)


@pytest.mark.model
def test_the_extractive_answer_names_each_side_with_its_outlet_and_date(tmp_path, minilm):
    (tmp_path / "articles").mkdir()
    for name, (outlet, day, title, body) in REPORTS.items():
        front = f"---\ntitle: {title}\ndate: {day}\nsource: {outlet}\n---\n\n"
        (tmp_path / "articles" / name).write_text(front + body + " Roads into the valley stayed closed.\n")
    library = Library(tmp_path / "store", Settings(top_k=3), minilm)
    assert {r.status for r in library.ingest([tmp_path / "articles"])} == {"added"}
    answer = Assistant(library).ask(QUESTION)
    assert answer.text.startswith("Reports differ on the homes destroyed: ")
    (conflict,) = answer.to_dict()["conflicts"]
    sides = {side["value"]: side for side in conflict["values"]}
    assert set(sides) == {"140", "320"} and conflict["kind"] == "number" and not conflict["correction"]
    assert len(sides["320"]["citations"]) == 2  # the agreeing reports are one side, each cited
    for side in conflict["values"]:
        for n in side["citations"]:
            cited = answer.citations[n - 1]
            start, end = cited.highlights[0]
            assert side["value"].split()[0] in cited.text or "hundred" in cited.text[start:end]
            assert f"[{n}]" in answer.text
    assert "(Moor Gazette, 4 Oct 2025)" in answer.text and all(s.supported for s in answer.sentences)


def test_values_that_agree_after_normalising_are_no_conflict_and_a_later_same_outlet_value_is_a_correction():
    agree = [
        hit(1, "The storm destroyed 320 homes in Ardmoor.", "Coastal Wire", "2025-10-05"),
        hit(2, "The storm destroyed three hundred and twenty homes in Ardmoor.", "Radio North", "2025-10-05"),
    ]
    assert find_conflicts(QUESTION, agree) == []
    corrected = [
        hit(1, "The storm destroyed 140 homes in Ardmoor.", "Moor Gazette", "2025-10-04"),
        hit(2, "Correction: the storm destroyed 410 homes in Ardmoor.", "Moor Gazette", "2025-10-06"),
    ]
    (conflict,) = find_conflicts(QUESTION, corrected)
    assert conflict.correction and [v.value for v in conflict.values] == ["140", "410"]


def test_a_models_answer_keeps_its_text_and_cites_the_other_side():
    hits = [hit(1, "The storm destroyed 140 homes in Ardmoor.", "Moor Gazette", "2025-10-04"),
            hit(2, "The storm destroyed 320 homes in Ardmoor.", "Coastal Wire", "2025-10-05")]  # fmt: skip
    first = hits[0]
    own = Citation(1, first.article_id, first.title, first.source, first.text, first.start, first.end, 0.8)
    written = Answer("The storm destroyed 140 homes [1].", (own,), False, (Sentence("…", (1,), True, "quoted"),))
    answer = with_conflicts(written, find_conflicts(QUESTION, hits), hits)
    assert answer.text == written.text and [c.n for c in answer.citations] == [1, 2]
    (conflict,) = answer.conflicts
    assert [(v.value, v.citations, v.outlet) for v in conflict.values] == [
        ("140", (1,), "Moor Gazette"),
        ("320", (2,), "Coastal Wire"),
    ]
    assert answer.citations[1].highlights == ((0, len(hits[1].text)),)
    assert conflict.values[0].quote == hits[0].text  # what the page quotes, though [1] highlights the answer's own


def test_a_question_in_other_words_for_the_same_thing_still_meets_its_conflict():
    hits = [hit(1, "The flood killed 1,200 people in Norvale.", "Moor Gazette", "2025-10-04"),
            hit(2, "The flood killed 3,000 people in Norvale.", "Coastal Wire", "2025-10-05")]  # fmt: skip
    for question in ("How many died in the Norvale flood?", "What was the death toll of the Norvale flood?"):
        found, answers = on_question(find_conflicts(question, hits), question)
        assert [about(c) for c in found] == ["the people killed"] and answers, question


def test_a_conflict_about_something_else_is_not_what_a_question_is_answered_with():
    hits = [hit(1, "The storm destroyed 140 homes in Ardmoor.", "Moor Gazette", "2025-10-04"),
            hit(2, "The storm destroyed 320 homes in Ardmoor.", "Coastal Wire", "2025-10-05")]  # fmt: skip
    found = find_conflicts(QUESTION, hits)
    assert on_question(found, "What are the beekeepers along the coast doing?") == ([], False)
    assert on_question(found, QUESTION) == (found, True)  # asks for the count they differ on
    assert on_question(found, "Why were homes in Ardmoor destroyed?") == (found, False)  # related, not asked for


def test_a_correction_says_what_the_value_became_and_a_notice_read_alone_answers():
    corrected = [
        hit(1, "The storm destroyed 140 homes in Ardmoor.", "Moor Gazette", "2025-10-04"),
        hit(2, "Correction: the storm destroyed 410 homes in Ardmoor.", "Moor Gazette", "2025-10-06"),
    ]
    assert reported(find_conflicts(QUESTION, corrected), corrected).text == (
        "A report on the homes destroyed was corrected from 140 [1] (Moor Gazette, 4 Oct 2025) "
        "to 410 [2] (Moor Gazette, 6 Oct 2025)."
    )
    text = (
        "On Friday we reported that the storm destroyed 140 homes in Ardmoor. That was wrong. The right figure is 410."
    )
    notice = [hit(1, text, "Moor Gazette", "2025-10-06")]
    question = "What is the latest figure for homes destroyed in Ardmoor?"  # asks for no number: a quote would do
    found, answers = on_question(find_conflicts(question, notice), question)
    assert answers and reported(found, notice).text == (
        "A report on the homes destroyed was corrected from 140 [1] to 410 [1] (Moor Gazette, 6 Oct 2025)."
    )
    found, answers = on_question(find_conflicts(question, corrected), question)
    assert found and not answers  # the corrected article is there to quote
