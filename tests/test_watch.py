"""Folder watch against real files, a real watchdog observer and the bundled MiniLM: added, changed, deleted
and renamed files, an editor's save burst, a file that fails, what changed while nothing watched, dumps, and
the CLI stopped by Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from rag import Assistant, Library
from rag.watch import FolderWatch, WatchedFolders
from tests.test_cli import ROOT, env
from tests.test_feeds import CountingEmbedder

pytestmark = pytest.mark.model

SETTLE = 0.3
HARBOUR = "The harbour authority closed the eastern pier after divers found cracked pilings under the ferry berth."
ORCHARD = "Apple growers in the valley lost a third of the blossom to a late frost in the second week of April."
TRAMS = "The city council approved a night tram service on the river line, running every twenty minutes."


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.md").write_text(f"# Pier closed\n\n{HARBOUR}\n")
    (docs / "orchard.txt").write_text(ORCHARD + "\n")
    return docs


@pytest.fixture
def library(tmp_path, minilm):
    return Library(store=tmp_path / "store", embedder=CountingEmbedder(minilm))


def results(watch: FolderWatch, count: int, within: float = 20.0, quiet: float = 1.0) -> list[tuple[str, str]]:
    """(status, file name) of the watch's results, until `count` have come and `quiet` seconds have passed
    without another (or `within` seconds in all)."""
    got, stop, started = [], threading.Event(), time.monotonic()
    last = [started]

    def stopper():
        while not stop.wait(0.05):
            now = time.monotonic()
            if now - started > within or (len(got) >= count and now - last[0] >= quiet):
                stop.set()

    threading.Thread(target=stopper, daemon=True).start()
    for r in watch.changes(stop):
        got.append((r.status, os.path.basename(r.source)))
        last[0] = time.monotonic()
    return got


def sources(library: Library, query: str) -> list[str]:
    return [os.path.basename(h.source) for h in Assistant(library).retrieve(query, k=2)]


def test_files_added_changed_and_deleted_are_mirrored_and_searchable(folder, library):
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        assert sorted((r.status, os.path.basename(r.source)) for r in watch.sync()) == [
            ("added", "harbour.md"),
            ("added", "orchard.txt"),
        ]
        (folder / "trams.md").write_text(TRAMS + "\n")
        assert results(watch, 1) == [("added", "trams.md")]
        assert sources(library, "night tram service")[0] == "trams.md"
        (folder / "trams.md").write_text("The night tram service was cancelled for lack of drivers.\n")
        assert results(watch, 1) == [("replaced", "trams.md")]
        record = next(r for r in library.articles() if r.source.endswith("trams.md"))
        assert "cancelled" in library.store.records.load_article(record.id)[0].text
        (folder / "orchard.txt").unlink()
        assert results(watch, 1) == [("removed", "orchard.txt")]
        assert "orchard.txt" not in sources(library, "late frost blossom apple growers")
    assert sorted(os.path.basename(r.source) for r in library.articles()) == ["harbour.md", "trams.md"]
    assert library.check() == []


def test_a_renamed_file_keeps_its_article_under_the_new_path(folder, library):
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        list(watch.sync())
        before = next(r for r in library.articles() if r.source.endswith("harbour.md"))
        os.rename(folder / "harbour.md", folder / "pier.md")
        assert results(watch, 1) == [("renamed", "pier.md")]
        # Into a folder made just before: watchdog sees a new file, and the old one deleted half a second later.
        (folder / "ports").mkdir()
        os.rename(folder / "pier.md", folder / "ports" / "pier.md")
        got = results(watch, 1, quiet=2.0)
        assert got[-1] == ("renamed", "pier.md") and {status for status, _ in got} <= {"duplicate", "renamed"}
    after = {r.source: r for r in library.articles()}
    moved = after[str(folder / "ports" / "pier.md")]
    assert len(after) == 2
    assert (moved.content_hash, moved.title, moved.chunks) == (before.content_hash, before.title, before.chunks)
    assert sources(library, "cracked pilings under the ferry berth")[0] == "pier.md"
    assert library.check() == []


def test_a_rename_embeds_nothing(folder, library):
    """The store's vectors for the article are reused (rag.ingestion.Batch reuses them by content hash)."""
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        list(watch.sync())
        embedded = library.embedder.embedded
        os.rename(folder / "orchard.txt", folder / "frost.txt")
        assert results(watch, 1) == [("renamed", "frost.txt")]
    assert library.embedder.embedded == embedded


def test_an_editors_save_burst_is_one_change(folder, library):
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        list(watch.sync())
        # Write a temp file, rename it over the article, touch it; then three quick saves.
        temp = folder / ".harbour.md.tmp"
        temp.write_text(f"# Pier closed\n\n{HARBOUR} Repairs will take six weeks.\n")
        os.replace(temp, folder / "harbour.md")
        os.utime(folder / "harbour.md")
        for n in range(3):
            (folder / "orchard.txt").write_text(f"{ORCHARD} Update {n}.\n")
            time.sleep(0.05)
        got = results(watch, 2)
    assert sorted(got) == [("replaced", "harbour.md"), ("replaced", "orchard.txt")]
    orchard = next(r for r in library.articles() if r.source.endswith("orchard.txt"))
    assert library.store.records.load_article(orchard.id)[0].text.endswith("Update 2.")


def test_editor_temp_files_hidden_files_other_types_excluded_ones_and_the_store_are_ignored(folder, library):
    (folder / "drafts").mkdir()
    # The store is in the folder watched: its journal (.json) comes and goes with each write.
    with FolderWatch(library, [folder.parent], exclude=["docs/drafts/*"], settle=SETTLE) as watch:
        list(watch.sync())
        (folder / "harbour.md~").write_text(HARBOUR)
        (folder / ".harbour.md.swp").write_text(HARBOUR)
        (folder / "notes.tmp").write_text(TRAMS)
        (folder / ".hidden.md").write_text(TRAMS)
        (folder / "table.csv").write_text("a,b\n1,2\n")
        (folder / "drafts" / "trams.md").write_text(TRAMS)
        assert results(watch, 0) == []
    assert len(library.articles()) == 2


def test_a_file_that_fails_is_reported_once_and_tried_again_when_it_changes(folder, library):
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        list(watch.sync())
        (folder / "broken.json").write_text('{"title": "Trams", "body": ')
        got = results(watch, 1)
        assert got == [("failed", "broken.json")]
        (folder / "trams.md").write_text(TRAMS)  # another file's change does not retry it
        assert results(watch, 1) == [("added", "trams.md")]
        (folder / "broken.json").write_text(json.dumps({"title": "Trams", "body": TRAMS + " Fixed."}))
        assert results(watch, 1) == [("added", "broken.json#1")]


def test_a_restart_syncs_what_changed_while_nothing_watched(folder, library, tmp_path):
    (folder / "trams.md").write_text(TRAMS)
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        list(watch.sync())
    (folder / "harbour.md").write_text(f"# Pier reopened\n\n{HARBOUR} It reopened in May.\n")
    (folder / "orchard.txt").unlink()
    os.rename(folder / "trams.md", folder / "night-trams.md")
    (folder / "extra.md").write_text("Divers will inspect the western pier next.")
    watch = FolderWatch(library, [folder], settle=SETTLE)
    plan = watch.folders.plan(library.store.records.articles())
    assert sorted((s.action, s.path.name) for s in plan.steps) == [
        ("ingest", "extra.md"),
        ("ingest", "harbour.md"),
        ("remove", "orchard.txt"),
        ("rename", "night-trams.md"),
    ]
    assert plan.summary == "2 to ingest, 1 to rename, 1 to remove; 0 files unchanged"
    got = sorted((r.status, os.path.basename(r.source)) for r in watch.sync())
    assert got == [
        ("added", "extra.md"),
        ("removed", "orchard.txt"),
        ("renamed", "night-trams.md"),
        ("replaced", "harbour.md"),
    ]
    assert watch.folders.plan(library.store.records.articles()).steps == [] and library.check() == []


def test_stopping_stops_between_articles_and_the_next_sync_does_the_rest(folder, library):
    (folder / "trams.md").write_text(TRAMS)
    watch, stop = FolderWatch(library, [folder], settle=SETTLE), threading.Event()
    done = []
    for r in watch.sync(stop):
        done.append(r.source)
        stop.set()
    assert len(done) == 1 and library.check() == [] and len(library.articles()) == 1
    assert len(list(watch.sync())) == 2 and len(library.articles()) == 3


def test_a_dump_is_mirrored_item_by_item(folder, library):
    dump = folder / "wire.jsonl"
    items = [{"id": "w1", "title": "Pier", "body": HARBOUR}, {"title": "Frost", "body": ORCHARD}]
    dump.write_text("\n".join(map(json.dumps, items)) + "\n")
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        list(watch.sync())
        assert sum(r.source.startswith(f"{dump}#") for r in library.articles()) == 2
        dump.write_text(json.dumps(items[0]) + "\n")  # the second item is taken out
        assert results(watch, 1) == [("removed", "wire.jsonl#2")]
        os.rename(dump, folder / "agency.jsonl")
        assert results(watch, 1) == [("renamed", "agency.jsonl#w1")]
    os.rename(folder / "agency.jsonl", folder / "desk.jsonl")  # while nothing watches: removed, then added
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        assert sorted(r.status for r in watch.sync()) == ["added", "removed"]
        assert any(r.source == f"{folder / 'desk.jsonl'}#w1" for r in library.articles())
        (folder / "desk.jsonl").unlink()
        assert results(watch, 1) == [("removed", "desk.jsonl#w1")]
    assert sorted(os.path.basename(r.source) for r in library.articles()) == ["harbour.md", "orchard.txt"]


def test_a_duplicate_takes_the_article_over_when_the_file_it_duplicated_goes(folder, library):
    (folder / "copy.txt").write_text(ORCHARD + "\n")
    with FolderWatch(library, [folder], settle=SETTLE) as watch:
        got = [(r.status, os.path.basename(r.source)) for r in watch.sync()]  # files go in in order
        assert ("duplicate", "orchard.txt") in got and ("added", "copy.txt") in got
        (folder / "copy.txt").unlink()
        assert results(watch, 1) == [("renamed", "orchard.txt")]
    assert sorted(os.path.basename(r.source) for r in library.articles()) == ["harbour.md", "orchard.txt"]


def test_watched_folders_take_what_ingest_takes(tmp_path):
    (tmp_path / "a" / ".git").mkdir(parents=True)
    (tmp_path / "a" / "sub").mkdir()
    for name in ("x.md", "y.pdf", "z.csv", "x.md~", ".x.md.swp", ".git/HEAD.md", "sub/w.txt", "sub/v.html"):
        (tmp_path / "a" / name).write_text("text")
    folders = WatchedFolders([tmp_path / "a"], include=["*.md", "sub/*"], exclude=["*.html"])
    assert [p.relative_to(tmp_path / "a").as_posix() for p in folders.files([tmp_path / "a"])] == ["sub/w.txt", "x.md"]
    assert folders.takes(tmp_path / "a" / "gone.md") and not folders.takes(tmp_path / "elsewhere.md")


def test_a_dry_run_prints_the_first_sync_and_makes_no_store(folder, tmp_path, capsys):
    from ingest.__main__ import main

    assert main(["watch", str(folder), "--store", str(tmp_path / "new-store"), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"ingest    {folder / 'harbour.md'} (new)",
        f"ingest    {folder / 'orchard.txt'} (new)",
        "2 to ingest, 0 to rename, 0 to remove; 0 files unchanged",
    ]
    assert not (tmp_path / "new-store").exists()


@pytest.mark.slow
def test_the_cli_watches_until_ctrl_c_and_leaves_the_store_consistent(tmp_path, minilm):
    docs, store = tmp_path / "docs", tmp_path / "store"
    docs.mkdir()
    typo = subprocess.run(
        [sys.executable, "-m", "ingest", "watch", str(tmp_path / "dcos"), "--store", str(store)],
        cwd=ROOT, env=env(), capture_output=True, text=True,
    )  # fmt: skip
    assert typo.returncode == 2 and "dcos: no such folder" in typo.stderr and not store.exists()
    (docs / "harbour.md").write_text(HARBOUR)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "ingest", "watch", str(docs), "--store", str(store)],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while "watching" not in (line := watcher.stderr.readline()):  # printed after the first sync
            assert line, f"the watch ended: {watcher.stderr.read()}"
        (docs / "trams.md").write_text(TRAMS)
        deadline = time.monotonic() + 30
        library = Library(store=store, embedder=minilm)
        while not any(r.source.endswith("trams.md") for r in library.articles()):
            assert time.monotonic() < deadline, "the new file never reached the store"
            time.sleep(0.2)
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    assert f"added     {docs / 'harbour.md'}" in out and f"added     {docs / 'trams.md'}" in out
    check = subprocess.run(
        [sys.executable, "-m", "ingest", "check", "--store", str(store)],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "consistent (2 articles)" in check.stdout, check.stdout + check.stderr
