"""Cold start on the seed store: `python -m rag ask` from process start to the complete
answer, and the chat page from `streamlit run` to the first answer in a browser.

    python bench/cold_start.py [--runs 3] [--report bench/cold-start.md]

The seed store is built once under data/bench/ (git-ignored). The browser (Debian's
chromium, driven by Playwright) is started before the clock; the page's clock covers
the server starting, the page loading, the model and store opening, and the answer.
The question is typed as soon as the chat input shows, as the model and store open.
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "corpora" / "seed"
STORE = ROOT / "data" / "bench" / "seed-store"
QUESTION = "What is Russia getting from North Korea?"


def seed_store() -> Path:
    if not STORE.exists():
        subprocess.run(
            [sys.executable, "-m", "ingest", str(SEED), "--store", str(STORE)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return STORE


def cli_seconds() -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ask", QUESTION, "--store", str(STORE)], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0 or "[1]" not in done.stdout:
        raise SystemExit(f"rag ask failed: {done.stderr or done.stdout}")
    return elapsed


def page_seconds(browser, port: int) -> dict:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    began = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env={**os.environ, "DOSSIER_STORE": str(STORE)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        serving = time.perf_counter() - began
        page.goto(url)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=120_000)
        drawn = time.perf_counter() - began
        box.fill(QUESTION)
        box.press("Enter")
        expect(page.get_by_text(re.compile(r"^\d+ articles · \d+ passages$"))).to_be_visible(timeout=120_000)
        ready = time.perf_counter() - began
        expect(page.locator(".dossier-source").first).to_be_visible(timeout=120_000)
        return {"serving": serving, "drawn": drawn, "ready": ready, "answer": time.perf_counter() - began}
    finally:
        page.close()
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.conftest import free_port

    seed_store()
    cli_seconds()  # the first run after install also compiles bytecode and warms the disk cache; not counted
    cli, pages = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        for _ in range(args.runs):  # alternating, so both see the same machine
            cli.append(cli_seconds())
            pages.append(page_seconds(browser, free_port()))
        browser.close()

    def row(label: str, runs: list[float]) -> str:
        return f"| {label} | {statistics.median(runs):.2f} | {', '.join(f'{r:.2f}' for r in runs)} |"

    lines = [
        "# Cold start",
        "",
        f"{date.today()} · {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs · "
        f"seed store (1 article) · question “{QUESTION}” · median of {args.runs} runs · `python bench/cold_start.py`",
        "",
        "| path | median s | runs (s) |",
        "|---|---:|---|",
        row("`python -m rag ask` → complete answer", cli),
        row("`streamlit run` → server answering", [p["serving"] for p in pages]),
        row("`streamlit run` → page drawn (chat input shown)", [p["drawn"] for p in pages]),
        row("`streamlit run` → library open (its counts shown)", [p["ready"] for p in pages]),
        row("`streamlit run` → first answer with its sources", [p["answer"] for p in pages]),
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    main()
