"""Chroma storage of chunks and article records.

The only module that knows Chroma's calls and result shapes. Two collections:
`dossier_chunks` (one record per chunk, embedded) and `dossier_articles` (one
per article: the whole cleaned article with its regions and metadata as JSON,
so re-chunking needs no re-fetch; its vector is the mean of its chunks').

Writes take a file lock, and a journal names the article being written, so a
killed ingest is rolled back to the last whole article the next time the
store is written to.
"""

import json
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import chromadb
import numpy as np
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from filelock import FileLock, Timeout

from ingest.errors import DossierError
from ingest.models import Article, Chunk, Region
from vectorstore.lexical import LexicalIndex
from vectorstore.ranking import LEXICAL_WEIGHT, convex_fusion, per_article_cap, rerank

# One (generation, client) per store folder in this process.
_clients: dict[str, tuple[str, object]] = {}
CHUNKS = "dossier_chunks"
ARTICLES = "dossier_articles"
# Chunk metadata that citations and filters use, copied from the article.
_ARTICLE_FIELDS = ("author", "published_at", "site", "url")


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    article_id: str
    text: str
    start: int
    end: int
    score: float  # cosine similarity to the query, -1..1
    title: str | None
    source: str
    metadata: dict


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    title: str | None
    source: str
    content_hash: str
    chunks: int
    published_at: str | None = None
    author: str | None = None
    site: str | None = None


class ChromaStore:
    def __init__(self, path: str | Path, embedder: dict):
        """`embedder` names the model and its dimensions; a store built with another is refused."""
        self.path = Path(path).resolve()
        self._embedder = embedder
        self._journal = self.path / "dossier-journal.json"
        self._generation = self.path / "dossier-generation"
        self._lock = self.path / "dossier-write.lock"
        self._opened: tuple | None = None  # (client, chunks, articles)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lexical = LexicalIndex(self.path / "dossier-lexical.sqlite3")
        except (OSError, sqlite3.Error) as e:
            raise DossierError(f"store {self.path}: cannot open it ({e}); give --store a writable folder") from None
        stored = {k: v for k, v in (self._chunks.metadata or {}).items() if k in embedder}
        if stored != embedder:
            raise DossierError(
                f"store {self.path} was built with {stored}, but the current embedder is {embedder}; "
                "use the same embedder or ingest into a new --store folder"
            )

    def _collections(self):
        """(chunks, articles), reopened when another process has written to the store:
        a Chroma client does not see vectors written by another process."""
        generation = self._read_generation()
        client = _clients.get(str(self.path))
        try:
            if client is None or client[0] != generation:
                # Chroma keeps one client per folder per process; forget ours to get a fresh one.
                SharedSystemClient._identifier_to_system.pop(str(self.path), None)
                client = (generation, chromadb.PersistentClient(path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)))
                _clients[str(self.path)] = client
            if self._opened is None or self._opened[0] is not client[1]:
                chunks = client[1].get_or_create_collection(
                    CHUNKS, embedding_function=None, metadata=self._embedder, configuration={"hnsw": {"space": "cosine"}}
                )
                articles = client[1].get_or_create_collection(ARTICLES, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
                self._opened = (client[1], chunks, articles)
        except Exception as e:  # Chroma raises many types for an unusable directory
            raise DossierError(f"store {self.path}: cannot open it ({e}); give --store a writable folder") from None
        return self._opened[1], self._opened[2]

    @property
    def _chunks(self):
        return self._collections()[0]

    @property
    def _articles(self):
        return self._collections()[1]

    def _read_generation(self) -> str:
        try:
            return self._generation.read_text()
        except OSError:
            return ""

    def _wrote(self) -> None:
        """Tell other processes' stores to reopen; ours has seen its own write."""
        generation = uuid.uuid4().hex
        self._generation.write_text(generation)
        _clients[str(self.path)] = (generation, _clients[str(self.path)][1])

    # -- reading

    def counts(self) -> tuple[int, int]:
        """(articles, chunks)."""
        return self._articles.count(), self._chunks.count()

    def article(self, article_id: str) -> ArticleRecord | None:
        return next(iter(self._records(self._articles.get(ids=[article_id], include=["metadatas"]))), None)

    def find(self, **where) -> ArticleRecord | None:
        """The first article whose record matches, e.g. find(source=...) or find(content_hash=...)."""
        return next(iter(self._records(self._articles.get(where=where, limit=1, include=["metadatas"]))), None)

    def articles(self) -> list[ArticleRecord]:
        return sorted(self._records(self._articles.get(include=["metadatas"])), key=lambda r: (r.title or "", r.source))

    def load_article(self, article_id: str) -> tuple[Article, tuple[str, ...]]:
        """The stored article and the labels of the regions it has indexed."""
        data = json.loads(self._articles.get(ids=[article_id], include=["documents"])["documents"][0])
        article = data["article"]
        return Article(**{**article, "regions": tuple(Region(**r) for r in article["regions"])}), tuple(data["indexed"])

    def chunking(self) -> dict:
        """How the stored chunks were made (empty for a new store)."""
        return json.loads((self._articles.metadata or {}).get("chunking", "{}"))

    def article_ids(self, keep) -> list[str]:
        """Ids of the articles whose record metadata `keep(metadata)` accepts."""
        got = self._articles.get(include=["metadatas"])
        return [i for i, m in zip(got["ids"], got["metadatas"]) if keep(m)]

    def search(
        self, vector: np.ndarray, query: str | None, k: int, mode: str = "hybrid", articles: list[str] | None = None,
        rerank_hits: bool = False, floor: float = -1.0,
    ) -> list[Hit]:
        """The k best chunks for a query: by meaning ("dense"), by words ("lexical"),
        or both fused ("hybrid"), from all articles or only those listed. At most half
        of them come from one article while others score a cosine of at least `floor`;
        `rerank_hits` reorders them by their best sentence.
        Hit.score is always the cosine similarity to the query vector, whatever ranked the hit."""
        if articles == []:
            return []
        pool = max(4 * k, 20)  # Chroma returns fewer when the store holds fewer; counting first costs 10 ms at 100 k
        found: dict[str, tuple[str, dict, float]] = {}
        where = {"article_id": {"$in": articles}} if articles else None
        if mode != "lexical":
            r = self._chunks.query(query_embeddings=[vector], n_results=pool, where=where, include=["documents", "metadatas", "distances"])
            found.update({i: (d, m, 1.0 - dist) for i, d, m, dist in zip(r["ids"][0], r["documents"][0], r["metadatas"][0], r["distances"][0])})
        lexical = dict(self._lexical.search(query, pool, articles)) if mode != "dense" and query else {}
        missing = [i for i in lexical if i not in found]
        if missing:
            r = self._chunks.get(ids=missing, include=["documents", "metadatas", "embeddings"])
            found.update({i: (d, m, float(np.dot(e, vector))) for i, d, m, e in zip(r["ids"], r["documents"], r["metadatas"], r["embeddings"])})
        weight = {"dense": 0.0, "lexical": 1.0}.get(mode, LEXICAL_WEIGHT)
        score = convex_fusion({i: found[i][2] for i in found}, lexical, weight)
        ranked = sorted(score, key=lambda i: -score[i])
        relevant = {i for i in ranked if found[i][2] >= floor}
        best = per_article_cap(ranked, {i: found[i][1]["article_id"] for i in ranked}, k, relevant)
        if rerank_hits:
            best = rerank(query or "", {i: score[i] for i in best}, {i: found[i][0] for i in best})
        return [Hit(i, m["article_id"], d, m["start"], m["end"], score, m.get("title"), m["source"], m) for i in best for d, m, score in [found[i]]]

    # -- writing (inside `writing()`)

    def recover_if_idle(self) -> None:
        """Repair an interrupted write now, unless a writer is at work (it will)."""
        if self._journal.exists():
            try:
                with FileLock(self._lock, timeout=0):
                    self._recover()
            except Timeout:
                pass

    @contextmanager
    def writing(self, on_wait=None) -> Iterator[None]:
        """Hold the store's write lock; another writer waits. Repairs an interrupted write first."""
        lock = FileLock(self._lock)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait:
                on_wait(f"another ingest is writing to {self.path}; waiting for it to finish…")
            lock.acquire()
        try:
            self._recover()
            yield
        finally:
            lock.release()

    def put(self, article: Article, chunks: list[Chunk], vectors: np.ndarray, indexed: tuple[str, ...]) -> None:
        """Add or replace an article. New chunks go in before old ones leave, so a
        reader never finds the article missing; ids carry the content hash."""
        self._begin(article.id)
        version = article.content_hash[:12]
        base = {"article_id": article.id, "source": article.source, "content_hash": article.content_hash}
        if article.title:
            base["title"] = article.title
        base.update({k: article.metadata[k] for k in _ARTICLE_FIELDS if isinstance(article.metadata.get(k), str)})
        ids = [f"{article.id}-{version}-{c.index}" for c in chunks]
        self._chunks.upsert(ids=ids, embeddings=vectors, documents=[c.text for c in chunks], metadatas=[_chunk_metadata(base, c) for c in chunks])
        self._lexical.add([(i, article.id, article.content_hash, c.embedding_text) for i, c in zip(ids, chunks)])
        mean = vectors.mean(axis=0)
        self._articles.upsert(
            ids=[article.id],
            embeddings=[mean / (np.linalg.norm(mean) or 1.0)],
            documents=[json.dumps({"article": asdict(article), "indexed": list(indexed)}, ensure_ascii=False)],
            metadatas=[{**base, "chunks": len(chunks)}],
        )
        self._chunks.delete(where={"$and": [{"article_id": article.id}, {"content_hash": {"$ne": article.content_hash}}]})
        self._lexical.delete(article.id, keep_hash=article.content_hash)
        self._journal.unlink()
        self._wrote()

    def _begin(self, article_id: str) -> None:
        """Name the article in the journal; renamed into place so a kill never leaves half a journal."""
        partial = self._journal.with_suffix(".partial")
        partial.write_text(json.dumps({"article_id": article_id}))
        partial.replace(self._journal)

    def remove(self, article_id: str) -> None:
        self._begin(article_id)
        self._articles.delete(ids=[article_id])
        self._chunks.delete(where={"article_id": article_id})
        self._lexical.delete(article_id)
        self._journal.unlink()
        self._wrote()

    def set_chunking(self, chunking: dict) -> None:
        self._articles.modify(metadata={**(self._articles.metadata or {}), "chunking": json.dumps(chunking, sort_keys=True)})
        self._wrote()

    def _recover(self) -> None:
        """Undo a write that was cut short: keep only chunks matching the article's record."""
        if not self._journal.exists():
            return
        article_id = json.loads(self._journal.read_text())["article_id"]
        record = self.article(article_id)
        if record is not None:
            self._chunks.delete(where={"$and": [{"article_id": article_id}, {"content_hash": {"$ne": record.content_hash}}]})
            self._lexical.delete(article_id, keep_hash=record.content_hash)
            stored = len(self._chunks.get(where={"article_id": article_id}, include=[])["ids"])
            if stored != record.chunks or self._lexical.count(article_id) != record.chunks:
                record = None  # its chunks are incomplete: the next ingest adds it again
        if record is None:
            self._articles.delete(ids=[article_id])
            self._chunks.delete(where={"article_id": article_id})
            self._lexical.delete(article_id)
        self._journal.unlink()
        self._wrote()

    def check(self) -> list[str]:
        """Problems: chunks without their article record, or records whose chunks are missing."""
        records = {r.id: r for r in self._records(self._articles.get(include=["metadatas"]))}
        counts, orphans = Counter(), set()
        chunks = self._chunks.get(include=["metadatas"])
        lexical = self._lexical.ids()
        problems = [f"lexical index and vectors differ by {len(lexical ^ set(chunks['ids']))} chunks; re-ingest into a new --store to rebuild both"] if lexical != set(chunks["ids"]) else []
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
        if self._journal.exists():
            problems.append("an interrupted write is pending; the next ingest repairs it")
        return problems

    @staticmethod
    def _records(got) -> list[ArticleRecord]:
        return [
            ArticleRecord(i, m.get("title"), m["source"], m["content_hash"], m["chunks"], m.get("published_at"), m.get("author"), m.get("site"))
            for i, m in zip(got["ids"], got["metadatas"])
        ]


def _chunk_metadata(base: dict, chunk: Chunk) -> dict:
    m = {**base, "index": chunk.index, "start": chunk.start, "end": chunk.end, "tokens": chunk.tokens,
         "llm_tokens": chunk.llm_tokens, "region": chunk.region}
    if chunk.page is not None:
        m["page"] = chunk.page
    return m
