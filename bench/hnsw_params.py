"""HNSW parameters by measurement: for each M and ef_construction, a Chroma collection of N
synthetic vectors is built (its build time reported), then for each ef_search the 200
benchmark questions are asked: recall@10 against exact search, and query latency p50/p95.

    python bench/hnsw_params.py [--size 100000] [--m 16 32] [--construction 100 200]
        [--search 50 100 200] [--report bench/hnsw-params.md]

The vectors are those bench/query_speed.py's synthetic stores hold (`synthetic_vectors`:
mixtures of real sotu chunk vectors, so they lie where MiniLM's vectors lie), the questions
its questions embedded by the bundled model. Each collection is built in a temporary folder
and dropped after; the nearest 10 by exact search come from numpy over the same vectors.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import chromadb
import numpy as np
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from query_speed import CHUNKS_PER_ARTICLE, questions, synthetic_vectors
from report import emit  # bench/ is on the path when a script here runs

K = 10
BATCH = 5_000


def question_vectors() -> np.ndarray:
    from vectorstore.embedder import MiniLMEmbedder

    return MiniLMEmbedder().embed_batch(questions())


def exact(vectors: np.ndarray, asked: np.ndarray) -> list[set[int]]:
    return [set(np.argsort(-(vectors @ q))[:K].tolist()) for q in asked]


def measure(vectors: np.ndarray, asked: np.ndarray, truth: list[set[int]], m: int, construction: int, searches):
    """(build seconds, [(ef_search, recall@10, p50 ms, p95 ms)]) of one collection."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as folder:
        client = chromadb.PersistentClient(folder, settings=ChromaSettings(anonymized_telemetry=False))
        hnsw = {"space": "cosine", "max_neighbors": m, "ef_construction": construction}
        chunks = client.create_collection("chunks", embedding_function=None, configuration={"hnsw": hnsw})
        began = time.perf_counter()
        for start in range(0, len(vectors), BATCH):
            ids = [str(i) for i in range(start, min(start + BATCH, len(vectors)))]
            chunks.add(ids=ids, embeddings=vectors[start : start + BATCH])
        chunks.query(query_embeddings=[asked[0]], n_results=K)  # the index is complete once a query has read it
        built = time.perf_counter() - began
        rows = []
        for ef in searches:
            chunks.modify(configuration={"hnsw": {"ef_search": ef}})
            # A client keeps the index it loaded, with the ef_search it had: only a fresh one reads the new one.
            SharedSystemClient.clear_system_cache()
            client = chromadb.PersistentClient(folder, settings=ChromaSettings(anonymized_telemetry=False))
            chunks = client.get_collection("chunks")
            for q in asked[:5]:
                chunks.query(query_embeddings=[q], n_results=K)
            found, took = [], []
            for q in asked:
                t = time.perf_counter()
                ids = chunks.query(query_embeddings=[q], n_results=K, include=[])["ids"][0]
                took.append(time.perf_counter() - t)
                found.append({int(i) for i in ids})
            recall = float(np.mean([len(f & t) / K for f, t in zip(found, truth)]))
            rows.append((ef, recall, *(float(np.percentile(took, p)) * 1000 for p in (50, 95))))
        return built, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--m", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--construction", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--search", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    vectors = synthetic_vectors(args.size // CHUNKS_PER_ARTICLE)
    asked = question_vectors()
    truth = exact(vectors, asked)
    lines = []
    for m in args.m:
        for construction in args.construction:
            built, rows = measure(vectors, asked, truth, m, construction, args.search)
            for ef, recall, p50, p95 in rows:
                lines.append(f"| {m} | {construction} | {built:.0f} | {ef} | {recall:.3f} | {p50:.1f} | {p95:.1f} |")
                print(lines[-1], file=sys.stderr)
    emit(
        [
            f"## HNSW parameters at {args.size:,} vectors (Chroma alone, {K} nearest, 200 questions)",
            "",
            f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · `python bench/hnsw_params.py "
            f"--size {args.size}`",
            "",
            "| M | ef_construction | build s | ef_search | recall@10 | p50 ms | p95 ms |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *lines,
        ],
        args.report,
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
