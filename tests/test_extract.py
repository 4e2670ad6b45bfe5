"""Region-aware cleaning: what a scraped page's clutter is, and that it stays out of the index."""


import pytest

from ingest.chunk import chunk_article
from ingest.regions import label_lines
from tests.conftest import FIXTURES, SHARED, parse

PAGES = FIXTURES / "pages"
SEED = SHARED / "corpora" / "seed" / "russia-north-korea-military-pact.txt"


def indexed_text(article) -> str:
    return "\n".join(c.text for c in chunk_article(article, lambda ts: [len(t.split()) for t in ts], 120, 20))


def assert_clean(article, kept: list[str], dropped: list[str]):
    index = indexed_text(article)
    for phrase in kept:
        assert phrase in index, f"{phrase!r} should be indexed"
    for phrase in dropped:
        assert phrase not in index, f"{phrase!r} should not be indexed"
        assert phrase in article.text, f"{phrase!r} should still be kept in the article record"


def test_wire_story_text_page():
    art = parse(PAGES / "wire-story.txt")
    assert art.title == "Drought Forces Panama Canal to Cut Daily Crossings"
    assert art.metadata["author"] == "Maria Gonzalez and Peter Okafor"
    assert art.metadata["published_at"] == "2024-06-12"
    assert_clean(
        art,
        kept=["reduce the number of daily ship crossings from 36 to 24", "around Cape Horn", "new reservoir on the Indio River"],
        dropped=["Skip to main content", "Share this article", "Read more: How the canal", "Canal tolls rise", "All rights reserved"],
    )


def test_blog_post_markdown_page():
    art = parse(PAGES / "blog-post.md")
    assert (art.title, art.metadata["author"], art.metadata["published_at"]) == ("Why Our Town Library Now Lends Tools", "Sam Lee", "2023-03-02")
    assert_clean(
        art,
        kept=["more than 1,400 times", "donations from a hardware store", "yearly budget of 3,000 dollars"],
        dropped=["[Archive]", "tile cutter", "pressure washer", "Leave a comment", "seed library that grew"],
    )


def test_magazine_html_with_json_ld_caption_bio_comments_and_related():
    art = parse(PAGES / "magazine.html")
    m = art.metadata
    assert art.title == "The Quiet Return of the Night Train"
    assert (m["author"], m["published_at"], m["updated_at"]) == ("Ingrid Salo", "2024-09-18T07:30:00+02:00", "2024-09-19T10:00:00+02:00")
    assert (m["site"], m["url"], m["language"]) == ("The Continental Review", "https://continental.example/night-train", "en-GB")
    assert m["author_bio"].startswith("Ingrid Salo covers transport")
    assert_clean(
        art,
        kept=["1.5 million night-train tickets", "A sleeper train leaves Vienna", "track access fees"],
        dropped=["Accept all cookies", "Share on Facebook", "fastest trains, ranked", "it was packed", "Newsletter sign-up"],
    )


def test_local_news_html_with_opengraph_only():
    art = parse(PAGES / "local-news.html")
    m = art.metadata
    assert art.title == "Riverside Market Reopens After Flood Repairs"
    assert (m["author"], m["published_at"], m["site"]) == ("Owen Pritchard", "2025-01-08", "Valley Gazette")
    assert_clean(
        art,
        kept=["eleven months after the October floods", "2.3 million pounds", "new flood barrier"],
        dropped=["Weather Jobs", "Tweet Share Email", "Bridge closure extended", "Great news for the town", "morning briefing"],
    )


def test_keeping_comments_indexes_them_as_their_own_region():
    art = parse(PAGES / "blog-post.md")
    chunks = chunk_article(art, lambda ts: [len(t.split()) for t in ts], 120, 20, labels=("body", "caption", "comments"))
    comment_chunks = [c for c in chunks if c.region == "comments"]
    assert comment_chunks and all("tile cutter" not in c.text for c in chunks if c.region != "comments")
    assert any("tile cutter" in c.text for c in comment_chunks)


def test_a_clean_article_loses_nothing():
    for path in sorted((FIXTURES / "library").iterdir()):
        art = parse(path)
        body = indexed_text(art)
        assert len(body) > 0.8 * len(art.region_text("body"))


def test_text_without_prose_is_all_body():
    assert {label for _, label in label_lines("Short line\nAnother one\nThird")} == {"body"}


@pytest.mark.skipif(not SEED.exists(), reason="../shared/corpora/seed is not on this machine")
def test_seed_article_indexes_the_body_and_nothing_else():
    art = parse(SEED)
    assert art.title == "The Russia-North Korea Military Pact Is a Big Problem"
    assert art.metadata["author"] == "Bruce Klingner"
    assert art.metadata["published_at"] == "2024-07-03"
    assert "Senior Research Fellow for Northeast Asia" in art.metadata["author_bio"]
    raw = SEED.read_text()
    body_paragraphs = raw[raw.index("It’s deeply troubling") : raw.index("About the Author")].strip().split("\n\n")
    assert len(body_paragraphs) == 15
    chunks = chunk_article(art, lambda ts: [len(t.split()) for t in ts], 200, 40)
    index = "\n".join(c.text for c in chunks if c.region in ("body", "caption"))
    assert all(p.strip() in index for p in body_paragraphs)
    assert "Vladivostok" in index  # the photo caption
    everything = "\n".join(c.text for c in chunks)
    for clutter in ["Connect with us", "what are you looking for", "desperation move by putin", "Tumen river", "Pingback",
                    "Leave a Reply", "will not be published", "You May Also Like", "Challenger 3", "Hezbollah", "Admiral Kuznetsov"]:
        assert clutter not in everything


def test_broken_and_hostile_html_fails_cleanly_or_yields_text():
    from ingest.errors import DossierError

    broken = b"<html><body><div><p>An unclosed paragraph about the river crossing that flooded twice in March <b>bold <i>nested"
    assert "river crossing" in parse("broken.html", broken).region_text("body")
    deep = b"<html><body>" + b"<div>" * 10000 + b"<p>Deep text about a lighthouse keeper who kept the lamp lit for forty years.</p>" + b"</div>" * 10000
    assert "lighthouse keeper" in parse("deep.html", deep).text
    with pytest.raises(DossierError, match=r"nav\.html: no article text"):
        parse("nav.html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>")
    with pytest.raises(DossierError, match=r"empty\.html: no article text"):
        parse("empty.html", b"")


def test_markdown_front_matter_is_metadata_not_text():
    art = parse(FIXTURES / "hostile" / "pigeon-xss.md")
    assert art.metadata["author"] == "Mara Quint" and art.metadata["published_at"] == "2025-05-02"
    assert art.title.startswith("Pigeons <img src=x onerror=")
    assert "title:" not in art.text and art.text.startswith("# Pigeons")
    assert "4,210 harbor pigeons" in indexed_text(art)
