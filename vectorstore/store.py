"""Chroma storage of chunks and article records.

The only module that knows Chroma's calls and result shapes. Two collections:
`dossier_chunks` (one record per chunk, embedded) and `dossier_articles` (one
record per article: title, source, content hash, chunk count; its vector is
the mean of its chunks). The chunks collection's metadata records how the
store was built, and opening it with other settings is an error.
"""

from dataclasses import dataclass

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from ingest.errors import DossierError
from ingest.models import Article, Chunk

CHUNKS = "dossier_chunks"
ARTICLES = "dossier_articles"


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


class ChromaStore:
    def __init__(self, path: str, build: dict):
        """`build` describes how vectors and chunks are made (embedder, dims, chunking, pipeline)."""
        self.path = str(path)
        try:
            client = chromadb.PersistentClient(path=self.path, settings=ChromaSettings(anonymized_telemetry=False))
            self._chunks = client.get_or_create_collection(
                CHUNKS, embedding_function=None, metadata=build, configuration={"hnsw": {"space": "cosine"}}
            )
            self._articles = client.get_or_create_collection(
                ARTICLES, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        except Exception as e:  # Chroma raises many types for an unusable directory
            raise DossierError(f"store {self.path}: cannot open it ({e}); give --store a writable folder") from None
        stored = {k: v for k, v in (self._chunks.metadata or {}).items() if k in build}
        if stored != build:
            raise DossierError(
                f"store {self.path} was built with {stored}, but the current settings are {build}; "
                "use the same settings or ingest into a new --store folder"
            )

    def article(self, article_id: str) -> ArticleRecord | None:
        got = self._articles.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return None
        m = got["metadatas"][0]
        return ArticleRecord(article_id, m.get("title"), m["source"], m["content_hash"], m["chunks"])

    def put(self, article: Article, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add or replace an article. New chunks go in before old ones leave, so a
        reader never finds the article missing; ids carry the content hash."""
        version = article.content_hash[:12]
        base = {"article_id": article.id, "source": article.source, "content_hash": article.content_hash}
        if article.title:
            base["title"] = article.title
        self._chunks.upsert(
            ids=[f"{article.id}-{version}-{c.index}" for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[
                {**base, "index": c.index, "start": c.start, "end": c.end, "tokens": c.tokens, "llm_tokens": c.llm_tokens}
                for c in chunks
            ],
        )
        mean = vectors.mean(axis=0)
        self._articles.upsert(
            ids=[article.id],
            embeddings=[mean / (np.linalg.norm(mean) or 1.0)],
            documents=[article.title or article.source],
            metadatas=[{**base, "chunks": len(chunks)}],
        )
        self._chunks.delete(where={"$and": [{"article_id": article.id}, {"content_hash": {"$ne": article.content_hash}}]})

    def counts(self) -> tuple[int, int]:
        """(articles, chunks)."""
        return self._articles.count(), self._chunks.count()

    def search(self, vector: np.ndarray, k: int) -> list[Hit]:
        n = min(k, self._chunks.count())
        if n == 0:
            return []
        r = self._chunks.query(query_embeddings=[vector], n_results=n, include=["documents", "metadatas", "distances"])
        return [
            Hit(
                chunk_id=cid,
                article_id=m["article_id"],
                text=doc,
                start=m["start"],
                end=m["end"],
                score=1.0 - dist,
                title=m.get("title"),
                source=m["source"],
                metadata=m,
            )
            for cid, doc, m, dist in zip(r["ids"][0], r["documents"][0], r["metadatas"][0], r["distances"][0])
        ]
