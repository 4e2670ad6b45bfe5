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


class ChromaStore:
    def __init__(self, path: str | Path, embedder: dict):
        """`embedder` names the model and its dimensions; a store built with another is refused."""
        self.path = Path(path).resolve()
        self._embedder = embedder
        self._journal = self.path / "dossier-journal.json"
        self._generation = self.path / "dossier-generation"
        self._lock = self.path / "dossier-write.lock"
        self._opened: tuple | None = None  # (client, chunks, articles)
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
                self.path.mkdir(parents=True, exist_ok=True)
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

    def search(self, vector: np.ndarray, k: int) -> list[Hit]:
        n = min(k, self._chunks.count())
        if n == 0:
            return []
        r = self._chunks.query(query_embeddings=[vector], n_results=n, include=["documents", "metadatas", "distances"])
        return [
            Hit(cid, m["article_id"], doc, m["start"], m["end"], 1.0 - dist, m.get("title"), m["source"], m)
            for cid, doc, m, dist in zip(r["ids"][0], r["documents"][0], r["metadatas"][0], r["distances"][0])
        ]

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
        self._journal.write_text(json.dumps({"article_id": article.id}))
        version = article.content_hash[:12]
        base = {"article_id": article.id, "source": article.source, "content_hash": article.content_hash}
        if article.title:
            base["title"] = article.title
        base.update({k: article.metadata[k] for k in _ARTICLE_FIELDS if isinstance(article.metadata.get(k), str)})
        self._chunks.upsert(
            ids=[f"{article.id}-{version}-{c.index}" for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[_chunk_metadata(base, c) for c in chunks],
        )
        mean = vectors.mean(axis=0)
        self._articles.upsert(
            ids=[article.id],
            embeddings=[mean / (np.linalg.norm(mean) or 1.0)],
            documents=[json.dumps({"article": asdict(article), "indexed": list(indexed)}, ensure_ascii=False)],
            metadatas=[{**base, "chunks": len(chunks)}],
        )
        self._chunks.delete(where={"$and": [{"article_id": article.id}, {"content_hash": {"$ne": article.content_hash}}]})
        self._journal.unlink()
        self._wrote()

    def remove(self, article_id: str) -> None:
        self._journal.write_text(json.dumps({"article_id": article_id}))
        self._articles.delete(ids=[article_id])
        self._chunks.delete(where={"article_id": article_id})
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
        if record is None:
            self._chunks.delete(where={"article_id": article_id})
        else:
            self._chunks.delete(where={"$and": [{"article_id": article_id}, {"content_hash": {"$ne": record.content_hash}}]})
            if len(self._chunks.get(where={"article_id": article_id}, include=[])["ids"]) != record.chunks:
                self._articles.delete(ids=[article_id])  # its chunks are incomplete: the next ingest adds it again
                self._chunks.delete(where={"article_id": article_id})
        self._journal.unlink()
        self._wrote()

    def check(self) -> list[str]:
        """Problems: chunks without their article record, or records whose chunks are missing."""
        records = {r.id: r for r in self._records(self._articles.get(include=["metadatas"]))}
        counts, orphans = Counter(), set()
        for m in self._chunks.get(include=["metadatas"])["metadatas"]:
            record = records.get(m["article_id"])
            if record is None or record.content_hash != m["content_hash"]:
                orphans.add(m["article_id"])
            else:
                counts[record.id] += 1
        problems = [f"article {a}: chunks without a matching article record" for a in sorted(orphans)]
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
            ArticleRecord(i, m.get("title"), m["source"], m["content_hash"], m["chunks"], m.get("published_at"))
            for i, m in zip(got["ids"], got["metadatas"])
        ]


def _chunk_metadata(base: dict, chunk: Chunk) -> dict:
    m = {**base, "index": chunk.index, "start": chunk.start, "end": chunk.end, "tokens": chunk.tokens,
         "llm_tokens": chunk.llm_tokens, "region": chunk.region}
    if chunk.page is not None:
        m["page"] = chunk.page
    return m
