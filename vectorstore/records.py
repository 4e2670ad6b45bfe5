"""The store's records and writes: what Chroma holds, translated into Dossier's types.

The one place that knows what Chroma's records hold: chunk metadata is written by
`chunk_metadata` and read back by `hit` and `lexical_row`, except the article id and
content hash, which search and consistency also read to tell a chunk's article and
version; article records are written by `Records.put` and read by `records_of` and
`with_article`. A chunk has no document: its text is cut from its article's record
(vectorstore.passages).
Writes hold the site's lock (Consistency.writing) and name the article in the
site's journal while it is half written.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from dossier_core.errors import DossierError
from dossier_core.models import Article, Chunk, Region
from vectorstore.handle import PAGE, StoreHandle, served
from vectorstore.sites import MAIN

# Metadata that citations and filters use, copied from the article into its record.
# Hit.outlet and ArticleRecord.outlet are stored as "site", their name in article metadata, so
# that stores written before the fields were named "outlet" open unchanged.
_ARTICLE_FIELDS = ("author", "published_at", "site", "url")


@dataclass(frozen=True)
class Hit:
    """A chunk found for a query, with what a citation shows of its article."""

    chunk_id: str
    article_id: str
    text: str
    start: int  # offsets of `text` in the article's cleaned text
    end: int
    score: float  # cosine similarity to the query, -1..1
    title: str | None
    source: str  # the path or URL the article came from
    url: str | None = None
    author: str | None = None
    outlet: str | None = None  # the publication or site
    published_at: str | None = None
    region: str | None = None  # body, caption, table… (see ingest.regions)
    page: int | None = None  # a PDF's page, counted from 1
    library: str = MAIN  # the store's library it was found in
    content_hash: str | None = None  # the version of the article the passage is from


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    title: str | None
    source: str
    content_hash: str
    chunks: int
    published_at: str | None = None
    author: str | None = None
    outlet: str | None = None  # the publication or site, as in Hit


def hit(chunk_id: str, metadata: dict, score: float, library: str = MAIN) -> Hit:
    """A Hit from one chunk record of Chroma (its id and metadata), its score and its library; its text and the
    fields of its article come from the article's record (with_article)."""
    m = metadata
    return Hit(
        chunk_id,
        m["article_id"],
        "",
        m["start"],
        m["end"],
        score,
        m.get("title"),
        m["source"],
        region=m.get("region"),
        page=m.get("page"),
        library=library,
        content_hash=m["content_hash"],
    )


def lexical_row(chunk_id: str, article_text: str, metadata: dict) -> tuple[str, str, str, str]:
    """A stored chunk's row in the BM25 index: (chunk id, article id, content hash, text), the text
    being what was embedded — the chunk's context (title and heading), a blank line, its text."""
    m = metadata
    passage = article_text[m["start"] : m["end"]]
    text = f"{m['context']}\n\n{passage}" if m.get("context") else passage
    return chunk_id, m["article_id"], m["content_hash"], text


def text_key(embedded: str) -> str:
    """A digest of the text a chunk's vector was embedded from, kept in its metadata: two chunks with the same
    key have the same vector, whatever library, path or chunking holds them (vectorstore.libraries)."""
    return hashlib.sha256(embedded.encode()).hexdigest()[:24]


def with_article(hit: Hit, text: str, record: dict) -> Hit:
    """A hit with its passage's text, cut from its article's cleaned text, and the fields a citation shows, as
    the article's record (its metadata) holds them."""
    return replace(
        hit,
        text=text[hit.start : hit.end],
        title=record.get("title"),
        source=record["source"],
        url=record.get("url"),
        author=record.get("author"),
        outlet=record.get("site"),
        published_at=record.get("published_at"),
    )


def records_of(got: dict) -> list[ArticleRecord]:
    """Article records from a Chroma get of the articles collection."""
    return [
        ArticleRecord(
            i,
            m.get("title"),
            m["source"],
            m["content_hash"],
            m["chunks"],
            m.get("published_at"),
            m.get("author"),
            m.get("site"),
        )
        for i, m in zip(got["ids"], got["metadatas"])
    ]


def chunk_metadata(base: dict, chunk: Chunk) -> dict:
    m = {
        **base,
        "index": chunk.index,
        "context": chunk.context,
        "start": chunk.start,
        "end": chunk.end,
        "tokens": chunk.tokens,
        "region": chunk.region,
        "embedded": text_key(chunk.embedding_text),
    }
    if chunk.page is not None:
        m["page"] = chunk.page
    return m


@dataclass(frozen=True)
class ArticleRows:
    """What Chroma and the BM25 index hold of one article version: its chunks (ids, metadata, BM25 rows) and its
    record (metadata, the document keeping its whole text, the mean of its chunk vectors)."""

    chunk_ids: list[str]
    chunk_metadatas: list[dict]
    lexical: list[tuple[str, str, str, str]]
    record: dict
    document: str
    mean: np.ndarray


def article_rows(
    article: Article, chunks: list[Chunk], vectors: np.ndarray, indexed: tuple[str, ...], written: int | None
) -> ArticleRows:
    """The rows of an article version; `written` is the count of the write that stores them (a server's)."""
    version = article.content_hash[:12]
    # The chunks name their article (a repair names lost articles from them); the rest is the record's.
    base = {"article_id": article.id, "source": article.source, "content_hash": article.content_hash}
    if article.title:
        base["title"] = article.title
    ids = [f"{article.id}-{version}-{c.index}" for c in chunks]
    metadatas = [chunk_metadata(base, c) for c in chunks]
    fields = {k: article.metadata[k] for k in _ARTICLE_FIELDS if isinstance(article.metadata.get(k), str)}
    if written is not None:  # for copies of the BM25 index to follow
        fields["written"] = written
    mean = vectors.mean(axis=0)
    return ArticleRows(
        ids,
        metadatas,
        [lexical_row(i, article.text, m) for i, m in zip(ids, metadatas)],
        {**base, **fields, "chunks": len(chunks)},
        json.dumps({"article": asdict(article), "indexed": list(indexed)}, ensure_ascii=False),
        mean / (np.linalg.norm(mean) or 1.0),
    )


class Records:
    """Reading and writing the articles and their chunks."""

    def __init__(self, handle: StoreHandle):
        self.handle = handle

    @served
    def counts(self) -> tuple[int, int]:
        """(articles, chunks)."""
        return self.handle.articles.count(), self.handle.chunks.count()

    @served
    def article(self, article_id: str) -> ArticleRecord | None:
        got = self.handle.articles.get(ids=[article_id], include=["metadatas"])
        return next(iter(records_of(got)), None)

    @served
    def find(self, **where) -> ArticleRecord | None:
        """The first article whose record matches, e.g. find(source=...) or find(content_hash=...)."""
        got = self.handle.articles.get(where=where, limit=1, include=["metadatas"])
        return next(iter(records_of(got)), None)

    @served
    def articles(self) -> list[ArticleRecord]:
        got = self.handle.fetch(self.handle.articles, ["metadatas"])
        return sorted(records_of(got), key=lambda r: (r.title or "", r.source))

    @served
    def load_article(self, article_id: str) -> tuple[Article, tuple[str, ...]]:
        """The stored article and the labels of the regions it has indexed."""
        documents = self.handle.articles.get(ids=[article_id], include=["documents"])["documents"]
        if not documents:
            raise DossierError(f"article {article_id} is not in the library (another process may have removed it)")
        return article_of(json.loads(documents[0]))

    @served
    def exported(self) -> list[tuple[dict, list[str]]]:
        """Every article record as stored (its fields, and the labels of the regions it indexed), for an export."""
        documents = self.handle.fetch(self.handle.articles, ["documents"])["documents"]
        return [(data["article"], data["indexed"]) for data in map(json.loads, documents)]

    @served
    def article_ids(self, keep: Callable[[ArticleRecord], bool]) -> list[str]:
        """Ids of the articles whose record `keep(record)` accepts."""
        got = self.handle.fetch(self.handle.articles, ["metadatas"])
        return [r.id for r in records_of(got) if keep(r)]

    @served
    def chunking(self) -> dict:
        """How the stored chunks were made (empty for a new store)."""
        return json.loads(self.handle.articles_metadata().get("chunking", "{}"))

    @served
    def set_chunking(self, chunking: dict) -> None:
        metadata = {**self.handle.articles_metadata(), "chunking": json.dumps(chunking, sort_keys=True)}
        self.handle.articles.modify(metadata=metadata)
        self.handle.changed()

    @served
    def put(self, article: Article, chunks: list[Chunk], vectors: np.ndarray, indexed: tuple[str, ...]) -> None:
        """Add or replace an article (inside Consistency.writing). New chunks go in before old
        ones leave, so a reader never finds the article missing; ids carry the content hash."""
        with self.handle.lexical.locked():  # a copy of the BM25 index catching up waits for this article
            site, lexical = self.handle.site, self.handle.lexical
            site.begin(article.id)
            written = site.log.written()
            rows = article_rows(article, chunks, vectors, indexed, None if written is None else written + 1)
            for start in range(0, len(rows.chunk_ids), PAGE):
                part = slice(start, start + PAGE)
                self.handle.chunks.upsert(
                    ids=rows.chunk_ids[part], embeddings=vectors[part], metadatas=rows.chunk_metadatas[part]
                )
            lexical.add(rows.lexical)
            self.handle.articles.upsert(
                ids=[article.id], embeddings=[rows.mean], documents=[rows.document], metadatas=[rows.record]
            )
            # Older versions go, and chunks of this version beyond its last (it was re-chunked into fewer).
            stale = {"$or": [{"content_hash": {"$ne": article.content_hash}}, {"index": {"$gte": len(chunks)}}]}
            self.handle.chunks.delete(where={"$and": [{"article_id": article.id}, stale]})
            lexical.delete(article.id, keep_hash=article.content_hash)
            site.end()
            self.handle.changed()

    @served
    def remove(self, article_id: str) -> None:
        """Remove an article and its chunks (inside Consistency.writing)."""
        site = self.handle.site
        with self.handle.lexical.locked():
            site.begin(article_id)
            site.log.removed(article_id)
            self.handle.articles.delete(ids=[article_id])
            self.handle.chunks.delete(where={"article_id": article_id})
            self.handle.lexical.delete(article_id)
            site.end()
            self.handle.changed()


def article_of(data: dict) -> tuple[Article, tuple[str, ...]]:
    """An article record's data ({"article": its fields, "indexed": the labels of the regions it indexed}) as the
    article and those labels; ValueError, KeyError or TypeError when it is not one."""
    fields = data["article"]
    article = Article(**{**fields, "regions": tuple(Region(**r) for r in fields["regions"])})
    if not article.text or not article.content_hash:
        raise ValueError("its text or content hash is empty")
    return article, tuple(data["indexed"])
