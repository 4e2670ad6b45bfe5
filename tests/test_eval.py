"""The evaluation harness: normalisation and metrics on hand-made inputs, errors, and one real run."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import rag.eval as ev
from rag import Answer, DossierError
from rag.eval import KEYS, Outcome, Question

ROOT = Path(__file__).resolve().parents[1]
EVAL = Path(__file__).parent / "fixtures" / "eval"


def test_squad_normalize_lowercases_and_drops_punctuation_articles_and_extra_spaces():
    assert ev.squad_normalize("The  Eiffel Tower, in Paris!") == "eiffel tower in paris"
    assert ev.squad_normalize("An apple a day") == "apple day"
    assert ev.squad_normalize("Theatre and anthem") == "theatre and anthem"  # only whole-word articles go


def test_contains_answer_matches_whole_normalised_words():
    assert ev.contains_answer("At 9,289 kilometres it is the longest.", ["9289 kilometres"])
    assert ev.contains_answer("It was the eruption of Mount Tambora.", ["an eruption of mount Tambora"])
    assert not ev.contains_answer("Kasparovs everywhere", ["Kasparov"])
    assert not ev.contains_answer("anything at all", [""])  # SQuAD's unanswerable questions have [""]
    assert not ev.contains_answer("anything at all", [])


def test_answers_are_scored_without_their_markers():
    assert ev.unmarked("Paris is the capital [1]. Lyon is not [12].") == "Paris is the capital. Lyon is not."


def test_gold_rank_counts_each_article_once():
    assert ev.gold_rank(["a", "a", "b", "a", "c"], "c") == 3
    assert ev.gold_rank(["a", "b"], "z") is None
    assert ev.gold_rank(["a", "b"], None) is None


def outcome(rank, ms, answer="", abstained=False, answers=("x",), impossible=False, gold="g"):
    return Outcome(Question("q?", answers, impossible, gold), rank, answer, abstained, ms, 10 * ms)


OUTCOMES = [
    outcome(1, 10, "Paris is the capital", answers=("Paris",)),  # hit, 4 words
    outcome(3, 20, "It is Lyon", answers=("Marseille",)),  # miss, 3 words
    outcome(None, 30, "The articles don't cover this question.", abstained=True, answers=("Nice",)),
    outcome(6, 40, "Some text here now ok", impossible=True, answers=()),  # 5 words
    outcome(None, 50, "none", abstained=True, impossible=True, answers=(), gold=None),
]


def test_summarize_overall():
    assert ev.summarize(OUTCOMES) == {
        "hits_at_1": 0.25,  # ranks of the four with a gold_doc: 1, 3, missing, 6
        "hits_at_5": 0.5,
        "hits_at_10": 0.75,
        "mrr_at_10": 0.375,  # (1 + 1/3 + 0 + 1/6) / 4
        "answer_recall": 0.3333,
        "abstain_answerable": 0.3333,
        "abstain_impossible": 0.5,
        "answer_words_mean": 4.0,  # (4 + 3 + 5) / 3, abstentions left out
        "retrieval_ms_p50": 30.0,
        "retrieval_ms_p95": 48.0,  # linear between 40 and 50
        "answer_ms_p50": 300.0,
        "answer_ms_p95": 480.0,
        "n_questions": 5,
    }


def test_results_split_answerable_and_impossible():
    split = ev.results(OUTCOMES)["split"]
    assert split["answerable"] == {
        "hits_at_1": 0.3333,
        "hits_at_5": 0.6667,
        "hits_at_10": 0.6667,
        "mrr_at_10": 0.4444,
        "answer_recall": 0.3333,
        "abstain_answerable": 0.3333,
        "abstain_impossible": None,
        "answer_words_mean": 3.5,
        "retrieval_ms_p50": 20.0,
        "retrieval_ms_p95": 29.0,
        "answer_ms_p50": 200.0,
        "answer_ms_p95": 290.0,
        "n_questions": 3,
    }
    assert split["impossible"] == {
        "hits_at_1": 0.0,
        "hits_at_5": 0.0,
        "hits_at_10": 1.0,
        "mrr_at_10": 0.1667,
        "answer_recall": None,
        "abstain_answerable": None,
        "abstain_impossible": 0.5,
        "answer_words_mean": 5.0,
        "retrieval_ms_p50": 45.0,
        "retrieval_ms_p95": 49.5,
        "answer_ms_p50": 450.0,
        "answer_ms_p95": 495.0,
        "n_questions": 2,
    }


def test_summarize_nothing_is_all_none():
    assert ev.summarize([]) == {k: None for k in KEYS} | {"n_questions": 0}


def test_report_has_a_table_per_group_the_command_machine_and_settings():
    report = ev.render_report(
        ev.results(OUTCOMES), "dense", "python -m rag.eval --k 10", {"chunk_size": 200, "retrieval": "dense"}
    )
    lines = report.splitlines()
    assert lines[0] == "## dense"
    assert "`python -m rag.eval --k 10`" in report
    assert re.search(r"\d{4}-\d\d-\d\d, \d+ CPU cores \(nproc\)", report)
    assert "chunk_size `200`, retrieval `dense`" in report
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + len(KEYS)
    assert [c.strip() for c in table[0].strip("|").split("|")] == ["metric", "overall", "answerable", "impossible"]
    assert [c.strip() for c in table[2].strip("|").split("|")] == ["Hits@1", "0.250", "0.333", "0.000"]
    assert [c.strip() for c in table[7].strip("|").split("|")] == ["abstain, answerable", "0.333", "0.333", "–"]
    assert [c.strip() for c in table[-1].strip("|").split("|")] == ["questions", "5", "3", "2"]


class FakeAssistant:
    """Retrieves chunks of articles named in the question; abstains when asked about 'nothing'."""

    def __init__(self):
        self.asked = []

    def retrieve(self, question, k):
        return [SimpleNamespace(article_id=w) for w in question.split()][:k]

    def ask(self, question):
        self.asked.append(question)
        return Answer("nothing here", (), True) if "nothing" in question else Answer(f"{question} [1]", (), False)


def test_evaluate_ranks_gold_articles_and_warms_up_untimed():
    assistant = FakeAssistant()
    questions = [Question("a a b", ("b",), False, "b"), Question("nothing a", (), True, "c")]
    outcomes = ev.evaluate(assistant, questions, k=2)
    assert assistant.asked == ["a a b", "a a b", "nothing a"]  # the first twice: once to warm up
    assert [(o.rank, o.answer, o.abstained) for o in outcomes] == [(None, "a a b", False), (None, "nothing here", True)]
    assert ev.evaluate(assistant, questions, k=3)[0].rank == 2
    assert all(o.retrieval_ms > 0 and o.answer_ms > 0 for o in outcomes)


def test_load_questions_reads_the_fixture(tmp_path):
    questions = ev.load_questions(EVAL / "questions.jsonl")
    assert len(questions) == 7 and sum(q.is_impossible for q in questions) == 2
    assert questions[0] == Question("Who decoded the waggle dance of honeybees?", ("Karl von Frisch",), False, "bees")
    numeric = tmp_path / "numeric.jsonl"
    numeric.write_text('{"question": "Why?", "gold_doc": 7}\n')
    assert ev.load_questions(numeric) == [Question("Why?", (), False, "7")]  # ingest makes dump ids strings


@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"question": "Fine?", "answers": []}', '{"question": "Broken?"'], ":2: invalid JSON"),
        (['{"id": "q1", "answers": ["x"]}'], ":1: no 'question' text"),
        (['["not an object"]'], ":1: no 'question' text"),
        (['{"question": "Why?", "answers": "x"}'], ":1: 'answers' must be a list of strings"),
        (['{"question": "Why?", "is_impossible": "no"}'], ":1: 'is_impossible' must be true or false"),
        (["", "  "], ": no questions"),
    ],
)
def test_bad_question_files_are_one_line_errors_naming_the_line(tmp_path, capsys, lines, message):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(lines) + "\n")
    assert ev.main(["--corpus", str(EVAL / "corpus.jsonl"), "--questions", str(questions)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {questions}{message}") and err.count("\n") == 1


def test_a_missing_questions_file_is_an_error(tmp_path, capsys):
    assert ev.main(["--corpus", str(EVAL / "corpus.jsonl"), "--questions", str(tmp_path / "none.jsonl")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'none.jsonl'}: no such file; check --questions\n"


def test_dossier_errors_from_the_assistant_are_one_line_errors(monkeypatch, capsys):
    def refuse(store=None, settings=None):
        raise DossierError(f"store {settings.store}: cannot open it; give --store a writable folder")

    monkeypatch.setattr(ev, "Assistant", refuse)
    args = ["--corpus", str(EVAL / "corpus.jsonl"), "--questions", str(EVAL / "questions.jsonl"), "--store", "/nowhere"]
    assert ev.main(args) == 2
    assert capsys.readouterr().err == "error: store /nowhere: cannot open it; give --store a writable folder\n"


@pytest.mark.slow
@pytest.mark.model
def test_cli_evaluates_a_tiny_corpus(tmp_path):
    report = tmp_path / "report.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.eval",
            "--corpus",
            EVAL / "corpus.jsonl",
            "--questions",
            EVAL / "questions.jsonl",
            "--json",
            "--report",
            report,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "corpus: 6 articles (6 added)"
    scores = json.loads(result.stdout)
    assert list(scores) == [*KEYS, "split"]
    assert scores["n_questions"] == 7
    assert (scores["split"]["answerable"]["n_questions"], scores["split"]["impossible"]["n_questions"]) == (5, 2)
    assert scores["hits_at_5"] == 1.0  # six articles on unrelated subjects; the questions name theirs
    assert all(scores[k] > 0 for k in ("retrieval_ms_p50", "retrieval_ms_p95", "answer_ms_p50", "answer_ms_p95"))
    text = report.read_text()
    assert (
        text.startswith("## questions.jsonl over corpus.jsonl\n") and "| Hits@5" in text and "CPU cores (nproc)" in text
    )
