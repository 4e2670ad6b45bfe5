"""Dossier's records of what Chroma holds, and the translation of Chroma's result shapes into them:
the one place, with vectorstore.store, that knows those shapes."""

from dataclasses import dataclass

from ingest.models import Chunk

PAGE = 5000  # records per Chroma call: an upsert of more than 5 461 fails, a get of more than 32 766 too


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


def records_of(got) -> list[ArticleRecord]:
    """Article records from a Chroma get of the articles collection."""
    return [
        ArticleRecord(i, m.get("title"), m["source"], m["content_hash"], m["chunks"], m.get("published_at"), m.get("author"), m.get("site"))
        for i, m in zip(got["ids"], got["metadatas"])
    ]


def fetch(collection, include: list[str], ids: list[str] | None = None, where: dict | None = None) -> dict:
    """collection.get of the records matching `where` (or of `ids`), PAGE records at a time."""
    got = {"ids": [], **{k: [] for k in include}}
    start = 0
    while ids is None or start < len(ids):
        page = collection.get(include=include, **({"where": where, "limit": PAGE, "offset": start} if ids is None else {"ids": ids[start : start + PAGE]}))
        for k in got:
            got[k] += page[k]
        if ids is None and len(page["ids"]) < PAGE:
            break
        start += PAGE
    return got


def chunk_metadata(base: dict, chunk: Chunk) -> dict:
    m = {**base, "index": chunk.index, "context": chunk.context, "start": chunk.start, "end": chunk.end, "tokens": chunk.tokens,
         "llm_tokens": chunk.llm_tokens, "region": chunk.region}
    if chunk.page is not None:
        m["page"] = chunk.page
    return m
