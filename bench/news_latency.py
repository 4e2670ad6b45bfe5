"""Answer latency before and after issue 17 (news-aware answers), side by side: `Assistant.ask` with the
extractive backend, warm, in two source trees over the same stores.

    .venv/bin/python bench/news_latency.py [--before DIR] [--after DIR] [--rounds 3] [--report bench/news-latency.md]

--before defaults to a git worktree of ca93d9b (the last commit before issue 17), made under data/bench/
(git-ignored) on first use with its .venv a link to this tree's; --after defaults to this tree, uncommitted
changes included. Each tree's code runs in a child process of its own (cwd and PYTHONPATH the tree), which
answers one untimed question per store and then times every question. The trees alternate, before then after,
for --rounds rounds, each round a new pair of processes: this machine's timing drifts ±25 % over minutes.

Question sets: the 200 sotu questions of bench/query_speed.py over its 10 k-chunk real store
(data/bench/query-real-10000, built on first use), and bench/conflicts' questions over its articles (ingested by
this tree's code into data/bench/news-latency-conflicts-HASH on first use), each asked with its `as_of` day
where the tree's Settings have that setting (ca93d9b's do not).
"""

import argparse
import hashlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from query_speed import ROOT, STORES, built, percentile, questions
from report import emit  # bench/ is on the path when a script here runs

BEFORE = "ca93d9b"
CONFLICTS = ROOT / "bench" / "conflicts"


def child() -> None:
    """In the tree on PYTHONPATH: ask each set's questions (JSON on stdin), print seconds per question."""
    from dataclasses import fields

    import rag
    from rag import Assistant, DossierError
    from rag.settings import Settings

    def refused(assistant: Assistant, question: str) -> bool:
        """Whether the answer was an error a user is shown (e.g. no article inside the question's dates)."""
        try:
            assistant.ask(question)
        except DossierError:
            return True
        return False

    dated = "as_of" in {f.name for f in fields(Settings)}
    timed, errors = {}, {}
    for name, store, asked in json.load(sys.stdin):
        assistants = {}  # one per as_of day (a setting, fixed for an Assistant's life)
        seconds, errors[name] = [], 0
        for question, as_of in asked:
            day = as_of if dated else None
            if day not in assistants:
                assistants[day] = Assistant(store, Settings(as_of=day) if day else Settings())
                refused(assistants[day], question)  # warm: model, caches, first reads; not timed
            began = time.perf_counter()
            errors[name] += refused(assistants[day], question)
            seconds.append(time.perf_counter() - began)
        timed[name] = seconds
    print(json.dumps({"rag": rag.__file__, "as_of": dated, "seconds": timed, "errors": errors}))


def before_tree() -> Path:
    """A worktree of BEFORE under data/bench/, made on first use, sharing this tree's .venv."""
    tree = STORES / f"tree-{BEFORE}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), BEFORE], check=True)
    if not (tree / ".venv").exists():
        (tree / ".venv").symlink_to(ROOT / ".venv")
    return tree


def news_store() -> Path:
    """bench/conflicts' articles ingested by this tree's code; named by the file's hash, so an edit makes a new one."""
    articles = CONFLICTS / "articles.jsonl"
    path = STORES / f"news-latency-conflicts-{hashlib.sha256(articles.read_bytes()).hexdigest()[:10]}"
    if not path.exists():
        from rag import Library

        partial = path.with_name(path.name + ".partial")
        results = Library(partial).ingest([articles])
        if any(r.status == "failed" for r in results):
            raise SystemExit(f"{articles}: some articles failed to ingest")
        partial.rename(path)
    return path


def question_sets() -> list[tuple[str, str, list[tuple[str, str | None]]]]:
    """(name, store, [(question, as_of)]) for each set."""
    news = [json.loads(line) for line in (CONFLICTS / "questions.jsonl").read_text().splitlines() if line.strip()]
    return [
        ("sotu, 200 questions, 10 k chunks", str(built(10_000)), [(q, None) for q in questions()]),
        (
            f"bench/conflicts, {len(news)} questions, as_of each question's",
            str(news_store()),
            [(q["question"], q.get("as_of")) for q in news],
        ),
    ]


def run(tree: Path, sets: list) -> dict:
    python = tree / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), __file__, "--child"],
        cwd=tree,
        env=os.environ | {"PYTHONPATH": str(tree)},
        input=json.dumps(sets),
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not Path(result["rag"]).resolve().is_relative_to(tree.resolve()):  # the editable install must not win
        raise SystemExit(f"{tree}: the child imported {result['rag']}, not this tree's rag")
    return result


def describe(tree: Path) -> str:
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    status = subprocess.run(["git", "-C", str(tree), "status", "--short"], capture_output=True, text=True)
    changed = len(status.stdout.splitlines())
    return f"`{tree}` at {head.stdout.strip()}" + (f" + {changed} uncommitted files" if changed else "")


def table(name: str, rounds: list[tuple[dict, dict]]) -> list[str]:
    rows, p95_diffs = [], []
    for n, (before, after) in enumerate(rounds, 1):
        b, a = before["seconds"][name], after["seconds"][name]
        b50, b95, a50, a95 = percentile(b, 50), percentile(b, 95), percentile(a, 50), percentile(a, 95)
        p95_diffs.append(a95 - b95)
        rows.append(
            f"| {n} | {b50:.0f} | {b95:.0f} | {a50:.0f} | {a95:.0f} | {a50 / b50:.2f} | {a95 / b95:.2f} "
            f"| {a95 - b95:+.0f} | {before['errors'][name]} / {after['errors'][name]} |"
        )
    return [
        f"### {name}",
        "",
        "| round | before p50 ms | before p95 ms | after p50 ms | after p95 ms | p50 after/before "
        "| p95 after/before | p95 after − before ms | errors before / after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Median over rounds of the p95 difference: **{statistics.median(p95_diffs):+.0f} ms**.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help=f"source tree before (default: a worktree of {BEFORE})")
    parser.add_argument("--after", type=Path, default=ROOT, help="source tree after (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    sys.path.insert(0, str(ROOT))  # the parent builds stores with this tree's code; children use their own
    trees = {"before": (args.before or before_tree()).resolve(), "after": args.after.resolve()}
    sets = question_sets()
    load = os.getloadavg()[0]
    rounds = []
    for n in range(1, args.rounds + 1):
        pair = tuple(run(trees[side], sets) for side in ("before", "after"))
        rounds.append(pair)
        print(f"round {n}: done", file=sys.stderr)
    as_of = {side: result["as_of"] for side, result in zip(("before", "after"), rounds[0])}
    command = shlex.join(["python", "bench/news_latency.py", *sys.argv[1:]])
    lines = [
        "## Answer latency before and after issue 17 (warm, extractive backend, `Assistant.ask`)",
        "",
        f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f} at the start and "
        f"{os.getloadavg()[0]:.2f} at the end · `{command}`",
        "",
        f"Before: {describe(trees['before'])}; after: {describe(trees['after'])}. Each round runs before, then "
        "after, each in a new process; both read the same stores, built by this script's tree. "
        "Errors are questions answered with a DossierError (a one-line error), timed like any answer. "
        + " ".join(
            f"The {side} tree's Settings have no as_of, so it answered without one."
            for side, has in as_of.items()
            if not has
        ),
        "",
    ]
    for name, _, _ in sets:
        lines += table(name, rounds)
    emit(lines, args.report)


if __name__ == "__main__":
    main()
