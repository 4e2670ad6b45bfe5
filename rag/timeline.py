"""Answers to "how has X changed?", "what happened with X since May?", "timeline of X" (pure): a dated list,
oldest first, one quoted and cited line per article, each earlier figure marked as superseded by the next
later one that differs from it on the same thing from the same kind of source.

The same thing: the figure of each line closest to the question's words, of one unit (a count of the same
noun, one currency, a percentage, a dimension). The same kind of source: where both lines say whose figure it
is ("according to the council", "letting agents said"), they name a source in common; a council estimate is
not superseded by a survey of letting agents, which measures something else."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dossier_core.text import content_words, sentence_spans
from rag.answer import Answer, Sentence
from rag.citations import citation
from rag.claims import Claim, read_claims, stems
from rag.markers import strip_markers
from rag.question import names
from rag.recency import day_label, published_day
from vectorstore.records import Hit

# The reason a line gives when a later article superseded its figure (and rag.eval_news reads).
SUPERSEDED = "quoted; superseded by the figure of a later article"
# A wire story's opening "OSLO, May 3 (Wire) - ": the line already says when and who.
_DATELINE = re.compile(r"[A-Z][A-Z .'’-]+,\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2}\s+\([^)]{1,40}\)\s+[-–—]\s+")
# Whose figure a sentence says it is: "according to figures from letting agents", "…, the council said".
_ATTRIBUTION = re.compile(
    r"\baccording to (?P<a>[^,.;]+)|(?:^|,\s*)(?P<b>(?:the |a )?[^,.;]{3,60}?)\s+"
    r"(?:said|says|say|shows?|showed|estimates?|estimated|reported)(?:\s+(?:on|in|at|last|this)\s+\w+)?\s*[.;]?\s*$",
    re.I,
)
# Words of an attribution that say nothing of whose figure it is.
_GENERIC = frozenset("figures figure data estimate estimates published today latest new numbers".split())


def one_per_article(question: str, hits: list[Hit], floor: float) -> list[Hit]:
    """The best passage of each article about what the question asks: scoring at least `floor`,
    naming what the question names, if anything (a timeline of Glenrock's broadband has no line from another
    town's), and holding half its other words or more (the Ferris bridge's paint is not its toll); oldest
    first, the undated last, as `timeline` takes them."""
    named = " ".join(names(question))
    words, asked = content_words(named), stems(question) - stems(named)
    best: dict[str, Hit] = {}
    for hit in sorted(hits, key=lambda h: -h.score):
        about = (not words or words & content_words(hit.text)) and 2 * len(asked & stems(hit.text)) >= len(asked)
        if hit.score >= floor and about:
            best.setdefault(hit.article_id, hit)
    days = {a: published_day(h.published_at) for a, h in best.items()}
    return sorted(best.values(), key=lambda h: (days[h.article_id] is None, days[h.article_id] or ""))


@dataclass(frozen=True)
class Entry:
    """One article's line: its passage and the offsets of the quoted sentences in the passage's text."""

    hit: Hit
    quote: tuple[int, int]


def entry(question: str, hit: Hit, scored: list[tuple[object, float]]) -> Entry:
    """An article's line: of the quotes from its passage scored for the question (rag.backends.extractive), the
    best that gives a figure or a name in a role about what the question asks, else the best; without the
    dateline ("OSLO, May 3 (Wire) -")."""
    asked = stems(question)
    quotes = [(_span(hit.text, [s.text for s in candidate.sentences]), score) for candidate, score in scored]
    if not quotes:
        return Entry(hit, (0, len(hit.text)))
    giving = [(span, score) for span, score in quotes if any(_near(asked, *f) for f in _figures(hit.text, span))]
    (start, end), _ = max(giving or quotes, key=lambda q: q[1])
    dateline = _DATELINE.match(hit.text, start, end)
    return Entry(hit, (dateline.end() if dateline else start, end))


def _near(asked: set[str], claim: Claim, sentence: frozenset[str]) -> tuple[int, int] | None:
    """How many of the question's words stand next to the figure (or name what it counts), then how many its
    sentence holds ("The population is estimated at 48,300, according to …" names nothing next to the figure);
    None when neither says it is about what the question asks."""
    own = len(asked & (claim.events | claim.subjects | {claim.unit[-1]}))
    around = len(asked & sentence)
    return (own, around) if own or 2 * around >= len(asked) else None


def _span(text: str, sentences: list[str]) -> tuple[int, int]:
    start = text.find(sentences[0])
    return start, text.find(sentences[-1], start) + len(sentences[-1])


def _figures(text: str, span: tuple[int, int]) -> list[tuple[Claim, frozenset[str]]]:
    """The numbers and names in a role the quote's sentences give, each with its sentence's word stems (claims
    are read a sentence at a time)."""
    start, found = span[0], []
    for s, e, _ in sentence_spans(text[start : span[1]]):
        claims = [c for c in read_claims(text, (start + s, start + e)) if c.kind in ("number", "name")]
        found += [(c, frozenset(stems(text[start + s : start + e]))) for c in claims]
    return found


@dataclass(frozen=True)
class _Line:
    entry: Entry
    n: int
    value: Claim | None  # the figure the line gives for what the question asks about
    source: frozenset[str]  # the words of whose figure it is, or none


def timeline(question: str, entries: list[Entry], disputed: Iterable[frozenset[str]] = ()) -> Answer:
    """The dated list of the entries, given oldest first (the undated last), each line citing its passage. Articles
    `disputed` (the ids of a disagreement's sides) give rival figures, not a later one superseding an earlier."""
    asked = stems(question)
    lines = [_line(asked, entry, n) for n, entry in enumerate(entries, 1)]
    citations = tuple(citation(x.n, x.entry.hit, [x.entry.quote]) for x in lines)
    rivals = [set(d) for d in disputed]
    sentences = tuple(_sentence(x, _superseding(x, lines[i + 1 :], rivals)) for i, x in enumerate(lines))
    text = "What the articles reported, oldest first:\n" + "\n".join(f"- {s.text}" for s in sentences)
    return Answer(text, citations, False, sentences)


def _line(asked: set[str], entry: Entry, n: int) -> _Line:
    text, (start, end) = entry.hit.text, entry.quote
    # The figure nearest the question's words ("death toll" → "seven", not "four more bodies"), a new holder of a
    # role before the one they replaced, then the first; none when no figure is about what the question asks.
    about = [(near, "new" in claim.modifiers, claim) for claim, words in _figures(text, entry.quote)
             if (near := _near(asked, claim, words))]  # fmt: skip
    value = max(about, key=lambda a: a[:2], default=(None, False, None))[2]
    return _Line(entry, n, value, _source(text[start:end]))


def _source(quote: str) -> frozenset[str]:
    found = _ATTRIBUTION.search(quote)
    return frozenset(content_words(found["a"] or found["b"]) - _GENERIC) if found else frozenset()


def _superseding(line: _Line, later: list[_Line], rivals: list[set[str]]) -> _Line | None:
    """The next later dated line giving another value for the line's figure, from the same kind of source."""
    if line.value is None or not published_day(line.entry.hit.published_at):
        return None
    for other in later:
        if other.value is None or not published_day(other.entry.hit.published_at):
            continue
        pair = {line.entry.hit.article_id, other.entry.hit.article_id}
        if not _same_thing(line.value, other.value) or any(pair <= r for r in rivals):
            continue
        if line.source and other.source and not line.source & other.source:
            continue
        if not line.value.agrees(other.value):
            return other
    return None


def _same_thing(a: Claim, b: Claim) -> bool:
    """One unit: a count of one noun (or of a noun left unsaid: "has risen to seven"), one currency, one dimension."""
    if a.unit[0] != b.unit[0] or (a.modifiers ^ b.modifiers) & {"per", "by", "another", "annual"}:
        return False
    return a.unit == b.unit or (a.unit[0] == "count" and None in (a.unit[-1], b.unit[-1]))


def _sentence(line: _Line, by: _Line | None) -> Sentence:
    hit, (start, end) = line.entry.hit, line.entry.quote
    when = day_label(hit.published_at) if published_day(hit.published_at) else "Undated"
    credit = ", ".join(filter(None, (when, hit.outlet)))
    text = f"{credit}: {strip_markers(' '.join(hit.text[start:end].split()))} [{line.n}]"
    if by is None:
        return Sentence(text, (line.n,), True, "quoted from the passage it cites")
    text += f" (superseded by {by.value.written} [{by.n}])"
    return Sentence(text, (line.n, by.n), True, f"{SUPERSEDED} [{by.n}]")
