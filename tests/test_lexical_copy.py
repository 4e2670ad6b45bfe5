"""A server's BM25 copy on this machine: caught up from the writes since it last looked, shared by the processes
that use one store folder, and searched by meaning alone while it catches up (a real `chroma run`)."""

import json
import subprocess
import sys
import time

import pytest

from rag import Assistant, Library
from rag.settings import Settings
from tests.test_cli import ROOT, env
from vectorstore import lexical_sync

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.slow]
# Invented words, one per article, that only the lexical side can match exactly.
CODES = ["quorvex", "brindlemark", "talsphere", "umbrovine", "pellacite", "zintharro", "crovelling", "mistrandel"]


def write_articles(folder, codes):
    folder.mkdir(exist_ok=True)
    for code in codes:
        (folder / f"{code}.txt").write_text(
            f"Harbour report {code}\n\nThe harbour board approved the {code} dredging plan on Tuesday after the "
            f"tide survey. Engineers said the {code} plan keeps the channel open for ferries all winter."
        )


@pytest.fixture
def server(chroma_server):
    chroma_server.wipe()
    return chroma_server.url


def ask_in_a_new_process(store, url, question):
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ask", question, "--json", "--store", str(store), "--chroma-url", url],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def hold(lock_path):
    """Another process catching the copy up: it holds the copy's lock until killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from filelock import FileLock; import time\nwith FileLock({str(lock_path)!r}):\n"
            "    print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_new_copy_answers_by_meaning_while_another_process_catches_it_up(tmp_path, server, minilm, monkeypatch):
    monkeypatch.setattr(lexical_sync, "INLINE", 3)  # this small library counts as a large one
    settings = Settings(chroma_url=server)
    write_articles(tmp_path / "news", CODES)
    Library(tmp_path / "writer", settings, embedder=minilm).ingest([tmp_path / "news"])
    reader = Assistant(tmp_path / "reader", settings, embedder=minilm)
    copy = reader.library.store.handle.lexical
    holder = hold(f"{copy.path}.lock")
    try:
        answer = reader.ask("What did the harbour board approve for the channel?")
        assert answer.trace["retrieval"].startswith("dense only: the BM25 copy of main is catching up")
        assert answer.citations and copy.count() == 0
        shared = ask_in_a_new_process(tmp_path / "reader", server, "What did the harbour board approve?")
        assert shared["trace"]["retrieval"].startswith("dense only") and shared["citations"]
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 60
    while reader.library.store.consistency.lexical_sync.catching_up and time.monotonic() < deadline:
        time.sleep(0.1)
    answer = reader.ask("Which plan is talsphere?")
    assert answer.trace["retrieval"] == "hybrid"
    assert copy.count() == len(CODES) and copy.synced() == reader.library.store.handle.site.log.written()
    # The copy is the folder's: a new process using it searches both sides at once.
    shared = ask_in_a_new_process(tmp_path / "reader", server, "Which plan is umbrovine?")
    assert shared["trace"]["retrieval"] == "hybrid"
    assert "umbrovine" in shared["citations"][0]["text"]


def test_a_copy_catches_up_from_the_writes_since_it_last_looked(tmp_path, server, minilm, monkeypatch):
    settings = Settings(chroma_url=server)
    write_articles(tmp_path / "news", CODES[:4])
    writer = Library(tmp_path / "writer", settings, embedder=minilm)
    writer.ingest([tmp_path / "news"])
    reader = Assistant(tmp_path / "reader", settings, embedder=minilm)
    assert reader.ask("Which plan is quorvex?").trace["retrieval"] == "hybrid"
    copy = reader.library.store.handle.lexical
    assert {a for a, _ in copy.versions()} == {r.id for r in writer.articles()}

    def whole_sync():
        raise AssertionError("the copy was rebuilt from every article instead of the writes since it looked")

    monkeypatch.setattr(lexical_sync.LexicalSync, "full", lambda self: whole_sync())
    write_articles(tmp_path / "more", CODES[4:5])
    writer.ingest([tmp_path / "more"])
    (gone,) = writer.remove(next(r for r in writer.articles() if "brindlemark" in r.source))
    (tmp_path / "news" / "talsphere.txt").write_text("Harbour report talsphere\n\nThe talsphere plan was withdrawn.")
    writer.ingest([tmp_path / "news" / "talsphere.txt"])
    hits = reader.library.store.search.candidates(minilm.embed_batch(["pellacite"])[0], "pellacite", 5, "lexical")
    assert {h.article_id for h in hits.hits.values()} == {r.id for r in writer.articles() if "pellacite" in r.source}
    assert {a for a, _ in copy.versions()} == {r.id for r in writer.articles()} and gone.id not in dict(copy.versions())
    assert set(copy.versions()) == {(r.id, r.content_hash) for r in writer.articles()}
    assert copy.synced() == reader.library.store.handle.site.log.written()
    assert reader.library.check() == []
    # A rechunk keeps every article's version: the copy takes the new passages all the same.
    rechunking = Settings(chroma_url=server, chunk_size=24, chunk_overlap=4)
    assert Library(tmp_path / "writer", rechunking, embedder=minilm).rechunk() == 4
    assert reader.library.check() == []
    assert copy.count() == writer.counts()[1] > 4


def test_a_writers_own_copy_stays_current_through_its_writes(tmp_path, server, minilm):
    settings = Settings(chroma_url=server)
    write_articles(tmp_path / "news", CODES[:3])
    writer = Library(tmp_path / "writer", settings, embedder=minilm)
    writer.ingest([tmp_path / "news"])
    copy = writer.store.handle.lexical
    assert copy.synced() == writer.store.handle.site.log.written()
    write_articles(tmp_path / "more", CODES[3:6])
    writer.ingest([tmp_path / "more"])
    assert copy.synced() == writer.store.handle.site.log.written() and copy.count() == 6
    # The server's state was reset (its count of writes starts again): the copy compares every article.
    copy.set_synced(writer.store.handle.site.log.written() + 1000)
    write_articles(tmp_path / "last", CODES[6:])
    writer.ingest([tmp_path / "last"])
    assert writer.store.consistency.follow(wait=True)
    assert copy.synced() == writer.store.handle.site.log.written() and copy.count() == len(CODES)
