import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest.errors import DossierError
from ingest.load import article_id, decode, fetch, find_inputs, parse_articles, read_file, sniff, upload
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
    for name in ["b.txt", "a.md", "sub/c.html", "sub/deeper/d.pdf", "sub/skip.docx", ".hidden/e.txt", "notes.TXT", "dump.jsonl"]:
        (tmp_path / name).write_text("text")
    rel = lambda items: [p.relative_to(tmp_path).as_posix() for p in items]  # noqa: E731
    assert rel(find_inputs([tmp_path])) == ["a.md", "b.txt", "dump.jsonl", "notes.TXT", "sub/c.html", "sub/deeper/d.pdf"]
    assert rel(find_inputs([tmp_path], include=["sub/*"])) == ["sub/c.html", "sub/deeper/d.pdf"]
    assert rel(find_inputs([tmp_path], exclude=["*.md", "*.pdf"])) == ["b.txt", "dump.jsonl", "notes.TXT", "sub/c.html"]
    # Named directly, an unsupported file, a URL and stdin pass through to fail or be read later.
    assert list(find_inputs([str(tmp_path / "sub" / "skip.docx"), "https://x.example/a", "-"])) == [
        tmp_path / "sub" / "skip.docx", "https://x.example/a", "-"]


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
    assert [sniff(b) for b in (b"%PDF-1.7", b"  <html>", b'{"body": "x"}', b'{"a":1}\n{"a":2}\n', b"[1]", b"Plain words")] == [
        "pdf", "html", "json", "jsonl", "json", "text"]


def test_jsonl_dump_gives_one_article_per_line_with_ids_and_extra_metadata(tmp_path):
    records = [
        {"id": "sotu-1", "title": "First Address", "author": "A. President", "published_at": "1790-01-08", "body": "Fellow citizens, we meet.", "party": "none"},
        {"id": "sotu-2", "title": "Second", "url": "https://ex.example/2", "body": "Another address to the nation."},
        {"id": "sotu-3", "title": "No body"},
    ]
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    articles, problems = parse_articles(read_file(path))
    assert [a.id for a in articles] == ["sotu-1", "sotu-2"]
    first, second = articles
    assert (first.title, first.text, first.metadata["author"], first.metadata["party"]) == ("First Address", "Fellow citizens, we meet.", "A. President", "none")
    assert first.source == f"{path.resolve()}#sotu-1" and second.source == "https://ex.example/2"
    assert [(r.label, r.start, r.end) for r in first.regions] == [("body", 0, len(first.text))]
    assert first.content_hash != second.content_hash
    assert problems == [f"{path}: article 3 has no 'body' text; every object needs a non-empty 'body'"]
    (tmp_path / "bad.json").write_text('{"body": "x",')
    with pytest.raises(DossierError, match=r"bad\.json: invalid JSON at line 1"):
        parse_articles(read_file(tmp_path / "bad.json"))


def test_pdf_text_layer_with_page_numbers_and_clear_errors(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Harbour Report")
    pdf.set_author("City Engineers")
    pdf.set_font("Helvetica", size=12)
    for page in ("The harbour wall is 400 metres long and was built in 1898.", "Repairs will start in the spring of next year."):
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


@pytest.fixture
def web(tmp_path):
    """A real HTTP server on 127.0.0.1 serving fixtures, with a redirect."""
    (tmp_path / "coffee.html").write_bytes((LIBRARY / "coffee-prices.html").read_bytes())
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/moved":
                self.send_response(301)
                self.send_header("Location", "/coffee.html")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_urls_are_fetched_with_redirects_type_size_and_status_checks(web):
    doc = fetch(f"{web}/moved")
    assert doc.source == f"{web}/coffee.html" and doc.format == "html"
    articles, _ = parse_articles(doc)
    assert articles[0].title == "Coffee Prices Hit a Record as Harvests Fail"
    # The page names its canonical URL, which becomes its identity.
    assert articles[0].id == article_id("https://marketdaily.example/coffee-record")
    with pytest.raises(DossierError, match=r"/missing\.html: the server answered 404"):
        fetch(f"{web}/missing.html")
    with pytest.raises(DossierError, match=r"image\.png: content type 'image/png' is not an article"):
        fetch(f"{web}/image.png")
    with pytest.raises(DossierError, match=r"coffee\.html: larger than the 0 MiB limit"):
        fetch(f"{web}/coffee.html", max_bytes=100)
    with pytest.raises(DossierError, match=r"cannot fetch it .*check the address"):
        fetch("http://127.0.0.1:9/nothing", timeout=2)


def test_documents_of_every_text_format_parse_to_articles():
    for name, data in [("a.txt", b"A plain sentence that is long enough to count as prose, clearly."),
                       ("b.md", b"# Heading Here\n\nA markdown paragraph long enough to count as prose, clearly."),
                       ("c.html", b"<html><body><article><p>An HTML paragraph long enough to be an article body for extraction.</p></article></body></html>")]:
        art = parse(name, data)
        assert "long enough" in art.region_text("body")
