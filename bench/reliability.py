"""Load and faults, embedded and on a `chroma run` server: nothing lost, nothing mixed.

    python bench/reliability.py [--rounds 6] [--kills 5] [--report bench/reliability-run.md]

1. Load: 8 threads ask questions through one Assistant while another process
   re-ingests six articles, alternating two editions of each; every answer and
   retrieval is checked for passages of two editions of one article.
2. The Chroma server killed while questions run, then restarted: the errors
   and how fast they came, and whether the same Assistant answers afterwards.
3. kill -9 of an ingest at a random moment, `--kills` times per mode: the next
   run completes and `python -m ingest check` finds the store consistent.
"""

import argparse
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dossier_core.errors import DossierError  # noqa: E402
from rag import Assistant, Library  # noqa: E402
from rag.settings import Settings  # noqa: E402
from tests.conftest import ChromaServer  # noqa: E402
from tests.test_cli import many_articles  # noqa: E402
from tests.test_concurrency import TOWNS, write_editions  # noqa: E402
from vectorstore.embedder import MiniLMEmbedder  # noqa: E402
from vectorstore.store import ChromaStore  # noqa: E402


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


def load(work: Path, url: str | None, rounds: int, embedder) -> dict:
    store, news = work / "s", work / "news"
    write_editions(news, "A")
    settings = Settings(chroma_url=url)
    Library(store, settings, embedder=embedder).ingest([news])
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
from rag import Library
from rag.settings import Settings
from tests.test_concurrency import write_editions
library = Library({str(work / "w")!r} if {url!r} else {str(store)!r}, Settings(chroma_url={url!r}))
for round in range({rounds}):
    write_editions({str(news)!r}, "BA"[round % 2])
    library.ingest([{str(news)!r}])
""",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assistant = Assistant(store, settings, embedder=embedder)
    seconds, errors, mixed = [], [], 0
    guard = threading.Lock()

    def ask(town):
        nonlocal mixed
        while writer.poll() is None:
            began = time.perf_counter()
            try:
                answer = assistant.ask(f"What happened to the {town} school budget?")
            except DossierError as e:
                errors.append(str(e))
                continue
            editions = defaultdict(set)
            for c in answer.citations:
                editions[c.article_id].update(re.findall(r"edition ([AB])", c.text))
            with guard:
                seconds.append(time.perf_counter() - began)
                mixed += any(len(e) > 1 for e in editions.values())

    threads = [threading.Thread(target=ask, args=(TOWNS[i % len(TOWNS)],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.wait() == 0, writer.stderr.read()
    return {
        "answers": len(seconds),
        "errors": len(errors),
        "mixed": mixed,
        "replaced": rounds * len(TOWNS),
        "p50": statistics.median(seconds) * 1000,
        "p95": statistics.quantiles(seconds, n=20)[18] * 1000,
        "consistent": not ChromaStore(
            store, {"embedder": embedder.name, "dimensions": embedder.dim}, url
        ).consistency.check(),
    }


def server_kill(work: Path, embedder) -> dict:
    server = ChromaServer(work / "chroma").start()
    try:
        news = work / "news"
        write_editions(news, "A")
        library = Library(work / "s", Settings(chroma_url=server.url), embedder=embedder)
        library.ingest([news])
        assistant = Assistant(library)
        outcomes, stop = [], threading.Event()

        def ask():
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    assistant.ask("What happened to the Elm school budget?")
                    outcomes.append(("answer", time.perf_counter() - began))
                except DossierError:
                    outcomes.append(("error", time.perf_counter() - began))

        asker = threading.Thread(target=ask)
        asker.start()
        time.sleep(2)
        server.kill()
        time.sleep(2)
        stop.set()
        asker.join()
        server.start()
        after = assistant.ask("What happened to the Elm school budget?")
        errors = [s for kind, s in outcomes if kind == "error"]
        return {
            "answers": len(outcomes) - len(errors),
            "errors": len(errors),
            "slowest_error": max(errors) * 1000,
            "after_restart": not after.abstained,
        }
    finally:
        server.kill()


def ingest_kills(work: Path, url: str | None, kills: int) -> dict:
    folder = many_articles(work / "reports", 30)
    flags = ("--chroma-url", url) if url else ()
    consistent = 0
    rng = random.Random(7)
    for n in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingest", folder, "--store", work / "s", *flags],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(4, 15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for path in folder.glob("*.txt"):  # the next run replaces articles as well as adding them
            path.write_text(path.read_text() + f"\n\nCorrection {n}: the council amended the minutes of this meeting.")
        done = cli("ingest", folder, "--store", work / "s", *flags)
        consistent += done.returncode == 0 and cli("ingest", "check", "--store", work / "s", *flags).returncode == 0
    return {"kills": kills, "consistent": consistent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    embedder = MiniLMEmbedder()
    lines = [
        "## Reliability run",
        "",
        f"{date.today()} · {platform.machine()}, 2 CPUs · `python bench/reliability.py`",
        "",
        "| mode | answers under load | errors | answers mixing editions | articles replaced meanwhile "
        "| answer p50 ms | p95 ms | check after |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    kills = []
    for mode in ("embedded", "server"):
        work = Path(tempfile.mkdtemp(prefix=f"dossier-rel-{mode}-"))
        server = ChromaServer(work / "chroma").start() if mode == "server" else None
        try:
            r = load(work / "load", server and server.url, args.rounds, embedder)
            lines.append(
                f"| {mode} | {r['answers']} | {r['errors']} | {r['mixed']} | {r['replaced']} "
                f"| {r['p50']:.0f} | {r['p95']:.0f} | {'consistent' if r['consistent'] else 'PROBLEMS'} |"
            )
            kills.append((mode, ingest_kills(work / "kills", server and server.url, args.kills)))
        finally:
            if server:
                server.kill()
            shutil.rmtree(work, ignore_errors=True)
    lines += ["", "| kill -9 of an ingest | runs killed | next run completed and check consistent |", "|---|---:|---:|"]
    lines += [f"| {mode} | {k['kills']} | {k['consistent']} |" for mode, k in kills]
    work = Path(tempfile.mkdtemp(prefix="dossier-rel-kill-"))
    try:
        r = server_kill(work, embedder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines += [
        "",
        f"Chroma server killed while one thread asked: {r['answers']} answers before, "
        f"{r['errors']} one-line errors after (slowest {r['slowest_error']:.0f} ms), restarted: "
        f"the same Assistant {'answered' if r['after_restart'] else 'did NOT answer'}.",
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    main()
