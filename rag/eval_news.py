"""Scores for news-aware answers, on questions that carry a `kind` (bench/conflicts/README.md has the format).

- conflict precision: of the conflict and no_conflict questions whose answer reports any conflict, the share
  where a reported conflict matches the expected one; recall: the share of conflict questions matched, and
  (looser) the share answered with any conflict at all. A conflict matches when each expected group's articles
  are all cited on one of its sides and no side cites articles of two groups.
- correction: the expected correction flag equals the reported one (the matched conflict's, else any).
- latest: the first citation is of the newest relevant article; its figure found in the answer, separately.
- date filter: the question's date bounds read as expected and applied, every passage retrieved published inside
  them, and only allowed articles cited (retrieval also returns other topics' articles of those dates, below
  min_relevance, so "every passage retrieved is allowed" could not hold).
- a conflict reported on a latest, date filter or timeline question is counted too, and listed as a miss (a
  correction is not: it tells such a question what the figure became).
- timeline: the share of the expected articles cited in date order (their longest run in order among the
  citations; none when an article of another topic is cited), the questions whose whole timeline is cited in
  order, and those whose lines marked superseded (each by the article that superseded it) are exactly those
  expected.

Each question is answered as of its own `as_of` day, over the same library. Whether an answer holds a value is
rag.eval's `contains_answer`, passed in: rag.eval runs this module, so this one does not import it.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from dossier_core.errors import DossierError
from rag.answer import Answer, Disagreement
from rag.assistant import Assistant
from rag.library import Library
from rag.markers import unmarked
from rag.timeline import SUPERSEDED

# Whether a text holds one of the values: rag.eval.contains_answer.
Holds = Callable[[str, list[str]], bool]

KINDS = ("conflict", "no_conflict", "latest", "date_filter", "timeline")
LABELS = {
    "conflict_precision": "conflict precision",
    "conflict_recall": "conflict recall",
    "conflict_recall_any": "conflict recall, any conflict reported",
    "correction_accuracy": "correction flag right",
    "no_conflict_answer_contains": "no_conflict: answer holds the value",
    "latest_accuracy": "latest: newest article cited first",
    "latest_answer_contains": "latest: answer holds its value",
    "date_filter_accuracy": "date filter: all three below right",
    "date_bounds_accuracy": "date filter: bounds read and applied",
    "date_in_range_accuracy": "date filter: every passage retrieved inside them",
    "date_cited_accuracy": "date filter: only allowed articles cited",
    "timeline_in_order": "timeline: share of articles cited in date order",
    "timeline_complete": "timeline: whole timeline cited in order",
    "timeline_superseded": "timeline: earlier figures marked superseded right",
    "other_with_conflict": "latest, date filter, timeline: a conflict reported",
    "answer_ms_p50": "answer ms p50",
    "answer_ms_p95": "answer ms p95",
    "n_questions": "questions",
}

# Issue 17's targets for the figures it names.
TARGETS = {
    "conflict_precision": "≥ 0.9",
    "conflict_recall": "≥ 0.9",
    "latest_accuracy": "≥ 0.95",
    "date_bounds_accuracy": "1.000",
}


@dataclass(frozen=True)
class NewsQuestion:
    id: str
    question: str
    kind: str
    as_of: str | None
    expected: dict


@dataclass(frozen=True)
class Scored:
    question: NewsQuestion
    checks: dict  # check name → bool (or a share, for timelines)
    miss: str  # why a check failed, for the report; "" when none did
    ms: float


def load_news(path: Path) -> list[NewsQuestion]:
    """The questions of a news set; [] when the file's questions carry no `kind` (a squad-style set)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not any(isinstance(r, dict) and "kind" in r for r in records):
        return []
    questions = []
    for n, r in enumerate(records, 1):
        if r.get("kind") not in KINDS or not isinstance(r.get("expected"), dict):
            raise DossierError(f"{path}: question {n} needs a kind ({', '.join(KINDS)}) and an 'expected' object")
        questions.append(NewsQuestion(str(r.get("id", n)), r["question"], r["kind"], r.get("as_of"), r["expected"]))
    return questions


# -- pure: one answer against what was expected


def _side_articles(answer: Answer, d: Disagreement) -> list[set[str]]:
    article = {c.n: c.article_id for c in answer.citations}
    return [{article[n] for n in side.citations if n in article} for side in d.values]


def matches(answer: Answer, d: Disagreement, groups: list[list[str]]) -> bool:
    """Each group's articles all cited on one side, and no side citing articles of two groups."""
    sides = _side_articles(answer, d)
    whole = all(any(set(g) <= side for side in sides) for g in groups)
    return whole and all(sum(bool(side & set(g)) for g in groups) <= 1 for side in sides)


def in_order(cited: list[str], order: list[str]) -> int:
    """How many of `order` appear among `cited` in that order: their longest common subsequence."""
    row = [0] * (len(order) + 1)
    for a in cited:
        previous = row[:]
        for j, b in enumerate(order, 1):
            row[j] = previous[j - 1] + 1 if a == b else max(previous[j], row[j - 1])
    return row[-1]


def superseded(answer: Answer) -> dict[str, str]:
    """A timeline answer's lines marked superseded: {article: the article whose figure superseded it}."""
    article = {c.n: c.article_id for c in answer.citations}
    marked = [s for s in answer.sentences if s.reason.startswith(SUPERSEDED)]
    return {article[s.citations[0]]: article[s.citations[-1]] for s in marked}


def score(q: NewsQuestion, answer: Answer, holds: Holds) -> tuple[dict, str]:
    """The checks of one answer for its question's kind, and why any failed."""
    e, cited = q.expected, list(dict.fromkeys(c.article_id for c in answer.citations))
    reported = [[sorted(s) for s in _side_articles(answer, d)] for d in answer.conflicts]
    # A correction is what a latest, dated or timeline question should hear: the figure was changed, and to what.
    stray = [d for d in answer.conflicts if not (d.correction and q.kind in KINDS[2:])]
    checks, why = {"any": bool(answer.conflicts if q.kind == "conflict" else stray)}, []
    if q.kind == "conflict":
        matched = [d for d in answer.conflicts if matches(answer, d, e["articles"])]
        first = (matched or answer.conflicts)[:1]  # the flag of the conflict matched, else of any reported
        flag = bool(first and first[0].correction)
        checks |= {"found": bool(matched), "correction": e.get("correction", False) == flag}
        why += [] if matched else [f"expected sides {e['articles']}, reported {reported or 'none'}"]
        why += [] if checks["correction"] else [f"correction expected {e.get('correction', False)}, reported {flag}"]
    elif stray:
        why.append(f"conflict reported: {reported}")
    if "answer_contains" in e:
        checks["contains"] = not answer.abstained and holds(unmarked(answer.text), [e["answer_contains"]])
        why += [] if checks["contains"] else [f"answer lacks {e['answer_contains']!r}"]
    if q.kind == "latest":
        checks["first"] = cited[:1] == [e["newest_article"]]
        why += [] if checks["first"] else [f"cited {cited[:1] or 'nothing'} first, not {e['newest_article']}"]
    if q.kind == "date_filter":
        dates = answer.trace.get("dates") or {}
        read = (dates.get("since"), dates.get("until"))
        checks["bounds"] = read == (e["since"], e["until"]) and bool(dates.get("applied"))
        low, high = e["since"] or "", e["until"] or q.as_of or "9999"
        days = {p["article_id"]: (p["published_at"] or "")[:10] for p in answer.trace.get("passages", [])}
        outside = [a for a, day in days.items() if not (day and low <= day <= high)]
        checks["in_range"] = not outside
        checks["cited"] = bool(cited) and set(cited) <= set(e["articles_allowed"])
        why += [] if checks["bounds"] else [f"read {read} (applied: {dates.get('applied')})"]
        why += [f"retrieved {outside} from outside the dates"] if outside else []
        why += [] if checks["cited"] else [f"cited {cited}, allowed {e['articles_allowed']}"]
    if q.kind == "timeline":
        stray = [a for a in cited if a in e.get("not_cited", [])]
        checks["in_order"] = 0.0 if stray else in_order(cited, e["order"]) / len(e["order"])
        why += [] if checks["in_order"] == 1 else [f"cited {cited}, expected {e['order']}"]
        if "superseded" in e:
            marked = superseded(answer)
            checks["superseded"] = marked == e["superseded"]
            why += [] if checks["superseded"] else [f"marked superseded {marked}, expected {e['superseded']}"]
    return checks, "; ".join(why)


# -- running and summarising


def evaluate_news(assistant: Assistant, questions: list[NewsQuestion], holds: Holds) -> list[Scored]:
    """Ask each question as of its day, over `assistant`'s library; one untimed question first warms it up."""
    by_day = {assistant.settings.as_of: assistant}
    for day in {q.as_of for q in questions if q.as_of} - set(by_day):
        library = Library(assistant.library.path, replace(assistant.settings, as_of=day), assistant.embedder)
        by_day[day] = Assistant(library)
    assistant.ask(questions[0].question)
    scored = []
    for q in questions:
        started = time.perf_counter()
        answer = by_day[q.as_of or assistant.settings.as_of].ask(q.question)
        ms = 1000 * (time.perf_counter() - started)
        scored.append(Scored(q, *score(q, answer, holds), ms))
    return scored


def _share(values: list) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def summarize_news(scored: list[Scored]) -> dict:
    """The figures of `LABELS` (None where no question counts), and the misses."""

    def checks(kind: str, name: str) -> list:
        return [s.checks[name] for s in scored if s.question.kind == kind and name in s.checks]

    reported = checks("conflict", "any") + checks("no_conflict", "any")
    dated = [s.checks for s in scored if s.question.kind == "date_filter"]
    ms = [s.ms for s in scored]
    return {
        "conflict_precision": round(sum(checks("conflict", "found")) / sum(reported), 4) if any(reported) else None,
        "conflict_recall": _share(checks("conflict", "found")),
        "conflict_recall_any": _share(checks("conflict", "any")),
        "correction_accuracy": _share(checks("conflict", "correction")),
        "no_conflict_answer_contains": _share(checks("no_conflict", "contains")),
        "latest_accuracy": _share(checks("latest", "first")),
        "latest_answer_contains": _share(checks("latest", "contains")),
        "date_filter_accuracy": _share([c["bounds"] and c["in_range"] and c["cited"] for c in dated]),
        "date_bounds_accuracy": _share(checks("date_filter", "bounds")),
        "date_in_range_accuracy": _share(checks("date_filter", "in_range")),
        "date_cited_accuracy": _share(checks("date_filter", "cited")),
        "timeline_in_order": _share(checks("timeline", "in_order")),
        "timeline_complete": _share([share == 1 for share in checks("timeline", "in_order")]),
        "timeline_superseded": _share([s.checks["superseded"] for s in scored if "superseded" in s.checks]),
        "other_with_conflict": _share([s.checks["any"] for s in scored if s.question.kind in KINDS[2:]]),
        "answer_ms_p50": round(float(np.percentile(ms, 50)), 1) if ms else None,
        "answer_ms_p95": round(float(np.percentile(ms, 95)), 1) if ms else None,
        "n_questions": len(scored),
        "counts": {kind: sum(s.question.kind == kind for s in scored) for kind in KINDS},
        "misses": [{"id": s.question.id, "kind": s.question.kind, "why": s.miss} for s in scored if s.miss],
    }


def _cell(key: str, value, counts: str) -> str:
    if value is None:
        return "–"
    if key == "n_questions":
        return f"{value} ({counts})"
    return f"{value:.1f}" if key.endswith(("p50", "p95")) else f"{value:.3f}"


def news_tables(result: dict) -> str:
    """The figures as a Markdown table, then one row per question that missed."""
    counts = ", ".join(f"{n} {kind}" for kind, n in result["counts"].items() if n)
    lines = ["| news metric | value | target |", "|---|---:|---|"]
    lines += [f"| {label} | {_cell(k, result[k], counts)} | {TARGETS.get(k, '')} |" for k, label in LABELS.items()]
    lines += ["", "| missed | kind | why |", "|---|---|---|"]
    lines += [f"| {m['id']} | {m['kind']} | {m['why'].replace('|', '/')} |" for m in result["misses"]]
    return "\n".join(lines if result["misses"] else lines[:-3])
