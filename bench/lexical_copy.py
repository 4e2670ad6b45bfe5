"""A new process answering on a Chroma server that holds 100 k chunks: this tree against an earlier checkout
(which copies every chunk's BM25 row to the machine before its first answer), alternating, each a fresh
`python -m rag ask` process; then this tree's process where another has already caught the folder's copy up,
and how long catching a new copy up takes in the background.

    git worktree add --detach /tmp/before 254ee7d     # the last commit whose copy was rebuilt before answering
    python bench/lexical_copy.py --before /tmp/before [--rounds 3] [--report bench/lexical-copy.md]

The server (`chroma run`, its data under data/bench/, git-ignored) is started here and filled once with
bench/query_speed.py's synthetic newsroom articles (20 chunks each).
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
import urllib.request
from datetime import date
from pathlib import Path

from query_speed import STORES, build_synthetic  # bench/ is on the path when a script here runs
from report import emit

ROOT = Path(__file__).resolve().parents[1]
SIZE = 100_000
PORT = 8765
QUESTION = "What did the President say about taxes and the budget?"


def serve(path: Path) -> subprocess.Popen:
    chroma = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(PORT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v2/heartbeat", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("chroma run did not start")


def ask(tree: Path, store: Path, url: str) -> tuple[float, str]:
    """Seconds from starting a new `python -m rag ask` to its answer, and how it searched."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ask", QUESTION, "--json", "--store", str(store), "--chroma-url", url],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["citations"], answer
    return seconds, answer["trace"].get("retrieval", "hybrid (the whole copy first)")


def caught_up(store: Path, url: str) -> float:
    """Seconds a process takes to catch a new copy up with the server."""
    code = (
        "import time; from rag import Library; from rag.settings import Settings\n"
        f"library = Library({str(store)!r}, Settings(chroma_url={url!r}))\n"
        "began = time.perf_counter(); library.store.consistency.follow(wait=True)\n"
        "print(time.perf_counter() - began)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the earlier commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{PORT}"
    server = serve(STORES / f"server-{SIZE}")
    work = Path(tempfile.mkdtemp(prefix="dossier-lexical-copy-"))
    try:
        began = time.perf_counter()
        build_synthetic(SIZE, work / "builder", url)
        print(f"server holds {SIZE:,} chunks ({time.perf_counter() - began:.0f} s to build or check)", file=sys.stderr)
        kept = work / "kept"
        catch_up = caught_up(kept, url)
        runs: dict[str, list[tuple[float, str]]] = {"before": [], "after": [], "kept": []}
        for n in range(args.rounds):
            order = ["before", "after", "kept"] if n % 2 == 0 else ["kept", "after", "before"]
            for kind in order:
                store = kept if kind == "kept" else work / f"{kind}-{n}"
                runs[kind].append(ask(args.before.resolve() if kind == "before" else ROOT, store, url))
                print(kind, runs[kind][-1], file=sys.stderr)
                if kind != "kept":
                    shutil.rmtree(store, ignore_errors=True)
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)
    names = {
        "before": "earlier checkout, a new copy",
        "after": "this tree, a new copy",
        "kept": "this tree, the folder's copy kept current by another process",
    }
    rows = [
        f"| {names[kind]} | {statistics.median(s for s, _ in runs[kind]):.1f} | "
        f"{', '.join(f'{s:.1f}' for s, _ in runs[kind])} | {runs[kind][0][1]} |"
        for kind in names
    ]
    emit(
        [
            f"## A new process answering on a Chroma server of {SIZE:,} chunks",
            "",
            f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · `python bench/lexical_copy.py "
            f"--before CHECKOUT --rounds {args.rounds}` · `python -m rag ask` from start to answer, alternating",
            "",
            "| process | median s | runs (s) | searched |",
            "|---|---:|---|---|",
            *rows,
            "",
            f"Catching a new copy up: {catch_up:.1f} s (`consistency.follow(wait=True)` in a new process: the work a "
            "process does in the background while it answers by meaning).",
        ],
        args.report,
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
