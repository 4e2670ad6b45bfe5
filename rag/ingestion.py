"""One ingest run: documents in, articles parsed, chunked, embedded in groups and stored.

A `Batch` lives inside the store's write lock. It chunks each new or changed article and
embeds the chunks of several articles in one go, storing each article when its group is embedded.
A chunk whose text some library of the store has already embedded (the same article in a second
library, a file moved to a new path) takes that vector instead of being embedded again. An embedder
with workers elsewhere (rag.cluster) embeds the next groups while this process stores one.
"""

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from dossier_core.errors import DossierError
from dossier_core.models import Article, Chunk
from ingest.chunk import chunk_article
from ingest.load import Document, find_inputs, parse_articles, read_input
from vectorstore.embedder import Embedder
from vectorstore.libraries import known_vectors
from vectorstore.records import ArticleRecord, text_key
from vectorstore.store import ChromaStore

# Chunks are embedded in groups across articles: one length-sorted encode of a few hundred
# pads less and costs less per call than one per article (sotu: 15-25 % faster).
EMBED_GROUP = 256


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # added | unchanged | replaced | duplicate | failed | skipped | renamed | removed (a watch)
    chunks: int = 0
    title: str | None = None
    error: str | None = None  # why it failed or was skipped, or what it duplicates

    @property
    def line(self) -> str:
        """The result as `python -m ingest` prints it (and the HTTP API returns it)."""
        if self.status in ("failed", "skipped"):
            return f"{self.status:<9} {self.error}"
        return f"{self.status:<9} {self.source} ({self.chunks} chunks)" + (f", {self.error}" if self.error else "")


@dataclass(frozen=True)
class _Pending:
    """An article chunked and waiting for its group to be embedded."""

    article: Article
    labels: tuple[str, ...]
    chunks: list[Chunk]
    status: str  # added | replaced


def guarded(name: str, results: Callable[[], Iterator[IngestResult]]) -> Iterator[IngestResult]:
    """Results of one input; whatever goes wrong with it becomes its failed result, so a batch goes on."""
    try:
        yield from results()
    except DossierError as e:
        yield IngestResult(name, "failed", error=str(e))
    except Exception as e:  # noqa: BLE001 — an unforeseen problem with one input must not stop the rest
        yield IngestResult(
            name, "failed", error=f"{name}: unexpected error ({type(e).__name__}: {e}); please report it"
        )


class Batch:
    def __init__(self, store: ChromaStore, embedder: Embedder, chunking: dict, reuse: bool = True):
        """With `reuse`, vectors the store's libraries hold for the same chunk text are reused; a rebuild, whose
        old vectors cannot be trusted, embeds everything."""
        self._store = store
        self._embedder = embedder
        self._chunking = chunking
        self._reuse = reuse
        self._pending: list[_Pending] = []
        self._embedding: deque[tuple[list[_Pending], Callable[[], np.ndarray]]] = deque()  # groups sent

    def add(self, doc: Document, labels: tuple[str, ...]) -> Iterator[IngestResult]:
        """Results for the articles of one document; new and changed ones are stored as their group fills."""
        known = self._store.records.find(source=doc.source)
        if known and known.content_hash == doc.content_hash:
            yield IngestResult(doc.source, "unchanged", known.chunks, known.title)
            return
        articles, problems = parse_articles(doc)
        for article in articles:
            yield from self.add_article(article, labels)
        for problem in problems:
            yield IngestResult(doc.source, "failed", error=problem)

    def add_article(
        self, article: Article, labels: tuple[str, ...], status: str | None = None
    ) -> Iterator[IngestResult]:
        """Queue an article (re-chunking passes the status "replaced" to store it whatever it holds)."""
        existing = None if status else self._store.records.article(article.id)
        result = None if status else self._needless(article, existing)
        if result:
            yield result
            return
        chunks = chunk_article(
            article, self._embedder.count_tokens, self._chunking["chunk_size"], self._chunking["chunk_overlap"], labels
        )
        self._pending.append(_Pending(article, labels, chunks, status or ("replaced" if existing else "added")))
        if sum(len(p.chunks) for p in self._pending) >= EMBED_GROUP:
            yield from self._send()

    def _needless(self, article: Article, existing: ArticleRecord | None) -> IngestResult | None:
        """The result for an article that needs no storing: unchanged, or a duplicate of another."""
        if existing and existing.content_hash == article.content_hash:
            return IngestResult(article.source, "unchanged", existing.chunks, existing.title)
        waiting = [*self._pending, *(p for group, _ in self._embedding for p in group)]
        twin = self._store.records.find(content_hash=article.content_hash) or next(
            (p.article for p in waiting if p.article.content_hash == article.content_hash), None
        )
        if twin and twin.id != article.id:
            return IngestResult(article.source, "duplicate", 0, twin.title, f"same content as {twin.source}")
        return None

    def flush(self) -> Iterator[IngestResult]:
        """Embed the pending articles' chunks and store every article sent to be embedded."""
        yield from self._send(keep=0)

    def _send(self, keep: int | None = None) -> Iterator[IngestResult]:
        """Send the pending articles' chunks to be embedded in one go, then store the groups embedded beyond
        the `keep` newest (the embedder's in_flight: a cluster embeds the next groups while this one is stored)."""
        group, self._pending = self._pending, []
        if group:
            try:
                self._embedding.append((group, self._vectors(group)))
            except Exception as e:  # noqa: BLE001 — the group fails, the batch goes on
                yield from _failed(group, e)
        while len(self._embedding) > (self._embedder.in_flight if keep is None else keep):
            group, embedded = self._embedding.popleft()
            try:
                vectors = embedded()
            except Exception as e:  # noqa: BLE001 — as above
                yield from _failed(group, e)
                continue
            yield from self._stored(group, vectors)

    def _stored(self, group: list[_Pending], vectors: np.ndarray) -> Iterator[IngestResult]:
        """Store each article of an embedded group. A store that refuses a write (its disk full, the lease lost,
        the server gone) stops the run with its error: the next article would meet the same."""
        offset = 0
        for p in group:
            self._store.records.put(p.article, p.chunks, vectors[offset : offset + len(p.chunks)], p.labels)
            offset += len(p.chunks)
            yield IngestResult(p.article.source, p.status, len(p.chunks), p.article.title)

    def _vectors(self, group: list[_Pending]) -> Callable[[], np.ndarray]:
        """The vectors of the group's chunks, once embedded: the one a library of the store already holds for the
        same embedded text, else the embedder's."""
        hashes = {p.article.content_hash for p in group}
        known = known_vectors(self._store.handle, hashes) if self._reuse else {}
        texts = [c.embedding_text for p in group for c in p.chunks]
        keys = [text_key(t) for t in texts]
        new = list(dict.fromkeys(t for t, key in zip(texts, keys) if key not in known))
        embedding = self._embedder.submit(new) if new else lambda: []

        def vectors() -> np.ndarray:
            embedded = dict(zip(new, embedding()))
            return np.stack([known[key] if key in known else embedded[t] for t, key in zip(texts, keys)])

        return vectors


def _failed(group: list[_Pending], error: Exception) -> Iterator[IngestResult]:
    if isinstance(error, DossierError):  # a known trouble, said in its own words (a cluster gone, say)
        why = f"embedding failed: {error}"
    else:
        why = f"embedding failed ({type(error).__name__}: {error}); please report it"
    for p in group:
        yield IngestResult(p.article.source, "failed", error=f"{p.article.source}: {why}")


def preview(
    inputs: list[str], include: list[str], exclude: list[str], max_bytes: int, allow_private: bool
) -> Iterator[Article | str]:
    """What an ingest would make of the inputs, without a model or a store: each article, or why an input failed."""
    for item in find_inputs(inputs, include, exclude):
        try:
            articles, problems = parse_articles(read_input(item, max_bytes, allow_private))
        except DossierError as e:
            yield str(e)
            continue
        yield from articles
        yield from problems
