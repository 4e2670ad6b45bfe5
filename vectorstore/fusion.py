"""Fusing dense and lexical rankings, and spreading results over articles (pure)."""

from collections import Counter

# Weight of the lexical score, chosen on squad2 by bench/eval_squad2.py (bench/eval-squad2.md):
# 0.3 is best or tied on every figure; reciprocal-rank fusion does worse because the dense ranking is weaker.
LEXICAL_WEIGHT = 0.3


def convex_fusion(dense: dict[str, float], lexical: dict[str, float], weight: float = LEXICAL_WEIGHT) -> list[str]:
    """Ids by weight × BM25 / best BM25 + (1 − weight) × cosine.

    `dense` must hold the cosine of every id, including those only the lexical
    side found; BM25 is scaled by the query's best score so the two are comparable.
    """
    best = max(lexical.values(), default=0.0) or 1.0
    score = {i: weight * lexical.get(i, 0.0) / best + (1 - weight) * cosine for i, cosine in dense.items()}
    return sorted(score, key=lambda i: -score[i])


def per_article_cap(ranked: list[str], article_of: dict[str, str], k: int) -> list[str]:
    """The first k ids with at most max(2, k // 2) from one article, unless
    nothing else is left to fill the slots."""
    cap = max(2, k // 2)
    chosen, skipped, taken = [], [], Counter()
    for i in ranked:
        if len(chosen) == k:
            break
        if taken[article_of[i]] < cap:
            chosen.append(i)
            taken[article_of[i]] += 1
        else:
            skipped.append(i)
    return (chosen + skipped)[:k]
