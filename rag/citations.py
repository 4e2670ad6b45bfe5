"""Citations, shared by every backend: markers renumbered as the answer streams,
then every sentence checked against the passages it cites."""

import re
from dataclasses import dataclass

import numpy as np

from ingest.text import WORD, content_words, sentence_spans
from rag.answer import Answer, Citation, Sentence
from vectorstore.store import Hit

# [1], [1, 2], [1; 3], [1][2] — what models write when told to cite as [n]. Matches start only where
# a run of space starts (the lookbehind), so a model's run of 10 000 spaces is not scanned 10 000 times.
_MARKER = re.compile(r"(?<!\s)(\s*)((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
# One whole marker, and the start of one that the next piece may finish.
_COMPLETE = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_OPEN = re.compile(r"\[[\d\s,;]*")
_LEADING_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ABSTAINS = re.compile(
    r"\b(articles?|passages?|sources?|context|text)\b[^.]{0,60}\b(do not|don't|does not|doesn't|did not|not)\b[^.]{0,30}"
    r"\b(say|state|contain|mention|provide|cover|answer|include|specify|give)|\bno (information|mention)\b",
    re.I,
)

# Marks, until renumbering, a citation Dossier added to a sentence the model left uncited.
_ADDED = "\ue000"  # private use: no model writes it
# A claim is supported by a passage when its best cosine with one of the passage's sentences
# plus OVERLAP × the share of its content words found in the passage reaches SUPPORTED,
# and every number it states is in the passage (calibrated in bench/citations.md).
OVERLAP = 0.5
SUPPORTED = 1.35


class Numbering:
    """Passage index → citation number, given in order of first use."""

    def __init__(self, passages: int):
        self.passages = passages
        self.numbers: dict[int, int] = {}
        self.removed: list[int] = []  # markers that pointed at no passage

    def rewrite(self, text: str) -> str:
        return _MARKER.sub(self._marker, text)

    def _marker(self, m: re.Match) -> str:
        kept = []
        for index in map(int, re.findall(r"\d+", m.group(2))):
            if 1 <= index <= self.passages:
                kept.append(self.numbers.setdefault(index, len(self.numbers) + 1))
            else:
                self.removed.append(index)
        return m.group(1) + "".join(f"[{n}]" for n in dict.fromkeys(kept)) if kept else ""


class MarkerStream:
    """Rewrites markers in streamed text; holds back only what may be half a marker."""

    def __init__(self, numbering: Numbering):
        self.numbering = numbering
        self._buffer = ""

    def feed(self, piece: str) -> str:
        self._buffer += piece
        cut = _pending(self._buffer)
        ready, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self.numbering.rewrite(ready)

    def flush(self) -> str:
        ready, self._buffer = self._buffer, ""
        return self.numbering.rewrite(ready).rstrip()


def _pending(text: str) -> int:
    """Where the tail that the next piece may still join to a marker group starts: an open "[",
    the whole markers before it, and the space before them (a dropped marker takes its space along)."""
    cut = len(text)
    start = text.rfind("[")
    if start >= 0 and _OPEN.fullmatch(text, start):
        cut = start
    while text.endswith("]", 0, cut) and (start := text.rfind("[", 0, cut)) >= 0 and _COMPLETE.fullmatch(text, start, cut):
        cut = start
    return len(text[:cut].rstrip())


def split_sentences(text: str) -> list[tuple[int, int, tuple[int, ...]]]:
    """(start, end, the numbers it cites) of each sentence. Markers written after a
    sentence's full stop belong to that sentence."""
    bounds: list[list[int]] = []
    for start, end, _ in sentence_spans(text):
        lead = _LEADING_MARKERS.match(text, start, end)
        if lead and bounds:
            bounds[-1][1] = lead.end()
            start = lead.end() + len(text[lead.end():end]) - len(text[lead.end():end].lstrip())
        if start < end:
            bounds.append([start, end])
    return [(s, e, tuple(int(n) for n in re.findall(r"\[(\d+)\]", text[s:e]))) for s, e in bounds]


def strip_markers(text: str) -> str:
    return re.sub(r"(?<!\s)\s*\[\d+\]", "", text).strip()


def abstains(text: str) -> bool:
    """Whether the model says the passages do not answer."""
    return bool(_ABSTAINS.search(text))


_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion trillion "
    "half dozen dozens".split()
)


def _numbers(text: str) -> set[str]:
    """The quantities a text states, as digits or as words."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)} | (set(WORD.findall(text.lower())) & _NUMBER_WORDS)


def _quoted(claim: str, passage: str) -> bool:
    """A claim of five words or more that the passage contains word for word."""
    words = WORD.findall(claim.lower())
    return len(words) >= 5 and " ".join(words) in " ".join(WORD.findall(passage.lower()))


@dataclass(frozen=True)
class Support:
    supported: bool
    score: float
    reason: str
    evidence: tuple[int, int] | None = None  # the passage sentence closest to the claim


class Verifier:
    """Checks (claim, passage) pairs: a verbatim quote is supported outright; otherwise by
    embedding similarity to the passage's sentences, shared content words and numbers."""

    def __init__(self, embedder):
        self._embedder = embedder

    def check(self, pairs: list[tuple[str, str]]) -> list[Support]:
        todo = {(c, p) for c, p in pairs if not _quoted(c, p)}
        spans = {p: [(s, e) for s, e, _ in sentence_spans(p)] or [(0, len(p))] for _, p in pairs}
        texts = list(dict.fromkeys([c for c, _ in todo] + [p[s:e] for _, p in todo for s, e in spans[p]]))
        vectors = dict(zip(texts, self._embedder.embed_batch(texts))) if texts else {}
        results = []
        for claim, passage in pairs:
            if (claim, passage) not in todo:
                words = set(WORD.findall(claim.lower()))
                evidence = max(spans[passage], key=lambda se: len(words & set(WORD.findall(passage[se[0]:se[1]].lower()))))
                results.append(Support(True, 1.0 + OVERLAP, "quoted from the passage", evidence))
                continue
            cosines = [float(np.dot(vectors[passage[s:e]], vectors[claim])) for s, e in spans[passage]]
            best = int(np.argmax(cosines))
            words = content_words(claim)
            overlap = len(words & content_words(passage)) / len(words) if words else 0.0
            score = round(cosines[best] + OVERLAP * overlap, 3)
            missing = sorted(_numbers(claim) - _numbers(passage))
            if missing:
                results.append(Support(False, score, f"the passage does not mention {', '.join(missing)}"))
            elif score < SUPPORTED:
                results.append(Support(False, score, f"the passage does not say this (support {score:.2f} < {SUPPORTED})"))
            else:
                results.append(Support(True, score, "supported by the passage", spans[passage][best]))
        return results


@dataclass
class _Draft:
    start: int
    end: int
    text: str
    passages: list[int]  # 1-based indexes into the passages shown to the model
    support: Support
    evidence: dict[int, tuple[int, int]]  # passage index → the sentence of it that supports this one


def finish(text: str, numbering: Numbering, passages: list[Hit], verifier: Verifier, strict: bool = False) -> Answer:
    """The final Answer: each sentence checked against the passages it cites. A sentence
    citing none gets the passage that supports it, if one does; citations are numbered by
    first use. The text differs from what streamed only by such added citations, by markers
    that number no passage, and in `strict` mode by the unsupported sentences dropped."""
    passage_of = {n: index for index, n in numbering.numbers.items()}
    # Dropping a marker can join what was around it into a new one ("[[9]3]" → "[3]"), which numbers no passage.
    text = re.sub(r"(?<!\s)\s*\[(\d+)\]", lambda m: m.group() if int(m.group(1)) in passage_of else "", text).strip()
    if not text:
        return Answer("The model returned no answer.", (), True, (), tuple(numbering.removed))
    if not numbering.numbers and abstains(text):
        return Answer(text, (), True, (), tuple(numbering.removed))
    spans = split_sentences(text)
    targets = [[passage_of[n] for n in cited] or list(range(1, len(passages) + 1)) for _, _, cited in spans]
    pairs = [(strip_markers(text[s:e]), passages[i - 1].text) for (s, e, _), ts in zip(spans, targets) for i in ts]
    checks = iter(verifier.check(pairs))
    drafts = []
    for (start, end, cited), ts in zip(spans, targets):
        results = [(i, next(checks)) for i in ts]
        evidence = {i: r.evidence for i, r in results if r.supported}
        best_index, best = max(results, key=lambda r: (r[1].supported, r[1].score), default=(0, None))
        if cited:
            drafts.append(_Draft(start, end, text[start:end], [passage_of[n] for n in cited], best, evidence))
        elif best and best.supported:
            added = Support(True, best.score, "the model gave no citation; this passage supports it")
            drafts.append(_Draft(start, end, text[start:end] + f" [{_ADDED}{best_index}]", [best_index], added, {best_index: best.evidence}))
        else:
            drafts.append(_Draft(start, end, text[start:end], [], Support(False, best.score if best else 0.0, "it cites no passage and none supports it"), {}))
    if strict:
        drafts = [d for d in drafts if d.support.supported]
        if not drafts:
            return Answer("None of the answer's sentences could be verified against the articles.", (), True, (), tuple(numbering.removed))
    numbers: dict[int, int] = {}
    for d in drafts:
        for i in d.passages:
            numbers.setdefault(i, len(numbers) + 1)

    def renumber(m: re.Match) -> str:
        index = int(m.group(2)) if m.group(1) else passage_of[int(m.group(2))]
        return f"[{numbers[index]}]"

    sentences = [Sentence(re.sub(rf"\[({re.escape(_ADDED)})?(\d+)\]", renumber, d.text), tuple(numbers[i] for i in dict.fromkeys(d.passages)), d.support.supported, d.support.reason) for d in drafts]
    if strict:
        final = " ".join(s.text for s in sentences)
    else:
        final, last = "", 0
        for d, s in zip(drafts, sentences):
            final += text[last : d.start] + s.text
            last = d.end
        final += text[last:]
    return Answer(
        text=final,
        citations=tuple(_citation(n, passages[i - 1], {d.evidence[i] for d in drafts if i in d.evidence}) for i, n in numbers.items()),
        abstained=False,
        sentences=tuple(sentences),
        removed_markers=tuple(numbering.removed),
    )


def _citation(n: int, hit: Hit, highlights: set[tuple[int, int]]) -> Citation:
    m = hit.metadata
    url = m.get("url") or (hit.source if hit.source.startswith(("http://", "https://")) else None)
    return Citation(
        n=n, article_id=hit.article_id, title=hit.title, source=hit.source, text=hit.text, start=hit.start, end=hit.end,
        score=round(hit.score, 4), url=url, author=m.get("author"), outlet=m.get("site"), published_at=m.get("published_at"),
        highlights=tuple(sorted(highlights)),
    )
