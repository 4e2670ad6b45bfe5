"""Does the library answer the question? Weighed on the evidence, not on whole passages.

A passage mostly about something else can hold the one sentence that answers (a paragraph on
a stadium's financing ending with its opening date): its embedding then scores low while the
sentence matches well and holds the question's rare words together. And a question naming a
person, place or event that no retrieved passage mentions is about something the library does
not have, however close the passages' topic (calibrated in bench/calibration.md)."""

from dataclasses import dataclass

import numpy as np

from rag.backends.extractive import rarity, statements, together
from rag.question import mentions, names
from vectorstore.records import Hit

# The best sentence's cosine that alone shows the passages cover the question.
MIN_SENTENCE = 0.5
# The weighted share of the question's words one sentence must hold, with a passage
# cosine of at least LEXICAL_FLOOR, to show it.
MIN_TOGETHER = 0.6
LEXICAL_FLOOR = 0.2
# When the question names people, places or organisations and the passages mention them all,
# the share of its words one sentence must hold (with a passage cosine of at least LEXICAL_FLOOR).
MIN_NAMED = 0.6
# Sentences embedded to find the best cosine: the best by shared rare words.
SENTENCES = 8


@dataclass(frozen=True)
class Evidence:
    passage: float  # best cosine between the question and a retrieved passage
    sentence: float  # best cosine between the question and one of their sentences
    together: float  # the largest weighted share of the question's words in one sentence
    missing: tuple[str, ...]  # names in the question that no retrieved passage mentions
    named: bool = False  # the question names someone or something, and the passages mention every name

    def covers(
        self,
        min_relevance: float,
        min_sentence: float = MIN_SENTENCE,
        min_together: float = MIN_TOGETHER,
        min_named: float = MIN_NAMED,
    ) -> bool:
        """Whether the passages cover the question (the thresholds other than min_relevance are
        given only by bench/calibrate.py, which chooses them)."""
        if self.missing:
            return False
        together = min_named if self.named else min_together
        return (
            self.passage >= min_relevance
            or self.sentence >= min_sentence
            or (self.together >= together and self.passage >= LEXICAL_FLOOR)
        )


def unmentioned(question: str, hits: list[Hit]) -> tuple[str, ...]:
    """Names the question gives that none of the passages (or their articles' titles) mention."""
    texts = [f"{h.title or ''}\n{h.text}" for h in hits]
    return tuple(n for n in names(question) if not any(mentions(n, t) for t in texts))


def weigh(question: str, hits: list[Hit], embedder) -> Evidence:
    if not hits:
        return Evidence(-1.0, -1.0, 0.0, ())
    found = statements(question, hits)
    weights = rarity(question, found)
    shares = sorted(((together(weights, s.words), s.text) for s in found), key=lambda x: -x[0])
    best_sentence = -1.0
    if shares:
        texts = list(dict.fromkeys(t for _, t in shares[:SENTENCES]))
        vectors = embedder.embed_batch([question] + texts)
        best_sentence = float(np.max(vectors[1:] @ vectors[0]))
    missing = unmentioned(question, hits)
    return Evidence(
        passage=max(h.score for h in hits),
        sentence=round(best_sentence, 4),
        together=round(float(shares[0][0]), 4) if shares else 0.0,
        missing=missing,
        named=bool(names(question)) and not missing,
    )
