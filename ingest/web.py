"""Fetching an http(s) URL for ingest: redirects, sizes, deadlines, content types, and the checks that keep a
pasted link out of the user's own network."""

import http.client
import ipaddress
import socket
import ssl
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from dossier_core.errors import DossierError

FETCH_TIMEOUT = 20  # seconds for a whole fetch: every redirect, the connections and all reads
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/markdown": "markdown",
    "application/pdf": "pdf",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
}
# What a news feed is served as: RSS and Atom's own types, generic XML, and plain text from misconfigured servers.
FEED_TYPES = dict.fromkeys(
    ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml", "text/plain"),
    "feed",
)


@dataclass(frozen=True)
class Page:
    url: str  # where the redirects ended
    data: bytes
    format: str  # from the content type: one of CONTENT_TYPES' values, or "feed"


def download(
    url: str, max_bytes: int, timeout: float = FETCH_TIMEOUT, allow_private: bool = False, feed: bool = False
) -> Page:
    """GET an http(s) URL, following up to MAX_REDIRECTS redirects, within `max_bytes` and
    `timeout` seconds in all, accepting only article content types (with `feed`: only FEED_TYPES). Unless
    `allow_private`, every hop must resolve to public addresses only: a pasted link must not reach into the
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
                fmt = (FEED_TYPES if feed else CONTENT_TYPES).get(kind)
                if fmt is None:
                    wanted = (
                        "a feed; give an RSS or Atom URL" if feed else "an article; give an HTML, text, PDF or JSON URL"
                    )
                    raise DossierError(f"{url}: content type '{kind}' is not {wanted}")
                data = _read(response, url, max_bytes, deadline)
            return Page(current, data, fmt)
    except (OSError, http.client.HTTPException, UnicodeError) as e:  # UnicodeError: a host name IDNA cannot encode
        if time.monotonic() >= deadline:
            raise DossierError(
                f"{url}: no complete answer within {timeout:g} s; try again later, or download it and give the file"
            ) from None
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
        raise DossierError(
            f"{name}: only http:// and https:// addresses can be fetched; "
            "give a web address, or download the file and give its path"
        )
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
            raise DossierError(
                f"{name}: resolves to {sockaddr[0]}, a private or local address; "
                "pass --allow-private (or set DOSSIER_ALLOW_PRIVATE=1) to fetch from your own network"
            )
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
            # The plain socket's shutdown: an SSLSocket's own also drops its TLS state under the reading thread.
            with suppress(OSError):
                socket.socket.shutdown(self.wire, socket.SHUT_RDWR)


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
        check_size(url, int(length), max_bytes)
    data = bytearray()
    while chunk := response.read(64 * 1024):
        data += chunk
        check_size(url, len(data), max_bytes)
    if time.monotonic() >= deadline:  # the watchdog ended it
        raise TimeoutError
    if length and length.isdigit() and len(data) < int(length):  # http.client returns a cut-short body as if complete
        raise DossierError(f"{url}: the connection closed after {len(data)} of {length} bytes; try again later")
    return bytes(data)


def check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DossierError(f"{name}: larger than the {max_bytes // 2**20} MiB limit; split it or raise --max-mb")
