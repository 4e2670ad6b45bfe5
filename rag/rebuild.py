"""A library whose collection Chroma refuses, rebuilt from the article records Dossier keeps.

`python -m ingest check` names the refusal (vectorstore.replace); `check --repair` and `Library.repair` call
`rebuild` before the ordinary repair:
- the chunks refused: every article record is chunked and embedded again, with the chunking the library was built
  with, into a fresh collection, which then takes the broken one's name; the broken one is dropped. An estimate
  comes first, then progress.
- the article records refused: they cannot be read, so their articles are lost. They are named from their chunks
  (id, source, title), with how to ingest each again; an empty collection takes the name, and the ordinary repair
  then removes the chunks.
- one record that cannot be read: that article is lost, named the same way.

The rebuild holds the write lock, but it does not first undo an interrupted write as other writers do: that needs
the refused collection. The rebuilt library stands in for whatever the interrupted write was doing.
"""

import itertools
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from dossier_core.errors import DossierError
from dossier_core.text import plural
from ingest.chunk import chunk_article
from rag.ingestion import Batch
from vectorstore.embedder import Embedder
from vectorstore.records import Records, article_of
from vectorstore.replace import Filling, Refusal, finish_swap, fresh, refusals, swap

SAMPLE = 32  # passages embedded to measure the embedder's rate for the estimate
PROGRESS_SECONDS = 10.0  # at most one progress line this often


@dataclass(frozen=True)
class Lost:
    """An article the rebuild could not bring back: its record was refused or cannot be read."""

    article_id: str
    source: str | None
    title: str | None
    why: str

    @property
    def line(self) -> str:
        named = ", ".join(filter(None, [repr(self.title) if self.title else None, self.source, self.article_id]))
        return f"lost      {named}: {self.why}; {again(self.source)}"


@dataclass(frozen=True)
class Rebuilt:
    refused: list[Refusal]
    articles: int = 0  # articles whose chunks were made again
    passages: int = 0
    lost: list[Lost] = field(default_factory=list)


def again(source: str | None) -> str:
    """How to bring an article back from where it came from."""
    if not source:
        return "ingest it again from its source, or import a backup (python -m ingest import FILE)"
    if source.startswith(("upload:", "stdin:")):
        return "add it again from its original file"
    if not source.startswith(("http://", "https://")):
        source = source.split("#")[0]  # an article of a dump: ingest the dump again (the others stay unchanged)
    return f"ingest it again: python -m ingest {shlex.quote(source)}"


def rebuild(library, on_progress: Callable[[str], None] | None = None) -> Rebuilt:
    """Rebuild what Chroma refuses of `library` (a rag.Library); nothing when it refuses nothing.
    `on_progress(line)` hears the estimate and the progress."""
    say = on_progress or (lambda line: None)
    handle = library.store.handle
    with handle.reported(), handle.site.lock(True, say):
        for line in finish_swap(handle):
            say(line)
        refused = refusals(handle)
        roles = {r.role for r in refused}
        done = Rebuilt(refused)
        if "article records" in roles:
            lost = _lost_records(handle, chunks_readable="chunks" not in roles)
            swap(handle, handle.articles, fresh(handle, handle.articles))
            lost_count = plural(len(lost), "article")
            say(f"{handle.articles.name}: an empty collection replaces the refused one; {lost_count} lost")
            if "chunks" in roles:  # nothing left to fill it from
                swap(handle, handle.chunks, fresh(handle, handle.chunks))
            done = Rebuilt(refused, lost=lost)
        elif "chunks" in roles:
            done = _refill(library, refused, say)
        if refused and handle.site.pending() is not None:
            handle.site.end()
        return done


def _refill(library, refused: list[Refusal], say) -> Rebuilt:
    """Chunk and embed every readable article record again into a fresh collection, and swap it in."""
    started = time.monotonic()
    handle = library.store.handle
    got = handle.fetch(handle.articles, ["documents", "metadatas"])
    readable, lost, passages = [], [], 0
    for article_id, document, metadata in zip(got["ids"], got["documents"], got["metadatas"]):
        try:
            readable.append(article_of(json.loads(document)))
            passages += metadata.get("chunks", 0)
        except (ValueError, KeyError, TypeError) as e:
            why = f"its record cannot be read ({type(e).__name__}: {e})"
            lost.append(Lost(article_id, metadata.get("source"), metadata.get("title"), why))
    chunking = _chunking(library)
    name = handle.chunks.name
    if readable:
        rate = _rate(library.embedder, readable, chunking)
        say(
            f"rebuilding {name} from {plural(len(readable), 'article record')}: about {plural(passages, 'passage')} "
            f"to embed, about {_duration(passages / rate)} at {rate:.0f} passages/s"
        )
    filled = fresh(handle, handle.chunks)
    filling = Filling(handle, filled, dict(zip(got["ids"], got["metadatas"])))
    batch = Batch(SimpleNamespace(handle=filling, records=Records(filling)), library.embedder, chunking, reuse=False)
    added = itertools.chain.from_iterable(batch.add_article(a, labels, status="replaced") for a, labels in readable)
    articles = stored = 0
    told = time.monotonic()
    for result in itertools.chain(added, batch.flush()):
        if result.status == "failed":
            retry = "run `python -m ingest check --repair` again"
            raise DossierError(f"rebuild stopped: {result.error}; {name} is left as it was: {retry}")
        articles, stored = articles + 1, stored + result.chunks
        if time.monotonic() - told >= PROGRESS_SECONDS:
            told = time.monotonic()
            so_far = f"{plural(stored, 'passage')}, in {_duration(told - started)}"
            say(f"rebuilt {articles}/{len(readable)} articles, {so_far}")
    swap(handle, handle.chunks, filled)
    if library.store.records.chunking() != chunking:
        library.store.records.set_chunking(chunking)
    seconds = time.monotonic() - started
    say(
        f"rebuilt {plural(articles, 'article')} ({plural(stored, 'passage')}) in {_duration(seconds)}: "
        f"{name} is a fresh collection, the refused one is dropped"
        + (f"; {plural(len(lost), 'article')} lost" if lost else "")
    )
    return Rebuilt(refused, articles, stored, lost)


def _chunking(library) -> dict:
    """The chunk size and overlap the library was built with (the settings', for a store that never said), and the
    current pipeline: that is what chunking the records again makes."""
    stored = library.store.records.chunking()
    return {**library.chunking, **{k: stored[k] for k in ("chunk_size", "chunk_overlap") if k in stored}}


def _rate(embedder: Embedder, readable: list, chunking: dict) -> float:
    """Passages per second the embedder embeds, measured on the first few articles' passages."""
    texts = []
    for article, labels in readable:
        chunks = chunk_article(
            article, embedder.count_tokens, chunking["chunk_size"], chunking["chunk_overlap"], labels
        )
        texts += [c.embedding_text for c in chunks]
        if len(texts) >= SAMPLE:
            break
    texts = texts[:SAMPLE] or ["."]
    embedder.embed_bulk(texts[:1])  # loads the model, which is no part of the rate
    started = time.monotonic()
    embedder.embed_bulk(texts)
    return len(texts) / max(time.monotonic() - started, 1e-6)


def _lost_records(handle, chunks_readable: bool) -> list[Lost]:
    """The articles whose records were in a refused collection, named from their chunks (or, when those are
    refused too, from the BM25 index, which holds only their ids)."""
    why = "its record was in the refused collection"
    if not chunks_readable:
        return [Lost(i, None, None, why) for i in sorted({a for a, _ in handle.lexical.versions()})]
    named = {}
    for m in handle.fetch(handle.chunks, ["metadatas"])["metadatas"]:
        named.setdefault(m["article_id"], (m.get("source"), m.get("title")))
    return [Lost(i, source, title, why) for i, (source, title) in sorted(named.items(), key=lambda kv: kv[1][0] or "")]


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
