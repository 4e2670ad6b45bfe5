import io
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from dossier_core.errors import DossierError
from ingest.html import is_directory_listing
from ingest.load import article_id, decode, fetch, find_inputs, parse_articles, read_file, read_input, sniff, upload
from tests.conftest import LIBRARY, parse


def test_article_id_is_stable_and_depends_on_source_only():
    assert article_id("/a/b.txt") == article_id("/a/b.txt") != article_id("/a/c.txt")
    assert len(article_id("/a/b.txt")) == 16


def test_same_bytes_same_hash_and_different_bytes_different_hash():
    a = parse("x.txt", b"Some text here is long enough to be prose for sure, really it is.")
    b = parse("x.txt", b"Some text here is long enough to be prose for sure, really it is.")
    c = parse("x.txt", b"Some other text here is long enough to be prose for sure, really.")
    assert a.content_hash == b.content_hash != c.content_hash


def test_find_inputs_recurses_in_order_skips_hidden_and_applies_globs(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in [
        "b.txt",
        "a.md",
        "sub/c.html",
        "sub/deeper/d.pdf",
        "sub/skip.docx",
        ".hidden/e.txt",
        "notes.TXT",
        "dump.jsonl",
    ]:
        (tmp_path / name).write_text("text")
    rel = lambda items: [p.relative_to(tmp_path).as_posix() for p in items]  # noqa: E731
    assert rel(find_inputs([tmp_path])) == [
        "a.md",
        "b.txt",
        "dump.jsonl",
        "notes.TXT",
        "sub/c.html",
        "sub/deeper/d.pdf",
    ]
    assert rel(find_inputs([tmp_path], include=["sub/*"])) == ["sub/c.html", "sub/deeper/d.pdf"]
    assert rel(find_inputs([tmp_path], exclude=["*.md", "*.pdf"])) == ["b.txt", "dump.jsonl", "notes.TXT", "sub/c.html"]
    # Named directly, an unsupported file, a URL and stdin pass through to fail or be read later.
    assert list(find_inputs([str(tmp_path / "sub" / "skip.docx"), "https://x.example/a", "-"])) == [
        tmp_path / "sub" / "skip.docx",
        "https://x.example/a",
        "-",
    ]


def test_find_inputs_reports_what_a_folder_holds_that_it_leaves_out_and_why(tmp_path):
    for name in [
        "field-notes.md",
        "minutes.txt",
        "drafts/old-minutes.txt",
        "budget.xlsx",
        "Makefile",
        ".env",
        ".cache/tide-table.txt",
        ".cache/deeper/more.txt",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("text")
    skipped = []
    found = list(find_inputs([tmp_path], exclude=["drafts/*"], on_skip=skipped.append))
    # What is read is what find_inputs yielded before it could say why it left things out.
    assert found == list(find_inputs([tmp_path], exclude=["drafts/*"]))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["field-notes.md", "minutes.txt"]
    reasons = {s.path.relative_to(tmp_path).as_posix(): s.reason for s in skipped}
    assert reasons == {
        ".cache": "hidden folder (its name starts with '.')",  # once, not once per file inside
        ".env": "hidden file (its name starts with '.')",
        "Makefile": "unsupported file type '(none)'",
        "budget.xlsx": "unsupported file type '.xlsx'",
        "drafts/old-minutes.txt": "excluded by --exclude 'drafts/*'",
    }
    skipped.clear()
    assert list(find_inputs([tmp_path], include=["*.md"], on_skip=skipped.append)) == [tmp_path / "field-notes.md"]
    assert {s.path.name: s.reason for s in skipped}["minutes.txt"] == "matched by no --include (*.md)"
    skipped.clear()
    list(find_inputs([tmp_path / "budget.xlsx", "-"], on_skip=skipped.append))
    assert skipped == []  # named directly, a file is read (and fails with its own message), not skipped


def test_text_from_stdin_takes_its_first_line_as_title_when_nothing_else_gives_one(monkeypatch):
    def from_stdin(data: bytes):
        monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=io.BytesIO(data)))
        articles, problems = parse_articles(read_input("-"))
        assert not problems
        return articles

    plain = b"\n  Ferry timetable changes for the winter season\nFrom November the last ferry leaves at 21:40."
    assert [a.title for a in from_stdin(plain)] == ["Ferry timetable changes for the winter season"]
    long_line = ("The harbour board met on Tuesday to discuss dredging the channel " * 3).encode()
    (title,) = [a.title for a in from_stdin(long_line)]
    assert title.endswith("…") and len(title) <= 81 and long_line.decode().startswith(title[:-1])
    assert [a.title for a in from_stdin(b"# Lock gates\n\nThe lock gates were replaced in spring.")] == ["Lock gates"]
    # A title the text gives itself wins.
    given = b"---\ntitle: New lock gates\n---\nThe gates were replaced in spring."
    assert [a.title for a in from_stdin(given)] == ["New lock gates"]
    # A dump from stdin: each record without a title takes its body's first line.
    dump = (
        b'{"id": "a", "body": "Tram line opens\\nThe new line runs to the port."}\n'
        b'{"id": "b", "title": "Set", "body": "x y"}\n'
    )
    assert [a.title for a in from_stdin(dump)] == ["Tram line opens", "Set"]


def test_read_errors_name_the_input_and_the_fix(tmp_path):
    with pytest.raises(DossierError, match=r"nothing\.txt: no such file or folder; check the path"):
        read_file(tmp_path / "nothing.txt")
    (tmp_path / "x.docx").write_bytes(b"PK")
    with pytest.raises(DossierError, match=r"x\.docx: unsupported file type '\.docx'; use one of"):
        read_file(tmp_path / "x.docx")
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(DossierError, match=r"folder\.txt: not a regular file"):
        read_file(tmp_path / "folder.txt")
    (tmp_path / "big.txt").write_bytes(b"x" * 2048)
    with pytest.raises(DossierError, match=r"big\.txt: larger than the 0 MiB limit"):
        read_file(tmp_path / "big.txt", max_bytes=1024)


def test_decode_handles_utf8_bom_legacy_encodings_and_rejects_binary():
    assert decode("\ufeffcafé".encode("utf-8"), "a.txt") == "café"
    latin = "Le café était très bon, à côté de la gare, près du marché où l'on vend des crêpes.".encode("cp1252")
    assert "café" in decode(latin, "b.txt")
    with pytest.raises(DossierError, match=r"c\.txt: looks like a binary file"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "c.txt")


def test_empty_file_fails_with_a_reason():
    with pytest.raises(DossierError, match=r"empty\.md: no article text"):
        parse("empty.md", b"  \n\n \t ")


def test_uploads_keep_only_the_file_name():
    doc = upload("../../etc/evil.md", b"# Evil")
    assert (doc.source, doc.name, doc.format) == ("upload:evil.md", "evil.md", "markdown")
    assert upload("C:\\Users\\x\\note.txt", b"x").name == "note.txt"
    with pytest.raises(DossierError, match="x.exe: unsupported file type"):
        upload("x.exe", b"MZ")
    with pytest.raises(DossierError, match=r"big\.md: larger than the 1 MiB upload limit; split it"):
        upload("big.md", b"x" * (2**20 + 1), max_bytes=2**20)


def test_sniff_guesses_the_format_of_unnamed_input():
    assert [
        sniff(b) for b in (b"%PDF-1.7", b"  <html>", b'{"body": "x"}', b'{"a":1}\n{"a":2}\n', b"[1]", b"Plain words")
    ] == ["pdf", "html", "json", "jsonl", "json", "text"]


def test_jsonl_dump_gives_one_article_per_line_with_ids_and_extra_metadata(tmp_path):
    records = [
        {
            "id": "sotu-1",
            "title": "First Address",
            "author": "A. President",
            "published_at": "1790-01-08",
            "body": "Fellow citizens, we meet.",
            "party": "none",
        },
        {"id": "sotu-2", "title": "Second", "url": "https://ex.example/2", "body": "Another address to the nation."},
        {"id": "sotu-3", "title": "No body"},
    ]
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    articles, problems = parse_articles(read_file(path))
    assert [a.id for a in articles] == ["sotu-1", "sotu-2"]
    first, second = articles
    assert (first.title, first.text, first.metadata["author"], first.metadata["party"]) == (
        "First Address",
        "Fellow citizens, we meet.",
        "A. President",
        "none",
    )
    assert first.source == f"{path.resolve()}#sotu-1" and second.source == "https://ex.example/2"
    assert [(r.label, r.start, r.end) for r in first.regions] == [("body", 0, len(first.text))]
    assert first.content_hash != second.content_hash
    assert problems == [f"{path}: article 3 has no 'body' text; every object needs a non-empty 'body'"]
    (tmp_path / "bad.json").write_text('{"body": "x",')
    with pytest.raises(DossierError, match=r"bad\.json: invalid JSON at line 1"):
        parse_articles(read_file(tmp_path / "bad.json"))


def test_a_dump_date_is_read_as_an_iso_day_and_one_naming_no_day_is_dropped(tmp_path):
    dates = ["March 3, 2024", "2024-03-03T09:15:00Z", "1790", "2025-06", "in the spring", "2024-02-30"]
    path = tmp_path / "dated.jsonl"
    path.write_text(
        "".join(json.dumps({"id": str(n), "published_at": d, "body": "A line."}) + "\n" for n, d in enumerate(dates))
    )
    articles, problems = parse_articles(read_file(path))
    assert not problems
    assert [a.metadata.get("published_at") for a in articles] == [
        "2024-03-03", "2024-03-03T09:15:00+00:00", "1790", "2025-06", None, None,
    ]  # fmt: skip


def test_a_dump_body_ending_in_wire_credits_keeps_them_out_of_the_body(tmp_path):
    body = "The ferry to Holm resumed on Friday after a week of gales.\n\n(Reporting by Aud Lind; editing by Per Sand)"
    path = tmp_path / "wire.jsonl"
    path.write_text(json.dumps({"id": "w-1", "body": body}) + "\n")
    (article,), _ = parse_articles(read_file(path))
    assert article.text == body
    assert article.region_text("body") == "The ferry to Holm resumed on Friday after a week of gales."
    assert article.region_text("byline") == "(Reporting by Aud Lind; editing by Per Sand)"


def test_pdf_text_layer_with_page_numbers_and_clear_errors(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Harbour Report")
    pdf.set_author("City Engineers")
    pdf.set_font("Helvetica", size=12)
    for page in (
        "The harbour wall is 400 metres long and was built in 1898.",
        "Repairs will start in the spring of next year.",
    ):
        pdf.add_page()
        pdf.multi_cell(0, 10, page)
    path = tmp_path / "report.pdf"
    pdf.output(str(path))
    art = parse(path)
    assert art.title == "Harbour Report" and art.metadata["author"] == "City Engineers"
    assert [(r.label, r.page) for r in art.regions] == [("body", 1), ("body", 2)]
    assert "400 metres" in art.text[art.regions[0].start : art.regions[0].end]
    assert "spring" in art.text[art.regions[1].start : art.regions[1].end]

    (tmp_path / "cut.pdf").write_bytes(path.read_bytes()[:300])
    with pytest.raises(DossierError, match=r"cut\.pdf: cannot read the PDF .*complete and not damaged"):
        parse(tmp_path / "cut.pdf")
    locked = FPDF()
    locked.set_encryption(owner_password="owner", user_password="secret")
    locked.add_page()
    locked.set_font("Helvetica", size=12)
    locked.cell(0, 10, "Secret text")
    locked.output(str(tmp_path / "locked.pdf"))
    with pytest.raises(DossierError, match=r"locked\.pdf: the PDF is encrypted; save an unprotected copy"):
        parse(tmp_path / "locked.pdf")
    blank = FPDF()
    blank.add_page()
    blank.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(DossierError, match=r"scan\.pdf: the PDF has no text layer"):
        parse(tmp_path / "scan.pdf")


class Site(SimpleHTTPRequestHandler):
    """Fixture files, plus redirects and responses that misbehave on purpose; logs each request."""

    redirects = {
        "/moved": "/coffee.html",
        "/loop": "/loop",
        "/to-file": "file:///etc/passwd",
        "/to-intranet": "http://intranet.example/coffee.html",
        "/to-loopback": "http://127.0.0.2/coffee.html",
    }

    def do_GET(self):
        self.server.log.append((self.path, self.headers["Host"]))
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.end_headers()
        elif self.path == "/endless":  # no Content-Length, and no end
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.stream(b"<p>" + b"x" * 65536, pause=0)
        elif self.path == "/trickle-body":  # a byte every 0.1 s: no single wait is long, the whole is
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "10000")
            self.end_headers()
            self.stream(b"x", pause=0.1)
        elif self.path == "/cut-short":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "10000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
        elif self.path == "/trickle-headers":
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Slow: ")
            self.stream(b"x", pause=0.1)
        else:
            super().do_GET()

    def stream(self, data: bytes, pause: float):
        until = time.monotonic() + 10  # the client hangs up long before
        try:
            while time.monotonic() < until:
                self.wfile.write(data)
                time.sleep(pause)
        except OSError:  # it did
            pass

    def log_message(self, *args):
        pass


def serve(folder, context=None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Site, directory=str(folder)))
    server.log = []
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def web(tmp_path):
    """A real HTTP server on 127.0.0.1 serving fixtures: its address, port and the requests it got."""
    (tmp_path / "coffee.html").write_bytes((LIBRARY / "coffee-prices.html").read_bytes())
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "café au lait.txt").write_text(
        "Café au lait is coffee with hot milk, drunk at breakfast across France."
    )
    server = serve(tmp_path)
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", port=server.server_port, log=server.log)
    server.shutdown()


def resolve(monkeypatch, names: dict[str, list[str]]) -> list[str]:
    """A DNS seam: these names resolve to these addresses, others as usual. Returns the names looked up."""
    real, asked = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        return [info for address in names.get(host, [host]) for info in real(address, port, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def public_loopback(monkeypatch):
    """The seam for a first hop that is allowed: 127.0.0.1, where the test server is, counts as the
    public internet; every other address keeps its verdict (127.0.0.2 is still local)."""
    from ingest import web

    real = web._public
    monkeypatch.setattr(web, "_public", lambda ip: str(ip) == "127.0.0.1" or real(ip))


def test_urls_are_fetched_with_redirects_type_size_and_status_checks(web):
    doc = fetch(f"{web.url}/moved", allow_private=True)
    assert doc.source == f"{web.url}/coffee.html" and doc.format == "html"
    articles, _ = parse_articles(doc)
    assert articles[0].title == "Coffee Prices Hit a Record as Harvests Fail"
    # The page names its canonical URL, which becomes its identity.
    assert articles[0].id == article_id("https://marketdaily.example/coffee-record")
    with pytest.raises(DossierError, match=r"/missing\.html: the server answered 404"):
        fetch(f"{web.url}/missing.html", allow_private=True)
    with pytest.raises(DossierError, match=r"image\.png: content type 'image/png' is not an article"):
        fetch(f"{web.url}/image.png", allow_private=True)
    with pytest.raises(DossierError, match=r"coffee\.html: larger than the 0 MiB limit"):
        fetch(f"{web.url}/coffee.html", max_bytes=100, allow_private=True)
    with pytest.raises(DossierError, match=r"cannot fetch it .*check the address"):
        fetch("http://127.0.0.1:9/nothing", timeout=2, allow_private=True)
    assert (
        fetch(f"{web.url}/café au lait.txt", allow_private=True).format == "text"
    )  # sent as /caf%C3%A9%20au%20lait.txt
    with pytest.raises(DossierError, match=r"cannot fetch it \(encoding with 'idna' codec failed"):
        fetch(f"http://{'a' * 70}.example/", allow_private=True)
    with pytest.raises(
        DossierError, match=r"/cut-short: the connection closed after 100 of 10000 bytes; try again later"
    ):
        fetch(f"{web.url}/cut-short", allow_private=True)
    with pytest.raises(DossierError, match=r"/loop: more than 5 redirects; give the address they end at"):
        fetch(f"{web.url}/loop", allow_private=True)
    assert [path for path, _ in web.log].count("/loop") == 6


# A folder's page as a web server writes it, and one a site wrote that is just as much a list of files.
AUTOINDEX = """<html><head><title>Index of /minutes/</title></head><body><h1>Index of /minutes/</h1><hr><pre>
<a href="../">../</a>
<a href="2024-01-harbour-board.txt">2024-01-harbour-board.txt</a>        09-Jan-2024 18:02     4120
<a href="2024-02-harbour-board.txt">2024-02-harbour-board.txt</a>        13-Feb-2024 17:45     3987
</pre><hr></body></html>"""
FILE_LIST = """<html><head><title>Board papers</title></head><body><h2>Papers</h2><table>
<tr><th>Name</th><th>Last modified</th><th>Size</th></tr>
<tr><td><a href="agenda-march.pdf">agenda-march.pdf</a></td><td>2024-03-01</td><td>48K</td></tr>
<tr><td><a href="agenda-april.pdf">agenda-april.pdf</a></td><td>2024-04-02</td><td>51K</td></tr>
<tr><td><a href="budget-2024.xlsx">budget-2024.xlsx</a></td><td>2024-04-09</td><td>12K</td></tr>
<tr><td><a href="tide-tables/">tide-tables/</a></td><td>2024-05-20</td><td>-</td></tr>
<tr><td><a href="minutes-may.txt">minutes-may.txt</a></td><td>2024-06-11</td><td>4K</td></tr>
</table><p><a href="/">Home</a></p></body></html>"""
# An article that links a few files is still an article.
WITH_DOWNLOADS = (
    "<html><head><title>Harbour dredging approved</title></head><body><h1>Harbour dredging approved</h1>"
    + "<p>The harbour board approved dredging of the inner channel on Tuesday, after two years of silting that "
    "left the ferry aground twice at low tide. Work starts in October and should take six weeks.</p>"
    * 2
    + "".join(f'<p><a href="paper-{n}.pdf">Paper {n}</a></p>' for n in range(6))
    + "</body></html>"
)


def test_a_directory_listing_url_is_refused_not_stored(web, tmp_path):
    with pytest.raises(
        DossierError,
        match=rf"^{re.escape(web.url)}/: a directory listing \(a page of links to files\), not an article; "
        "give the address of one of the files it lists, or download them and ingest the folder$",
    ):
        fetch(f"{web.url}/", allow_private=True)  # the test server's own listing of its folder
    (tmp_path / "papers.html").write_text(FILE_LIST)
    with pytest.raises(DossierError, match=r"/papers\.html: a directory listing"):
        read_input(f"{web.url}/papers.html", allow_private=True)
    assert is_directory_listing(AUTOINDEX) and is_directory_listing(FILE_LIST)
    assert not is_directory_listing(WITH_DOWNLOADS)
    assert not is_directory_listing((LIBRARY / "coffee-prices.html").read_text())


def test_a_url_on_this_machine_is_refused_unless_private_addresses_are_allowed(web):
    with pytest.raises(DossierError) as refused:
        fetch(f"{web.url}/coffee.html")
    assert str(refused.value) == (
        f"{web.url}/coffee.html: resolves to 127.0.0.1, a private or local address; "
        "pass --allow-private (or set DOSSIER_ALLOW_PRIVATE=1) to fetch from your own network"
    )
    assert web.log == []  # refused before connecting
    assert read_input(f"{web.url}/coffee.html", allow_private=True).format == "html"
    assert len(web.log) == 1


@pytest.mark.parametrize(
    "host, address",
    [
        ("localhost", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("[::1]", "::1"),
        ("0.0.0.0", "0.0.0.0"),
        ("[::]", "::"),
        ("169.254.169.254", "169.254.169.254"),
        ("10.0.0.1", "10.0.0.1"),
        ("172.16.5.4", "172.16.5.4"),
        ("192.168.1.1", "192.168.1.1"),
        ("100.64.0.1", "100.64.0.1"),
        ("224.0.0.1", "224.0.0.1"),
        ("[fc00::1]", "fc00::1"),
        ("[fe80::1]", "fe80::1"),
        ("[ff02::1]", "ff02::1"),
        ("[::7f00:1]", "::127.0.0.1"),
    ],
)
def test_addresses_of_this_machine_and_its_networks_are_refused_however_written(host, address):
    with pytest.raises(
        DossierError,
        match=rf"^http://{re.escape(host)}/latest: resolves to {re.escape(address)}, a private or local address; ",
    ):
        fetch(f"http://{host}/latest")


def test_a_dns_answer_with_any_private_address_is_refused(monkeypatch):
    resolve(monkeypatch, {"news.example": ["93.184.215.14", "127.0.0.1"]})
    with pytest.raises(
        DossierError, match=r"^http://news\.example/story: resolves to 127\.0\.0\.1, a private or local address"
    ):
        fetch("http://news.example/story")


def test_the_address_checked_is_the_address_connected_to(web, monkeypatch):
    """DNS rebinding: a second lookup at connection time would get 10.9.9.9 and fail; none is made."""
    public_loopback(monkeypatch)
    answers = iter([["127.0.0.1"]])
    real = socket.getaddrinfo
    asked = []

    def rebinding(host, port, *args, **kwargs):
        asked.append(host)
        address = next(answers, ["10.9.9.9"])[0] if host == "news.example" else host
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    doc = fetch(f"http://news.example:{web.port}/coffee.html")
    assert doc.source == f"http://news.example:{web.port}/coffee.html" and asked == ["news.example"]
    assert web.log == [("/coffee.html", f"news.example:{web.port}")]  # the Host header keeps the name


def test_every_redirect_is_checked_again(web, monkeypatch):
    public_loopback(monkeypatch)
    resolve(monkeypatch, {"news.example": ["127.0.0.1"], "intranet.example": ["10.1.2.3"]})
    site = f"http://news.example:{web.port}"
    assert fetch(f"{site}/moved").source == f"{site}/coffee.html"  # a relative Location, on the same allowed host
    with pytest.raises(
        DossierError,
        match=rf"^{site}/to-intranet \(redirected to http://intranet\.example/coffee\.html\): "
        r"resolves to 10\.1\.2\.3, a private or local address; pass --allow-private",
    ):
        fetch(f"{site}/to-intranet")
    with pytest.raises(
        DossierError, match=r"\(redirected to http://127\.0\.0\.2/coffee\.html\): resolves to 127\.0\.0\.2, a private"
    ):
        fetch(f"{site}/to-loopback")
    with pytest.raises(
        DossierError, match=r"\(redirected to file:///etc/passwd\): only http:// and https:// addresses can be fetched"
    ):
        fetch(f"{site}/to-file")
    assert [path for path, _ in web.log] == ["/moved", "/coffee.html", "/to-intranet", "/to-loopback", "/to-file"]


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://ftp.example/article.txt", "gopher://gopher.example/0/story"]
)
def test_only_web_addresses_are_fetched(url):
    assert list(find_inputs([url])) == [url]  # named as a URL, not mistaken for a missing file
    with pytest.raises(
        DossierError,
        match=rf"^{re.escape(url)}: only http:// and https:// addresses can be fetched; give a web address",
    ):
        read_input(url, allow_private=True)


def test_an_endless_body_is_cut_at_the_size_limit(web):
    started = time.monotonic()
    with pytest.raises(DossierError, match=r"/endless: larger than the 1 MiB limit; split it or raise --max-mb"):
        fetch(f"{web.url}/endless", max_bytes=2**20, allow_private=True)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", ["/trickle-headers", "/trickle-body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(web, path):
    started = time.monotonic()
    with pytest.raises(DossierError, match=rf"{path}: no complete answer within 1 s; try again later"):
        fetch(f"{web.url}{path}", timeout=1, allow_private=True)
    assert time.monotonic() - started < 2  # a byte every 0.1 s resets a socket timeout; only the deadline stops it


def test_https_checks_the_certificate_and_sends_sni_for_the_name_not_the_address(tmp_path, monkeypatch):
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=news.example",
            "-addext",
            "subjectAltName=DNS:news.example",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted, as a public CA's certificate would be
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    (tmp_path / "coffee.html").write_bytes((LIBRARY / "coffee-prices.html").read_bytes())
    server = serve(tmp_path, context)
    try:
        resolve(monkeypatch, {"news.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
        doc = fetch(f"https://news.example:{server.server_port}/coffee.html", allow_private=True)
        assert doc.format == "html" and names == ["news.example"]
        assert server.log == [("/coffee.html", f"news.example:{server.server_port}")]
        with pytest.raises(
            DossierError, match=r"other\.example:\d+/coffee\.html: cannot fetch it \(.*certificate verify failed"
        ):
            fetch(f"https://other.example:{server.server_port}/coffee.html", allow_private=True)
    finally:
        server.shutdown()


def test_documents_of_every_text_format_parse_to_articles():
    for name, data in [
        ("a.txt", b"A plain sentence that is long enough to count as prose, clearly."),
        ("b.md", b"# Heading Here\n\nA markdown paragraph long enough to count as prose, clearly."),
        (
            "c.html",
            b"<html><body><article><p>An HTML paragraph long enough to be an article body for extraction.</p>"
            b"</article></body></html>",
        ),
    ]:
        art = parse(name, data)
        assert "long enough" in art.region_text("body")
