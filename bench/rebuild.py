"""Rebuilding a broken chunk index against ingesting the library in the first place. Each round ingests the
State of the Union addresses into a fresh store folder (`python -m ingest sotu.jsonl`), cuts the chunks' HNSW id
map short as a save cut short leaves it (Chroma then refuses the collection), and repairs it
(`python -m ingest check --repair`): the two alternate, each a whole process as a user runs it. The repaired store
must then check consistent and hold as many articles and passages as before.

    python bench/rebuild.py [--rounds 2] [--corpus sotu.jsonl] [--report bench/rebuild.md]
"""

import argparse
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import date
from pathlib import Path

from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
SOTU = ROOT.parent / "shared" / "corpora" / "sotu" / "sotu.jsonl"


def run(*args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds, the finished process): CPU time tells what another load on the machine hides."""
    began, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return time.perf_counter() - began, _children_cpu() - cpu, done


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def held(store: Path) -> str:
    """'233 articles, 14016 passages', as `ingest list` ends."""
    *_, listed = run("ingest", "list", "--store", str(store))
    return listed.stdout.strip().splitlines()[-1]


def cut_short(store: Path) -> None:
    """Halve the chunk index's id map, as a kill while Chroma writes it leaves it."""
    with closing(sqlite3.connect(store / "chroma.sqlite3")) as db:
        (segment,) = db.execute(
            "SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
            "WHERE c.name = 'dossier_chunks' AND s.scope = 'VECTOR'"
        ).fetchone()
    id_map = store / segment / "index_metadata.pickle"
    os.truncate(id_map, id_map.stat().st_size // 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=SOTU, help="a JSON Lines dump (default: the addresses)")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    ingests, repairs, rows = [], [], []  # (wall s, CPU s) each
    with tempfile.TemporaryDirectory() as work:
        for round_ in range(args.rounds):
            store = Path(work) / f"store-{round_}"
            load = os.getloadavg()[0]
            *ingest, ingested = run("ingest", str(args.corpus), "--store", str(store))
            assert ingested.returncode == 0, ingested.stderr[-2000:]
            before = held(store)
            cut_short(store)
            check, _, checked = run("ingest", "check", "--store", str(store))
            assert checked.returncode == 1 and "Chroma refuses it" in checked.stdout, checked.stdout + checked.stderr
            load = max(load, os.getloadavg()[0])
            *repair, repaired = run("ingest", "check", "--repair", "--store", str(store))
            assert repaired.returncode == 0 and "consistent" in repaired.stdout, repaired.stdout + repaired.stderr
            after = held(store)
            assert after == before, (before, after)
            healthy, _, checked = run("ingest", "check", "--store", str(store))
            assert checked.returncode == 0, checked.stdout + checked.stderr
            ingests.append(ingest)
            repairs.append(repair)
            estimate = re.search(r"about ([\d.]+ (?:s|min)) at (\d+) passages/s", repaired.stdout)
            rebuilt = re.search(r"^rebuilt \d+ articles \(.*\) in ([\d.]+ (?:s|min)):", repaired.stdout, re.M)
            rows.append(
                f"| {round_ + 1} | {load:.1f} | {ingest[0]:.0f} / {ingest[1]:.0f} | {check:.1f} | "
                f"{repair[0]:.0f} / {repair[1]:.0f} | {repair[0] / ingest[0]:.2f} / {repair[1] / ingest[1]:.2f} | "
                f"{estimate[1]} ({estimate[2]}/s) | {rebuilt[1]} | {healthy:.1f} | {after} |"
            )
    wall, cpu = (statistics.median(r[i] for r in repairs) / statistics.median(r[i] for r in ingests) for i in (0, 1))
    lines = [
        "# Rebuilding a broken chunk index",
        "",
        f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"`python bench/rebuild.py --rounds {args.rounds}` over {args.corpus.name} "
        "(first ingest and repair alternate; whole processes, as a user runs them).",
        "",
        "| round | load avg before | first ingest wall / CPU s | `check` s (names the fault) "
        "| `check --repair` wall / CPU s | repair / ingest, wall / CPU | estimate printed | rebuild itself "
        "| `check` after s | library after |",
        "|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
        *rows,
        "",
        f"- rebuild (`check --repair`, whole process) / first ingest, medians: **{wall:.2f}** wall, {cpu:.2f} CPU "
        "(target ≤ 1.2)",
        "- The fault: the chunks' HNSW id map (`index_metadata.pickle`) cut to half its length, as a kill while Chroma",
        "  saves it leaves it; Chroma then refuses every call on the collection.",
        "- A load average above the machine's CPUs means other work shared them: compare the CPU seconds then.",
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    main()
