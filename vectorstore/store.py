"""Chroma storage of chunks and article records.

The only module that knows Chroma's calls and result shapes. Two collections:
`dossier_chunks` (one record per chunk, embedded) and `dossier_articles` (one
per article: the whole cleaned article with its regions and metadata as JSON,
so re-chunking needs no re-fetch; its vector is the mean of its chunks').

Chroma is embedded in the store folder or a server (vectorstore.sites). Writes
hold the site's lock, and a journal names the article being written, so a
killed ingest is rolled back to the last whole article the next time the
store is written to. The BM25 index is SQLite next to the embedded store; with
a server it is a local copy, brought up to date from the server's chunks
whenever another process has written.
"""

import functools
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import httpx
import numpy as np
from chromadb.errors import ChromaError

from ingest.errors import DossierError
from ingest.models import Article, Chunk, Region
from vectorstore.lexical import LexicalIndex
from vectorstore.ranking import LEXICAL_WEIGHT, convex_fusion, per_article_cap, rerank
from vectorstore.records import (
    PAGE,
    ArticleRecord,
    Hit,
    chunk_metadata,
    fetch,
    records_of,
)
from vectorstore.sites import Folder, Server

log = logging.getLogger(__name__)
CHUNKS = "dossier_chunks"
ARTICLES = "dossier_articles"
# Chunk metadata that citations and filters use, copied from the article.
_ARTICLE_FIELDS = ("author", "published_at", "site", "url")


@contextmanager
def _reported(store: "ChromaStore"):
    """A server that is down, a full disk, a Chroma failure: a one-line error; the next call tries again."""
    try:
        yield
    except (httpx.HTTPError, ChromaError, sqlite3.Error, OSError) as e:
        store._opened = None  # a server's collections may have been recreated
        raise DossierError(store._site.trouble(e)) from None


def _served(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        with _reported(self):
            return method(self, *args, **kwargs)

    return call


class ChromaStore:
    def __init__(self, path: str | Path, embedder: dict, url: str | None = None):
        """`embedder` names the model and its dimensions; a store built with another is refused.
        With `url`, Chroma is that server and `path` holds only the local copy of the BM25 index."""
        self.path = Path(path).resolve()
        self._embedder = embedder
        self._opened: tuple | None = None  # (client, chunks, articles, BM25 index)
        self._synced: str | None = None  # the server generation the BM25 copy matches
        self._known: tuple[str | None, dict] = (None, {})  # (generation, {article id: content hash or None})
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DossierError(f"store {self.path}: cannot open it ({e}); give --store a writable folder") from None
        self._site = Folder(self.path)
        if url:
            try:
                self._site = Server(url, self.path)
            except (httpx.HTTPError, ChromaError, ValueError) as e:
                raise DossierError(f"chroma server {url}: cannot reach it ({e}); start it with chroma run or fix --chroma-url") from None
        self._open_check()

    @_served
    def _open_check(self) -> None:
        stored = {k: v for k, v in (self._chunks.metadata or {}).items() if k in self._embedder}
        if stored != self._embedder:
            raise DossierError(
                f"{self._site.name} was built with {stored}, but the current embedder is {self._embedder}; "
                "use the same embedder or ingest into a new --store folder"
            )

    def _collections(self):
        """(chunks, articles, the BM25 index beside them), opened together."""
        try:
            client = self._site.client()
            opened = self._opened  # read once: another thread's error may reset it meanwhile
            if opened is None or opened[0] is not client:
                chunks = client.get_or_create_collection(
                    CHUNKS, embedding_function=None, metadata=self._embedder, configuration={"hnsw": {"space": "cosine"}}
                )
                articles = client.get_or_create_collection(ARTICLES, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
                opened = self._opened = (client, chunks, articles, LexicalIndex(self._site.lexical_path(chunks.id.hex)))
        except Exception as e:  # Chroma raises many types for an unusable directory
            if isinstance(self._site, Server) and isinstance(e, (httpx.HTTPError, ChromaError)):
                raise  # reported by the caller as a server problem
            raise DossierError(f"{self._site.name}: cannot open it ({e}); give --store a writable folder") from None
        return opened[1:]

    @property
    def _chunks(self):
        return self._collections()[0]

    @property
    def _articles(self):
        return self._collections()[1]

    @property
    def _bm25(self) -> LexicalIndex:
        return self._collections()[2]

    # -- reading

    @_served
    def counts(self) -> tuple[int, int]:
        """(articles, chunks)."""
        return self._articles.count(), self._chunks.count()

    @_served
    def article(self, article_id: str) -> ArticleRecord | None:
        return next(iter(records_of(self._articles.get(ids=[article_id], include=["metadatas"]))), None)

    @_served
    def find(self, **where) -> ArticleRecord | None:
        """The first article whose record matches, e.g. find(source=...) or find(content_hash=...)."""
        return next(iter(records_of(self._articles.get(where=where, limit=1, include=["metadatas"]))), None)

    @_served
    def articles(self) -> list[ArticleRecord]:
        return sorted(records_of(fetch(self._articles, ["metadatas"])), key=lambda r: (r.title or "", r.source))

    @_served
    def load_article(self, article_id: str) -> tuple[Article, tuple[str, ...]]:
        """The stored article and the labels of the regions it has indexed."""
        data = json.loads(self._articles.get(ids=[article_id], include=["documents"])["documents"][0])
        article = data["article"]
        return Article(**{**article, "regions": tuple(Region(**r) for r in article["regions"])}), tuple(data["indexed"])

    @_served
    def chunking(self) -> dict:
        """How the stored chunks were made (empty for a new store)."""
        return json.loads((self._articles.metadata or {}).get("chunking", "{}"))

    @_served
    def article_ids(self, keep) -> list[str]:
        """Ids of the articles whose record metadata `keep(metadata)` accepts."""
        got = fetch(self._articles, ["metadatas"])
        return [i for i, m in zip(got["ids"], got["metadatas"]) if keep(m)]

    @_served
    def search(self, *args, **kwargs) -> list[Hit]:
        try:
            return self._search(*args, **kwargs)
        except ChromaError:
            if isinstance(self._site, Server):
                raise
            # An embedded client keeps the vectors it loaded, so another process's write
            # can leave it behind (Chroma: "Error finding id"); a fresh one sees that write.
            self._site.forget()
            return self._search(*args, **kwargs)

    def _search(
        self, vector: np.ndarray, query: str | None, k: int, mode: str = "hybrid", articles: list[str] | None = None,
        rerank_hits: bool = False, floor: float = -1.0,
    ) -> list[Hit]:
        """The k best chunks for a query: by meaning ("dense"), by words ("lexical"),
        or both fused ("hybrid"), from all articles or only those listed. At most half
        of them come from one article while others score a cosine of at least `floor`;
        `rerank_hits` reorders them by their best sentence. Only chunks of an article's
        current version count, so a search during a replacement never mixes versions.
        Hit.score is always the cosine similarity to the query vector, whatever ranked the hit."""
        if articles == []:
            return []
        pool = max(4 * k, 20)  # Chroma returns fewer when the store holds fewer; counting first costs 10 ms at 100 k
        generation = self._site.generation()
        found: dict[str, tuple[str, dict, float]] = {}
        where = {"article_id": {"$in": articles}} if articles else None
        if mode != "lexical":
            r = self._chunks.query(query_embeddings=[vector], n_results=pool, where=where, include=["documents", "metadatas", "distances"])
            # An embedded client may still list chunks another process has just deleted, without their metadata.
            found.update({i: (d, m, 1.0 - dist) for i, d, m, dist in zip(r["ids"][0], r["documents"][0], r["metadatas"][0], r["distances"][0]) if m})
        words = []
        if mode != "dense" and query:
            self._follow_server(generation)
            words = self._bm25.search(query, pool, articles)
        # Only the current version of each article counts: a writer may be halfway through replacing it.
        current = self._current({m["article_id"] for _, m, _ in found.values()} | {a for *_, a, _ in words}, generation)
        found = {i: f for i, f in found.items() if current.get(f[1]["article_id"]) == f[1]["content_hash"]}
        lexical = {i: score for i, score, a, h in words if current.get(a) == h}
        missing = [i for i in lexical if i not in found]
        if missing:
            r = self._chunks.get(ids=missing, include=["documents", "metadatas", "embeddings"])
            found.update({i: (d, m, float(np.dot(e, vector))) for i, d, m, e in zip(r["ids"], r["documents"], r["metadatas"], r["embeddings"])})
        lexical = {i: score for i, score in lexical.items() if i in found}
        weight = {"dense": 0.0, "lexical": 1.0}.get(mode, LEXICAL_WEIGHT)
        score = convex_fusion({i: found[i][2] for i in found}, lexical, weight)
        ranked = sorted(score, key=lambda i: -score[i])
        relevant = {i for i in ranked if found[i][2] >= floor}
        best = per_article_cap(ranked, {i: found[i][1]["article_id"] for i in ranked}, k, relevant)
        if rerank_hits:
            best = rerank(query or "", {i: score[i] for i in best}, {i: found[i][0] for i in best})
        return [Hit(i, m["article_id"], d, m["start"], m["end"], score, m.get("title"), m["source"], m) for i in best for d, m, score in [found[i]]]

    def _versions(self, article_ids=None) -> dict[str, str]:
        """{article id: content hash} of the listed articles' records (of all, without a list)."""
        got = fetch(self._articles, ["metadatas"], None if article_ids is None else list(article_ids))
        return {i: m["content_hash"] for i, m in zip(got["ids"], got["metadatas"])}

    def _current(self, article_ids: set[str], generation: str) -> dict[str, str | None]:
        """{article id: content hash} from the articles' records, remembered until the store's
        generation changes: a Chroma get of the records is 30 ms at 100 k chunks. Whatever
        hash is remembered, a search keeps one version of each article, never a mix."""
        if self._known[0] != generation:
            self._known = (generation, {})
        known = self._known[1]
        if unknown := {a for a in article_ids if a not in known}:
            known.update({**dict.fromkeys(unknown), **self._versions(unknown)})
        return known

    def _follow_server(self, generation: str | None = None) -> None:
        """Bring the local BM25 copy up to date when another process has written to the server."""
        if isinstance(self._site, Server) and self._synced != (generation := generation or self._site.generation()):
            self._sync_lexical()
            self._synced = generation

    def _sync_lexical(self) -> None:
        """Make the BM25 index hold exactly the current version of every article's chunks."""
        current = self._versions()
        held = self._bm25.versions()
        for article_id, content_hash in held - set(current.items()):
            self._bm25.delete(article_id, keep_hash=current.get(article_id))
        self._reindex(dict(sorted(set(current.items()) - held)))

    def _reindex(self, versions: dict[str, str]) -> None:
        """BM25 rows for these {article id: content hash} versions, from the chunks in Chroma."""
        wanted = list(versions.items())
        for start in range(0, len(wanted), 100):
            batch = dict(wanted[start : start + 100])
            got = fetch(self._chunks, ["documents", "metadatas"], where={"article_id": {"$in": list(batch)}})
            self._bm25.add([
                (i, m["article_id"], m["content_hash"], f"{m['context']}\n\n{d}" if m.get("context") else d)
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])
                if batch[m["article_id"]] == m["content_hash"]
            ])

    # -- writing (inside `writing()`)

    def recover_if_idle(self) -> None:
        """Repair an interrupted write now, unless a writer is at work (it will). Reading
        needs no repair (a search uses only chunks matching an article's record), so a
        store that cannot be written to now, its disk full say, still answers."""
        try:
            with _reported(self):
                if self._site.pending() is not None:
                    with self._site.lock(wait=False) as held:
                        if held:
                            self._recover()
        except DossierError as e:
            log.warning("%s; an unfinished write stays until the next ingest", e)

    @contextmanager
    def writing(self, on_wait=None) -> Iterator[None]:
        """Hold the store's write lock; another writer waits. Repairs an interrupted write first."""
        with _reported(self), self._site.lock(True, on_wait):
            self._recover()
            yield

    @_served
    def put(self, article: Article, chunks: list[Chunk], vectors: np.ndarray, indexed: tuple[str, ...]) -> None:
        """Add or replace an article. New chunks go in before old ones leave, so a
        reader never finds the article missing; ids carry the content hash."""
        self._site.begin(article.id)
        version = article.content_hash[:12]
        base = {"article_id": article.id, "source": article.source, "content_hash": article.content_hash}
        if article.title:
            base["title"] = article.title
        base.update({k: article.metadata[k] for k in _ARTICLE_FIELDS if isinstance(article.metadata.get(k), str)})
        ids = [f"{article.id}-{version}-{c.index}" for c in chunks]
        for start in range(0, len(ids), PAGE):
            part = slice(start, start + PAGE)
            self._chunks.upsert(ids=ids[part], embeddings=vectors[part], documents=[c.text for c in chunks[part]],
                                metadatas=[chunk_metadata(base, c) for c in chunks[part]])
        self._bm25.add([(i, article.id, article.content_hash, c.embedding_text) for i, c in zip(ids, chunks)])
        mean = vectors.mean(axis=0)
        self._articles.upsert(
            ids=[article.id],
            embeddings=[mean / (np.linalg.norm(mean) or 1.0)],
            documents=[json.dumps({"article": asdict(article), "indexed": list(indexed)}, ensure_ascii=False)],
            metadatas=[{**base, "chunks": len(chunks)}],
        )
        # Older versions go, and chunks of this version beyond its last (it was re-chunked into fewer).
        self._chunks.delete(where={"$and": [{"article_id": article.id},
                                            {"$or": [{"content_hash": {"$ne": article.content_hash}}, {"index": {"$gte": len(chunks)}}]}]})
        self._bm25.delete(article.id, keep_hash=article.content_hash)
        self._site.end()
        self._site.changed()

    @_served
    def remove(self, article_id: str) -> None:
        self._site.begin(article_id)
        self._articles.delete(ids=[article_id])
        self._chunks.delete(where={"article_id": article_id})
        self._bm25.delete(article_id)
        self._site.end()
        self._site.changed()

    @_served
    def set_chunking(self, chunking: dict) -> None:
        self._articles.modify(metadata={**(self._articles.metadata or {}), "chunking": json.dumps(chunking, sort_keys=True)})
        self._site.changed()

    def _recover(self) -> None:
        """Undo a write that was cut short."""
        article_id = self._site.pending()
        if article_id is not None:
            self._repair(article_id)
            self._site.end()
            self._site.changed()

    def _repair(self, article_id: str) -> None:
        """Keep only chunks matching the article's record; drop the record if they are incomplete."""
        record = self.article(article_id)
        if record is not None:
            self._chunks.delete(where={"$and": [{"article_id": article_id}, {"content_hash": {"$ne": record.content_hash}}]})
            self._bm25.delete(article_id, keep_hash=record.content_hash)
            stored = len(self._chunks.get(where={"article_id": article_id}, include=[])["ids"])
            if stored != record.chunks:
                record = None  # its chunks are incomplete: the next ingest adds it again
            elif self._bm25.count(article_id) != record.chunks:  # the BM25 index is derived: rebuilt, never evidence
                self._reindex({article_id: record.content_hash})
        if record is None:
            self._articles.delete(ids=[article_id])
            self._chunks.delete(where={"article_id": article_id})
            self._bm25.delete(article_id)

    @_served
    def check(self) -> list[str]:
        """Problems: chunks without their article record, records whose chunks are missing,
        a BM25 index that differs from the chunks, an interrupted write."""
        self._follow_server()
        records = {r.id: r for r in records_of(fetch(self._articles, ["metadatas"]))}
        counts, orphans = Counter(), set()
        chunks = fetch(self._chunks, ["metadatas"])
        lexical = self._bm25.ids()
        problems = [f"BM25 index and vectors differ by {len(lexical ^ set(chunks['ids']))} chunks"] if lexical != set(chunks["ids"]) else []
        for m in chunks["metadatas"]:
            record = records.get(m["article_id"])
            if record is None or record.content_hash != m["content_hash"]:
                orphans.add(m["article_id"])
            else:
                counts[record.id] += 1
        problems += [f"article {a}: chunks without a matching article record" for a in sorted(orphans)]
        problems += [
            f"article {r.id} ({r.source}): record says {r.chunks} chunks, store has {counts[r.id]}"
            for r in records.values()
            if counts[r.id] != r.chunks
        ]
        if self._site.pending() is not None:
            problems.append("an interrupted write is pending")
        return problems

    @_served
    def repair(self) -> None:
        """Fix what check() finds (inside `writing()`): articles with orphan or missing chunks are
        removed (the next ingest adds them again) and the BM25 index is rebuilt from the chunks."""
        chunks = fetch(self._chunks, ["metadatas"])["metadatas"]
        records = self._versions()
        for article_id in {m["article_id"] for m in chunks} | set(records):
            self._repair(article_id)
        self._sync_lexical()
        self._site.changed()
