"""The offline default: answer with the retrieved sentences most relevant to
the question, each cited. Nothing is generated, so nothing is made up."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.text import content_words, sentence_spans
from rag.backends.base import Backend
from rag.citations import strip_markers
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
# Embedding the sentences is most of an answer's time, so only the EMBEDDED best by
# the rest of the score are embedded: 12 is the fewest that keeps the answer recall
# of bench/calibration.md (8 loses a point).
EMBEDDED = 12

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
    passage: int  # 1-based, in the order of the passages given
    hit: Hit
    text: str
    score: float


def select_sentences(candidates: list[_Candidate], max_sentences: int) -> list[_Candidate]:
    ranked = sorted(candidates, key=lambda c: -c.score)
    best = ranked[0].score
    return [c for c in ranked[:max_sentences] if c.score >= best - MARGIN]


class ExtractiveBackend(Backend):
    def __init__(self, embedder, settings):
        self._embedder = embedder
        self._settings = settings

    def stream(self, question: str, hits: list[Hit], history: list[dict]) -> Iterator[str]:
        chosen = select_sentences(self._candidates(question, hits), self._settings.max_sentences)
        for n, c in enumerate(chosen):
            # A quoted "[3]" would read as a citation marker.
            yield ("" if n == 0 else " ") + f"{strip_markers(c.text)} [{c.passage}]"

    def _candidates(self, question: str, hits: list[Hit]) -> list[_Candidate]:
        seen, found = set(), []
        for passage, hit in enumerate(hits, 1):
            for start, end, _ in sentence_spans(hit.text):
                key = (hit.article_id, hit.start + start)  # overlapping chunks repeat sentences
                if key not in seen:
                    seen.add(key)
                    found.append((passage, hit, hit.text[start:end]))
        statements = [f for f in found if is_statement(f[2])] or found
        overlap = lexical_overlap(content_words(question), [text for *_, text in statements])
        numeric = NUMERIC if _ASKS_NUMBER.search(question) else 0.0
        cheap = sorted(
            ((LEXICAL * lex + PASSAGE * hit.score + numeric * bool(_HAS_NUMBER.search(text)), passage, hit, text)
             for (passage, hit, text), lex in zip(statements, overlap)),
            key=lambda c: -c[0],
        )[:EMBEDDED]
        vectors = self._embedder.embed_batch([question] + [text for *_, text in cheap])
        return [_Candidate(passage, hit, text, float(sim) + score) for (score, passage, hit, text), sim in zip(cheap, vectors[1:] @ vectors[0])]
