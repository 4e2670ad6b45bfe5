"""Inputs (files, folders, URLs, stdin, uploads) → `Document`s → `Article`s."""

import codecs
import fnmatch
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from dossier_core.errors import DossierError
from dossier_core.models import Article
from ingest.extract import FORMATS, Extracted, assemble, extract_markup, extract_page, extract_pdf
from ingest.html import is_directory_listing
from ingest.metadata import stated_date
from ingest.regions import BODY, BYLINE, Line, is_credits
from ingest.web import FETCH_TIMEOUT, check_size, download

MAX_BYTES = 50 * 1024 * 1024
STDIN = "stdin"  # the name of what is read from '-'
_TITLE_CHARS = 80  # a title taken from the text's first line is cut at a word before this


@dataclass(frozen=True)
class Document:
    source: str  # canonical: absolute path, URL, upload:NAME or stdin:HASH
    name: str  # what messages call it
    data: bytes
    format: str

    @property
    def content_hash(self) -> str:
        return content_hash(self.data)


def article_id(source: str) -> str:
    """Stable id from the canonical source (URL or absolute path)."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_url(item) -> bool:
    return isinstance(item, str) and item.startswith(("http://", "https://"))


def _written_as_url(item) -> bool:
    """scheme://…: fetch takes it, to refuse schemes other than http(s) by name rather than as a missing file."""
    return isinstance(item, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", item) is not None


@dataclass(frozen=True)
class Skipped:
    """A file or folder in a folder given to ingest that is not read, and why ("hidden", "excluded by …")."""

    path: Path
    reason: str


def find_inputs(
    items, include: list[str] = (), exclude: list[str] = (), on_skip: Callable[[Skipped], None] | None = None
) -> Iterator[str | Path]:
    """URLs, '-' and files named directly pass through (so a bad one gets a clear
    error); folders yield their supported files recursively, in a stable order,
    filtered by --include/--exclude globs on the path below the folder. What a folder
    holds that is not yielded goes to `on_skip`, with the reason: a hidden folder once
    (not each file in it), never a folder that is walked."""
    for item in items:
        if _written_as_url(item) or item == "-":
            yield item
            continue
        path = Path(item)
        if not path.is_dir():
            yield path
            continue
        for p in sorted(path.rglob("*")):
            parts = p.relative_to(path).parts
            if any(part.startswith(".") for part in parts[:-1]):
                continue  # inside a hidden folder, which was reported
            reason = _skip_reason(p, parts, include, exclude)
            if reason is None:
                yield p
            elif reason and on_skip:
                on_skip(Skipped(p, reason))


def glob_reason(below: str, name: str, include: list[str], exclude: list[str]) -> str | None:
    """Why --include/--exclude leave out the file `name` at `below` (its path under the folder given), or None.
    A glob matches either."""

    def matches(glob: str) -> bool:
        return fnmatch.fnmatch(below, glob) or fnmatch.fnmatch(name, glob)

    if excluded := next((g for g in exclude if matches(g)), None):
        return f"excluded by --exclude {excluded!r}"
    if include and not any(map(matches, include)):
        return f"matched by no --include ({', '.join(include)})"
    return None


def _skip_reason(p: Path, parts: tuple[str, ...], include: list[str], exclude: list[str]) -> str | None:
    """Why a folder's entry is not read (None: it is; "": a folder, walked, nothing to say)."""
    if p.name.startswith("."):
        return f"hidden {'folder' if p.is_dir() else 'file'} (its name starts with '.')"
    if p.is_dir() and not p.is_symlink():
        return ""
    if reason := glob_reason("/".join(parts), p.name, include, exclude):
        return reason
    if not (p.is_file() or p.is_symlink()):
        return "not a regular file"
    if p.suffix.lower() not in FORMATS:
        return f"unsupported file type {p.suffix or '(none)'!r}"
    return None


def read_input(item, max_bytes: int = MAX_BYTES, allow_private: bool = False) -> Document:
    if _written_as_url(item):
        return fetch(item, max_bytes, allow_private=allow_private)
    if item == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        check_size(STDIN, len(data), max_bytes)
        return Document(f"stdin:{content_hash(data)[:16]}", STDIN, data, sniff(data))
    return read_file(Path(item), max_bytes)


def read_file(path: Path, max_bytes: int = MAX_BYTES) -> Document:
    try:
        str(path).encode()
    except UnicodeEncodeError:
        raise DossierError(f"{path!s:.200}: the file name is not valid UTF-8; rename it") from None
    if not path.exists():
        raise DossierError(f"{path}: no such file or folder; check the path")
    if not path.is_file():
        raise DossierError(f"{path}: not a regular file; give a file or a folder")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DossierError(
            f"{path}: unsupported file type '{path.suffix or '(none)'}'; use one of {', '.join(sorted(FORMATS))}"
        )
    try:
        check_size(str(path), path.stat().st_size, max_bytes)
        return Document(str(path.resolve()), str(path), path.read_bytes(), fmt)
    except OSError as e:
        raise DossierError(f"{path}: cannot read ({e.strerror or e}); check that it exists and is readable") from None


def upload(name: str, data: bytes, max_bytes: int = MAX_BYTES) -> Document:
    """Bytes from the chat page's uploader; only the file name is kept, never used as a path."""
    name = Path(name.replace("\\", "/")).name or "upload"
    fmt = FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise DossierError(f"{name}: unsupported file type; use one of {', '.join(sorted(FORMATS))}")
    if len(data) > max_bytes:
        raise DossierError(
            f"{name}: larger than the {max_bytes // 2**20} MiB upload limit; "
            "split it, or add it with `python -m ingest PATH --max-mb N`"
        )
    return Document(f"upload:{name}", name, data, fmt)


def fetch(
    url: str, max_bytes: int = MAX_BYTES, timeout: float = FETCH_TIMEOUT, allow_private: bool = False
) -> Document:
    """The document at an http(s) URL (see ingest.web.download); a directory listing is refused."""
    page = download(url, max_bytes, timeout, allow_private)
    if page.format == "html" and is_directory_listing(decode(page.data, url)):
        raise DossierError(
            f"{url}: a directory listing (a page of links to files), not an article; "
            "give the address of one of the files it lists, or download them and ingest the folder"
        )
    return Document(page.url, url, page.data, page.format)


def sniff(data: bytes) -> str:
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:1] in (b"{", b"["):
        return "jsonl" if head[:1] == b"{" and data.strip().count(b"\n") else "json"
    if head[:1] == b"<":
        return "html"
    return "text"


def parse_articles(doc: Document) -> tuple[list[Article], list[str]]:
    """Every article in a document (one, or one per record of a JSON dump), and
    what was wrong with records that could not be read. A document that cannot
    be read at all raises DossierError."""
    if doc.format in ("json", "jsonl"):
        articles, problems = [], []
        for n, record in enumerate(_records(doc), 1):
            try:
                articles.append(_record_article(doc, record, n))
            except DossierError as e:
                problems.append(str(e))
        return articles, problems
    if doc.format == "pdf":
        extracted = extract_pdf(doc.data, doc.name)
    elif doc.format == "html":
        extracted = extract_markup(decode(doc.data, doc.name), doc.name)
    else:
        extracted = extract_page(decode(doc.data, doc.name), doc.name)
    return [_article(doc.source, doc.content_hash, extracted, _name_title(doc.name) or _first_line(extracted.text))], []


def _article(source: str, digest: str, extracted: Extracted, fallback_title: str | None) -> Article:
    metadata = dict(extracted.metadata)
    title = metadata.pop("title", None) or fallback_title
    canonical = metadata.get("url") if is_url(metadata.get("url")) else None
    return Article(
        id=article_id(canonical or source),
        source=source,
        text=extracted.text,
        content_hash=digest,
        title=title,
        metadata=metadata,
        regions=extracted.regions,
    )


def _name_title(name: str) -> str | None:
    stem = Path(name).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:] if stem and name != STDIN else None


def _first_line(text: str) -> str | None:
    """A title for text that came without one or a file name (stdin): its first line, cut at a word."""
    line = text.lstrip().partition("\n")[0].lstrip("#").strip()  # "# Heading": Markdown read as text
    if len(line) <= _TITLE_CHARS:
        return line or None
    return line[: _TITLE_CHARS + 1].rsplit(" ", 1)[0][:_TITLE_CHARS].rstrip(" ,;:-–—") + "…"


def _records(doc: Document) -> list[dict]:
    text = decode(doc.data, doc.name)
    # A JSONL record ends at "\n" only: str.splitlines() also splits at U+2028, \x85 and more, which JSON strings
    # may hold.
    lines = (
        [(1, text)]
        if doc.format == "json"
        else [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    )
    records = []
    for number, line in lines:
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise DossierError(
                f"{doc.name}: invalid JSON at line {number + e.lineno - 1} ({e.msg}); give one article object per line"
            ) from None
        except RecursionError:
            raise DossierError(
                f"{doc.name}: JSON nested too deeply at line {number}; give one flat article object per line"
            ) from None
        records.extend(data if doc.format == "json" and isinstance(data, list) else [data])
    if not records:
        raise DossierError(f"{doc.name}: holds no articles; give one JSON object with a 'body' field per article")
    if not all(isinstance(r, dict) for r in records):
        raise DossierError(
            f"{doc.name}: holds JSON values that are not article objects; "
            "give one object with a 'body' field per article"
        )
    return records


def _record_article(doc: Document, record: dict, n: int) -> Article:
    body = record.get("body") or record.get("text") or record.get("content")
    text, regions = assemble(_dump_pieces(body)) if isinstance(body, str) else ("", ())
    if not text:  # a body of control characters is empty once cleaned
        raise DossierError(f"{doc.name}: article {n} has no 'body' text; every object needs a non-empty 'body'")
    source = record.get("url") if is_url(record.get("url")) else f"{doc.source}#{record.get('id', n)}"
    metadata = {k: v for k, v in record.items() if k not in ("body", "text", "content", "id") and v not in (None, "")}
    for key in ("title", "author", "published_at", "source"):
        if key in metadata and not isinstance(metadata[key], str):
            metadata[key] = json.dumps(metadata[key], ensure_ascii=False)
    if "published_at" in metadata:  # filters and answers compare ISO days: "March 3, 2024" is 2024-03-03
        metadata["published_at"] = stated_date(metadata["published_at"])
        if not metadata["published_at"]:
            del metadata["published_at"]  # "last spring": no day to filter by
    if isinstance(metadata.get("source"), str) and not is_url(metadata["source"]):
        metadata.setdefault("site", metadata["source"])  # a dump's "source" names its publisher
    digest = content_hash(json.dumps(record, sort_keys=True).encode())
    article = _article(
        source, digest, Extracted(text, regions, metadata), _first_line(text) if doc.name == STDIN else None
    )
    # A dump's own ids are how its users name articles (evaluation sets refer to them).
    return Article(**{**article.__dict__, "id": str(record["id"])}) if record.get("id") not in (None, "") else article


def _dump_pieces(body: str) -> list[tuple[str, str, None]]:
    """A dump's body is the article's text, but a wire story's may end in its credits ("(Reporting by …)")."""
    head, _, last = body.rstrip().rpartition("\n")
    if head.strip() and is_credits(Line(0, len(last), last.strip())):
        return [(BODY, head, None), (BYLINE, last, None)]
    return [(BODY, body, None)]


def decode(data: bytes, name: str) -> str:
    # UTF-32's marks first: its little-endian one starts with UTF-16's. UTF-16 is Windows Notepad's "Unicode".
    encoding = (
        "utf-32"
        if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE))
        else "utf-16"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        else None
    )
    if encoding:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            raise DossierError(
                f"{name}: marked as {encoding.upper()} text but damaged or cut short; save it again as UTF-8"
            ) from None
    if b"\x00" in data[:8192]:
        raise DossierError(f"{name}: looks like a binary file, not text; give a text, Markdown, HTML, PDF or JSON file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        matches = list(from_bytes(data))
        if not matches:
            raise DossierError(f"{name}: cannot detect the text encoding; save it as UTF-8") from None
        # Short texts fit several single-byte code pages equally well; among those
        # that do, Windows-1252 is by far the most common for articles.
        least = min(m.chaos for m in matches)
        tied = [m for m in matches if m.chaos <= least + 0.01]
        return str(next((m for m in tied if m.encoding == "cp1252"), tied[0]))
