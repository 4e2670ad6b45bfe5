"""News feeds against a real HTTP server on 127.0.0.1 serving RSS and Atom feeds and the articles they link to."""

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dossier_core.errors import DossierError
from rag import Library
from rag.feeds import interval, poll, subscribed, unsubscribe
from rag.settings import Settings
from vectorstore.embedder import Embedder

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[1]
RSS, ATOM = "application/rss+xml", "application/atom+xml"


class Site:
    """What the server answers: path → (content type, body), or an HTTP status; and how often each path was asked."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes] | int] = {}
        self.hits: Counter = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits[self.path] += 1
                answer = site.routes.get(self.path, 404)
                if isinstance(answer, int):
                    self.send_error(answer)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"{answer[0]}; charset=utf-8")
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def site():
    s = Site()
    thread = threading.Thread(target=s.server.serve_forever, daemon=True)
    thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


class CountingEmbedder(Embedder):
    """MiniLM, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder):
        self.inner, self.name, self.dim, self.max_tokens = inner, inner.name, inner.dim, inner.max_tokens
        self.embedded = 0

    def embed_batch(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_batch(texts)

    def embed_bulk(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_bulk(texts)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


@pytest.fixture
def lib(tmp_path, minilm):
    store = tmp_path / "store"
    return Library(store, Settings(store=str(store), allow_private=True), CountingEmbedder(minilm))


def page(title: str, topic: str, date: str | None = None) -> tuple[str, bytes]:
    """An article page about `topic`, with its own publication date in the markup when given."""
    sentences = [
        f"The council's report on {topic} was published after months of public hearings.",
        f"Residents who spoke at the hearings said {topic} had changed how they plan their week.",
        f"Engineers told the committee that the cost of {topic} would be shared by three districts.",
        f"A second review of {topic} is due before the winter session, the chair said.",
    ]
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    body = "".join(f"<p>{s} {s}</p>" for s in sentences)
    html = (
        f"<html><head><title>{title}</title>{meta}</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )
    return "text/html", html.encode()


def rss(title: str, items: list[dict]) -> tuple[str, bytes]:
    entries = "".join(
        f'<item><title>{i["title"]}</title><link>{i["link"]}</link><guid isPermaLink="false">{i["guid"]}</guid>'
        f"<pubDate>{i['date']}</pubDate><description>{i.get('summary', 'A short teaser.')}</description>"
        + (f"<content:encoded><![CDATA[{i['content']}]]></content:encoded>" if "content" in i else "")
        + "</item>"
        for i in items
    )
    return RSS, (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>http://example.invalid/</link>{entries}</channel></rss>"
    ).encode()


def atom(title: str, entries: list[dict]) -> tuple[str, bytes]:
    body = "".join(
        f'<entry><title>{e["title"]}</title><link href="{e["link"]}"/><id>{e["id"]}</id>'
        f"<updated>{e['updated']}</updated><summary>A teaser.</summary></entry>"
        for e in entries
    )
    return ATOM, (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:feed:valley</id><updated>2025-05-01T00:00:00Z</updated>{body}</feed>"
    ).encode()


def item(site: Site, title: str, path: str, guid: str, date: str, **more) -> dict:
    return {"title": title, "link": site.url(path), "guid": guid, "date": date, **more}


def ledger_items(site: Site) -> list[dict]:
    return [
        item(site, "Tram line", "/ledger/tram", "ledger-1", "Sun, 02 Mar 2025 08:00:00 GMT"),
        item(site, "Library hours", "/ledger/library", "ledger-2", "Tue, 04 Mar 2025 07:30:00 GMT"),
    ]


@pytest.fixture
def ledger(site):
    """An RSS feed of two items: the tram story's page states its own date, the library story's does not."""
    site.routes["/ledger/tram"] = page("Tram line extended", "the tram extension", "2025-03-01T09:00:00+00:00")
    site.routes["/ledger/library"] = page("Library opens longer", "the library's evening hours")
    site.routes["/ledger.xml"] = rss("Harbour Ledger", ledger_items(site))
    return site.url("/ledger.xml")


def by_title(lib: Library) -> dict:
    return {r.title: r for r in lib.articles()}


def test_first_poll_adds_items_with_the_feeds_outlet_and_the_items_date(lib, site, ledger):
    results = list(poll(lib, [ledger]))
    assert sorted((r.status, r.source) for r in results) == [
        ("added", site.url("/ledger/library")),
        ("added", site.url("/ledger/tram")),
    ]
    records = by_title(lib)
    assert {t: r.outlet for t, r in records.items()} == {
        "Tram line extended": "Harbour Ledger",
        "Library opens longer": "Harbour Ledger",
    }
    assert records["Tram line extended"].published_at.startswith("2025-03-01")  # the page's own date wins
    assert records["Library opens longer"].published_at == "2025-03-04T07:30:00+00:00"  # the item's
    [feed] = subscribed(lib)
    assert (feed.url, feed.title, feed.items, feed.failures, feed.last_error) == (ledger, "Harbour Ledger", 2, 0, None)
    assert feed.polled_at is not None


def test_a_repoll_with_nothing_new_fetches_only_the_feed_and_embeds_nothing(lib, site, ledger):
    list(poll(lib, [ledger]))
    embedded, hits = lib.embedder.embedded, Counter(site.hits)
    assert list(poll(lib)) == []  # every subscribed feed
    assert lib.embedder.embedded == embedded
    assert site.hits - hits == Counter({"/ledger.xml": 1})
    assert lib.counts()[0] == 2


def test_a_changed_item_and_a_new_one_are_picked_up(lib, site, ledger):
    list(poll(lib, [ledger]))
    items = ledger_items(site)
    items[1]["date"] = "Wed, 05 Mar 2025 10:00:00 GMT"  # the library story was updated, and its page rewritten
    site.routes["/ledger/library"] = page("Library opens longer", "the library's weekend hours")
    items.append(item(site, "Ferry", "/ledger/ferry", "ledger-3", "Thu, 06 Mar 2025 06:00:00 GMT"))
    site.routes["/ledger/ferry"] = page("Ferry timetable changes", "the ferry timetable")
    site.routes["/ledger.xml"] = rss("Harbour Ledger", items)
    results = list(poll(lib))
    assert sorted((r.status, r.source) for r in results) == [
        ("added", site.url("/ledger/ferry")),
        ("replaced", site.url("/ledger/library")),
    ]
    assert site.hits["/ledger/tram"] == 1  # unchanged: its page was not fetched again
    assert by_title(lib)["Library opens longer"].published_at == "2025-03-05T10:00:00+00:00"
    assert subscribed(lib)[0].items == 3


def test_an_atom_feed_is_read_and_its_entries_dated(lib, site):
    site.routes["/valley/dam"] = page("Dam inspection passes", "the dam inspection")
    site.routes["/valley.atom"] = atom(
        "Valley Gazette",
        [{"title": "Dam", "link": "/valley/dam", "id": "urn:valley:dam", "updated": "2025-04-10T12:00:00Z"}],
    )  # a relative link: resolved against the feed's address
    assert [(r.status, r.source) for r in poll(lib, [site.url("/valley.atom")])] == [("added", site.url("/valley/dam"))]
    record = by_title(lib)["Dam inspection passes"]
    assert (record.outlet, record.published_at) == ("Valley Gazette", "2025-04-10T12:00:00+00:00")


def test_a_feed_down_malformed_or_too_large_is_one_error_and_the_others_go_on(lib, site, ledger):
    site.routes["/down.xml"] = 503
    site.routes["/broken.xml"] = (RSS, b'<?xml version="1.0"?><rss version="2.0"><channel><title>Cut sh')
    site.routes["/page.xml"] = ("text/xml", b"<html><body><p>Not a feed at all.</p></body></html>")
    site.routes["/huge.xml"] = rss("Huge", [{**ledger_items(site)[0], "summary": "x" * 300_000}])
    site.routes["/homepage"] = ("text/html", b"<html><body>Welcome</body></html>")
    bad = {path: site.url(path) for path in ("/down.xml", "/broken.xml", "/page.xml", "/huge.xml", "/homepage")}
    results = list(poll(lib, [*bad.values(), ledger], max_bytes=200_000))
    failed = {r.source: r.error for r in results if r.status == "failed"}
    assert set(failed) == set(bad.values())
    assert all("\n" not in error for error in failed.values())
    assert "503" in failed[bad["/down.xml"]]
    assert "not an RSS or Atom feed" in failed[bad["/broken.xml"]]
    assert "not an RSS or Atom feed" in failed[bad["/page.xml"]]
    assert "limit" in failed[bad["/huge.xml"]]
    assert "content type 'text/html' is not a feed" in failed[bad["/homepage"]]
    assert sorted(r.source for r in results if r.status == "added") == [
        site.url("/ledger/library"),
        site.url("/ledger/tram"),
    ]
    feeds = {f.url: f for f in subscribed(lib)}
    assert feeds[bad["/down.xml"]].failures == 1 and "503" in feeds[bad["/down.xml"]].last_error
    assert feeds[ledger].failures == 0
    list(poll(lib))  # a second failed poll counts up; a good one resets
    site.routes["/down.xml"] = rss("Back Again", [])
    list(poll(lib, [bad["/down.xml"]]))
    feeds = {f.url: f for f in subscribed(lib)}
    assert (feeds[bad["/broken.xml"]].failures, feeds[bad["/down.xml"]].failures) == (2, 0)
    assert feeds[bad["/down.xml"]].title == "Back Again"


def test_an_item_whose_page_fails_falls_back_to_its_own_text_or_is_retried(lib, site):
    long_text = " ".join(
        f"The lighthouse keeper logged ship number {n} passing the northern reef at dawn." for n in range(12)
    )
    items = [
        item(site, "Lighthouse log", "/gone/lighthouse", "g-1", "Fri, 07 Mar 2025 05:00:00 GMT", content=long_text),
        item(site, "Tide tables", "/gone/tides", "g-2", "Fri, 07 Mar 2025 06:00:00 GMT"),
    ]
    site.routes["/coast.xml"] = rss("Coast Weekly", items)
    results = {r.source: r for r in poll(lib, [site.url("/coast.xml")])}
    fallback = results[site.url("/gone/lighthouse")]
    assert fallback.status == "added" and "from the feed's own text" in fallback.error and "404" in fallback.error
    assert results[site.url("/gone/tides")].status == "failed"  # a teaser is not an article
    record = by_title(lib)["Lighthouse log"]
    assert (record.outlet, record.published_at) == ("Coast Weekly", "2025-03-07T05:00:00+00:00")
    assert subscribed(lib)[0].failures == 1
    site.routes["/gone/tides"] = page("Tide tables for spring", "the spring tides")
    assert [(r.status, r.source) for r in poll(lib)] == [("added", site.url("/gone/tides"))]  # tried again
    assert subscribed(lib)[0].failures == 0


def test_private_addresses_are_refused_unless_allowed(tmp_path, minilm, ledger):
    guarded = Library(tmp_path / "store", Settings(store=str(tmp_path / "store")), minilm)
    [result] = poll(guarded, [ledger])
    assert result.status == "failed" and "private or local address" in result.error


def test_a_stop_ends_the_poll_between_items_and_the_next_poll_goes_on(lib, site, ledger):
    stop = threading.Event()
    first = []
    for result in poll(lib, [ledger], stop):
        first.append(result)
        stop.set()  # as Ctrl-C does
    assert [r.status for r in first] == ["added"] and lib.counts()[0] == 1
    assert subscribed(lib)[0].items == 1
    assert [r.status for r in poll(lib)] == ["added"]  # every subscribed feed, as "Check now" polls: the item left
    assert lib.counts()[0] == 2


def test_unsubscribe_and_intervals(lib, ledger):
    list(poll(lib, [ledger]))
    unsubscribe(lib, ledger)
    assert subscribed(lib) == [] and lib.counts()[0] == 2  # the articles stay
    assert [interval(t) for t in ("30s", "15m", "2h", "1.5m")] == [30, 900, 7200, 90]
    for bad in ("15", "m", "-5m", "10d"):
        with pytest.raises(DossierError, match="give a number and a unit"):
            interval(bad)


def env() -> dict:
    e = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("DOSSIER_STORE", "DOSSIER_ALLOW_PRIVATE", "DOSSIER_LIBRARY"):
        e.pop(name, None)
    return e


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *map(str, args)],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_cli_polls_lists_and_stops_on_ctrl_c(tmp_path, site, ledger):
    store = ("--store", tmp_path / "store")
    refused = cli("feed", ledger, *store)
    assert refused.returncode == 1 and "private or local address" in refused.stdout
    out = cli("feed", ledger, site.url("/missing.xml"), *store, "--allow-private")
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert sum(line.startswith("added") for line in lines) == 2
    assert any(line.startswith("failed") and "/missing.xml" in line and "404" in line for line in lines)
    assert lines[-1].endswith("polled 2 feeds: 2 added, 1 failed")
    listing = cli("feeds", *store)
    assert listing.returncode == 0
    assert f"Harbour Ledger  {ledger}" in listing.stdout and "2 items, 0 failures in a row" in listing.stdout
    assert "1 failure in a row; last error: " in listing.stdout
    removed = cli("feed", "--remove", site.url("/missing.xml"), *store)
    assert removed.returncode == 0 and removed.stdout.startswith("unsubscribed")
    again = cli("feed", *store, "--allow-private")  # what a cron job runs
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("polled 1 feed: nothing new")
    typo = cli("feed", "--store", tmp_path / "typo")  # polling a store that is not there makes none
    assert typo.returncode == 2 and "no such folder" in typo.stderr and not (tmp_path / "typo").exists()
    typo = cli("feed", "--remove", ledger, "--store", tmp_path / "typo")  # nor does unsubscribing there
    assert typo.returncode == 2 and "no such folder" in typo.stderr and not (tmp_path / "typo").exists()
    bad = cli("feed", *store, "--every", "soon")
    assert bad.returncode == 2 and "give a number and a unit" in bad.stderr

    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "feed", *map(str, store), "--allow-private", "--every", "1s"],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    polls = [proc.stdout.readline() for _ in range(2)]  # two rounds, a second apart
    assert all("polled 1 feed: nothing new" in line for line in polls), polls
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_the_chat_page_subscribes_lists_and_checks_feeds(monkeypatch, tmp_path, ledger):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    monkeypatch.setenv("DOSSIER_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DOSSIER_ALLOW_PRIVATE", "1")  # the feed is served on this machine
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.sidebar.radio[0].set_value("Library").run()
    assert not at.exception and at.button(key="feeds_check").disabled  # nothing to check yet
    at.text_input(key="feed_url").set_value(ledger)
    next(b for b in at.button if b.label == "Subscribe and check it").click().run()
    assert not at.exception and not at.error
    assert at.info[0].value == "Checked the feeds: 2 added" and "**2** articles" in at.sidebar.markdown[0].value
    [feeds, _] = at.dataframe  # the feeds, then the articles
    assert list(feeds.value["Feed"]) == ["Harbour Ledger"] and list(feeds.value["Articles"]) == [2]
    at.button(key="feeds_check").click().run()
    assert at.info[0].value == "Checked the feeds: nothing new"
