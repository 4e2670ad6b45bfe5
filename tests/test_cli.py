"""The two command-line tools, run as a user runs them."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from filelock import FileLock

from tests.conftest import FIXTURES, LIBRARY

pytestmark = [pytest.mark.slow, pytest.mark.model]
ROOT = Path(__file__).resolve().parents[1]


def env():
    e = {**os.environ, "PYTHONPATH": str(ROOT)}
    e.pop("DOSSIER_STORE", None)
    e.pop("DOSSIER_ALLOW_PRIVATE", None)
    return e


def run(*args, stdin=None, environ=None):
    return subprocess.run([sys.executable, "-m", *map(str, args)], cwd=ROOT, env={**env(), **(environ or {})}, input=stdin,
                          capture_output=True, text=True, timeout=600)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", *map(str, args)], cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def summary(result) -> str:
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    bad = root / "bad"
    bad.mkdir()
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (bad / "empty.md").write_text("  \n\n")
    (bad / "gone.html").symlink_to(root / "does-not-exist.html")
    store = root / "store"
    return store, run("ingest", LIBRARY, bad, "--store", store)


def test_ingest_reports_each_input_and_fails_without_stopping_the_batch(ingested):
    store, result = ingested
    assert result.returncode == 1, result.stderr
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"6 articles: 3 added, 0 replaced, 0 unchanged, 0 duplicate, 3 failed; \d+ chunks embedded in [\d.]+s", lines[-1])
    assert sum(line.startswith("added ") for line in lines) == 3
    failed = {re.search(r"/bad/(\S+):", line).group(1): line for line in lines if line.startswith("failed")}
    assert set(failed) == {"image.txt", "empty.md", "gone.html"}
    assert "binary" in failed["image.txt"] and "no article text" in failed["empty.md"] and "no such file" in failed["gone.html"]
    assert "Traceback" not in result.stderr


def test_ingest_again_changes_nothing_and_list_shows_the_library(ingested):
    store, _ = ingested
    again = run("ingest", LIBRARY, "--store", store)
    assert again.returncode == 0
    assert summary(again).startswith("3 articles: 0 added, 0 replaced, 3 unchanged, 0 duplicate, 0 failed")
    listing = run("ingest", "list", "--store", store)
    assert listing.returncode == 0
    assert "Coffee Prices Hit a Record as Harvests Fail" in listing.stdout and "2024-11-12" in listing.stdout
    assert summary(listing).startswith("3 articles, ")
    assert run("ingest", "check", "--store", store).stdout.startswith(f"store {store}: consistent")


def test_ask_json_has_the_documented_shape(ingested):
    store, _ = ingested
    result = run("rag", "ask", "What price did arabica coffee futures reach?", "--store", store, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"answer", "abstained", "citations", "sentences", "unsupported", "removed_markers", "trace"}
    assert answer["abstained"] is False and answer["unsupported"] == [] and answer["removed_markers"] == []
    assert [s["citations"] for s in answer["sentences"]] and all(s["supported"] for s in answer["sentences"])
    fields = {"n": int, "article_id": str, "title": str, "source": str, "text": str, "start": int, "end": int, "score": float,
              "url": str, "author": str, "outlet": str, "published_at": str, "highlights": list}
    for c in answer["citations"]:
        assert {k: type(v) for k, v in c.items()} == fields
        assert c["end"] - c["start"] == len(c["text"])
        assert c["highlights"] and all(0 <= s < e <= len(c["text"]) for s, e in c["highlights"])
    coffee = next(c for c in answer["citations"] if "3.20 dollars" in c["text"])
    assert any("3.20 dollars" in coffee["text"][s:e] for s, e in coffee["highlights"])
    assert answer["trace"]["query"] == "What price did arabica coffee futures reach?"
    assert {c["article_id"] for c in answer["citations"]} <= {p["article_id"] for p in answer["trace"]["passages"]}
    assert set(answer["trace"]["seconds"]) == {"retrieve", "answer"}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])} == {c["n"] for c in answer["citations"]}
    assert any("3.20 dollars" in c["text"] for c in answer["citations"])


def test_ask_prints_the_answer_and_its_sources_and_abstains_off_topic(ingested):
    store, _ = ingested
    result = run("rag", "ask", "How many glaciers were measured?", "--store", store)
    assert result.returncode == 0 and "176 glaciers" in result.stdout and "\n[1] " in result.stdout
    off = run("rag", "ask", "Who won the 1998 football World Cup?", "--store", store, "--json")
    assert json.loads(off.stdout)["abstained"] is True


def test_ask_filters_limit_the_articles_drawn_on(ingested):
    store, _ = ingested
    question = "What price did arabica coffee futures reach?"
    result = run("rag", "ask", question, "--store", store, "--json", "--author", "Ortega", "--until", "2024-12-31")
    assert result.returncode == 0, result.stderr
    assert {c["title"] for c in json.loads(result.stdout)["citations"]} == {"Coffee Prices Hit a Record as Harvests Fail"}
    later = run("rag", "ask", question, "--store", store, "--json", "--since", "2025-01-01")
    assert later.returncode == 0, later.stderr
    assert "Coffee Prices Hit a Record as Harvests Fail" not in {c["title"] for c in json.loads(later.stdout)["citations"]}
    bad = run("rag", "ask", "Anything?", "--store", store, "--since", "yesterday")
    assert bad.returncode == 2 and "since='yesterday' is not a date; write it as YYYY-MM-DD" in bad.stderr


def test_stdin_remove_and_duplicates(tmp_path):
    store = tmp_path / "store"
    text = "Harbour seals were counted on the sandbanks this summer, and their number rose to 412, the highest on record."
    first = run("ingest", "-", "--store", store, stdin=text)
    assert first.returncode == 0 and first.stdout.startswith("added     stdin:")
    assert run("ingest", "-", "--store", store, stdin=text).stdout.startswith("unchanged stdin:")
    (tmp_path / "seals.txt").write_text(text)
    dup = run("ingest", tmp_path / "seals.txt", "--store", store)
    assert dup.stdout.startswith("duplicate ") and "same content as stdin:" in dup.stdout
    source = first.stdout.split()[1]
    removed = run("ingest", "remove", source, "--store", store)
    assert removed.returncode == 0 and removed.stdout.startswith("removed ")
    missing = run("ingest", "remove", source, "--store", store)
    assert missing.returncode == 2 and "no article with this id, path or URL" in missing.stderr


@pytest.fixture
def site():
    """The fixture library over HTTP on 127.0.0.1: a server in the user's own network."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(LIBRARY)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_urls_on_this_machine_are_fetched_only_with_allow_private(tmp_path, site):
    url, store = f"{site}/coffee-prices.html", tmp_path / "store"
    refused = run("ingest", url, LIBRARY / "harbor-bridge.md", "--store", store)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    lines = refused.stdout.strip().splitlines()
    assert f"failed    {url}: resolves to 127.0.0.1, a private or local address; " \
           "pass --allow-private (or set DOSSIER_ALLOW_PRIVATE=1) to fetch from your own network" in lines
    assert any(line.startswith("added     ") and "harbor-bridge.md (" in line for line in lines)  # the batch went on
    assert re.match(r"2 articles: 1 added, 0 replaced, 0 unchanged, 0 duplicate, 1 failed;", lines[-1])
    allowed = run("ingest", url, "--store", store, "--allow-private")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert allowed.stdout.startswith(f"added     {url} (")
    assert f"article   {url}" in run("ingest", url, "--dry-run", environ={"DOSSIER_ALLOW_PRIVATE": "1"}).stdout
    # Only "1" allows: a value meant otherwise ("0", "false", "no") must not open the private network.
    assert run("ingest", url, "--dry-run", environ={"DOSSIER_ALLOW_PRIVATE": "false"}).returncode == 1


def test_dry_run_shows_regions_and_metadata_without_touching_a_store(tmp_path):
    result = run("ingest", FIXTURES / "pages" / "blog-post.md", "--dry-run", "--show", "--store", tmp_path / "store")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "title        Why Our Town Library Now Lends Tools" in out and "author       Sam Lee" in out
    assert re.search(r"\[body: indexed, \d+ chars\]\n    When the Greenfield public library", out)
    assert re.search(r"\[comments: dropped, \d+ chars\]\n    ## Comments", out)
    kept = run("ingest", FIXTURES / "pages" / "blog-post.md", "--dry-run", "--keep", "comments")
    assert re.search(r"\[comments: indexed", kept.stdout)
    assert not (tmp_path / "store").exists()


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    empty = run("rag", "ask", "Anything?", "--store", tmp_path / "new")
    assert empty.returncode == 2
    assert empty.stderr.strip().startswith("error: store") and "python -m ingest" in empty.stderr
    assert "Traceback" not in empty.stderr
    blocked = tmp_path / "file"
    blocked.write_text("x")
    bad_store = run("ingest", LIBRARY, "--store", blocked)
    assert bad_store.returncode == 2 and "cannot open it" in bad_store.stderr and "Traceback" not in bad_store.stderr
    (tmp_path / "empty").mkdir()
    nothing = run("ingest", tmp_path / "empty", "--store", tmp_path / "s2")
    assert nothing.returncode == 2 and "no supported files under" in nothing.stderr


def many_articles(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        paragraphs = [f"Report {i}, part {p}: the district council number {i} met on day {p} and discussed budget line {i * 7 + p} "
                      f"for roads, schools and parks in ward {i}-{p}, approving it after a long debate." for p in range(12)]
        (folder / f"report-{i:03}.txt").write_text(f"Council Report {i}\n\n" + "\n\n".join(paragraphs))
    return folder


def kill_after_three_added(proc) -> None:
    """kill -9 an ingest once it has stored three articles: mid-batch, with more to write."""
    added = 0
    while added < 3:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        added += line.startswith("added")
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_a_second_ingest_waits_for_the_first(tmp_path):
    store = tmp_path / "store"
    assert run("ingest", LIBRARY, "--store", store).returncode == 0
    lock = FileLock(store / "dossier-write.lock")
    with lock:
        proc = start("ingest", FIXTURES / "pages", "--store", store)
        deadline = time.monotonic() + 120
        waiting = ""
        while "waiting" not in waiting and time.monotonic() < deadline:
            waiting += proc.stderr.readline()
        assert "another ingest is writing to" in waiting
        assert proc.poll() is None
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "4 added" in out


def test_kill_9_mid_ingest_leaves_a_consistent_store_and_the_next_run_completes(tmp_path):
    store = tmp_path / "store"
    folder = many_articles(tmp_path / "reports", 40)
    kill_after_three_added(start("ingest", folder, "--store", store))
    check = run("ingest", "check", "--store", store)
    assert check.returncode == 0, check.stdout + check.stderr
    again = run("ingest", folder, "--store", store)
    assert again.returncode == 0, again.stderr
    assert re.match(r"40 articles: \d+ added, 0 replaced, \d+ unchanged, 0 duplicate, 0 failed", summary(again))
    assert run("ingest", "check", "--store", store).stdout.startswith(f"store {store}: consistent (40 articles)")
