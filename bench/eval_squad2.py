"""Retrieval configurations on squad2, side by side: writes bench/eval-squad2.md.

    python bench/eval_squad2.py [--shared ../shared] [--store data/eval-squad2] [--report bench/eval-squad2.md]

Each configuration runs the harness of `python -m rag.eval` on questions-dev.jsonl. A last
section compares ways to fuse the dense and lexical rankings on the same candidates.
"""

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from rag import Assistant, Settings
from rag.eval import evaluate, gold_rank, ingest_corpus, load_questions, render_report, results, store_settings
from vectorstore.fusion import convex_fusion

CONFIGS = [("dense (MiniLM + Chroma)", "dense"), ("lexical (BM25, SQLite FTS5)", "lexical"), ("hybrid (default)", "hybrid")]


def fusion_table(assistant: Assistant, questions) -> str:
    """Hits@1 / Hits@5 / MRR@10 of fusion rules over the same 40 dense and 40 lexical candidates."""
    store = assistant.store
    vectors = assistant.embedder.embed_batch([q.question for q in questions])
    candidates = []
    for q, v in zip(questions, vectors):
        r = store._chunks.query(query_embeddings=[v], n_results=40, include=["metadatas", "distances"])
        cosine = {i: 1 - d for i, d in zip(r["ids"][0], r["distances"][0])}
        article = {i: m["article_id"] for i, m in zip(r["ids"][0], r["metadatas"][0])}
        lexical = dict(store._lexical.search(q.question, 40))
        missing = [i for i in lexical if i not in cosine]
        extra = store._chunks.get(ids=missing, include=["metadatas", "embeddings"]) if missing else {"ids": []}
        for i, m, e in zip(extra["ids"], extra.get("metadatas", []), extra.get("embeddings", [])):
            cosine[i], article[i] = float(np.dot(e, v)), m["article_id"]
        candidates.append((q, cosine, lexical, article))

    def rrf(weight_dense):
        def rank(cosine, lexical):
            score = {}
            for ranking, weight in ((sorted(cosine, key=lambda i: -cosine[i])[:40], weight_dense), (list(lexical), 1.0)):
                for n, i in enumerate(ranking, 1):
                    score[i] = score.get(i, 0.0) + weight / (60 + n)
            return sorted(score, key=lambda i: -score[i])
        return rank

    def convex(weight):
        return lambda cosine, lexical: convex_fusion(cosine, lexical, weight)

    rules = [("dense only", lambda c, l: sorted(c, key=lambda i: -c[i])), ("lexical only", lambda c, l: list(l)),
             ("reciprocal rank (k=60)", rrf(1.0)), ("reciprocal rank, dense weight 0.5", rrf(0.5))]
    rules += [(f"convex, lexical weight {w}", convex(w)) for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.8)]
    lines = ["| fusion | Hits@1 | Hits@5 | MRR@10 |", "|---|---|---|---|"]
    for name, rank in rules:
        ranks = [gold_rank([article[i] for i in rank(cosine, lexical)], q.gold_doc) for q, cosine, lexical, article in candidates]
        n = len(ranks)
        hits1 = sum(r == 1 for r in ranks) / n
        hits5 = sum(bool(r and r <= 5) for r in ranks) / n
        mrr = sum(1 / r for r in ranks if r and r <= 10) / n
        lines.append(f"| {name} | {hits1:.3f} | {hits5:.3f} | {mrr:.3f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--store", default="data/eval-squad2")
    parser.add_argument("--report", type=Path, default=Path("bench/eval-squad2.md"))
    args = parser.parse_args()
    corpus, questions_file = args.shared / "bench/squad2/corpus.jsonl", args.shared / "bench/squad2/questions-dev.jsonl"
    questions = load_questions(questions_file)
    base = Assistant(args.store)
    ingest_corpus(base, str(corpus))
    sections = [
        "# squad2: retrieval configurations\n",
        f"Reproduce with `python bench/eval_squad2.py` ({len(questions)} questions of `questions-dev.jsonl`, "
        f"{sum(not q.is_impossible for q in questions)} answerable; 411 paragraphs as articles). Hits and MRR are at article level "
        "over all questions (each has a gold paragraph); answer figures come from the extractive answerer.\n",
    ]
    fusion = fusion_table(base, [q for q in questions if q.gold_doc])
    for title, mode in CONFIGS:
        assistant = Assistant(args.store, Settings(retrieval=mode), embedder=base.embedder)
        result = results(evaluate(assistant, questions))
        command = shlex.join(["python", "-m", "rag.eval", "--corpus", str(corpus), "--questions", str(questions_file), "--store", args.store])
        sections.append(render_report(result, title, f"{command} --retrieval {mode}", store_settings(assistant)))
        print(f"{title}: done", file=sys.stderr)
    sections.append("## Fusion rules on the same candidates\n\n" + fusion + "\n")
    args.report.write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
