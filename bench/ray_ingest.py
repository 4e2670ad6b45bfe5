"""Ingest on a Ray cluster against the ordinary single-process ingest, and what it would take past one machine.

The cluster is two worker processes on this machine: a head node and a second node, one CPU each (`ray start`).
Each round ingests the same State of the Union addresses into a fresh store, once in one process and once with
`--ray`, alternating which goes first. Then, each in its own process: one worker's rate (the encoder on one
thread, as a Ray actor runs it) and the writer's rate (the driver storing given vectors, as it does with the
cluster's). From those, a paper estimate of the wall time for 20 M chunks on N machines.

    python bench/ray_ingest.py [--articles 80] [--rounds 2] [--report bench/ray-ingest.md]
"""

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from ingest_speed import SOTU, dossier_chunks, measure  # bench/ is on the path when a script here runs
from report import emit

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}
ARCHIVE = 20_000_000  # chunks: a newsroom archive of about a million articles


def worker_rate(texts_file: str) -> None:
    """Child: passages per second of the encoder on one thread, in an ingest's groups, as each Ray actor runs it."""
    os.environ["OMP_NUM_THREADS"] = "1"
    from rag.ingestion import EMBED_GROUP
    from vectorstore.embedder import MiniLMEmbedder

    texts = json.loads(Path(texts_file).read_text())
    embedder = MiniLMEmbedder("torch")
    embedder.embed_bulk(texts[:16])
    began = time.perf_counter()
    for start in range(0, len(texts), EMBED_GROUP):
        embedder.embed_bulk(texts[start : start + EMBED_GROUP])
    print(json.dumps({"rate": len(texts) / (time.perf_counter() - began)}))


def writer_rate(corpus: str) -> None:
    """Child: chunks per second the driver parses, chunks and stores into a `chroma run` server when the vectors
    are given (random unit vectors here), looking up vectors to reuse as an ingest does."""
    import numpy as np

    from ingest.chunk import INDEXED
    from ingest.load import parse_articles, read_input
    from rag import Library, Settings
    from rag.ingestion import Batch

    work = Path(tempfile.mkdtemp(prefix="dossier-writer-"))
    port = free_port()
    chroma = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(work / "chroma"), "--port", str(port)]
    server = subprocess.Popen(chroma, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while subprocess.run(["curl", "-sf", f"{url}/api/v2/heartbeat"], capture_output=True).returncode:
        time.sleep(0.5)  # the server's start-up
    library = Library(settings=Settings(store=str(work / "local"), chroma_url=url))
    rng = np.random.default_rng(0)

    class Given:  # the embedder's interface, with vectors that cost nothing
        name, dim, max_tokens, in_flight = library.embedder.name, library.embedder.dim, library.embedder.max_tokens, 0
        count_tokens = library.embedder.count_tokens

        def submit(self, texts):
            v = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            return lambda: v

    with library.store.consistency.writing():
        chunks, began = 0, time.perf_counter()
        batch = Batch(library.store, Given(), library.chunking)
        articles, _ = parse_articles(read_input(Path(corpus)))
        for article in articles:
            chunks += sum(r.chunks for r in batch.add_article(article, INDEXED))
        chunks += sum(r.chunks for r in batch.flush())
        seconds = time.perf_counter() - began
    server.terminate()
    server.wait()
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"rate": chunks / seconds}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(temp: Path) -> tuple[str, list[subprocess.Popen]]:
    """A head and a second node on this machine, one CPU each."""
    port = free_port()
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--block"]
    env = {**os.environ, **AUTH}
    ray = str(Path(sys.executable).parent / "ray")
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    head = [ray, "start", "--head", f"--port={port}", f"--temp-dir={temp}", "--include-dashboard=false", *common]
    nodes = [subprocess.Popen(head, **quiet)]
    deadline = time.monotonic() + 120
    while not (temp / "ray_current_cluster").exists():
        if nodes[0].poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the Ray head did not start")
        time.sleep(0.2)
    nodes.append(subprocess.Popen([ray, "start", f"--address=127.0.0.1:{port}", *common], **quiet))
    time.sleep(5)
    return f"127.0.0.1:{port}", nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=80, help="the first N addresses of sotu")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"worker": worker_rate, "writer": writer_rate}[args.child[0]](args.child[1])
        return
    os.environ.update(AUTH)  # the drivers join the cluster with its token
    work = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    corpus = work / "sotu.jsonl"
    corpus.write_text("".join(SOTU.read_text().splitlines(keepends=True)[: args.articles]))
    texts = dossier_chunks(corpus)
    (work / "texts.json").write_text(json.dumps(texts))
    me = [sys.executable, str(Path(__file__).resolve())]
    address, nodes = start_cluster(work / "t")
    wall: dict[str, list[float]] = {"one process": [], "ray": []}
    try:
        for n in range(args.rounds):
            order = ["one process", "ray"] if n % 2 == 0 else ["ray", "one process"]
            for kind in order:
                flags = ["--ray", address] if kind == "ray" else []
                cmd = [sys.executable, "-m", "ingest", str(corpus), "--store", str(work / f"{n}-{kind}"), *flags]
                seconds, _, _ = measure(cmd)
                wall[kind].append(seconds)
                print(f"round {n}: {kind} {seconds:.1f} s", file=sys.stderr)
    finally:
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)
            node.wait()
    rates = {}
    for kind, arg in (("worker", str(work / "texts.json")), ("writer", str(corpus))):
        rates[kind] = json.loads(measure([*me, "--child", kind, arg])[2].strip().splitlines()[-1])["rate"]
    shutil.rmtree(work, ignore_errors=True)
    report(wall, rates, len(texts), args)


def report(wall, rates, chunks, args) -> None:
    one, ray = statistics.median(wall["one process"]), statistics.median(wall["ray"])
    ratios = ", ".join(f"{o / r:.2f}" for o, r in zip(wall["one process"], wall["ray"]))
    estimate = [
        "| machines (2 cores each) | embedding alone | writer alone | wall (the slower) |",
        "|---:|---:|---:|---:|",
    ]
    for machines in (1, 10, 50, 100, 500):
        embedding = ARCHIVE / (machines * 2 * rates["worker"]) / 3600
        writing = ARCHIVE / rates["writer"] / 3600
        estimate.append(f"| {machines} | {embedding:.1f} h | {writing:.1f} h | {max(embedding, writing):.1f} h |")
    lines = [
        f"## Ingest on a Ray cluster (sotu, first {args.articles} addresses, {chunks} chunks)",
        "",
        f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · {args.rounds} alternating rounds · "
        "`python bench/ray_ingest.py`",
        "",
        "| ingest | wall s (median) | chunks/s |",
        "|---|---:|---:|",
        f"| one process (`python -m ingest`) | {one:.1f} | {chunks / one:.1f} |",
        f"| `--ray` on a head and a second node, one CPU each | {ray:.1f} | {chunks / ray:.1f} |",
        "",
        f"- Ray throughput / one process, per round: **{ratios}** (target ≥ 0.9)",
        f"- one worker (the encoder on one thread, in groups of 256): {rates['worker']:.1f} chunks/s; "
        f"the writer (parsing, chunking, looking up reusable vectors and storing given ones into a `chroma run` "
        f"server): {rates['writer']:.0f} chunks/s, into a fresh server with {chunks} chunks — at 20 M chunks "
        "Chroma's index inserts cost more, which this does not show",
        "",
        f"Paper estimate for {ARCHIVE / 1e6:.0f} M chunks, the workers embedding while the one writer stores:",
        "",
        *estimate,
        "",
        "Runs (wall s): " + "; ".join(f"{k}: " + ", ".join(f"{s:.1f}" for s in v) for k, v in wall.items()),
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
