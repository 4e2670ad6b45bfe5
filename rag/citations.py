"""Checking an answer's citations, shared by every backend. Once the answer is whole (its markers made
[n] by rag.markers), each sentence takes the markers that follow it and is checked against every passage the
model was shown: a sentence its passage does not support but another does is re-cited to that one, and a
sentence that needs two passages cites both."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from dossier_core.text import NUMBER_WORDS, WORD, content_words, sentence_spans
from rag.answer import Answer, Citation, Sentence
from rag.dated import without_days
from rag.markers import MARKER, Numbering, renumber, split_sentences, strip_markers, unmarked
from rag.prompt import header
from vectorstore.records import Hit

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ABSTAINS = re.compile(
    r"\b(articles?|passages?|sources?|context|text)\b[^.]{0,60}"
    r"\b(do not|don't|does not|doesn't|did not|not)\b[^.]{0,30}"
    r"\b(say|state|contain|mention|provide|cover|answer|include|specify|give)|\bno (information|mention)\b",
    re.IGNORECASE,
)

# A claim is supported by a passage when its best cosine with one of the passage's sentences
# plus OVERLAP × the share of its content words found in the passage reaches SUPPORTED,
# and every number it states is in the passage (calibrated in bench/citations.md).
OVERLAP = 0.5
SUPPORTED = 1.35
# A claim whose content words are all in one sentence of the passage is supported outright.
HELD = 1.0
_NEGATION = re.compile(r"\b(not|no|never|nor|none|neither|without)\b|n't\b", re.IGNORECASE)


def abstains(text: str) -> bool:
    """Whether the model says the passages do not answer."""
    return bool(_ABSTAINS.search(text))


def quantities(text: str) -> set[str]:
    """The quantities a text states, as digits or as words."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)} | (set(WORD.findall(text.lower())) & NUMBER_WORDS)


def _quoted(claim: str, passage: str) -> bool:
    """A claim of five words or more that the passage contains word for word."""
    words = WORD.findall(claim.lower())
    return len(words) >= 5 and " ".join(words) in " ".join(WORD.findall(passage.lower()))


def _spans(passage: str) -> list[tuple[int, int]]:
    return [(s, e) for s, e, _ in sentence_spans(passage)] or [(0, len(passage))]


def _held(claim: str, words: set[str], passage: str, spans: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The passage sentence holding at least HELD of a claim's content words (four or more), negated alike:
    a claim that reorders one sentence's words ("Eileen Marsh was from Harwick Cross" of "… Eileen Marsh,
    67, a retired teacher from Harwick Cross …"), which a long sentence's embedding dilutes."""
    if len(words) < 4:
        return None
    negated = bool(_NEGATION.search(claim))
    for start, end in spans:
        sentence = passage[start:end]
        if len(words & content_words(sentence)) >= HELD * len(words) and bool(_NEGATION.search(sentence)) == negated:
            return start, end
    return None


@dataclass(frozen=True)
class Support:
    supported: bool
    score: float
    reason: str
    evidence: tuple[int, int] | None = None  # the passage sentence closest to the claim


class Verifier:
    """Checks claims against passages: a verbatim quote is supported outright; otherwise by
    embedding similarity to the passage's sentences, shared content words and numbers."""

    def __init__(self, embedder):
        self._embedder = embedder

    def check(self, pairs: list[tuple[str, str]]) -> list[Support]:
        todo = {(c, p) for c, p in pairs if not _quoted(c, p)}
        spans = {p: _spans(p) for _, p in pairs}
        texts = list(dict.fromkeys([c for c, _ in todo] + [p[s:e] for _, p in todo for s, e in spans[p]]))
        vectors = dict(zip(texts, self._embedder.embed_batch(texts))) if texts else {}
        results = []
        for claim, passage in pairs:
            if (claim, passage) not in todo:
                words = set(WORD.findall(claim.lower()))
                evidence = max(
                    spans[passage], key=lambda se: len(words & set(WORD.findall(passage[se[0] : se[1]].lower())))
                )
                results.append(Support(True, 1.0 + OVERLAP, "quoted from the passage", evidence))
                continue
            cosines = [float(np.dot(vectors[passage[s:e]], vectors[claim])) for s, e in spans[passage]]
            best = int(np.argmax(cosines))
            words = content_words(claim)
            overlap = len(words & content_words(passage)) / len(words) if words else 0.0
            score = round(cosines[best] + OVERLAP * overlap, 3)
            missing = sorted(quantities(claim) - quantities(passage))
            held = _held(claim, words, passage, spans[passage])
            if missing:
                results.append(Support(False, score, f"the passage does not mention {', '.join(missing)}"))
            elif held:
                results.append(Support(True, score, "its words are the passage's", held))
            elif score < SUPPORTED:
                results.append(
                    Support(False, score, f"the passage does not say this (support {score:.2f} < {SUPPORTED})")
                )
            else:
                results.append(Support(True, score, "supported by the passage", spans[passage][best]))
        return results

    def together(self, items: list[tuple[str, list[str]]]) -> list[tuple[Support, list[tuple[int, int]]]]:
        """Whether passages support a claim together, with the sentence of each that does: every one
        holds a word or number of the claim that the others lack, all its numbers are among theirs,
        and the claim is close to their closest sentences read as one (the sum of their vectors)."""
        spans = {p: _spans(p) for _, parts in items for p in parts}
        texts = list(dict.fromkeys([c for c, _ in items] + [p[s:e] for p, ss in spans.items() for s, e in ss]))
        vectors = dict(zip(texts, self._embedder.embed_batch(texts))) if texts else {}
        results = []
        for claim, parts in items:
            best = [
                max(spans[p], key=lambda se, p=p: float(np.dot(vectors[p[se[0] : se[1]]], vectors[claim])))
                for p in parts
            ]
            joint = sum(vectors[p[s:e]] for p, (s, e) in zip(parts, best))
            cosine = float(np.dot(joint, vectors[claim]) / (np.linalg.norm(joint) or 1.0))
            words, numbers = content_words(claim), quantities(claim)
            held = [(content_words(p) | quantities(p)) & (words | numbers) for p in parts]
            found = set().union(*held)
            overlap = len(words & found) / len(words) if words else 0.0
            score = round(cosine + OVERLAP * overlap, 3)
            missing = sorted(numbers - found)
            if missing:
                results.append((Support(False, score, f"the passages do not mention {', '.join(missing)}"), []))
            elif not all(h - set().union(*(held[:i] + held[i + 1 :])) for i, h in enumerate(held)):
                results.append((Support(False, score, "not every passage holds a part of it"), []))
            elif score < SUPPORTED:
                reason = f"the passages do not say this (support {score:.2f} < {SUPPORTED})"
                results.append((Support(False, score, reason), []))
            else:
                results.append((Support(True, score, "supported by the passages together"), best))
        return results


@dataclass
class _Draft:
    start: int
    end: int
    text: str
    cited: list[int]  # 1-based indexes into the passages shown to the model, as the model cited them
    passages: list[int]  # as cited in the end
    support: Support
    evidence: dict[int, tuple[int, int]]  # passage index → the sentence of it that supports this one
    change: str = ""  # "added" or "moved": Dossier wrote the citation; "together": two cited passages support it


def _bind(start: int, end: int, text: str, cited: list[int], row: dict[int, Support], unions: dict) -> _Draft:
    """A sentence's citation: what it cites if that supports it (alone or together), else the passage
    that does, else the two best passages together, else what it cites, flagged."""
    ok = [i for i in cited if row[i].supported]
    if ok:
        best = max(ok, key=lambda i: row[i].score)
        return _Draft(start, end, text, cited, cited, row[best], {i: row[i].evidence for i in ok})
    change = "moved" if cited else "added"
    union = unions.get(tuple(cited))
    if union and union[0].supported:
        return _Draft(start, end, text, cited, cited, union[0], dict(zip(cited, union[1])), "together")
    others = [i for i in row if row[i].supported]
    if others:
        best = max(others, key=lambda i: row[i].score)
        return _Draft(start, end, text, cited, [best], row[best], {best: row[best].evidence}, change)
    for parts, (support, evidence) in unions.items():
        if support.supported and set(parts) != set(cited):
            return _Draft(start, end, text, cited, list(parts), support, dict(zip(parts, evidence)), change)
    closest = max((row[i] for i in cited), key=lambda s: s.score, default=None)
    if closest is None:
        score = max((s.score for s in row.values()), default=0.0)
        closest = Support(False, score, "it cites no passage and none supports it")
    return _Draft(start, end, text, cited, cited, closest, {})


def _reason(d: _Draft, ref) -> str:
    """Why the sentence is supported or not, with passages as the reader sees them."""

    def refs(indexes: list[int]) -> str:
        return " and ".join(ref(i) for i in indexes)

    supports = "supports it" if len(d.passages) == 1 else "together support it"
    if d.change == "moved":
        return f"cited {refs(d.cited)}, but {refs(d.passages)} {supports}"
    if d.change == "added":
        return (
            "the model gave no citation; this passage supports it"
            if len(d.passages) == 1
            else f"the model gave no citation; {refs(d.passages)} {supports}"
        )
    if d.change == "together":
        return f"{refs(d.passages)} {supports}"
    return d.support.reason


def _recite(d: _Draft, final: dict[int, int], passage_of: dict[int, int]) -> str:
    """The sentence's text with its citations numbered as in the final answer (`final`: passage index → number;
    `passage_of`: the model's number → passage index); those Dossier chose are written where the model put its
    first marker."""
    markers = "".join(f"[{final[i]}]" for i in d.passages)
    if d.change == "added":
        return f"{d.text} {markers}"
    if d.change != "moved":
        return renumber(d.text, lambda n: final[passage_of[n]])
    first = MARKER.search(d.text)
    return d.text[: first.start()] + first["space"] + markers + unmarked(d.text[first.end() :])


def _unions(
    verifier: Verifier, claims: list[str], passages: list[str], rows: list[dict], cited: list[list[int]]
) -> list[dict]:
    """For each sentence no passage it cites supports: {passages: (support, evidence)} for the passages it
    cites, and for the two that come closest when no passage supports it alone, checked together."""
    wanted = []
    for k, row in enumerate(rows):
        if not any(row[i].supported for i in cited[k]):
            if len(cited[k]) > 1:
                wanted.append((k, tuple(cited[k])))
            two = tuple(sorted(row, key=lambda i: -row[i].score)[:2])
            if len(two) == 2 and set(two) != set(cited[k]) and not any(s.supported for s in row.values()):
                wanted.append((k, two))
    unions: list[dict] = [{} for _ in claims]
    found = verifier.together([(claims[k], [passages[i - 1] for i in parts]) for k, parts in wanted])
    for (k, parts), result in zip(wanted, found):
        unions[k][parts] = result
    return unions


def finish(text: str, numbering: Numbering, passages: list[Hit], verifier: Verifier, strict: bool = False) -> Answer:
    """The final Answer: each sentence checked against every passage the model was shown, and cited
    to the one that supports it (see _bind); citations are numbered by first use. The text differs from
    what streamed only by such changed citations, by markers that number no passage, and in `strict`
    mode by the unsupported sentences dropped."""
    passage_of = {n: index for index, n in numbering.numbers.items()}
    # Dropping a marker can join what was around it into a new one ("[[9]3]" → "[3]"), which numbers no passage.
    text = renumber(text, lambda n: n if n in passage_of else None).strip()
    if not text:
        return Answer("The model returned no answer.", (), True, (), tuple(numbering.removed))
    if not numbering.numbers and abstains(text):
        return Answer(text, (), True, (), tuple(numbering.removed))
    spans = split_sentences(text)
    cited = [list(dict.fromkeys(passage_of[n] for n in numbers)) for _, _, numbers in spans]
    # The day a sentence gives the article it cites ("As of 3 Nov 2025: ") is the article's own, not a claim to check.
    shown = [p.published_at for p in passages]
    claims = [
        without_days(strip_markers(text[s:e]), [shown[i - 1] for i in cited[k]], shown)
        for k, (s, e, _) in enumerate(spans)
    ]
    indexes = range(1, len(passages) + 1)
    # Each passage is checked with the source line the model saw above it: a sentence echoing the
    # headline is the article's own claim. Evidence offsets are then moved back into the passage.
    # (Two passages together are checked on their text alone: a shared headline is no part of either.)
    shown = [f"{header(p)}\n{p.text}" for p in passages]
    lead = {i: len(shown[i - 1]) - len(passages[i - 1].text) for i in indexes}
    checks = iter(verifier.check([(c, text) for c in claims for text in shown]))
    rows = [{i: _in_passage(next(checks), lead[i]) for i in indexes} for _ in claims]
    unions = _unions(verifier, claims, [p.text for p in passages], rows, cited)
    drafts = [_bind(s, e, text[s:e], cited[k], rows[k], unions[k]) for k, (s, e, _) in enumerate(spans)]
    kept = [d for d in drafts if d.support.supported] if strict else drafts
    dropped, drafts = len(drafts) - len(kept), kept
    if strict and not drafts:
        return Answer(
            "None of the answer's sentences could be verified against the articles.",
            (),
            True,
            (),
            tuple(numbering.removed),
            dropped=dropped,
        )
    numbers: dict[int, int] = {}
    for d in drafts:
        for i in d.passages:
            numbers.setdefault(i, len(numbers) + 1)

    def ref(index: int) -> str:
        hit = passages[index - 1]
        return f"[{numbers[index]}]" if index in numbers else f"“{hit.title or hit.source}”"

    sentences = [
        Sentence(
            _recite(d, numbers, passage_of),
            tuple(numbers[i] for i in dict.fromkeys(d.passages)),
            d.support.supported,
            _reason(d, ref),
            recited=d.change == "moved",
        )
        for d in drafts
    ]
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
        citations=tuple(
            citation(n, passages[i - 1], {d.evidence[i] for d in drafts if d.evidence.get(i)})
            for i, n in numbers.items()
        ),
        abstained=False,
        sentences=tuple(sentences),
        removed_markers=tuple(numbering.removed),
        dropped=dropped,
    )


def _moved(span: tuple[int, int] | None, lead: int) -> tuple[int, int] | None:
    """A span of header + passage as a span of the passage (None when it lies in the header)."""
    return (span[0] - lead, span[1] - lead) if span and span[0] >= lead else None


def _in_passage(support: Support, lead: int) -> Support:
    return replace(support, evidence=_moved(support.evidence, lead))


def citation(n: int, hit: Hit, highlights: Iterable[tuple[int, int]] = ()) -> Citation:
    """Passage `hit` cited as [n]; `highlights` are the offsets in it of the sentences it supports."""
    url = hit.url or (hit.source if hit.source.startswith(("http://", "https://")) else None)
    return Citation(
        n=n,
        article_id=hit.article_id,
        title=hit.title,
        source=hit.source,
        text=hit.text,
        start=hit.start,
        end=hit.end,
        score=round(hit.score, 4),
        url=url,
        author=hit.author,
        outlet=hit.outlet,
        published_at=hit.published_at,
        highlights=tuple(sorted(highlights)),
        library=hit.library,
    )
