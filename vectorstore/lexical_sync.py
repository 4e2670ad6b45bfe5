"""The BM25 index's rows, made from the chunks' offsets and their articles' texts, and a server's local copy of
that index kept up to date.

With an embedded store the index is written along with the vectors and is only rebuilt by a repair (`full`).
With a server it is this machine's copy, one file per server and collection, shared by the processes that use
the same store folder. A copy catches up from the count of server writes it has seen: it reads only the
article records written since, and the tombstones of articles removed since (vectorstore.sites), so a process
that finds a copy another process keeps current starts at once. A few changed articles are caught up before a
search; many (a new copy, one long left behind) in a background thread while searches go on by meaning alone
(`follow` says whether the copy can be searched). One process at a time catches a copy up: a lock file next to
it makes the others wait for it, searching by meaning meanwhile, and a writer holds it while it writes an article's
rows, so that a catch-up never interleaves with a write.
"""

import logging
import threading

from filelock import Timeout

from dossier_core.errors import DossierError
from vectorstore.handle import StoreHandle
from vectorstore.passages import Passages
from vectorstore.records import lexical_row

log = logging.getLogger(__name__)
INLINE = 50  # changed articles a search waits for; more are caught up in the background
REINDEX_BATCH = 100  # articles whose chunks one Chroma get reads


class LexicalSync:
    def __init__(self, handle: StoreHandle, passages: Passages):
        self.handle = handle
        self._passages = passages
        self._current: str | None = None  # the store generation the copy was last found current at
        self._background: threading.Thread | None = None
        self._guard = threading.Lock()  # one catch-up at a time in this process

    def full(self) -> None:
        """Make the BM25 index hold exactly the current version of every article's chunks (a copy of a server's
        also records the count of writes it has caught up with)."""
        written = self.handle.site.log.written()  # read before the records: a write after it is read again
        current = self.handle.versions()
        held = self.handle.lexical.versions()
        for article_id, _ in held - set(current.items()):
            self.handle.lexical.delete(article_id, keep_hash=current.get(article_id))
        self.reindex(dict(sorted(set(current.items()) - held)))
        if written is not None:
            self.handle.lexical.set_synced(written)

    def reindex(self, versions: dict[str, str]) -> None:
        """BM25 rows for these {article id: content hash} versions, from the chunks in Chroma and the texts of
        their articles' records."""
        wanted = list(versions.items())
        for start in range(0, len(wanted), REINDEX_BATCH):
            batch = dict(wanted[start : start + REINDEX_BATCH])
            texts = self._passages.texts(set(batch.items()))
            got = self.handle.fetch(self.handle.chunks, ["metadatas"], where={"article_id": {"$in": list(batch)}})
            chunks = ((i, m, (m["article_id"], m["content_hash"])) for i, m in zip(got["ids"], got["metadatas"]))
            rows = [lexical_row(i, texts[version], m) for i, m, version in chunks if version in texts]
            self.handle.lexical.add(rows)

    def follow(self, generation: str, wait: bool = False) -> bool:
        """Whether the BM25 index can be searched now: always with an embedded store; a server's copy once it
        has caught up with the writes of `generation` (the store's, just read). Unless `wait`, a copy that
        is far behind, or that another process is catching up, is caught up in the background."""
        if not self.handle.site.lexical_is_copy() or self._current == generation:
            return True
        with self._guard:
            background = self._background
            if background is not None:
                if not wait:
                    return False
                background.join()
            lock = self.handle.lexical.locked(timeout=-1 if wait else 0)
            try:
                lock.acquire()
            except Timeout:
                self._start(generation)
                return False
            try:
                if self._catch_up(generation, None if wait else INLINE):
                    return True
            finally:
                lock.release()
            self._start(generation)
            return False

    def writing(self) -> None:
        """A writer's copy of an empty library is current, and its writes keep it so (Records.put)."""
        lexical = self.handle.lexical
        if not self.handle.site.lexical_is_copy() or lexical.synced() is not None:
            return
        if lexical.count() == 0 and self.handle.articles.count() == 0:
            lexical.set_synced(self.handle.site.log.written())

    @property
    def catching_up(self) -> bool:
        """Whether a background thread is catching the copy up (searches go by meaning alone)."""
        return self._background is not None

    def _start(self, generation: str) -> None:
        self._background = threading.Thread(target=self._in_background, args=(generation,), daemon=True)
        self._background.start()

    def _in_background(self, generation: str) -> None:
        try:
            with self.handle.lexical.locked(), self.handle.reported():
                self._catch_up(generation, None)
        except DossierError as e:
            log.warning("%s; the BM25 copy catches up at the next question", e)
        except Exception as e:  # Chroma's HTTP client raises bare Exceptions for some server errors
            log.warning("%s: %s; the BM25 copy catches up at the next question", self.handle.site.name, e)
        finally:
            self._background = None

    def _catch_up(self, generation: str, most: int | None) -> bool:
        """Bring the copy up to the server's writes (holding the copy's lock), unless more than `most` articles
        changed (then False). A copy whose count is ahead of the server's (its state was reset) compares all."""
        lexical, write_log = self.handle.lexical, self.handle.site.log
        written, since = write_log.written(), lexical.synced()
        if since is None or since > written:
            if most is not None and self.handle.articles.count() > most:
                return False
            self.full()
        else:
            got = self.handle.fetch(self.handle.articles, ["metadatas"], where={"written": {"$gt": since}})
            changed = {i: m["content_hash"] for i, m in zip(got["ids"], got["metadatas"])}
            removed = set(write_log.removals(since)) - set(changed)
            if most is not None and len(changed) + len(removed) > most:
                return False
            for article_id in removed:
                lexical.delete(article_id)
            for article_id, content_hash in changed.items():
                lexical.delete(article_id, keep_hash=content_hash)
            # Every changed article is read again, even a version held: a rechunk keeps the version.
            self.reindex(dict(sorted(changed.items())))
            lexical.set_synced(written)
        self._current = generation
        return True
