"""Real processes: a `chroma run` server shared by several, servers and ingests killed, a full disk."""

import os
import shutil
import subprocess
import threading
import time

import pytest

from dossier_core.errors import DossierError
from rag import Assistant
from tests.conftest import LIBRARY, ChromaServer
from tests.test_cli import kill_after_three_added, many_articles, run, start, summary
from vectorstore.sites import RESERVE_BYTES
from vectorstore.store import ChromaStore

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.server]


@pytest.fixture
def server(tmp_path):
    server = ChromaServer(tmp_path / "chroma").start()
    yield server
    server.kill()


def test_processes_with_their_own_folders_share_one_library_on_the_server(tmp_path, server):
    added = run("ingest", LIBRARY, "--store", tmp_path / "laptop", "--chroma-url", server.url)
    assert added.returncode == 0, added.stderr
    assert summary(added).startswith("3 articles: 3 added")
    assert not (tmp_path / "laptop" / "chroma.sqlite3").exists()  # vectors live on the server
    asked = run(
        "rag",
        "ask",
        "How many glaciers did the team measure?",
        "--store",
        tmp_path / "desk",
        "--chroma-url",
        server.url,
    )
    assert asked.returncode == 0, asked.stderr
    assert "176" in asked.stdout
    listed = run("ingest", "list", "--store", tmp_path / "desk", "--chroma-url", server.url)
    assert "Glacier" in listed.stdout
    check = run("ingest", "check", "--store", tmp_path / "desk", "--chroma-url", server.url)
    assert check.stdout.startswith(f"chroma server {server.url}: consistent (3 articles)")  # what was checked


def test_an_unreachable_server_is_a_one_line_error(tmp_path):
    down = ChromaServer(tmp_path / "chroma")  # never started
    for command in (("ingest", LIBRARY), ("rag", "ask", "Anything?")):
        done = run(*command, "--store", tmp_path / "s", "--chroma-url", down.url)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.strip().startswith(f"error: chroma server {down.url}") and "chroma run" in done.stderr
    bad = run("rag", "ask", "Anything?", "--chroma-url", "ftp://example.org")
    assert bad.returncode == 2 and "not an http(s) URL" in bad.stderr


def test_the_server_killed_during_questions_then_restarted(tmp_path, server, minilm):
    assert run("ingest", LIBRARY, "--store", tmp_path / "a", "--chroma-url", server.url).returncode == 0
    assistant = Assistant(tmp_path / "b", embedder=minilm, settings=_server_settings(server.url))
    outcomes, stop = [], threading.Event()

    def ask_until_stopped():
        while not stop.is_set():
            began = time.monotonic()
            try:
                outcomes.append(
                    ("answer", assistant.ask("How many glaciers did the team measure?").text, time.monotonic() - began)
                )
            except DossierError as e:
                outcomes.append(("error", str(e), time.monotonic() - began))

    asker = threading.Thread(target=ask_until_stopped)
    asker.start()
    time.sleep(1.0)
    server.kill()
    time.sleep(1.0)
    stop.set()
    asker.join(timeout=60)
    assert not asker.is_alive()
    answers = [o for o in outcomes if o[0] == "answer"]
    errors = [o for o in outcomes if o[0] == "error"]
    assert answers and all("176" in text for _, text, _ in answers)
    assert errors and all(
        message.startswith(f"chroma server {server.url}") and "\n" not in message for _, message, _ in errors
    )
    assert max(seconds for *_, seconds in errors) < 5
    server.start()
    assert "176" in assistant.ask("How many glaciers did the team measure?").text  # same Assistant, no restart


def test_kill_9_of_a_server_ingest_then_the_next_run_completes(tmp_path, server):
    folder = many_articles(tmp_path / "reports", 30)
    kill_after_three_added(start("ingest", folder, "--store", tmp_path / "s", "--chroma-url", server.url))
    again = run(
        "ingest", folder, "--store", tmp_path / "s", "--chroma-url", server.url
    )  # waits for the dead writer's lease
    assert again.returncode == 0, again.stderr
    assert "another ingest is writing to" in again.stderr
    assert run("ingest", "check", "--store", tmp_path / "other", "--chroma-url", server.url).stdout.startswith(
        f"chroma server {server.url}: consistent (30 articles)"
    )


def test_two_ingests_at_once_on_one_server_are_serialised(tmp_path, server):
    first, second = many_articles(tmp_path / "one", 12), tmp_path / "two"
    second.mkdir()
    for path in sorted(first.iterdir())[6:]:
        (second / path.name).write_text(path.read_text())  # half the articles in both batches
    (second / "extra.txt").write_text(
        "Extra Report\n\n" + "The harbour board met and approved a new ferry timetable for the winter. " * 8
    )
    procs = [
        start("ingest", f, "--store", tmp_path / f"s{i}", "--chroma-url", server.url)
        for i, f in enumerate((first, second))
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    check = run("ingest", "check", "--store", tmp_path / "s0", "--chroma-url", server.url)
    assert check.stdout.startswith(f"chroma server {server.url}: consistent (13 articles)"), check.stdout


def test_check_repair_fixes_a_damaged_library(tmp_path, chroma_url, minilm):
    store = tmp_path / "s"
    flags = ("--chroma-url", chroma_url) if chroma_url else ()
    assert run("ingest", LIBRARY, "--store", store, *flags).returncode == 0
    damaged = ChromaStore(store, {"embedder": minilm.name, "dimensions": minilm.dim}, chroma_url)
    victim = damaged.records.articles()[0]
    chunks = damaged.handle.chunks  # damage no public method would do
    chunks.delete(ids=chunks.get(where={"article_id": victim.id})["ids"][:1])
    check = run("ingest", "check", "--store", store, *flags)
    assert check.returncode == 1 and f"article {victim.id}" in check.stdout
    repaired = run("ingest", "check", "--repair", "--store", store, *flags)
    assert repaired.returncode == 0 and "nothing left to fix" in repaired.stdout, repaired.stdout + repaired.stderr
    again = run("ingest", LIBRARY, "--store", store, *flags)
    assert "1 added" in summary(again) and "2 unchanged" in summary(again)


def _server_settings(url):
    from rag.settings import Settings

    return Settings(chroma_url=url)


@pytest.fixture
def small_disk(tmp_path):
    """A 128 MiB tmpfs."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("mounting a small tmpfs needs root (CAP_SYS_ADMIN); the full-disk test cannot run here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_stops_the_ingest_with_a_clear_error_and_the_store_still_answers(tmp_path, small_disk):
    store = small_disk / "store"
    assert run("ingest", LIBRARY, "--store", store).returncode == 0
    ballast = small_disk / "ballast"
    with ballast.open("wb") as f:  # fill the disk to 1 MiB above the reserve
        f.write(b"x" * (shutil.disk_usage(small_disk).free - RESERVE_BYTES - 2**20))
    full = run("ingest", many_articles(tmp_path / "reports", 150), "--store", store)
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr
    assert (
        full.stderr.strip()
        == f"error: store {store}: its disk has under 64 MiB free; free some space, then run the ingest again"
    )
    asked = run("rag", "ask", "How many glaciers did the team measure?", "--store", store)
    assert asked.returncode == 0 and "176" in asked.stdout, asked.stderr
    ballast.unlink()
    again = run("ingest", tmp_path / "reports", "--store", store)
    assert again.returncode == 0, again.stderr
    assert run("ingest", "check", "--store", store).stdout.startswith(f"store {store}: consistent (153 articles)")
