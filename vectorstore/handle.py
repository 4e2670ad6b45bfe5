"""The lower handle of a store: what the records, the search and the consistency check stand on.

It opens the site's Chroma client, the two collections and the BM25 index beside
them, refuses a store built with another embedder, pages Chroma's gets, reads the
site's generation, and turns what Chroma, httpx, SQLite or the OS raise into one
line of DossierError. Two collections: `dossier_chunks` (one record per chunk,
embedded) and `dossier_articles` (one per article: the whole cleaned article as
JSON, so re-chunking needs no re-fetch; its vector is the mean of its chunks').
A store holds several libraries, each its own pair of collections: `main`'s are
the two names above, so stores made before there were libraries open as `main`;
another library's names end in `-NAME`.
"""

import functools
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import httpx
from chromadb.errors import ChromaError

from dossier_core.errors import DossierError, InputError, NotFound
from vectorstore.lexical import LexicalIndex
from vectorstore.sites import MAIN, Folder, Server, library_suffix

CHUNKS = "dossier_chunks"
ARTICLES = "dossier_articles"
# Fits Chroma's collection names (which end in a letter or digit), file names, URLs and flags.
LIBRARY_NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?")
PAGE = 5000  # records per Chroma call: an upsert of more than 5 461 fails, a get of more than 32 766 too
# Chosen by bench/hnsw_params.py (bench/hnsw-params.md, Chroma alone): at 100 k vectors Chroma's defaults (M 16,
# ef_construction 100, ef_search 100) find 0.87 of the 10 nearest; these find 0.996 in 4 ms a query (0.995 through
# Dossier's store, bench/query-speed.md). A collection keeps the parameters it was made with.
HNSW = {"space": "cosine", "max_neighbors": 16, "ef_construction": 200, "ef_search": 800}


def library_name(name: str) -> str:
    """A library's name as given, checked."""
    if not LIBRARY_NAME.fullmatch(name):
        raise InputError(
            f"library {name!r}: not a library name; use up to 40 lowercase letters, digits, - and _ "
            "(starting and ending with a letter or digit), e.g. climate-desk"
        )
    return name


def collection_names(library: str) -> tuple[str, str]:
    """The (chunks, articles) collections of a library."""
    suffix = library_suffix(library)
    return CHUNKS + suffix, ARTICLES + suffix


def library_of(collection: str) -> str | None:
    """The library whose article records a collection holds, or None when it holds none."""
    if collection == ARTICLES:
        return MAIN
    return collection.removeprefix(ARTICLES + "-") if collection.startswith(ARTICLES + "-") else None


class StoreHandle:
    def __init__(
        self,
        path: str | Path,
        embedder: dict,
        url: str | None = None,
        token: str | None = None,
        library: str = MAIN,
        create: bool = True,
    ):
        """`embedder` names the model and its dimensions; a store built with another is refused.
        With `url`, Chroma is that server (`token` its bearer token) and `path` holds only the
        local copy of the BM25 index. `library` names the store's library this handle opens; one that
        does not exist yet is made, unless not `create` (and it is not `main`, which every store has)."""
        self.path = Path(path).resolve()
        self.library = library_name(library)
        self._names = collection_names(library)
        self._create = create or library == MAIN
        self._embedder = embedder
        self._opened: tuple | None = None  # (client, chunks, articles, BM25 index)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DossierError(f"store {self.path}: cannot open it ({e}); give --store a writable folder") from None
        self.site = Server(url, self.path, token, library) if url else Folder(self.path, library)
        with self.reported():
            stored = {k: v for k, v in (self.chunks.metadata or {}).items() if k in embedder}
        if stored != embedder:
            raise DossierError(
                f"{self.site.name} was built with {stored}, but the current embedder is {embedder}; "
                "use the same embedder or ingest into a new --store folder"
            )

    def _exists(self, client) -> None:
        """Refuse to open a library the store does not hold (or no longer does: another process removed it)."""
        names = {c.name for c in client.list_collections()}
        if self._names[1] not in names:
            held = sorted({library_of(n) for n in names} - {None})
            raise NotFound(
                f"{self.site.name} has no library {self.library!r} (it holds: {', '.join(held) or 'none'}); "
                f"add articles to make it: python -m ingest PATH {self.site.flag} --library {self.library}"
            )

    @property
    def chunks(self):
        """The chunks collection."""
        return self._open()[1]

    @property
    def articles(self):
        """The article records collection."""
        return self._open()[2]

    @property
    def lexical(self) -> LexicalIndex:
        return self._open()[3]

    def _open(self) -> tuple:
        """(client, chunks, articles, BM25 index), opened together, again when the site has a new client."""
        try:
            client = self.site.client()
            opened = self._opened  # read once: another thread's error may reset it meanwhile
            if opened is None or opened[0] is not client:
                if not self._create:
                    self._exists(client)
                chunks = client.get_or_create_collection(
                    self._names[0],
                    embedding_function=None,
                    metadata=self._embedder,
                    configuration={"hnsw": HNSW},
                )
                articles = client.get_or_create_collection(
                    self._names[1], embedding_function=None, configuration={"hnsw": HNSW}
                )
                lexical = LexicalIndex(self.site.lexical_path(chunks.id.hex))
                opened = self._opened = (client, chunks, articles, lexical)
        except DossierError:
            raise
        except Exception as e:  # Chroma raises many types for an unusable directory
            raise DossierError(self.site.open_trouble(e)) from None
        return opened

    @contextmanager
    def reported(self):
        """A server that is down, a full disk, a Chroma failure: a one-line error; the next call tries again."""
        try:
            yield
        except (httpx.HTTPError, ChromaError, sqlite3.Error, OSError) as e:
            self._opened = None  # a server's collections may have been recreated
            raise DossierError(self.site.trouble(e)) from None

    def articles_metadata(self) -> dict:
        """The articles collection's metadata as stored now: a collection object keeps what it
        read when opened, and another process may have changed it since."""
        return self._open()[0].get_collection(self._names[1]).metadata or {}

    def drop(self) -> None:
        """Delete this library: its collections and its BM25 index (inside the site's write lock)."""
        client, chunks, _, _ = self._open()
        lexical = self.site.lexical_path(chunks.id.hex)
        for name in self._names:
            client.delete_collection(name)
        self._opened = None
        for path in (lexical, *(lexical.with_name(lexical.name + end) for end in ("-journal", ".lock"))):
            path.unlink(missing_ok=True)
        if self.site.pending() is not None:
            self.site.end()
        self.site.changed()

    def reopen(self) -> None:
        """Open the collections again, by name, on next use: a rebuild has put a fresh one under a name."""
        self._opened = None

    def generation(self) -> str:
        """Changes whenever any process writes to the store."""
        return self.site.generation()

    def changed(self) -> None:
        """Tell other processes of a write to the library. A server's BM25 copy that was current before it
        still is: the writer writes its rows as well."""
        written = self.site.changed()  # a server's count of this write; a store folder counts none
        if written is not None and self.lexical.synced() == written - 1:
            self.lexical.set_synced(written)

    def fetch(self, collection, include: list[str], ids: list[str] | None = None, where: dict | None = None) -> dict:
        """collection.get of the records matching `where` (or of `ids`), PAGE records at a time."""
        got = {"ids": [], **{k: [] for k in include}}
        start = 0
        while ids is None or start < len(ids):
            page = collection.get(
                include=include,
                **(
                    {"where": where, "limit": PAGE, "offset": start}
                    if ids is None
                    else {"ids": ids[start : start + PAGE]}
                ),
            )
            for k in got:
                got[k] += list(page[k])  # embeddings come as an array
            if ids is None and len(page["ids"]) < PAGE:
                break
            start += PAGE
        return got

    def versions(self, article_ids=None) -> dict[str, str]:
        """{article id: content hash} of the listed articles' records (of all, without a list)."""
        got = self.fetch(self.articles, ["metadatas"], None if article_ids is None else list(article_ids))
        return {i: m["content_hash"] for i, m in zip(got["ids"], got["metadatas"])}


def served(method):
    """Run a method of a store part (which keeps its StoreHandle as `handle`) inside handle.reported()."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        with self.handle.reported():
            return method(self, *args, **kwargs)

    return call
