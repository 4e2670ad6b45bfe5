import pytest

from ingest.errors import DossierError
from ingest.load import article_id, decode, find_files, parse_article, read_source
from tests.conftest import LIBRARY


def test_article_id_is_stable_and_depends_on_source_only():
    assert article_id("/a/b.txt") == article_id("/a/b.txt")
    assert article_id("/a/b.txt") != article_id("/a/c.txt")
    assert len(article_id("/a/b.txt")) == 16


def test_same_bytes_same_hash_and_different_bytes_different_hash():
    a = parse_article("s", "x.txt", b"Some text here.")
    b = parse_article("s", "x.txt", b"Some text here.")
    c = parse_article("s", "x.txt", b"Some other text here.")
    assert a.content_hash == b.content_hash != c.content_hash


def test_find_files_recurses_in_order_and_skips_hidden_and_unsupported(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ["b.txt", "a.md", "sub/c.html", "sub/deeper/d.htm", "sub/skip.pdf", ".hidden/e.txt", "notes.TXT"]:
        (tmp_path / name).write_text("text")
    found = [p.relative_to(tmp_path).as_posix() for p in find_files([tmp_path])]
    assert found == ["a.md", "b.txt", "notes.TXT", "sub/c.html", "sub/deeper/d.htm"]
    # A file named directly is passed on even if unsupported, so it can fail with a reason.
    assert list(find_files([tmp_path / "sub" / "skip.pdf"])) == [tmp_path / "sub" / "skip.pdf"]


def test_read_source_errors_name_the_input_and_the_fix(tmp_path):
    with pytest.raises(DossierError, match=r"nothing\.txt: no such file or folder; check the path"):
        read_source(tmp_path / "nothing.txt")
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(DossierError, match=r"folder\.txt: cannot read \(Is a directory\); check that it exists and is readable"):
        read_source(tmp_path / "folder.txt")
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(DossierError, match=r"x\.pdf: unsupported file type '\.pdf'; use one of"):
        read_source(tmp_path / "x.pdf")


def test_decode_handles_utf8_bom_legacy_encodings_and_rejects_binary():
    assert decode("\ufeffcafé".encode("utf-8"), "a.txt") == "café"
    latin = "Le café était très bon, à côté de la gare, près du marché où l'on vend des crêpes.".encode("cp1252")
    assert "café" in decode(latin, "b.txt")
    with pytest.raises(DossierError, match=r"c\.txt: looks like a binary file"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "c.txt")


def test_empty_file_fails_with_a_reason():
    with pytest.raises(DossierError, match=r"empty\.md: no article text"):
        parse_article("s", "empty.md", b"  \n\n \t ")


def test_markdown_title_and_text_kept_as_written():
    path = LIBRARY / "harbor-bridge.md"
    art = parse_article(str(path), path.name, path.read_bytes())
    assert art.title == "Council Approves the Harbor Bridge"
    assert "## Cost and funding" in art.text
    assert "voted 7 to 2" in art.text


def test_text_title_falls_back_to_the_file_name():
    art = parse_article("s", "city-budget_2024.txt", b"Numbers went up.")
    assert art.title == "city budget 2024"


def test_html_goes_through_trafilatura_with_metadata_and_without_chrome():
    path = LIBRARY / "coffee-prices.html"
    art = parse_article(str(path), path.name, path.read_bytes())
    assert art.title == "Coffee Prices Hit a Record as Harvests Fail"
    assert art.metadata["author"] == "Luis Ortega"
    assert art.metadata["published_at"] == "2024-11-12"
    assert art.metadata["url"] == "https://marketdaily.example/coffee-record"
    assert "3.20 dollars a pound" in art.text
    assert "Subscribe" not in art.text and "Cookie settings" not in art.text
    # Paragraphs stay paragraphs.
    assert "\n\nBrazil, the largest producer" in art.text
