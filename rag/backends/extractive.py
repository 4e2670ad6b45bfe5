"""The offline default: answer with the retrieved sentences most relevant to
the question, each cited. Nothing is generated, so nothing is made up."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.text import content_words, sentence_spans
from rag.answer import Answer
from rag.backends.base import Backend
from rag.citations import cite
from vectorstore.ranking import lexical_overlap
from vectorstore.store import Hit

# Sentence score = cosine(question, sentence) + LEXICAL × share of the question's
# content words in the sentence + PASSAGE × cosine(question, passage)
# (+ NUMERIC when a quantity is asked for and the sentence has one).
LEXICAL = 0.3
PASSAGE = 0.3
# Questions asking for a quantity or a date prefer sentences with a number.
NUMERIC = 0.15
_ASKS_NUMBER = re.compile(r"\b(how (much|many|long|far|old|tall|big|large|often)|what (year|percentage|date)|when)\b", re.I)
_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|thousand|million|billion|half|dozens?)\b", re.I)
# Further sentences join the answer only when they score close to the best one.
MARGIN = 0.08

def is_statement(sentence: str) -> bool:
    """A sentence worth quoting: not a heading, caption label or menu line."""
    words = sentence.split()
    if sentence.startswith("#") or len(words) < 4:
        return False
    if sentence.rstrip("\"”’')]*_").endswith((".", "!", "?", "…")):
        return True
    capitalised = sum(w[0].isupper() for w in words)
    return len(words) >= 10 and capitalised < 0.6 * len(words)  # long, and not a Title Case headline


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    text: str
    score: float


def select_sentences(candidates: list[_Candidate], max_sentences: int) -> list[_Candidate]:
    ranked = sorted(candidates, key=lambda c: -c.score)
    best = ranked[0].score
    return [c for c in ranked[:max_sentences] if c.score >= best - MARGIN]


def abstention(hits: list[Hit]) -> Answer:
    best = max(hits, key=lambda h: h.score, default=None)
    closest = f" The closest passage is from “{best.title or best.source}”, but it does not answer this." if best else ""
    return Answer(text="The articles in the library don't cover this question." + closest, citations=(), abstained=True)


class ExtractiveBackend(Backend):
    def __init__(self, embedder, settings):
        self._embedder = embedder
        self._settings = settings

    def stream(self, question: str, hits: list[Hit], history: list[dict]) -> Iterator[str | Answer]:
        pieces, answer = self._compose(question, hits)
        yield from pieces
        yield answer

    def _compose(self, question: str, hits: list[Hit]) -> tuple[list[str], Answer]:
        if not hits or max(h.score for h in hits) < self._settings.min_relevance:
            answer = abstention(hits)
            return [answer.text], answer
        chosen = select_sentences(self._candidates(question, hits), self._settings.max_sentences)
        return cite([(c.text, c.hit) for c in chosen])

    def _candidates(self, question: str, hits: list[Hit]) -> list[_Candidate]:
        seen, found = set(), []
        for hit in hits:
            for start, end, _ in sentence_spans(hit.text):
                key = (hit.article_id, hit.start + start)  # overlapping chunks repeat sentences
                if key not in seen:
                    seen.add(key)
                    found.append((hit, hit.text[start:end]))
        statements = [f for f in found if is_statement(f[1])] or found
        vectors = self._embedder.embed_batch([question] + [text for _, text in statements])
        similarity = vectors[1:] @ vectors[0]
        overlap = lexical_overlap(content_words(question), [text for _, text in statements])
        numeric = NUMERIC if _ASKS_NUMBER.search(question) else 0.0
        return [
            _Candidate(hit, text, float(sim) + LEXICAL * lex + PASSAGE * hit.score + numeric * bool(_HAS_NUMBER.search(text)))
            for (hit, text), sim, lex in zip(statements, similarity, overlap)
        ]
