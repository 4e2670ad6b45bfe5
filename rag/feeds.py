"""News feeds: a library's RSS (0.9x, 1.0, 2.0) and Atom subscriptions, polled for new and changed items.

A feed is fetched with the safe fetcher a URL ingest uses (size and time limits, no private addresses unless
allowed) and parsed from those bytes by feedparser, which is never given anything it could fetch or open itself.
Each new item's page is fetched the same way and ingested as that URL would be, with the feed's title as its
outlet and the item's date when the page states none; an item whose page cannot be fetched is taken from the
feed's own text when that is long enough. Items are known by GUID, else by link: a re-poll ingests only the items
that are new or whose date or content changed, and when there are none it takes neither the write lock nor the
model.

The subscriptions and the items seen live in SQLite beside the store, one file per library (`dossier-feeds.sqlite3`
for `main`, rag.store_files).
"""

import functools
import hashlib
import html
import io
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import feedparser

from dossier_core.errors import DossierError
from dossier_core.models import Article
from ingest.chunk import INDEXED
from ingest.load import MAX_BYTES, Document, fetch, is_url, parse_articles
from ingest.web import Page, download
from rag.ingestion import Batch, IngestResult, guarded
from rag.library import Library
from rag.store_files import library_file, run

# An item whose page cannot be fetched is ingested from the feed's own text only when it is an article's worth:
# a teaser of a sentence or two would be a poor stand-in that the page would never replace.
MIN_OWN_WORDS = 80
_UNITS = {"s": 1, "m": 60, "h": 3600}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    title TEXT,
    added_at TEXT NOT NULL,
    polled_at TEXT,
    failures INTEGER NOT NULL DEFAULT 0,  -- polls in a row that ended in an error (the feed's, or an item's)
    last_error TEXT
)""",
    """CREATE TABLE IF NOT EXISTS feed_items (
    feed TEXT NOT NULL,
    item TEXT NOT NULL,  -- the GUID, else the link without its fragment
    updated TEXT NOT NULL,  -- the date the feed gives the item ('' when none)
    content_hash TEXT NOT NULL,  -- of the item's title, link, summary and content in the feed
    PRIMARY KEY (feed, item)
)""",
)


@dataclass(frozen=True)
class Feed:
    """A subscribed feed, as `python -m ingest feeds` lists it."""

    url: str
    title: str | None
    polled_at: str | None  # UTC, ISO 8601; None: never polled
    items: int  # items stored from it
    failures: int  # polls in a row that ended in an error
    last_error: str | None


@dataclass(frozen=True)
class Item:
    """One entry of a feed."""

    key: str  # GUID, else link
    link: str | None
    title: str | None
    date: str | None  # ISO 8601: published, else updated
    updated: str  # the item's date as the feed writes it: a new one means the item changed
    content_hash: str
    text: str  # the feed's own content, else summary, as HTML


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Subscriptions:
    """The feeds of one library, and the items seen in each, in the library's feeds file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _run(self, sql: str, row: tuple = ()) -> list[sqlite3.Row]:
        return run(self.path, "feeds", _SCHEMA, sql, row)

    def add(self, url: str) -> None:
        if not is_url(url):
            raise DossierError(f"{url}: not a feed address; give an http:// or https:// URL")
        self._run("INSERT OR IGNORE INTO feeds (url, added_at) VALUES (?, ?)", (url, _now()))

    def remove(self, url: str) -> None:
        if not self._run("DELETE FROM feeds WHERE url = ? RETURNING url", (url,)):
            raise DossierError(f"{url}: not a subscribed feed; see `python -m ingest feeds`")
        self._run("DELETE FROM feed_items WHERE feed = ?", (url,))

    def feeds(self) -> list[Feed]:
        rows = self._run(
            "SELECT f.url, f.title, f.polled_at, f.failures, f.last_error,"
            " (SELECT COUNT(*) FROM feed_items i WHERE i.feed = f.url) AS items"
            " FROM feeds f ORDER BY f.added_at, f.url"
        )
        return [Feed(r["url"], r["title"], r["polled_at"], r["items"], r["failures"], r["last_error"]) for r in rows]

    def seen(self, url: str) -> dict[str, tuple[str, str]]:
        """(updated, content hash) of each item seen in the feed, by key."""
        rows = self._run("SELECT item, updated, content_hash FROM feed_items WHERE feed = ?", (url,))
        return {r["item"]: (r["updated"], r["content_hash"]) for r in rows}

    def mark(self, url: str, item: Item) -> None:
        self._run(
            "INSERT OR REPLACE INTO feed_items VALUES (?, ?, ?, ?)", (url, item.key, item.updated, item.content_hash)
        )

    def polled(self, url: str, title: str | None, error: str | None) -> None:
        """Record a poll: its time, the feed's title when it was read, and its last error (None: it went well).
        A feed unsubscribed meanwhile stays unsubscribed."""
        self._run(
            "UPDATE feeds SET title = COALESCE(?, title), polled_at = ?, last_error = ?,"
            " failures = CASE WHEN ? IS NULL THEN 0 ELSE failures + 1 END WHERE url = ?",
            (title, _now(), error, error, url),
        )


def subscriptions_file(library: Library) -> Path:
    return library_file(library, "dossier-feeds")


def subscriptions(library: Library) -> Subscriptions:
    return Subscriptions(subscriptions_file(library))


def subscribed(library: Library) -> list[Feed]:
    """The library's feeds, in the order they were subscribed."""
    return subscriptions(library).feeds()


def unsubscribe(library: Library, url: str) -> None:
    """Stop polling a feed (the articles it brought stay in the library)."""
    subscriptions(library).remove(url)


def poll(
    library: Library, urls: list[str] | None = None, stop: threading.Event | None = None, max_bytes: int = MAX_BYTES
) -> Iterator[IngestResult]:
    """Poll the feeds at `urls` once, subscribing the library to them, or every subscribed feed when none are
    given. One result per item stored, unchanged or failed, and one failed result for a feed that cannot be read
    (down, not a feed, too large); the other feeds go on. Setting `stop` ends the poll after the current item."""
    subs = subscriptions(library)
    for url in urls or ():
        subs.add(url)
    for url in urls or [f.url for f in subs.feeds()]:
        if stop and stop.is_set():
            return
        yield from _poll_feed(library, subs, url, stop, max_bytes)


def _poll_feed(
    library: Library, subs: Subscriptions, url: str, stop: threading.Event | None, max_bytes: int
) -> Iterator[IngestResult]:
    fetching = partial(fetch, max_bytes=max_bytes, allow_private=library.settings.allow_private)
    try:
        title, items = read_feed(download(url, max_bytes, allow_private=library.settings.allow_private, feed=True))
    except DossierError as e:
        subs.polled(url, None, str(e))
        yield IngestResult(url, "failed", error=str(e))
        return
    seen = subs.seen(url)
    fresh = [item for item in items if seen.get(item.key) != (item.updated, item.content_hash)]
    error = None
    with ExitStack() as stack:
        # The write lock is taken when the first item is stored: a poll that finds nothing new leaves the store alone.
        batch = functools.cache(lambda: stack.enter_context(library.writing()))
        for item in fresh:
            if stop and stop.is_set():
                break
            name = item.link or f"{url} ({item.title or item.key})"
            results = list(guarded(name, partial(_ingest_item, batch, fetching, item, _Source(url, title))))
            failures = [r.error for r in results if r.status == "failed"]
            if failures:
                error = failures[-1]  # not marked seen: the item is tried again at the next poll
            else:
                subs.mark(url, item)
            yield from results
    subs.polled(url, title, error)


def read_feed(page: Page) -> tuple[str, list[Item]]:
    """The feed's title and items, from its bytes. A document that holds no items and is not a well-formed feed
    (a web page, a cut-short file) is refused; a well-formed feed may hold none."""
    # A stream, never a string: feedparser fetches a string that looks like a URL and opens one that names a file.
    # Read as application/xml, whatever the server said: the XML declaration names the encoding.
    headers = {"content-location": page.url, "content-type": "application/xml"}
    parsed = feedparser.parse(io.BytesIO(page.data), response_headers=headers)
    broken = parsed.bozo and not isinstance(parsed.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe)
    if not parsed.entries and (broken or not parsed.version):
        why = parsed.get("bozo_exception") or "no RSS or Atom channel or items in it"
        raise DossierError(f"{page.url}: not an RSS or Atom feed ({why}); check that the address is the feed's")
    title = parsed.feed.get("title") or urlsplit(page.url).hostname
    items = {}
    for entry in parsed.entries:
        item = _item(entry, page.url)
        items.setdefault(item.key, item)
    return title, list(items.values())


def _item(entry, base: str) -> Item:
    link = urldefrag(urljoin(base, entry["link"])).url if entry.get("link") else None
    contents = [c.get("value") or "" for c in entry.get("content", [])]
    digest = hashlib.sha256(json.dumps([entry.get("title"), link, entry.get("summary"), contents]).encode()).hexdigest()
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    own = next((c for c in entry.get("content", []) if c.get("value")), None) or entry.get("summary_detail")
    text = (own or {}).get("value") or ""
    if (own or {}).get("type") == "text/plain":
        text = html.escape(text)
    return Item(
        key=entry.get("id") or link or digest,
        link=link if link and is_url(link) else None,
        title=entry.get("title"),
        date=datetime(*stamp[:6], tzinfo=UTC).isoformat() if stamp else None,
        updated=entry.get("updated") or entry.get("published") or "",
        content_hash=digest,
        text=text,
    )


@dataclass(frozen=True)
class _Source:
    url: str  # the feed's
    title: str


def _ingest_item(
    batch: Callable[[], Batch], fetching: Callable[[str], Document], item: Item, feed: _Source
) -> Iterator[IngestResult]:
    """Store the item's page, else its own text in the feed when that is long enough."""
    note = None
    try:
        if not item.link:
            raise DossierError(f"{feed.url}: the item '{item.title or item.key}' has no link to its page")
        doc = fetching(item.link)
        articles, problems = parse_articles(doc)
    except DossierError as e:
        doc = _own_text(item, feed.url)
        try:
            articles, problems = parse_articles(doc)
        except DossierError:
            articles, problems = [], []
        if sum(len(a.text.split()) for a in articles) < MIN_OWN_WORDS:
            raise e from None
        note = f"from the feed's own text, as the page failed ({e})"
    for article in articles:
        for result in batch().add_article(_as_item(article, feed.title, item), INDEXED):
            yield replace(result, error=result.error or note)
    for result in batch().flush() if articles else ():
        yield replace(result, error=result.error or note)
    for problem in problems:
        yield IngestResult(doc.source, "failed", error=problem)


def _own_text(item: Item, feed_url: str) -> Document:
    """The item as the feed gives it, as a page: its title and its content or summary."""
    page = f"<html><head><title>{html.escape(item.title or '')}</title></head><body><article>{item.text}</article>"
    source = item.link or f"{feed_url}#{item.key}"
    return Document(source, source, (page + "</body></html>").encode(), "html")


def _as_item(article: Article, feed_title: str, item: Item) -> Article:
    """The article with the feed's title as its outlet, and the item's date unless the page states one."""
    metadata = {**article.metadata, "site": feed_title}
    if item.date and not metadata.get("published_at"):
        metadata["published_at"] = item.date
    return replace(article, metadata=metadata)


def interval(text: str) -> float:
    """Seconds in "30s", "15m", "2h"."""
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    try:
        seconds = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        seconds = 0
    if not seconds > 0:
        raise DossierError(f"--every {text!r}: give a number and a unit, s, m or h: 30s, 15m, 2h")
    return seconds


def rounds(every: float | None, stop: threading.Event) -> Iterator[None]:
    """A turn for one poll, or with `every` (seconds) one per interval, counted from each start, until `stop`."""
    while not stop.is_set():
        started = time.monotonic()
        yield
        if every is None:
            return
        # Short sleeps, not stop.wait(): a signal handler setting the event while wait() holds its lock would hang.
        while not stop.is_set() and (left := started + every - time.monotonic()) > 0:
            time.sleep(min(0.25, left))
