"""Where a store's Chroma lives, and how its writers take turns.

`Folder`: an embedded Chroma in a local folder. A file lock serialises writers,
a journal file names the article being written, a generation file tells other
processes to reopen their client (an embedded client does not see another
process's writes).

`Server`: a Chroma server (`chroma run`) shared by processes on any machine.
The same three things live in the server, in a small `dossier_state`
collection: a lease record (the lock: Chroma's `add` ignores an id that
exists, so of several writers exactly one creates it; its holder renews it
and a killed holder's lease expires), a journal record and a generation record.

The server's generation record also counts writes, and each article record
carries the count of the write that made it ("written"); an article removed leaves
a tombstone record with its count (`WriteLog`). A local copy of the BM25 index
catches up from the count it has seen (vectorstore.lexical_sync).

What differs between the two beyond that is asked of the site, never by its type:
whether the BM25 index is a local copy to keep up to date (`lexical_is_copy`),
whether a failed read is worth repeating on a fresh client (`refresh_reader`), and
how an error is told to the user (`trouble`, `open_trouble`).
"""

import hashlib
import json
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from filelock import FileLock, Timeout

from dossier_core.errors import DossierError

SERVER_TIMEOUT = 30.0  # seconds a server may take to answer one call
LEASE_SECONDS = 20.0  # a killed writer's lease lapses after this
# On a full disk Chroma's embedded store hangs while writing, and cannot read until it has
# applied its write log, which needs room: so writing stops while this much is still free.
RESERVE_BYTES = 64 * 2**20
_clients: dict[str, tuple[str, object]] = {}  # one (generation, client) per store folder in this process
_opening = threading.Lock()  # Chroma fails when threads open clients of one folder at once
MAIN = "main"  # the library a store holds unless told otherwise


def _unopenable(name: str, e: Exception) -> str:
    return f"{name}: cannot open it ({e}); give --store a writable folder"


def library_suffix(library: str) -> str:
    """What a library adds to the names of its files and records: nothing for `main`, so that stores made
    before there were several libraries open as `main`."""
    return "" if library == MAIN else f"-{library}"


class Folder:
    def __init__(self, path: Path, library: str = MAIN):
        """The journal and the BM25 file are the library's; the lock and the generation are the folder's, so
        one writer at a time writes to any of its libraries."""
        self.name = f"store {path}"
        self.flag = f"--store {path}"  # what a command's fix names it by
        self.path = path
        self._suffix = library_suffix(library)
        self._journal = path / f"dossier-journal{self._suffix}.json"
        self._generation = path / "dossier-generation"
        self._lock = path / "dossier-write.lock"
        self.log = Unlogged()

    def client(self):
        """Reopened when another process has written to the store."""
        generation = self.generation()
        with _opening:
            client = _clients.get(str(self.path))
            if client is None or client[0] != generation:
                self._forget()
                client = (
                    generation,
                    chromadb.PersistentClient(path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)),
                )
                _clients[str(self.path)] = client
            return client[1]

    def trouble(self, e: Exception) -> str:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        return f"{self.name}: {reason}; check the folder's disk and permissions"

    def open_trouble(self, e: Exception) -> str:
        """Chroma raises many types for an unusable directory: all are the folder's fault."""
        return _unopenable(self.name, e)

    def lexical_is_copy(self) -> bool:
        """The BM25 index sits in the store folder, written by every writer along with the vectors."""
        return False

    def refresh_reader(self) -> bool:
        """An embedded client keeps the vectors it loaded, so another process's write can leave it
        behind (Chroma: "Error finding id"): the next client() is a fresh one, which sees that write."""
        with _opening:
            self._forget()
        return True

    def _forget(self) -> None:
        # Chroma keeps one client per folder per process; forget ours to get a fresh one.
        _clients.pop(str(self.path), None)
        SharedSystemClient._identifier_to_system.pop(str(self.path), None)

    def lexical_path(self, collection_id: str) -> Path:
        return self.path / f"dossier-lexical{self._suffix}.sqlite3"

    def generation(self) -> str:
        try:
            return self._generation.read_text()
        except OSError:
            return ""

    def changed(self) -> None:
        """Tell other processes' stores to reopen; ours has seen its own write."""
        generation = uuid.uuid4().hex
        self._generation.write_text(generation)
        with _opening:
            client = _clients.get(str(self.path))
            if client:  # another thread may have just forgotten it
                _clients[str(self.path)] = (generation, client[1])

    @contextmanager
    def lock(self, wait: bool, on_wait=None):
        """Yields whether this process now holds the write lock (always, when waiting)."""
        lock = FileLock(self._lock)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if not wait:
                yield False
                return
            if on_wait:
                on_wait(f"another ingest is writing to {self.path}; waiting for it to finish…")
            lock.acquire()
        try:
            yield True
        finally:
            lock.release()

    def begin(self, article_id: str) -> None:
        """Name the article in the journal; renamed into place so a kill never leaves half a journal."""
        if shutil.disk_usage(self.path).free < RESERVE_BYTES:
            raise DossierError(
                f"{self.name}: its disk has under {RESERVE_BYTES // 2**20} MiB free; "
                "free some space, then run the ingest again"
            )
        partial = self._journal.with_suffix(".partial")
        partial.write_text(article_id)
        partial.replace(self._journal)

    def pending(self) -> str | None:
        """The article an interrupted write was at, if any."""
        try:
            text = self._journal.read_text()
        except FileNotFoundError:
            return None
        return json.loads(text)["article_id"] if text.startswith("{") else text  # journals before 2026-11-27 were JSON

    def end(self) -> None:
        self._journal.unlink()


def _read(state, record: str) -> dict | None:
    got = state.get(ids=[record], include=["metadatas"])["metadatas"]
    return got[0] if got else None


def _write(state, record: str, metadata: dict) -> None:
    state.upsert(ids=[record], embeddings=[[1.0]], metadatas=[metadata])


class Server:
    def __init__(self, url: str, path: Path, token: str | None = None, library: str = MAIN):
        """`path` holds the local copy of the BM25 index; `token` is the server's bearer token, if it wants one.
        The journal record is the library's; the lease and the generation are the server's."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DossierError(f"chroma server {url}: not an http(s) URL; give --chroma-url http://HOST:PORT")
        self.name = f"chroma server {url}"
        self.flag = f"--chroma-url {url}"
        self.path = path
        self._url = url
        self._journal = "journal" + library_suffix(library)
        self._owner: str | None = None
        try:
            self._client = chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or (443 if parts.scheme == "https" else 80),
                ssl=parts.scheme == "https",
                headers={"Authorization": f"Bearer {token}"} if token else None,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            # chromadb's HTTP client waits forever by default; a dead server must become an error.
            self._client._server._session.timeout = SERVER_TIMEOUT
            self._state = self._client.get_or_create_collection("dossier_state", embedding_function=None)
            self.log = WriteLog(self._state, library)
        except (httpx.HTTPError, ChromaError, ValueError) as e:
            raise DossierError(
                f"{self.name}: cannot reach it ({e}); start it with chroma run or fix --chroma-url"
            ) from None

    def client(self):
        return self._client

    def trouble(self, e: Exception) -> str:
        reason = str(e).splitlines()[0] if str(e) else "no answer"
        return (
            f"{self.name}: {type(e).__name__}: {reason}; check that the server is running (chroma run) and --chroma-url"
        )

    def open_trouble(self, e: Exception) -> str:
        """The server's errors are the server's; anything else is the local folder of the BM25 copy."""
        return self.trouble(e) if isinstance(e, (httpx.HTTPError, ChromaError)) else _unopenable(self.name, e)

    def lexical_is_copy(self) -> bool:
        """The BM25 index is this machine's copy: other machines' writes reach it only through the server."""
        return True

    def refresh_reader(self) -> bool:
        """A server always reads its latest state: a failed read is a real failure."""
        return False

    def lexical_path(self, collection_id: str) -> Path:
        """A local copy of the BM25 index, one per server and collection (a recreated collection starts afresh)."""
        key = hashlib.sha256(f"{self._url} {collection_id}".encode()).hexdigest()[:16]
        return self.path / f"dossier-lexical-{key}.sqlite3"

    def generation(self) -> str:
        return (_read(self._state, "generation") or {}).get("value", "")

    def changed(self) -> int:
        """The count of this write, which the generation record now holds."""
        written = self.log.written() + 1
        _write(self._state, "generation", {"value": uuid.uuid4().hex, "written": written})
        return written

    @contextmanager
    def lock(self, wait: bool, on_wait=None):
        me, told = uuid.uuid4().hex, False
        while True:
            self._state.add(
                ids=["lease"], embeddings=[[1.0]], metadatas=[{"owner": me, "expires": time.time() + LEASE_SECONDS}]
            )
            lease = _read(self._state, "lease") or {}
            if lease.get("owner") == me:
                break
            if lease and lease["expires"] < time.time():  # its holder died; only that lease is removed
                self._state.delete(ids=["lease"], where={"owner": lease["owner"]})
                continue
            if not wait:
                yield False
                return
            if on_wait and not told:
                on_wait(f"another ingest is writing to {self.name}; waiting for it to finish…")
                told = True
            time.sleep(0.5)
        self._owner = me
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(me, stop), daemon=True)
        renewer.start()
        try:
            yield True
        finally:
            stop.set()
            renewer.join()
            self._owner = None
            self._state.delete(ids=["lease"], where={"owner": me})

    def _renew(self, me: str, stop: threading.Event) -> None:
        while not stop.wait(LEASE_SECONDS / 4):
            try:
                if (_read(self._state, "lease") or {}).get("owner") != me:
                    return
                _write(self._state, "lease", {"owner": me, "expires": time.time() + LEASE_SECONDS})
            except Exception:  # the server is away; the writer's own calls report it
                pass

    def begin(self, article_id: str) -> None:
        if self._owner is not None and (_read(self._state, "lease") or {}).get("owner") != self._owner:
            raise DossierError(
                f"{self.name}: this ingest lost its write lease "
                f"(it stalled for over {LEASE_SECONDS:.0f} s); run it again"
            )
        _write(self._state, self._journal, {"article_id": article_id})

    def pending(self) -> str | None:
        return (_read(self._state, self._journal) or {}).get("article_id")

    def end(self) -> None:
        self._state.delete(ids=[self._journal])


class WriteLog:
    """A server's count of writes (kept in its generation record) and tombstones of removed articles: what a
    copy of the BM25 index catches up from."""

    def __init__(self, state, library: str):
        self._state = state
        self._library = library

    def written(self) -> int:
        """How many writes the server has had; the one under way is counted written() + 1."""
        return int((_read(self._state, "generation") or {}).get("written", 0))

    def removed(self, article_id: str) -> None:
        """A tombstone for an article this library no longer holds, counted as the write under way."""
        tombstone = {"removed": self._library, "article_id": article_id, "written": self.written() + 1}
        _write(self._state, f"removed {self._library} {article_id}", tombstone)

    def removals(self, since: int) -> list[str]:
        """The articles removed from this library after write number `since`."""
        where = {"$and": [{"removed": self._library}, {"written": {"$gt": since}}]}
        removed: list[str] = []
        while True:  # a page at a time: Chroma fails a get of more than 32 766 records
            page = self._state.get(where=where, include=["metadatas"], limit=5000, offset=len(removed))
            removed += [m["article_id"] for m in page["metadatas"]]
            if len(page["ids"]) < 5000:
                return removed


class Unlogged:
    """A store folder's: nothing counts its writes, as its BM25 index is written along with the vectors."""

    def written(self) -> None:
        return None

    def removed(self, article_id: str) -> None:
        pass
