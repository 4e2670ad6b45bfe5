"""python -m rag.eval --corpus PATH --questions FILE.jsonl: score retrieval and answers on a question set.

Questions are JSON lines `{"id", "question", "answers": [...], "is_impossible", "gold_doc"}`: `answers` are
the acceptable answer strings (empty when unanswerable), `gold_doc` the id of the article that holds the
answer (optional). The corpus is ingested first, into --store or a temporary store deleted afterwards.
Questions with a `kind` (a news set, bench/conflicts/README.md) are scored by rag.eval_news instead.

A benchmark comparing configurations calls `evaluate`, `summarize` and `render_report` itself and
appends one report per configuration to one file.
"""

import argparse
import json
import os
import re
import shlex
import string
import sys
import tempfile
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from rag import Assistant, DossierError
from rag.cli import quiet_broken_pipe
from rag.eval_news import evaluate_news, load_news, news_tables, summarize_news
from rag.markers import unmarked
from rag.settings import ANSWERS, CHUNKING, WAYS, add_flags, load_settings

# The keys of `summarize`, in the order reports show them.
KEYS = (
    "hits_at_1",
    "hits_at_5",
    "hits_at_10",
    "mrr_at_10",
    "answer_recall",
    "abstain_answerable",
    "abstain_impossible",
    "answer_words_mean",
    "retrieval_ms_p50",
    "retrieval_ms_p95",
    "answer_ms_p50",
    "answer_ms_p95",
    "n_questions",
)
LABELS = {
    "hits_at_1": "Hits@1",
    "hits_at_5": "Hits@5",
    "hits_at_10": "Hits@10",
    "mrr_at_10": "MRR@10",
    "answer_recall": "answer recall",
    "abstain_answerable": "abstain, answerable",
    "abstain_impossible": "abstain, impossible",
    "answer_words_mean": "answer words, mean",
    "retrieval_ms_p50": "retrieval ms p50",
    "retrieval_ms_p95": "retrieval ms p95",
    "answer_ms_p50": "answer ms p50",
    "answer_ms_p95": "answer ms p95",
    "n_questions": "questions",
}


@dataclass(frozen=True)
class Question:
    question: str
    answers: tuple[str, ...]
    is_impossible: bool
    gold_doc: str | None


@dataclass(frozen=True)
class Outcome:
    """What happened to one question."""

    question: Question
    rank: int | None  # of gold_doc among the distinct articles retrieved; None when not retrieved
    answer: str  # without [n] markers
    abstained: bool
    retrieval_ms: float
    answer_ms: float


# -- pure: normalisation and metrics

_PUNCTUATION = set(string.punctuation)


def squad_normalize(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def contains_answer(text: str, answers: tuple[str, ...] | list[str]) -> bool:
    """Whether a gold answer occurs in the text as whole words, both normalised."""
    text = f" {squad_normalize(text)} "
    return any(f" {g} " in text for g in map(squad_normalize, answers) if g)


def gold_rank(article_ids: list[str], gold: str | None) -> int | None:
    """1-based rank of the gold article; several chunks of one article count once."""
    ranked = list(dict.fromkeys(article_ids))
    return ranked.index(gold) + 1 if gold in ranked else None


def _mean(values: list) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def summarize(outcomes: list[Outcome]) -> dict:
    """The metrics of `KEYS` over these outcomes; None where no question counts towards one."""
    ranks = [o.rank for o in outcomes if o.question.gold_doc]
    answerable = [o for o in outcomes if not o.question.is_impossible]
    impossible = [o for o in outcomes if o.question.is_impossible]
    answered = [o for o in outcomes if not o.abstained]
    retrieval_ms = [o.retrieval_ms for o in outcomes]
    answer_ms = [o.answer_ms for o in outcomes]
    return {
        "hits_at_1": _mean([r is not None and r <= 1 for r in ranks]),
        "hits_at_5": _mean([r is not None and r <= 5 for r in ranks]),
        "hits_at_10": _mean([r is not None and r <= 10 for r in ranks]),
        "mrr_at_10": _mean([1 / r if r is not None and r <= 10 else 0.0 for r in ranks]),
        "answer_recall": _mean([not o.abstained and contains_answer(o.answer, o.question.answers) for o in answerable]),
        "abstain_answerable": _mean([o.abstained for o in answerable]),
        "abstain_impossible": _mean([o.abstained for o in impossible]),
        "answer_words_mean": _mean([len(o.answer.split()) for o in answered]),
        "retrieval_ms_p50": _percentile(retrieval_ms, 50),
        "retrieval_ms_p95": _percentile(retrieval_ms, 95),
        "answer_ms_p50": _percentile(answer_ms, 50),
        "answer_ms_p95": _percentile(answer_ms, 95),
        "n_questions": len(outcomes),
    }


def results(outcomes: list[Outcome]) -> dict:
    """Overall metrics at the top level, and the same per group under "split"."""
    return summarize(outcomes) | {
        "split": {
            "answerable": summarize([o for o in outcomes if not o.question.is_impossible]),
            "impossible": summarize([o for o in outcomes if o.question.is_impossible]),
        }
    }


def _cell(key: str, value) -> str:
    if value is None:
        return "–"
    if key == "n_questions":
        return str(value)
    return f"{value:.1f}" if key.endswith(("_ms_p50", "_ms_p95", "_mean")) else f"{value:.3f}"


def metrics_table(result: dict) -> str:
    """A Markdown table of `results(...)`, padded so it also reads well in a terminal."""
    groups = {"overall": result, **result["split"]}
    rows = [["metric", *groups]] + [[LABELS[k], *(_cell(k, g[k]) for g in groups.values())] for k in KEYS]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|")
    return "\n".join(lines)


def tables(result: dict) -> str:
    """The tables of `results(...)`, or of a news set's figures."""
    return news_tables(result["news"]) if "news" in result else metrics_table(result)


def render_report(result: dict, title: str, command: str, settings: dict) -> str:
    """One configuration's Markdown section: a benchmark appends one per configuration to a file."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()  # what `nproc` says
    return "\n".join(
        [
            f"## {title}",
            "",
            f"`{command}`",
            "",
            f"{date.today().isoformat()}, {cores} CPU cores (nproc). "
            "Settings: " + ", ".join(f"{k} `{v}`" for k, v in settings.items()) + ".",
            "",
            tables(result),
            "",
        ]
    )


# -- I/O


def load_questions(path: Path) -> list[Question]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DossierError(f"{path}: no such file; check --questions") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DossierError(f"{path}: cannot read it ({e}); give a UTF-8 JSONL file") from None
    questions = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DossierError(f"{path}:{n}: invalid JSON ({e.msg}); give one question object per line") from None
            questions.append(_question(record, f"{path}:{n}"))
    if not questions:
        raise DossierError(
            f"{path}: no questions; give one JSON object per line with id, question, answers, is_impossible"
        )
    return questions


def _question(record, where: str) -> Question:
    if not isinstance(record, dict) or not isinstance(record.get("question"), str) or not record["question"].strip():
        raise DossierError(
            f"{where}: no 'question' text; each line needs an object with id, question, answers, is_impossible"
        )
    answers = record.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise DossierError(f"{where}: 'answers' must be a list of strings (empty when unanswerable)")
    if not isinstance(record.get("is_impossible", False), bool):
        raise DossierError(f"{where}: 'is_impossible' must be true or false")
    gold = record.get("gold_doc")
    # Ingest turns a dump's ids into strings, so a numeric gold_doc must match as one.
    return Question(
        record["question"],
        tuple(answers),
        record.get("is_impossible", False),
        None if gold in (None, "") else str(gold),
    )


def evaluate(assistant: Assistant, questions: list[Question], k: int = 10) -> list[Outcome]:
    """Retrieve the top k and answer each question, timing both. One untimed question first
    loads what is loaded lazily, so the latencies are those of a warm assistant."""
    assistant.retrieve(questions[0].question, k)
    assistant.ask(questions[0].question)
    outcomes = []
    for q in questions:
        started = time.perf_counter()
        hits = assistant.retrieve(q.question, k)
        retrieved = time.perf_counter()
        answer = assistant.ask(q.question)
        answered = time.perf_counter()
        outcomes.append(
            Outcome(
                q,
                gold_rank([h.article_id for h in hits], q.gold_doc),
                unmarked(answer.text),
                answer.abstained,
                1000 * (retrieved - started),
                1000 * (answered - retrieved),
            )
        )
    return outcomes


def store_settings(assistant: Assistant) -> dict:
    """How the store was built and is searched, for reports."""
    return {"embedder": assistant.embedder.name, **assistant.settings.visible(), **assistant.library.chunking}


def ingest_corpus(assistant: Assistant, corpus: str) -> None:
    """Ingest the corpus; a corpus that does not go in whole would skew every figure, so that is an error."""
    ingested = assistant.library.ingest([corpus])
    failed = [r for r in ingested if r.status == "failed"]
    if failed:
        more = f" (and {len(failed) - 1} more failures)" if len(failed) > 1 else ""
        raise DossierError(f"corpus: {failed[0].error}{more}")
    statuses = Counter(r.status for r in ingested)
    print(
        f"corpus: {len(ingested)} articles (" + ", ".join(f"{n} {s}" for s, n in statuses.items()) + ")",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rag.eval", description="Score retrieval and answers on a question set."
    )
    parser.add_argument("--corpus", required=True, help="what to ingest first: a file, folder, URL or JSONL dump")
    parser.add_argument(
        "--questions", required=True, type=Path, help="JSONL: id, question, answers, is_impossible, gold_doc"
    )
    parser.add_argument(
        "--store", help="store folder, kept and reused (default: a temporary store, deleted afterwards)"
    )
    add_flags(parser, ("chroma_url", "cache", "encoder") + CHUNKING + ANSWERS)
    parser.add_argument(
        "--k", type=int, default=10, help="passages retrieved for the Hits and MRR figures (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--report", type=Path, help="also write a Markdown report to this file")
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error("--k must be at least 1")
    command = shlex.join(["python", "-m", "rag.eval", *(sys.argv[1:] if argv is None else argv)])
    try:
        questions = load_questions(args.questions)  # before the model loads: a bad file fails fast
        news = load_news(args.questions)  # [] unless its questions carry a kind
        store = (
            nullcontext(args.store)
            if args.store
            else tempfile.TemporaryDirectory(prefix="dossier-eval-", ignore_cleanup_errors=True)
        )
        # A temporary store must not leave the corpus on a shared server named by the environment.
        server = args.store or args.chroma_url
        names = None if server else [name for name in WAYS if name not in ("chroma_url", "chroma_token")]
        with store as folder:
            assistant = Assistant(settings=load_settings(args, names=names, store=folder))
            ingest_corpus(assistant, args.corpus)
            if news:
                result = {"news": summarize_news(evaluate_news(assistant, news, contains_answer))}
            else:
                result = results(evaluate(assistant, questions, args.k))
            scope = {"as_of": "each question's"} if news else {"k": args.k}
            settings = store_settings(assistant) | {"store": args.store or "temporary"} | scope
        if args.report:
            title = f"{args.questions.name} over {Path(args.corpus).name}"
            try:
                args.report.write_text(render_report(result, title, command, settings), encoding="utf-8")
            except OSError as e:
                raise DossierError(
                    f"{args.report}: cannot write the report ({e.strerror or e}); check the path"
                ) from None
    except DossierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else tables(result))
    return 0


if __name__ == "__main__":
    with quiet_broken_pipe():
        sys.exit(main())
