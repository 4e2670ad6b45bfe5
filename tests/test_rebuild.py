"""A library whose collection Chroma refuses, rebuilt from the article records. The fault is made for real: an
ingest killed while Chroma saves its index, and the index's files deleted, cut short or overwritten. `ingest check`
names it and `check --repair` mends it, after which every article answers again; articles whose records are
refused or damaged are named as lost, with how to ingest them again."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import chromadb
import pytest

from rag import Assistant, Library, Settings
from rag.rebuild import rebuild
from tests.conftest import ChromaServer
from tests.test_cli import ROOT, env, run
from vectorstore.handle import ARTICLES, CHUNKS
from vectorstore.replace import BROKEN, FRESH, refusals
from vectorstore.sites import Folder
from vectorstore.store import ChromaStore

pytestmark = pytest.mark.model

# file name: (title, body, a phrase only this article answers)
NOTES = {
    "ferry.txt": (
        "Island Ferry Adds a Night Crossing",
        "The Marrow Sound ferry will add a crossing at 23:40 from the first of March. "
        "The operator said the night boat carries up to 140 passengers and 30 cars.\n\n"
        "Residents of Kell Island had asked for a late crossing for years, mostly for hospital shift workers.",
        "late ferry crossing for hospital shift workers on Kell Island",
    ),
    "orchard.md": (
        "Pear Orchard Survives the Frost",
        "Growers in the Aldbrook valley lit 400 candles between the rows to keep a May frost off the pear blossom. "
        "Most of the crop survived, the growers' cooperative reported.\n\n"
        "Apple trees on the higher slopes fared worse, losing about a third of their flowers.",
        "candles lit between pear rows against the May frost",
    ),
    "library.txt": (
        "Town Library Lends Telescopes",
        "The Greystone public library now lends six telescopes, each for two weeks, to any card holder. "
        "The waiting list reached 90 names in the first week.\n\n"
        "An astronomy club volunteers to show borrowers how to align the finder scope.",
        "borrowing a telescope from the Greystone library",
    ),
    "bakery.md": (
        "Bakery Switches to Rye From Local Farms",
        "The Old Mill bakery now buys all its rye from three farms within 20 kilometres. "
        "The owner said the bread costs ten cents more a loaf.\n\n"
        "Customers have been asked to return the linen bags the loaves come in.",
        "rye bought from farms near the Old Mill bakery",
    ),
}


def new_store(store: Path, embedder, *names: str) -> Path:
    """A store folder whose Chroma saves the named collections' HNSW index after every write instead of every
    1 000, so that a few small articles give it index files to damage and saves for a kill to land in."""
    store.mkdir(parents=True)
    folder = Folder(store.resolve())
    for name in names:
        metadata = {"embedder": embedder.name, "dimensions": embedder.dim} if name == CHUNKS else None
        folder.client().create_collection(
            name,
            embedding_function=None,
            metadata=metadata,
            configuration={"hnsw": {"space": "cosine", "sync_threshold": 2}},
        )
    folder.refresh_reader()  # the ingest opens its own client
    return store


def write_notes(folder: Path, notes: dict) -> Path:
    folder.mkdir()
    for name, (title, body, _) in notes.items():
        heading = f"# {title}" if name.endswith(".md") else title
        (folder / name).write_text(f"{heading}\n\n{body}\n")
    return folder


def segment(store: Path, collection: str) -> Path:
    """The folder of a collection's HNSW files: Chroma names it after the collection's vector segment."""
    with closing(sqlite3.connect(store / "chroma.sqlite3")) as db:
        (segment_id,) = db.execute(
            "SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
            "WHERE c.name = ? AND s.scope = 'VECTOR'",
            (collection,),
        ).fetchone()
    return store / segment_id


def damage(store: Path, collection: str, file: str, how: str) -> None:
    path = segment(store, collection) / file
    if how == "delete":
        path.unlink()
    elif how in ("truncate", "empty"):  # cut short at half its length, or before its first byte
        os.truncate(path, path.stat().st_size // 2 if how == "truncate" else 0)
    else:  # garbage, from the middle on
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.seek(size // 2)
            f.write(bytes(range(7, 256, 7)) * (size // 36 + 1))
    Folder(store.resolve()).refresh_reader()  # this process must read the damaged files, not what it holds


def answers_each(library: Library, notes: dict) -> None:
    assistant = Assistant(library)
    for name, (*_, phrase) in notes.items():
        hits = assistant.retrieve(phrase, 3)
        assert hits and hits[0].source.endswith(name), (phrase, [h.source for h in hits])


@pytest.fixture(scope="module")
def built(tmp_path_factory, minilm):
    """A small library whose both collections have index files: (store, folder of its articles)."""
    root = tmp_path_factory.mktemp("built")
    notes = write_notes(root / "notes", NOTES)
    store = new_store(root / "store", minilm, CHUNKS, ARTICLES)
    assert {r.status for r in Library(store, embedder=minilm).ingest([notes])} == {"added"}
    Folder(store.resolve()).refresh_reader()
    return store, notes


@pytest.fixture
def store(built, tmp_path):
    return Path(shutil.copytree(built[0], tmp_path / "store"))


@pytest.mark.parametrize(
    "file, how",
    [
        ("data_level0.bin", "delete"),
        ("index_metadata.pickle", "truncate"),
        ("header.bin", "garbage"),
        ("data_level0.bin", "empty"),  # Chroma still counts; a query that meets the lost vectors fails
    ],
)
def test_a_damaged_chunk_index_is_named_then_rebuilt_and_every_article_answers(store, minilm, file, how):
    old = segment(store, CHUNKS)
    damage(store, CHUNKS, file, how)
    library = Library(store, embedder=minilm)
    problems = library.check()
    assert len(problems) == 1
    assert problems[0].startswith(f"chunks collection {CHUNKS}: Chroma refuses it (")
    assert problems[0].endswith("rebuild it from the article records with `python -m ingest check --repair`")
    said = []
    done = rebuild(library, said.append)
    assert (done.articles, done.lost) == (len(NOTES), [])
    assert said[0].startswith(f"rebuilding {CHUNKS} from 4 article records: about {done.passages} passages to embed")
    assert said[-1].startswith(f"rebuilt 4 articles ({done.passages} passages) in ")
    assert library.repair() == []  # nothing left: check finds the store consistent
    answers_each(library, NOTES)
    names = {c.name for c in library.store.handle.site.client().list_collections()}
    assert names == {CHUNKS, ARTICLES}  # no fresh or broken collection left over
    assert not old.exists()  # nor the broken one's files
    assert Library(store, embedder=minilm).counts() == (4, done.passages)  # as another process opens it


def test_a_damaged_article_record_is_named_lost_and_the_others_are_rebuilt(store, built, minilm):
    library = Library(store, embedder=minilm)
    victim = next(r for r in library.articles() if r.source.endswith("orchard.md"))
    records = library.store.handle.articles  # damage no public method would do: a record cut short
    vector = records.get(ids=[victim.id], include=["embeddings"])["embeddings"]
    records.update(ids=[victim.id], embeddings=vector, documents=['{"article": {"text": "Pear'])
    damage(store, CHUNKS, "header.bin", "garbage")
    library = Library(store, embedder=minilm)
    left = library.repair()
    assert len(left) == 1 and left[0].startswith(f"lost      'Pear Orchard Survives the Frost', {victim.source}, ")
    assert "its record cannot be read (JSONDecodeError" in left[0]
    assert left[0].endswith(f"ingest it again: python -m ingest {victim.source}")
    assert library.check() == [] and victim.id not in {r.id for r in library.articles()}
    answers_each(library, {k: v for k, v in NOTES.items() if k != "orchard.md"})
    assert {r.status for r in library.ingest([victim.source])} == {"added"}  # as the line says
    answers_each(library, NOTES)


def test_refused_article_records_name_the_articles_lost_and_the_library_takes_them_again(store, built, minilm):
    damage(store, ARTICLES, "index_metadata.pickle", "garbage")
    library = Library(store, embedder=minilm)
    problems = library.check()
    assert len(problems) == 1 and problems[0].startswith(f"article records collection {ARTICLES}: Chroma refuses it")
    left = library.repair()
    sources = sorted(str(built[1].resolve() / name) for name in NOTES)
    assert sorted(line.rsplit("python -m ingest ", 1)[1] for line in left) == sources
    assert all(line.startswith("lost      '") and "its record was in the refused collection" in line for line in left)
    assert library.check() == [] and library.counts() == (0, 0)  # the chunks of lost articles went too
    assert {r.status for r in library.ingest([built[1]])} == {"added"}
    answers_each(library, NOTES)


def test_both_collections_refused_name_the_lost_articles_by_id(store, minilm):
    ids = {r.id for r in Library(store, embedder=minilm).articles()}
    damage(store, ARTICLES, "data_level0.bin", "delete")
    damage(store, CHUNKS, "data_level0.bin", "delete")
    library = Library(store, embedder=minilm)
    assert len(library.check()) == 2
    done = rebuild(library)
    assert {a.article_id for a in done.lost} == ids
    assert library.repair() == [] and library.counts() == (0, 0)


def test_a_rebuild_stopped_between_its_renames_is_finished_by_the_next(store, minilm):
    library = Library(store, embedder=minilm)
    client = library.store.handle.site.client()
    chunks = library.store.handle.chunks
    chunks.modify(name=FRESH + CHUNKS)  # the filled fresh collection, not yet renamed
    client.create_collection(BROKEN + CHUNKS, embedding_function=None)  # the broken one, renamed aside
    library.store.handle.site.changed()
    library = Library(store, embedder=minilm)  # opening makes an empty dossier_chunks, as any reader would
    assert library.counts()[1] == 0
    said = []
    assert rebuild(library, said.append).refused == []
    assert said == [
        f"{CHUNKS}: put the rebuilt collection in place (a rebuild was stopped before it had)",
        f"{CHUNKS}: dropped the broken collection a stopped rebuild had left",
    ]
    assert library.check() == []
    answers_each(library, NOTES)


@pytest.mark.server
def test_a_refused_collection_of_a_chroma_server_is_rebuilt_through_its_api(tmp_path, built, minilm):
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        metadata = {"embedder": minilm.name, "dimensions": minilm.dim}
        chromadb.HttpClient(host="127.0.0.1", port=server.port).create_collection(
            CHUNKS,
            embedding_function=None,
            metadata=metadata,
            configuration={"hnsw": {"space": "cosine", "sync_threshold": 2}},
        )
        settings = Settings(store=str(tmp_path / "local"), chroma_url=server.url)
        assert {r.status for r in Library(settings=settings, embedder=minilm).ingest([built[1]])} == {"added"}
        server.kill()
        os.truncate(segment(tmp_path / "chroma", CHUNKS) / "index_metadata.pickle", 10)
        server.start()
        library = Library(settings=settings, embedder=minilm)
        assert library.check()[0].startswith(f"chunks collection {CHUNKS}: Chroma refuses it (")
        assert library.repair() == []
        answers_each(library, NOTES)
        assert len(list((tmp_path / "local").glob("dossier-lexical-*.sqlite3"))) == 1  # the old BM25 copy went
    finally:
        server.kill()


@pytest.mark.slow
def test_check_and_repair_through_the_cli(store, minilm):
    damage(store, CHUNKS, "link_lists.bin", "delete")
    asked = run("rag", "ask", NOTES["bakery.md"][2], "--store", store)
    assert asked.returncode == 2 and "Chroma" not in asked.stdout  # what a user meets: questions fail
    check = run("ingest", "check", "--store", store)
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert check.stdout.startswith(f"chunks collection {CHUNKS}: Chroma refuses it (")
    repaired = run("ingest", "check", "--repair", "--store", store)
    assert repaired.returncode == 0, repaired.stderr
    lines = repaired.stdout.strip().splitlines()
    assert lines[0] == check.stdout.strip()
    assert lines[1].startswith(f"rebuilding {CHUNKS} from 4 article records: about ")
    assert lines[-3].startswith("rebuilt 4 articles (")
    assert lines[-2:] == ["repaired; nothing left to fix", f"store {store.resolve()}: consistent (4 articles)"]
    answers_each(Library(store, embedder=minilm), NOTES)


def many_notes(n: int) -> dict:
    topics = ["quarry", "harbour", "orchard", "railway", "library", "market", "bridge", "school"]
    return {
        f"note-{i:02}.txt": (
            f"Council Note {i}",
            "\n\n".join(
                f"Note {i}, item {p}: the {topics[(i + p) % 8]} committee {i} approved plan {i * 13 + p} "
                f"after hearing {p + 2} witnesses from ward {i}-{p}."
                for p in range(6)
            ),
            f"committee {i} approved plan {i * 13}",
        )
        for i in range(n)
    }


def kill_while_saving(notes: Path, store: Path, after: int, delay: float) -> None:
    """Start an ingest, and once it has stored `after` articles kill -9 it `delay` seconds after Chroma next
    starts writing the chunk index's id map (the last of the index files a save writes)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", str(notes), "--store", str(store)],
        cwd=ROOT,
        env={**env(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        added = 0
        while added < after:
            line = proc.stdout.readline()
            assert line, "the ingest ended before storing enough articles"
            added += line.startswith("added")
        id_map = segment(store, CHUNKS) / "index_metadata.pickle"
        before, deadline = id_map.stat(), time.monotonic() + 60
        while time.monotonic() < deadline:
            now = id_map.stat()
            if (now.st_mtime_ns, now.st_size) != (before.st_mtime_ns, before.st_size):
                break
        until = time.perf_counter() + delay
        while time.perf_counter() < until:
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


KILL_DELAYS = (0.0, 0.00002, 0.00005, 0.0001)  # seconds after the id map's write begins
KILLS = 10  # ingests killed before giving up (a kill lands in about half of them; damaged files are tested above)


@pytest.mark.slow
def test_an_ingest_killed_while_chroma_saves_its_index_is_rebuilt(tmp_path, minilm):
    notes = many_notes(12)
    folder = write_notes(tmp_path / "notes", notes)
    embedder = {"embedder": minilm.name, "dimensions": minilm.dim}
    refused = None
    for attempt in range(KILLS):
        store = new_store(tmp_path / f"store-{attempt}", minilm, CHUNKS)
        kill_while_saving(folder, store, after=1 + attempt % 3, delay=KILL_DELAYS[attempt % len(KILL_DELAYS)])
        opened = ChromaStore(store, embedder)
        with opened.handle.reported():
            refused = refusals(opened.handle)
        Folder(store.resolve()).refresh_reader()
        if refused:
            break
    if not refused:
        pytest.skip(f"no kill landed in Chroma's save in {KILLS} ingests")
    check = run("ingest", "check", "--store", store)
    assert check.returncode == 1 and check.stdout.startswith(f"chunks collection {CHUNKS}: Chroma refuses it (")
    repaired = run("ingest", "check", "--repair", "--store", store)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    library = Library(store, embedder=minilm)
    assert repaired.stdout.strip().endswith(f"consistent ({library.counts()[0]} articles)")
    held = {Path(r.source).name for r in library.articles()}
    assert held  # the articles stored before the kill
    answers_each(library, {name: note for name, note in notes.items() if name in held})
    assert run("ingest", "check", "--store", store).returncode == 0
