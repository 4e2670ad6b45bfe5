"""Inputs (files, folders, URLs, stdin, uploads) → `Document`s → `Article`s."""

import codecs
import fnmatch
import hashlib
import http.client
import ipaddress
import json
import re
import socket
import ssl
import string
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from charset_normalizer import from_bytes

from ingest.errors import DossierError
from ingest.extract import FORMATS, Extracted, assemble, extract_markup, extract_page, extract_pdf
from ingest.models import Article
from ingest.regions import BODY, BYLINE, Line, is_credits

MAX_BYTES = 50 * 1024 * 1024
FETCH_TIMEOUT = 20  # seconds for a whole fetch: every redirect, the connections and all reads
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
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


def _written_as_url(item) -> bool:
    """scheme://…: fetch takes it, to refuse schemes other than http(s) by name rather than as a missing file."""
    return isinstance(item, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", item) is not None


def find_inputs(items, include: list[str] = (), exclude: list[str] = ()) -> Iterator[str | Path]:
    """URLs, '-' and files named directly pass through (so a bad one gets a clear
    error); folders yield their supported files recursively, in a stable order,
    filtered by --include/--exclude globs on the path below the folder."""
    for item in items:
        if _written_as_url(item) or item == "-":
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


def read_input(item, max_bytes: int = MAX_BYTES, allow_private: bool = False) -> Document:
    if _written_as_url(item):
        return fetch(item, max_bytes, allow_private=allow_private)
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


def fetch(url: str, max_bytes: int = MAX_BYTES, timeout: float = FETCH_TIMEOUT, allow_private: bool = False) -> Document:
    """GET an http(s) URL, following up to MAX_REDIRECTS redirects, within `max_bytes` and
    `timeout` seconds in all, accepting only article content types. Unless `allow_private`,
    every hop must resolve to public addresses only: a pasted link must not reach into the
    user's own network (routers, admin pages, a cloud's metadata service)."""
    deadline = time.monotonic() + timeout
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            with _get(url, current, allow_private, deadline) as response:
                location = response.getheader("Location")
                if response.status in _REDIRECTS and location:
                    current = urljoin(current, location)
                    continue
                if not 200 <= response.status < 300:
                    raise DossierError(f"{url}: the server answered {response.status} {response.reason}; check the URL")
                kind = response.headers.get_content_type()
                fmt = _CONTENT_TYPES.get(kind)
                if fmt is None:
                    raise DossierError(f"{url}: content type '{kind}' is not an article; give an HTML, text, PDF or JSON URL")
                data = _read(response, url, max_bytes, deadline)
            return Document(current, url, data, fmt)
    except (OSError, http.client.HTTPException, UnicodeError) as e:  # UnicodeError: a host name IDNA cannot encode
        if time.monotonic() >= deadline:
            raise DossierError(f"{url}: no complete answer within {timeout:g} s; try again later, or download it and give the file") from None
        raise DossierError(f"{url}: cannot fetch it ({e}); check the address and your connection") from None
    raise DossierError(f"{url}: more than {MAX_REDIRECTS} redirects; give the address they end at")


@contextmanager
def _get(url: str, current: str, allow_private: bool, deadline: float) -> Iterator[http.client.HTTPResponse]:
    """The response to a GET of `current` (a redirect's target, or `url` itself) from an address
    checked first. The connection is cut at the deadline: socket timeouts bound each wait, not
    the total, so a server trickling a byte at a time could otherwise hold a fetch for ever."""
    name = url if current == url else f"{url} (redirected to {current})"
    parts = urlsplit(current)
    if parts.scheme not in ("http", "https"):
        raise DossierError(f"{name}: only http:// and https:// addresses can be fetched; give a web address, or download the file and give its path")
    if not parts.hostname:
        raise DossierError(f"{name}: no host name; check the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DossierError(f"{name}: the port is not a number from 0 to 65535; check the URL") from None
    connection = _TLSConnection if parts.scheme == "https" else _Connection
    conn = connection(parts.hostname, port, _addresses(name, parts.hostname, port, allow_private), deadline)
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0), conn.cut)
    watchdog.start()
    try:
        # Non-ASCII letters and spaces percent-encoded, as a browser sends them; existing escapes kept.
        target = quote(urlunsplit(("", "", parts.path or "/", parts.query, "")), safe=string.punctuation)
        conn.request("GET", target, headers={"User-Agent": "Dossier/0.1 (article reader)"})
        yield conn.getresponse()
    finally:
        watchdog.cancel()
        conn.close()


def _addresses(name: str, host: str, port: int, allow_private: bool) -> list[tuple]:
    """(family, socket address) for each address `host` resolves to. All must be public, not
    just one: the connection may go to any of them."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in found:
        if not allow_private and not _public(ipaddress.ip_address(sockaddr[0])):
            raise DossierError(f"{name}: resolves to {sockaddr[0]}, a private or local address; "
                               "pass --allow-private (or set DOSSIER_ALLOW_PRIVATE=1) to fetch from your own network")
    return [(family, sockaddr) for family, _, _, _, sockaddr in found]


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
    ip = getattr(ip, "ipv4_mapped", None) or ip
    # is_global covers loopback, private, link-local (169.254.169.254), unspecified, 100.64/10,
    # fc00::/7 and fe80::/10, but not multicast, nor IPv6's reserved ::/8, which embeds IPv4 (::7f00:1).
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


class _Connection(http.client.HTTPConnection):
    """Connects to the addresses that were checked, not to a fresh lookup of the name, which
    could answer differently the second time (DNS rebinding); the Host header keeps the name."""

    def __init__(self, host: str, port: int, addresses: list[tuple], deadline: float):
        super().__init__(host, port)
        self.addresses, self.deadline = addresses, deadline
        # The socket to cut: http.client sets `sock` to None once a response owns the connection.
        self.wire = None

    def connect(self):
        error = None
        for family, sockaddr in self.addresses:  # as socket.create_connection does: the first that answers
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(max(self.deadline - time.monotonic(), 0.001))
                sock.connect(sockaddr)
                self.sock = self.wire = sock
                return
            except OSError as e:
                sock.close()
                error = e
        raise error

    def cut(self):
        """Ends the connection under a read still waiting for bytes."""
        if self.wire is not None:
            try:
                # The plain socket's shutdown: an SSLSocket's own also drops its TLS state under the reading thread.
                socket.socket.shutdown(self.wire, socket.SHUT_RDWR)
            except OSError:
                pass


class _TLSConnection(_Connection):
    default_port = 443

    def connect(self):
        super().connect()
        # A fresh default context: SNI and the certificate check are for the name, not the address.
        self.sock = self.wire = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


def _read(response: http.client.HTTPResponse, url: str, max_bytes: int, deadline: float) -> bytes:
    """The body, refused as soon as it is known to be too large, or if it ended short."""
    length = response.getheader("Content-Length")
    if length and length.isdigit():
        _check_size(url, int(length), max_bytes)
    data = bytearray()
    while chunk := response.read(64 * 1024):
        data += chunk
        _check_size(url, len(data), max_bytes)
    if time.monotonic() >= deadline:  # the watchdog ended it
        raise TimeoutError
    if length and length.isdigit() and len(data) < int(length):  # http.client returns a cut-short body as if complete
        raise DossierError(f"{url}: the connection closed after {len(data)} of {length} bytes; try again later")
    return bytes(data)


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
    # A JSONL record ends at "\n" only: str.splitlines() also splits at U+2028, \x85 and more, which JSON strings may hold.
    lines = [(1, text)] if doc.format == "json" else [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    records = []
    for number, line in lines:
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise DossierError(f"{doc.name}: invalid JSON at line {number + e.lineno - 1} ({e.msg}); give one article object per line") from None
        except RecursionError:
            raise DossierError(f"{doc.name}: JSON nested too deeply at line {number}; give one flat article object per line") from None
        records.extend(data if doc.format == "json" and isinstance(data, list) else [data])
    if not records:
        raise DossierError(f"{doc.name}: holds no articles; give one JSON object with a 'body' field per article")
    if not all(isinstance(r, dict) for r in records):
        raise DossierError(f"{doc.name}: holds JSON values that are not article objects; give one object with a 'body' field per article")
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
    if isinstance(metadata.get("source"), str) and not is_url(metadata["source"]):
        metadata.setdefault("site", metadata["source"])  # a dump's "source" names its publisher
    article = _article(source, content_hash(json.dumps(record, sort_keys=True).encode()), Extracted(text, regions, metadata), None)
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
    encoding = ("utf-32" if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE))
                else "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None)
    if encoding:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            raise DossierError(f"{name}: marked as {encoding.upper()} text but damaged or cut short; save it again as UTF-8") from None
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
