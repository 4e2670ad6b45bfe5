"""Keeping a store whole: the write lock and journal, check and repair, and the BM25 index's sync.

Writes hold the site's lock, and the site's journal names the article being
written, so a killed ingest is rolled back to the last whole article the next
time the store is written to. The BM25 index is derived from the chunks and
their articles' text: with an embedded store it is SQLite next to Chroma, written
along with it; with a server it is a local copy that follows the server's writes
(vectorstore.lexical_sync).
"""

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from dossier_core.errors import DossierError
from vectorstore.handle import StoreHandle, served
from vectorstore.lexical_sync import LexicalSync
from vectorstore.passages import Passages
from vectorstore.records import Records
from vectorstore.replace import refusals

log = logging.getLogger(__name__)


class Consistency:
    def __init__(self, handle: StoreHandle, records: Records, passages: Passages):
        self.handle = handle
        self._records = records
        self.lexical_sync = LexicalSync(handle, passages)

    @contextmanager
    def writing(self, on_wait=None) -> Iterator[None]:
        """Hold the store's write lock; another writer waits (`on_wait(message)` is told so).
        Repairs an interrupted write first."""
        with self.handle.reported(), self.handle.site.lock(True, on_wait):
            self._recover()
            self.lexical_sync.writing()
            yield

    def recover_if_idle(self) -> None:
        """Repair an interrupted write now, unless a writer is at work (it will). Reading
        needs no repair (a search uses only chunks matching an article's record), so a
        store that cannot be written to now, its disk full say, still answers."""
        site = self.handle.site
        try:
            with self.handle.reported():
                if site.pending() is not None:
                    with site.lock(wait=False) as held:
                        if held:
                            self._recover()
        except DossierError as e:
            log.warning("%s; an unfinished write stays until the next ingest", e)

    @served
    def check(self) -> list[str]:
        """Problems: a collection Chroma refuses (then nothing else can be read), chunks without
        their article record, records whose chunks are missing, a BM25 index that differs from
        the chunks, an interrupted write."""
        if refused := refusals(self.handle):
            return [r.line for r in refused]
        self.follow(wait=True)
        records = {r.id: r for r in self._records.articles()}
        counts, orphans = Counter(), set()
        chunks = self.handle.fetch(self.handle.chunks, ["metadatas"])
        lexical = self.handle.lexical.ids()
        problems = []
        if lexical != set(chunks["ids"]):
            problems.append(f"BM25 index and vectors differ by {len(lexical ^ set(chunks['ids']))} chunks")
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
        if self.handle.site.pending() is not None:
            problems.append("an interrupted write is pending")
        return problems

    @served
    def repair(self) -> None:
        """Fix what check() finds (inside `writing()`): articles with orphan or missing chunks are
        removed (the next ingest adds them again) and the BM25 index is rebuilt from the chunks."""
        chunks = self.handle.fetch(self.handle.chunks, ["metadatas"])["metadatas"]
        with self.handle.lexical.locked():
            for article_id in {m["article_id"] for m in chunks} | set(self.handle.versions()):
                self._repair(article_id)
            self.lexical_sync.full()
            self.handle.changed()

    @served
    def follow(self, generation: str | None = None, wait: bool = False) -> bool:
        """Whether the BM25 index can be searched now (LexicalSync.follow; `generation`: the store's, if the
        caller has just read it)."""
        return self.lexical_sync.follow(generation or self.handle.generation(), wait)

    def _recover(self) -> None:
        """Undo a write that was cut short."""
        site = self.handle.site
        article_id = site.pending()
        if article_id is not None:
            with self.handle.lexical.locked():
                self._repair(article_id)
                site.end()
                self.handle.changed()

    def _repair(self, article_id: str) -> None:
        """Keep only chunks matching the article's record; drop the record if they are incomplete."""
        chunks, lexical = self.handle.chunks, self.handle.lexical
        record = self._records.article(article_id)
        if record is not None:
            chunks.delete(where={"$and": [{"article_id": article_id}, {"content_hash": {"$ne": record.content_hash}}]})
            lexical.delete(article_id, keep_hash=record.content_hash)
            stored = len(self.handle.fetch(chunks, [], where={"article_id": article_id})["ids"])
            if stored != record.chunks:
                record = None  # its chunks are incomplete: the next ingest adds it again
            elif lexical.count(article_id) != record.chunks:  # the BM25 index is derived: rebuilt, never evidence
                self.lexical_sync.reindex({article_id: record.content_hash})
        if record is None:
            self.handle.site.log.removed(article_id)
            self.handle.articles.delete(ids=[article_id])
            chunks.delete(where={"article_id": article_id})
            lexical.delete(article_id)
