"""Scoring news-aware answers: the matching rules on hand-made answers, and one real run of `python -m rag.eval`
on a tiny invented news set (tests/fixtures/news-eval: a tram crash two outlets count differently, a pool's
visitors in 2021 and 2024)."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rag import Answer, Citation, DossierError
from rag.answer import Disagreement, Reported, Sentence
from rag.eval import contains_answer
from rag.eval_news import NewsQuestion, Scored, load_news, matches, news_tables, score, summarize_news, superseded
from rag.eval_news import in_order as in_date_order
from rag.timeline import SUPERSEDED

ROOT = Path(__file__).resolve().parents[1]
NEWS = Path(__file__).parent / "fixtures" / "news-eval"


def cite(n: int, article: str) -> Citation:
    return Citation(n, article, None, f"{article}.txt", "text", 0, 4, 0.8)


def answer(text: str, articles: list[str], conflicts=(), trace=None) -> Answer:
    citations = tuple(cite(n, a) for n, a in enumerate(articles, 1))
    return Answer(text, citations, False, conflicts=tuple(conflicts), trace=trace or {})


def sides(*numbers: tuple[int, ...], correction=False) -> Disagreement:
    return Disagreement("people killed", "number", tuple(Reported(str(n), n) for n in numbers), correction)


def test_load_news_reads_kinds_and_leaves_squad_style_sets_alone(tmp_path):
    questions = load_news(NEWS / "questions.jsonl")
    assert [q.kind for q in questions] == ["conflict", "no_conflict", "latest", "date_filter", "timeline"]
    assert questions[3].as_of == "2022-03-01" and questions[3].expected["since"] == "2021-01-01"
    assert load_news(Path(__file__).parent / "fixtures" / "eval" / "questions.jsonl") == []
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"question": "Who?", "kind": "latest", "expected": {}}\n{"question": "What?"}\n')
    with pytest.raises(DossierError, match="question 2 needs a kind"):
        load_news(mixed)


def test_a_conflict_matches_when_each_group_is_whole_on_a_side_of_its_own():
    reply = answer("Reports differ.", ["wire", "post", "radio", "blog"])
    assert matches(reply, sides((1, 3), (2,)), [["wire", "radio"], ["post"]])
    assert not matches(reply, sides((1,), (2,)), [["wire", "radio"], ["post"]])  # radio is cited on no side
    assert not matches(reply, sides((1, 2), (4,)), [["wire"], ["post"]])  # one side holds both groups
    assert matches(reply, sides((1,), (2,), (4,)), [["wire"], ["post"]])  # a third side does not undo it


def test_in_date_order_counts_the_longest_run_in_order():
    assert in_date_order(["b", "a", "c"], ["a", "b", "c"]) == 2
    assert in_date_order(["a", "x", "c"], ["a", "b", "c"]) == 2
    assert in_date_order([], ["a"]) == 0


def scored(question_id: str, reply: Answer) -> Scored:
    q = next(q for q in load_news(NEWS / "questions.jsonl") if q.id == question_id)
    return Scored(q, *score(q, reply, contains_answer), 10.0)


def test_summary_counts_wrong_and_stray_conflicts_against_precision():
    results = [
        scored("n-1", answer("Reports differ.", ["crash-wire", "crash-local"], [sides((1,), (2,))])),  # found
        scored("n-1", answer("Reports differ.", ["crash-wire", "pool-2021"], [sides((1,), (2,))])),  # wrong sides
        scored("n-2", answer("A two-year rebuild.", ["pool-2021", "pool-2024"], [sides((1,), (2,))])),  # stray
        scored("n-2", answer("It took a two-year rebuild [1].", ["pool-2021"])),
    ]
    figures = summarize_news(results)
    assert figures["conflict_precision"] == 0.3333  # 1 right of 3 answers reporting a conflict
    assert (figures["conflict_recall"], figures["conflict_recall_any"]) == (0.5, 1.0)
    assert figures["correction_accuracy"] == 1.0 and figures["no_conflict_answer_contains"] == 1.0
    assert [m["id"] for m in figures["misses"]] == ["n-1", "n-2"]
    assert "reported [[['crash-wire'], ['pool-2021']]]" in figures["misses"][0]["why"]
    table = news_tables(figures)
    assert "| conflict precision | 0.333 | ≥ 0.9 |" in table and "| n-2 | no_conflict | conflict reported:" in table


def test_latest_date_filter_and_timeline_checks():
    latest = scored("n-3", answer("As of 14 Aug 2024: 63,000 swimmers a year [1].", ["pool-2024", "pool-2021"]))
    stale = scored("n-3", answer("41,000 swimmers [1].", ["pool-2021"]))
    assert latest.checks == {"any": False, "contains": True, "first": True} and latest.miss == ""
    assert stale.checks == {"any": False, "contains": False, "first": False}
    passages = [{"article_id": "pool-2021", "published_at": "2021-07-20"}]
    dates = {"since": "2021-01-01", "until": "2021-12-31", "applied": True}
    right = scored("n-4", answer("41,000 [1].", ["pool-2021"], trace={"dates": dates, "passages": passages}))
    unapplied = {
        "dates": {**dates, "applied": False},
        "passages": [*passages, {"article_id": "undated-note", "published_at": None}],
    }
    wrong = scored("n-4", answer("63,000 [1].", ["pool-2024"], trace=unapplied))
    assert right.checks == {"any": False, "bounds": True, "in_range": True, "cited": True}
    assert wrong.checks == {"any": False, "bounds": False, "in_range": False, "cited": False}
    timeline = scored("n-5", answer("63,000 [1]; 41,000 [2].", ["pool-2024", "pool-2021"]))
    figures = summarize_news([latest, stale, right, wrong, timeline])
    assert (figures["latest_accuracy"], figures["date_filter_accuracy"], figures["timeline_in_order"]) == (
        0.5,
        0.5,
        0.5,
    )
    assert figures["conflict_precision"] is None and figures["conflict_recall"] is None


def test_a_timeline_scores_its_superseded_marks_and_stray_articles():
    expected = {"order": ["fee-1", "fee-2"], "superseded": {"fee-1": "fee-2"}, "not_cited": ["other"]}
    q = NewsQuestion("t-1", "How has the fee changed?", "timeline", None, expected)
    lines = (
        Sentence("£2 [1] (superseded by £3 [2])", (1, 2), True, f"{SUPERSEDED} [2]"),
        Sentence("£3 [2]", (2,), True, "q"),
    )
    marked = replace(answer("…", ["fee-1", "fee-2"]), sentences=lines)
    assert superseded(marked) == {"fee-1": "fee-2"}
    assert score(q, marked, contains_answer)[0] == {"any": False, "in_order": 1.0, "superseded": True}
    unmarked = replace(marked, sentences=(replace(lines[0], reason="quoted"), lines[1]))
    checks, why = score(q, unmarked, contains_answer)
    assert checks["superseded"] is False and "marked superseded {}" in why
    stray = replace(answer("…", ["fee-1", "other", "fee-2"]), sentences=())
    assert score(q, stray, contains_answer)[0]["in_order"] == 0.0
    figures = summarize_news([Scored(q, *score(q, m, contains_answer), 1.0) for m in (marked, unmarked)])
    assert figures["timeline_superseded"] == 0.5


@pytest.mark.slow
@pytest.mark.model
def test_cli_scores_a_tiny_news_set(tmp_path):
    report = tmp_path / "news.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["--corpus", NEWS / "articles.jsonl", "--questions", NEWS / "questions.jsonl", "--json", "--report", report]
    result = subprocess.run(
        [sys.executable, "-m", "rag.eval", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["news"]
    assert figures["n_questions"] == 5
    assert figures["conflict_recall"] == 1.0  # three killed against seven, one outlet each
    assert figures["latest_accuracy"] == 1.0 and figures["latest_answer_contains"] == 1.0
    # "last year" counted from that question's own as_of (2022-03-01) is 2021; from the others' it would be 2024.
    assert figures["date_bounds_accuracy"] == 1.0 and figures["date_filter_accuracy"] == 1.0
    assert "timeline_in_order" in figures  # its value is checked on hand-made answers above
    text = report.read_text()
    assert text.startswith("## questions.jsonl over articles.jsonl\n") and "as_of `each question's`" in text
    assert "| conflict recall | 1.000 | ≥ 0.9 |" in text
