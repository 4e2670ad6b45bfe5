"""Ranking a query's candidate chunks (pure): fuse the dense and lexical scores,
spread the best over articles, and rerank them by their best sentence."""

import math
from collections import Counter

from dossier_core.text import content_words, sentence_spans

# Weight of the lexical score, chosen on squad2 by bench/eval_squad2.py (bench/eval-squad2.md):
# 0.3 is best or tied on every figure; reciprocal-rank fusion does worse because the dense ranking is weaker.
LEXICAL_WEIGHT = 0.3
# The rerank adds RERANK_WEIGHT × the best sentence's lexical_overlap to the fused score of each
# hit: a chunk holding one sentence with the question's rare words beats one that merely shares
# its topic. Chosen on squad2 (bench/eval-squad2.md).
RERANK_WEIGHT = 0.5


def convex_fusion(
    dense: dict[str, float], lexical: dict[str, float], weight: float = LEXICAL_WEIGHT
) -> dict[str, float]:
    """Score of each id: weight × BM25 / best BM25 + (1 − weight) × cosine.

    `dense` must hold the cosine of every id, including those only the lexical
    side found; BM25 is scaled by the query's best score so the two are comparable.
    """
    best = max(lexical.values(), default=0.0) or 1.0
    return {i: weight * lexical.get(i, 0.0) / best + (1 - weight) * cosine for i, cosine in dense.items()}


def lexical_overlap(question_words: set[str], sentences: list[str]) -> list[float]:
    """Share of the question's content words each sentence contains, each word
    weighted by its rarity among these sentences (a word found in all of them,
    like the article's topic, tells them apart least)."""
    if not question_words:
        return [0.0] * len(sentences)
    words = [content_words(s) & question_words for s in sentences]
    idf = {w: math.log(1 + len(sentences) / (1 + sum(w in ws for ws in words))) for w in question_words}
    total = sum(idf.values())
    return [sum(idf[w] for w in ws) / total for ws in words]


def rerank(query: str, scores: dict[str, float], texts: dict[str, str], weight: float = RERANK_WEIGHT) -> list[str]:
    """Ids by score plus `weight` × their best sentence's overlap with the query."""
    sentences = [(i, texts[i][s:e]) for i in scores for s, e, _ in sentence_spans(texts[i])]
    best = dict.fromkeys(scores, 0.0)
    for (i, _), overlap in zip(sentences, lexical_overlap(content_words(query), [s for _, s in sentences])):
        best[i] = max(best[i], overlap)
    return sorted(scores, key=lambda i: -(scores[i] + weight * best[i]))


def per_article_cap(ranked: list[str], article_of: dict[str, str], k: int, relevant: set[str]) -> list[str]:
    """The first k ids with at most max(2, k // 2) from one article, unless no
    `relevant` id from another article is left to take a slot."""
    cap = max(2, k // 2)
    kept, deferred, taken = [], [], Counter()
    for i in ranked:
        taken[article_of[i]] += 1
        (kept if taken[article_of[i]] <= cap else deferred).append(i)
    # Relevant deferred ids go back in behind the last relevant kept one: irrelevant ids never displace
    # them. Irrelevant deferred ids stay behind everything (when no passage is relevant, the ranking stands).
    cut = max((n + 1 for n, i in enumerate(kept) if i in relevant), default=0)
    back = [i for i in deferred if i in relevant]
    return (kept[:cut] + back + kept[cut:] + [i for i in deferred if i not in relevant])[:k]
