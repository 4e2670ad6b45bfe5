"""A collection Chroma refuses, and a fresh one in its place.

Chroma's embedded store keeps each collection's vectors in HNSW files, one folder per
segment under the store folder, saved every `sync_threshold` writes (1 000 by default).
An ingest killed while Chroma saves them, or one of them deleted, cut short or
overwritten, leaves a collection Chroma refuses: every call on it fails ("Failed to apply
logs to the hnsw segment writer", "Error deserializing" its id map), or every one that
meets a damaged vector ("Error finding id", "Error getting embedding"). Nothing written
through Chroma mends it. What does: a fresh collection made as the broken one was, filled
again from what Dossier keeps (rag.rebuild), given the broken one's name; then the broken
one is dropped.

`refusals` finds such a collection by asking Chroma (its count, a nearest neighbour and every
stored vector), never by reading its files. Garbage in an index file can make Chroma 1.5
crash the process that reads the vectors (hnswlib trusts the file's offsets), so in a store
folder a child process asks: its crash names the collection. Chroma counts, reads metadata,
renames and drops such a collection without reading its vectors, which is all a rebuild asks
of it. On the way the names are FRESH + name and BROKEN + name, which no library's
collections have; `finish_swap` completes a replacement that was stopped between its steps.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError

from dossier_core.errors import DossierError
from vectorstore.handle import PAGE, StoreHandle
from vectorstore.lexical import LexicalIndex
from vectorstore.sites import MAIN

FRESH, BROKEN = "rebuild.", "broken."
PROBE = 10  # neighbours asked for: a query fails when it meets a damaged vector
_SEGMENT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Refusal:
    role: str  # "chunks" or "article records"
    name: str  # the collection's
    reason: str  # what Chroma said, its first line
    fix: str

    @property
    def line(self) -> str:
        return f"{self.role} collection {self.name}: Chroma refuses it ({self.reason}); {self.fix}"


def refusals(handle: StoreHandle) -> list[Refusal]:
    """The library's collections that Chroma refuses (call inside handle.reported(): a server that is down
    is its own error, not a refusal)."""
    flag = "" if handle.library == MAIN else f" --library {handle.library}"
    repair = f"`python -m ingest check --repair{flag}`"
    dimensions = handle.chunks.metadata["dimensions"]
    roles = {
        handle.chunks.name: ("chunks", f"rebuild it from the article records with {repair}"),
        handle.articles.name: ("article records", f"{repair} replaces it and names the articles lost, to ingest again"),
    }
    if handle.site.lexical_is_copy():  # Chroma is a server: a crash would be the server's, not ours
        said = {c.name: _asked(c, dimensions) for c in (handle.chunks, handle.articles)}
    else:
        said = _asked_apart(handle, dimensions, list(roles))
    return [Refusal(role, name, said[name], fix) for name, (role, fix) in roles.items() if said[name]]


def _asked(collection, dimensions: int) -> str | None:
    """What Chroma said refusing the collection, or None when it answers."""
    try:
        _probe(collection, dimensions)
    except ChromaError as e:
        return _said(e)
    return None


def _said(error: ChromaError) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _asked_apart(handle: StoreHandle, dimensions: int, names: list[str]) -> dict[str, str | None]:
    """_asked of each collection of a store folder, in a child process: a collection whose reading kills the
    child is refused too, and the next child asks about the rest."""
    said: dict[str, str | None] = {}
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
    while left := [n for n in names if n not in said]:
        ask = [sys.executable, "-c", "from vectorstore.replace import _child; _child()", str(handle.path)]
        child = subprocess.run([*ask, str(dimensions), *left], capture_output=True, text=True, env=environment)
        asking = None
        for line in filter(None, map(_message, child.stdout.splitlines())):
            asking = line.get("asking")
            if "said" in line:
                said[line["name"]] = line["said"]
        if asking is None and left[0] not in said:  # it failed before asking anything
            why = (child.stderr.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
            raise DossierError(f"{handle.site.name}: cannot check its collections ({why})")
        if asking is not None:
            said[asking] = f"reading its vectors crashed the process (exit status {child.returncode})"
    return said


def _message(line: str) -> dict | None:
    return json.loads(line) if line.startswith("{") else None


def _child() -> None:
    """In a child process (argv: folder, dimensions, collection names): {"asking": name} before asking about each
    collection, {"name": name, "said": what Chroma said, or null} after."""
    folder, dimensions, *names = sys.argv[1:]
    client = chromadb.PersistentClient(path=folder, settings=ChromaSettings(anonymized_telemetry=False))
    for name in names:
        print(json.dumps({"asking": name}), flush=True)
        try:
            said = _asked(client.get_collection(name), int(dimensions))
        except ChromaError as e:  # its record in Chroma's catalogue cannot be read
            said = _said(e)
        print(json.dumps({"name": name, "said": said}), flush=True)


def _probe(collection, dimensions: int) -> None:
    """Raises what Chroma raises when asked for the count, a few neighbours and every stored vector."""
    count = collection.count()
    if count:
        unit = np.zeros(dimensions, dtype=np.float32)
        unit[0] = 1.0
        collection.query(query_embeddings=[unit], n_results=min(count, PROBE), include=["distances"])
    for start in range(0, count, PAGE):
        collection.get(include=["embeddings"], limit=PAGE, offset=start)


def fresh(handle: StoreHandle, broken):
    """An empty collection made as `broken` was (its metadata, its HNSW settings) under the name FRESH + its
    name; one that an interrupted rebuild left is dropped first."""
    client = handle.site.client()
    name = FRESH + broken.name
    _drop(client, name)
    hnsw = (broken.configuration or {}).get("hnsw") or {"space": "cosine"}
    return client.create_collection(
        name, embedding_function=None, metadata=broken.metadata, configuration={"hnsw": hnsw}
    )


def swap(handle: StoreHandle, broken, filled) -> None:
    """Give `filled` (made by `fresh`) the broken collection's name and drop the broken one, with its files and
    a BM25 copy kept for it; the handle opens the new one on next use."""
    client, name = handle.site.client(), broken.name
    broken.modify(name=BROKEN + name)
    filled.modify(name=name)  # the name was free for a moment: finish_swap mends a rebuild stopped there
    client.delete_collection(BROKEN + name)
    old, new = handle.site.lexical_path(broken.id.hex), handle.site.lexical_path(filled.id.hex)
    if old != new:  # a server's BM25 copy is kept per collection
        for path in (old, *(old.with_name(old.name + end) for end in ("-journal", ".lock"))):
            path.unlink(missing_ok=True)
    _sweep(handle.path)
    handle.site.changed()
    handle.reopen()


def finish_swap(handle: StoreHandle) -> list[str]:
    """Complete a swap that was stopped between its steps; what was done, one line each."""
    client = handle.site.client()
    held = {c.name for c in client.list_collections()}
    done = []
    for name in (handle.chunks.name, handle.articles.name):
        if BROKEN + name not in held:
            continue
        if FRESH + name in held:  # stopped between the renames: `name` is one a reader has made since
            client.delete_collection(name)
            client.get_collection(FRESH + name).modify(name=name)
            done.append(f"{name}: put the rebuilt collection in place (a rebuild was stopped before it had)")
        client.delete_collection(BROKEN + name)
        done.append(f"{name}: dropped the broken collection a stopped rebuild had left")
    if done:
        _sweep(handle.path)
        handle.site.changed()
        handle.reopen()
    return done


class Filling:
    """The store's handle with a fresh collection for its chunks: Records writes a rebuild through it as an ingest
    writes through the handle itself. Its BM25 index is the site's for that collection: a server's fresh copy, or
    in a store folder the library's one BM25 file, written in place (the repair that follows re-syncs it).
    The article records are read, and a record is written only when its metadata changes (its number of chunks,
    when chunking changed since): the rebuild starts from them, and rewriting the one copy of each article's text
    would gain nothing."""

    def __init__(self, handle: StoreHandle, chunks, records: dict[str, dict]):
        """`records`: {article id: metadata} of the records as stored."""
        self._handle = handle
        self.chunks = chunks
        self.lexical = LexicalIndex(handle.site.lexical_path(chunks.id.hex))
        self.articles = _Kept(handle.articles, records)

    def __getattr__(self, name: str):  # the site, reported(), fetch()… are the store's
        return getattr(self._handle, name)


class _Kept:
    def __init__(self, articles, stored: dict[str, dict]):
        self._articles = articles
        self._stored = stored
        self.get = articles.get

    def upsert(self, ids: list[str], metadatas: list[dict], **record) -> None:
        # The count of the write ("written") is new every time: it alone is no change.
        changed = [
            i for i, (id_, m) in enumerate(zip(ids, metadatas)) if _unwritten(self._stored.get(id_)) != _unwritten(m)
        ]
        if changed:
            self._articles.upsert(
                ids=[ids[i] for i in changed],
                metadatas=[metadatas[i] for i in changed],
                **{k: [v[i] for i in changed] for k, v in record.items()},
            )


def _unwritten(metadata: dict | None) -> dict | None:
    return None if metadata is None else {k: v for k, v in metadata.items() if k != "written"}


def _drop(client, name: str) -> None:
    if name in {c.name for c in client.list_collections()}:
        client.delete_collection(name)


def _sweep(path: Path) -> None:
    """Delete the segment folders of dropped collections in a store folder: Chroma 1.5 leaves them behind.
    (A server's folders are the server's: there is no chroma.sqlite3 here then.)"""
    database = path / "chroma.sqlite3"
    if not database.is_file():
        return
    # Listed before the segments are read: a segment is recorded before its folder is made.
    folders = [p for p in path.iterdir() if p.is_dir() and _SEGMENT.fullmatch(p.name)]
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        used = {row[0] for row in db.execute("SELECT id FROM segments")}
    for folder in folders:
        if folder.name not in used:
            shutil.rmtree(folder, ignore_errors=True)
