"""One copy of every passage: the first ingest of the State of the Union corpus with this tree against an earlier
checkout (passage text in Chroma too), alternating, each in its own process on a fresh store; the encoder alone
over the same chunk texts; and each store's size on disk.

    git worktree add --detach /tmp/before 1b31125     # the last commit whose chunks held their text
    python bench/one_copy.py --before /tmp/before [--rounds 2] [--report bench/one-copy.md]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

from ingest_speed import SOTU, dossier_chunks, measure  # bench/ is on the path when a script here runs
from report import emit

ROOT = Path(__file__).resolve().parents[1]


def sizes(folder: Path) -> dict[str, float]:
    """MiB on disk (allocated blocks) of Chroma's SQLite file, its vector segments, the BM25 index and the rest."""
    part = {"chroma.sqlite3": 0.0, "segments": 0.0, "BM25": 0.0, "other": 0.0}
    for p in (p for p in folder.rglob("*") if p.is_file()):
        if p.parent != folder:
            kind = "segments"
        elif p.name.startswith("dossier-lexical"):
            kind = "BM25"
        else:
            kind = "chroma.sqlite3" if p.name.startswith("chroma.sqlite3") else "other"
        part[kind] += p.stat().st_blocks * 512 / 2**20
    return part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the earlier commit")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    texts = dossier_chunks()
    work = Path(tempfile.mkdtemp(prefix="dossier-one-copy-"))
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(texts))
    limit_cmd = [sys.executable, str(ROOT / "bench" / "ingest_speed.py"), "--child", "limit", str(texts_file)]
    trees = {"before": args.before.resolve(), "after": ROOT}
    wall: dict[str, list[float]] = {"before": [], "after": [], "limit": []}
    disk: dict[str, dict[str, float]] = {}
    try:
        for n in range(args.rounds):
            order = ["before", "after"] if n % 2 == 0 else ["after", "before"]
            for kind in [*order, "limit"]:
                if kind == "limit":
                    _, _, output = measure(limit_cmd)
                    wall["limit"].append(json.loads(output.strip().splitlines()[-1])["seconds"])
                else:
                    store = work / f"{kind}-{n}"
                    cmd = [sys.executable, "-m", "ingest", str(SOTU), "--store", str(store)]
                    seconds, _, _ = measure(cmd, cwd=trees[kind])
                    wall[kind].append(seconds)
                    disk[kind] = sizes(store)
                    shutil.rmtree(store)
                print(f"round {n}: {kind} {wall[kind][-1]:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(wall, disk, len(texts), args)


def report(wall, disk, chunks, args) -> None:
    limit = statistics.median(wall["limit"])
    rows = []
    for kind in ("before", "after"):
        w = statistics.median(wall[kind])
        size = disk[kind]
        rows.append(
            f"| {kind} | {w:.1f} | {chunks / w:.1f} | **{limit / w:.2f}** | {sum(size.values()):.0f} | "
            f"{size['chroma.sqlite3']:.0f} | {size['segments']:.0f} | {size['BM25']:.0f} |"
        )
    per_round = "; ".join(
        f"round {n}: before {b:.1f} s, after {a:.1f} s (after/before {a / b:.2f}), encoder {e:.1f} s"
        for n, (b, a, e) in enumerate(zip(wall["before"], wall["after"], wall["limit"]))
    )
    lines = [
        f"## One copy of every passage (sotu: 233 articles, {chunks} chunks)",
        "",
        f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · median of {args.rounds} alternating rounds · "
        f"`python bench/one_copy.py --before {args.before}`",
        "",
        "| tree | ingest wall s | chunks/s | encoder limit / ingest | store MiB on disk | chroma.sqlite3 | "
        "vector segments | BM25 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Encoder alone over the same texts: {limit:.1f} s median. {per_round}.",
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
