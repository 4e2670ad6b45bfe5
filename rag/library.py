"""The library: the articles of one store — ingest, list, remove, look inside, check and repair, re-chunk.

Opening a library opens its store (folder or Chroma server) and repairs a write that was cut short;
it never re-embeds anything by itself. Re-chunking, when the chunk settings or the pipeline changed,
is an explicit step (`rechunk`), after `rechunk_cost` has said what it will cost.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dossier_core.errors import DossierError, NotFound
from dossier_core.models import Article
from dossier_core.text import plural
from ingest.chunk import INDEXED
from ingest.extract import FORMATS
from ingest.load import MAX_BYTES, Skipped, article_id, find_inputs, parse_articles, read_input, upload
from ingest.regions import LABELS
from rag.ingestion import Batch, IngestResult, guarded
from rag.rebuild import rebuild
from rag.settings import Settings
from vectorstore.embedder import Embedder, MiniLMEmbedder
from vectorstore.records import ArticleRecord
from vectorstore.sites import MAIN
from vectorstore.store import ChromaStore

# What the shells show and offer, re-exported so that they import only from rag.
__all__ = ["FORMATS", "LABELS", "INDEXED", "MAIN", "MAX_BYTES", "MiniLMEmbedder", "Library"]
# Files that hold many articles: article dumps.
DUMPS = tuple(suffix for suffix, kind in FORMATS.items() if kind in ("json", "jsonl"))
# Bump when cleaning or chunking changes what a stored chunk is: stores need re-chunking.
PIPELINE_VERSION = "4"


def _skipped(skipped: list[Skipped]) -> Iterator[IngestResult]:
    """A result for each file a folder holds that is not ingested, saying why (then forgotten)."""
    yield from (IngestResult(str(s.path), "skipped", error=f"{s.path}: {s.reason}") for s in skipped)
    skipped.clear()


def _described(chunking: dict) -> str:
    if not chunking:
        return "older settings"
    return f"chunk size {chunking['chunk_size']}, overlap {chunking['chunk_overlap']}, pipeline {chunking['pipeline']}"


class Library:
    def __init__(
        self,
        store: str | Path | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        create: bool = True,
    ):
        """`store` defaults to `settings.store`; with `settings.chroma_url` the articles live on that server.
        The library is the store's `settings.library` (made on first use, unless not `create`)."""
        self.settings = settings or Settings()
        if len(self.settings.libraries) > 1:
            raise DossierError(
                f"library={self.settings.library!r}: articles are added, listed and removed one library at a time; "
                "give one name (questions may be asked across several: python -m rag ask --library a,b)"
            )
        self.name = self.settings.library
        self.embedder = embedder or MiniLMEmbedder(self.settings.encoder, self.settings.cache)
        if self.settings.chunk_size > self.embedder.max_tokens:
            raise DossierError(
                f"chunk_size={self.settings.chunk_size} is over what {self.embedder.name} reads "
                f"({self.embedder.max_tokens} tokens); lower chunk_size"
            )
        self.store = ChromaStore(
            store or self.settings.store,
            {"embedder": self.embedder.name, "dimensions": self.embedder.dim},
            self.settings.chroma_url,
            self.settings.chroma_token,
            self.name,
            create,
        )
        self.store.consistency.recover_if_idle()
        self.chunking = {
            "chunk_size": self.settings.chunk_size,
            "chunk_overlap": self.settings.chunk_overlap,
            "pipeline": PIPELINE_VERSION,
        }

    @property
    def path(self) -> Path:
        return self.store.path

    def ingest(self, inputs: Iterable[str | Path] | str | Path, **options) -> list[IngestResult]:
        return list(self.iter_ingest(inputs, **options))

    def iter_ingest(
        self,
        inputs: Iterable[str | Path] | str | Path,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        keep: tuple[str, ...] = (),
        max_bytes: int = MAX_BYTES,
        on_wait=None,
    ) -> Iterator[IngestResult]:
        """One result per article as each is stored. Inputs are files, folders (recursive), http(s) URLs
        or '-' for stdin; `keep` adds regions to index (e.g. "comments"). A failed input does not stop the rest."""
        labels = INDEXED + tuple(keep)
        inputs = [inputs] if isinstance(inputs, (str, Path)) else inputs
        skipped: list[Skipped] = []
        with self.writing(on_wait) as batch:
            for item in find_inputs([str(i) for i in inputs], list(include), list(exclude), on_skip=skipped.append):
                yield from _skipped(skipped)
                read = lambda item=item: read_input(item, max_bytes, self.settings.allow_private)  # noqa: E731
                yield from guarded(str(item), lambda read=read: batch.add(read(), labels))
            yield from _skipped(skipped)
            yield from batch.flush()

    def ingest_upload(self, name: str, data: bytes) -> list[IngestResult]:
        """A document that arrived as bytes (the chat page's uploader)."""
        with self.writing() as batch:
            results = list(guarded(f"upload:{name}", lambda: batch.add(upload(name, data), INDEXED)))
            return results + list(batch.flush())

    @contextmanager
    def writing(self, on_wait=None) -> Iterator[Batch]:
        """The write lock, and a batch for this run (ingest, upload, import): refused while the store needs
        re-chunking, since new chunks made another way would sit beside the old ones."""
        with self.store.consistency.writing(on_wait):
            cost = self.rechunk_cost()
            if cost:
                raise DossierError(f"{self.path}: {cost}")
            if not self.store.records.chunking():
                self.store.records.set_chunking(self.chunking)
            yield Batch(self.store, self.embedder, self.chunking)

    def rechunk_cost(self) -> str | None:
        """What re-chunking would do and cost, or None when the library is chunked as the settings say."""
        stored = self.store.records.chunking()
        articles, chunks = self.counts()
        if stored == self.chunking or (not stored and articles == 0):
            return None
        where = f"--chroma-url {self.settings.chroma_url}" if self.settings.chroma_url else f"--store {self.path}"
        where += f" --library {self.name}" if self.name != MAIN else ""
        flags = f"--chunk-size {self.settings.chunk_size} --chunk-overlap {self.settings.chunk_overlap}"
        was, now = _described(stored), _described(self.chunking)
        return (
            f"the library was chunked with {was}, these settings chunk with {now}; "
            f"re-chunk it once (re-embeds its {plural(articles, 'article')}, {plural(chunks, 'passage')} now) with "
            f"`python -m ingest rechunk --yes {where} {flags}`, "
            f"or use the settings it was built with ({was})"
        )

    def rechunk(self) -> int:
        """Chunk and embed every article again with the current settings; the number of articles."""
        with self.store.consistency.writing():
            records = self.store.records.articles()
            batch = Batch(self.store, self.embedder, self.chunking)
            for record in records:
                article, labels = self.store.records.load_article(record.id)
                list(batch.add_article(article, labels, status="replaced"))
            list(batch.flush())
            self.store.records.set_chunking(self.chunking)
        return len(records)

    def articles(self) -> list[ArticleRecord]:
        """Every article, newest first (undated ones last, by title)."""
        by_title = sorted(self.store.records.articles(), key=lambda r: ((r.title or "").lower(), r.source))
        return sorted(by_title, key=lambda r: r.published_at or "", reverse=True)

    def remove(self, ref: str | ArticleRecord) -> list[ArticleRecord]:
        """Remove an article: the one a record is of, or one named by its id, path or URL, or every article a
        dump file (.jsonl) brought."""
        records = [ref] if isinstance(ref, ArticleRecord) else self._named(ref)
        if not records:
            raise NotFound(f"{ref}: no article with this id, path or URL; see `python -m ingest list`")
        with self.store.consistency.writing():
            for record in records:
                self.store.records.remove(record.id)
        return records

    def _named(self, ref: str) -> list[ArticleRecord]:
        records = self.store.records
        named = [records.article(ref), records.article(article_id(ref)), records.find(source=ref)]
        path = None if ref.startswith(("http://", "https://", "upload:", "stdin:")) else Path(ref).resolve()
        if path is not None:
            named.append(records.find(source=str(path)))
        found = {r.id: r for r in named if r}
        if not found and path is not None and path.suffix.lower() in DUMPS:
            # A dump brings many articles, each with its own source: those stored from it under PATH#ID,
            # and those it holds now (an item with a URL is stored under that URL).
            ids = {a.id for a in parse_articles(read_input(path))[0]} if path.is_file() else set()
            found = {r.id: r for r in records.articles() if r.id in ids or r.source.startswith(f"{path}#")}
        return list(found.values())

    def regions(self, article_id: str) -> list[tuple[str, str, bool]]:
        """What ingestion made of an article, in page order: (label, text, indexed) per region."""
        return regions_of(*self.store.records.load_article(article_id))

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the library."""
        return self.store.records.counts()

    def check(self) -> list[str]:
        """Problems of the store: a collection Chroma refuses, orphan or missing chunks, a lexical index that
        differs, an interrupted write."""
        return self.store.consistency.check()

    def repair(self, on_progress: Callable[[str], None] | None = None) -> list[str]:
        """Fix what check finds: a collection Chroma refuses is rebuilt from the article records (rag.rebuild, whose
        estimate and progress `on_progress(line)` hears), articles with broken chunks are removed (ingest them
        again); the articles lost and what is left."""
        lost = [a.line for a in rebuild(self, on_progress).lost]
        with self.store.consistency.writing():
            self.store.consistency.repair()
        return lost + self.check()


def regions_of(article: Article, indexed: tuple[str, ...]) -> list[tuple[str, str, bool]]:
    """An article's regions in page order: (label, text, indexed) each."""
    regions = [(r.label, article.text[r.start : r.end], r.label in indexed) for r in article.regions]
    return regions or [("body", article.text, True)]


def matching(records: list[ArticleRecord], query: str | None) -> list[ArticleRecord]:
    """The articles whose title, author, outlet, source or id hold every word of the query (any case)."""
    words = (query or "").lower().split()
    if not words:
        return records
    found = []
    for r in records:
        fields = " ".join(filter(None, (r.title, r.author, r.outlet, r.source, r.id))).lower()
        if all(w in fields for w in words):
            found.append(r)
    return found
