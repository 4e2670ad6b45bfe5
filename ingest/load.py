"""Inputs (files, folders, URLs, stdin, uploads) → `Document`s → `Article`s."""

import codecs
import fnmatch
import hashlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.errors import DossierError
from ingest.extract import FORMATS, Extracted, assemble, extract_markup, extract_page, extract_pdf
from ingest.models import Article
from ingest.regions import BODY

MAX_BYTES = 50 * 1024 * 1024
FETCH_TIMEOUT = 20
_CONTENT_TYPES = {
    "text/html": "html", "application/xhtml+xml": "html", "text/plain": "text", "text/markdown": "markdown",
    "application/pdf": "pdf", "application/json": "json", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
}


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


def find_inputs(items, include: list[str] = (), exclude: list[str] = ()) -> Iterator[str | Path]:
    """URLs, '-' and files named directly pass through (so a bad one gets a clear
    error); folders yield their supported files recursively, in a stable order,
    filtered by --include/--exclude globs on the path below the folder."""
    for item in items:
        if is_url(item) or item == "-":
            yield item
            continue
        path = Path(item)
        if not path.is_dir():
            yield path
            continue
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path).as_posix()
            if (
                p.suffix.lower() in FORMATS
                and (p.is_file() or p.is_symlink())
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and (not include or any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(p.name, g) for g in include))
                and not any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(p.name, g) for g in exclude)
            ):
                yield p


def read_input(item, max_bytes: int = MAX_BYTES) -> Document:
    if is_url(item):
        return fetch(item, max_bytes)
    if item == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        _check_size("stdin", len(data), max_bytes)
        return Document(f"stdin:{content_hash(data)[:16]}", "stdin", data, sniff(data))
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
        raise DossierError(f"{path}: unsupported file type '{path.suffix or '(none)'}'; use one of {', '.join(sorted(FORMATS))}")
    try:
        _check_size(str(path), path.stat().st_size, max_bytes)
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
        raise DossierError(f"{name}: larger than the {max_bytes // 2**20} MiB upload limit; split it, or add it with `python -m ingest PATH --max-mb N`")
    return Document(f"upload:{name}", name, data, fmt)


def fetch(url: str, max_bytes: int = MAX_BYTES, timeout: float = FETCH_TIMEOUT) -> Document:
    """GET a URL (redirects followed) within a time and size limit, accepting only article content types."""
    request = urllib.request.Request(url, headers={"User-Agent": "Dossier/0.1 (article reader)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            fmt = _CONTENT_TYPES.get(kind)
            if fmt is None:
                raise DossierError(f"{url}: content type '{kind}' is not an article; give an HTML, text, PDF or JSON URL")
            length = response.headers.get("Content-Length")
            if length and length.isdigit():
                _check_size(url, int(length), max_bytes)
            data = response.read(max_bytes + 1)
            _check_size(url, len(data), max_bytes)
            return Document(response.geturl(), url, data, fmt)
    except urllib.error.HTTPError as e:
        raise DossierError(f"{url}: the server answered {e.code} {e.reason}; check the URL") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DossierError(f"{url}: cannot fetch it ({reason}); check the address and your connection") from None


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DossierError(f"{name}: larger than the {max_bytes // 2**20} MiB limit; split it or raise --max-mb")


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
    return [_article(doc.source, doc.content_hash, extracted, _name_title(doc.name))], []


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
    return stem[:1].upper() + stem[1:] if stem and name != "stdin" else None


def _records(doc: Document) -> list[dict]:
    text = decode(doc.data, doc.name)
    try:
        if doc.format == "json":
            data = json.loads(text)
            records = data if isinstance(data, list) else [data]
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise DossierError(f"{doc.name}: invalid JSON at line {e.lineno} ({e.msg}); give one article object per line") from None
    if not all(isinstance(r, dict) for r in records):
        raise DossierError(f"{doc.name}: expected JSON objects with a 'body' field, one article each")
    return records


def _record_article(doc: Document, record: dict, n: int) -> Article:
    body = record.get("body") or record.get("text") or record.get("content")
    if not isinstance(body, str) or not body.strip():
        raise DossierError(f"{doc.name}: article {n} has no 'body' text; every object needs a non-empty 'body'")
    source = record.get("url") if is_url(record.get("url")) else f"{doc.source}#{record.get('id', n)}"
    text, regions = assemble([(BODY, body, None)])
    metadata = {k: v for k, v in record.items() if k not in ("body", "text", "content", "id") and v not in (None, "")}
    for key in ("author", "published_at", "source"):
        if key in metadata and not isinstance(metadata[key], str):
            metadata[key] = json.dumps(metadata[key], ensure_ascii=False)
    if isinstance(metadata.get("source"), str) and not is_url(metadata["source"]):
        metadata.setdefault("site", metadata["source"])  # a dump's "source" names its publisher
    article = _article(source, content_hash(json.dumps(record, sort_keys=True).encode()), Extracted(text, regions, metadata), None)
    # A dump's own ids are how its users name articles (evaluation sets refer to them).
    return Article(**{**article.__dict__, "id": str(record["id"])}) if record.get("id") not in (None, "") else article


def decode(data: bytes, name: str) -> str:
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Windows Notepad's "Unicode"
        return data.decode("utf-16")
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
