"""A library as a file, and back: every article record (cleaned text, regions, metadata, content hash; no
vectors) as JSON Lines, gzipped when the name ends in .gz. Importing re-embeds into any store or server, and
skips the articles it already holds unchanged, so a library moves between machines, between a folder and a
Chroma server, and outlives a lost index.

One line per article: {"dossier_export": 1, "article": {id, source, text, content_hash, title, metadata,
regions: [{label, start, end, page}]}, "indexed": [labels]} — the record Dossier keeps for re-chunking."""

import gzip
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

from dossier_core.errors import DossierError
from dossier_core.models import Article
from rag.ingestion import IngestResult
from rag.library import Library
from vectorstore.records import article_of

FORMAT = 1


def _open(path: Path, mode: str, zipped: bool):
    if zipped:
        return gzip.open(path, mode + "t", encoding="utf-8")
    return path.open(mode, encoding="utf-8")


def export_library(library: Library, path: str | Path) -> int:
    """Write every article record of `library` to `path`; the number written. The file is whole or absent:
    it is written beside and renamed when done."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with _open(partial, "w", path.suffix == ".gz") as out:
            written = _write(library, out)
        partial.replace(path)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise DossierError(f"{path}: cannot write the export ({e.strerror or e}); give a writable file") from None
    return written


def export_bytes(library: Library) -> bytes:
    """Every article record of `library`, gzipped: the .jsonl.gz file export_library writes, for a download."""
    buffer = io.BytesIO()
    with gzip.open(buffer, "wt", encoding="utf-8") as out:
        _write(library, out)
    return buffer.getvalue()


def _write(library: Library, out) -> int:
    written = 0
    for article, indexed in library.store.records.exported():
        out.write(json.dumps({"dossier_export": FORMAT, "article": article, "indexed": indexed}) + "\n")
        written += 1
    return written


def import_library(library: Library, path: str | Path) -> Iterator[IngestResult]:
    """One result per article of the export at `path`, as each is stored; a damaged line is one failed result
    and the others go on."""
    path = Path(path)
    return _import(library, str(path), lambda: _open(path, "r", path.suffix == ".gz"))


def import_bytes(library: Library, name: str, data: bytes) -> Iterator[IngestResult]:
    """import_library for an export held in memory (an upload): `name` is what errors call it, and it is read
    as gzipped when `name` ends in .gz."""

    def opened():
        raw = io.BytesIO(data)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw) if name.endswith(".gz") else raw, encoding="utf-8")

    return _import(library, name, opened)


def _import(library: Library, name: str, opened) -> Iterator[IngestResult]:
    lines = _read(name, opened)
    first = next(lines, None)  # a file that is no export fails here, before the store is locked
    with library.writing() as batch:
        for n, line in enumerate(itertools.chain([first] if first else [], lines), 1):
            try:
                article, indexed = _record(line)
            except (ValueError, KeyError, TypeError) as e:
                yield IngestResult(f"{name}:{n}", "failed", error=f"{name}: line {n} is not an article record ({e})")
                continue
            yield from batch.add_article(article, indexed)
        yield from batch.flush()


def _read(name: str, opened) -> Iterator[str]:
    """The lines of the text stream `opened()` gives; whatever stops the reading is one error naming `name`."""
    read = 0
    try:
        with opened() as lines:
            for line in lines:
                yield line
                read += 1
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
        where = f" after line {read}" if read else ""
        raise DossierError(
            f"{name}: cannot read it as a Dossier export{where} ({e}); give a file `ingest export` wrote"
        ) from None


def _record(line: str) -> tuple[Article, tuple[str, ...]]:
    data = json.loads(line)
    if data.get("dossier_export") != FORMAT:
        raise ValueError(f"no 'dossier_export': {FORMAT}")
    return article_of(data)
