"""Region-aware cleaning: what a scraped page's clutter is, and that it stays out of the index."""

import subprocess
import sys
from pathlib import Path

import pytest

from ingest.chunk import chunk_article
from ingest.regions import label_lines
from tests.conftest import FIXTURES, PDF_ONE_PAGE, SHARED, parse

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
        kept=[
            "reduce the number of daily ship crossings from 36 to 24",
            "around Cape Horn",
            "new reservoir on the Indio River",
        ],
        dropped=[
            "Skip to main content",
            "Share this article",
            "Read more: How the canal",
            "Canal tolls rise",
            "All rights reserved",
        ],
    )


def test_blog_post_markdown_page():
    art = parse(PAGES / "blog-post.md")
    assert (art.title, art.metadata["author"], art.metadata["published_at"]) == (
        "Why Our Town Library Now Lends Tools",
        "Sam Lee",
        "2023-03-02",
    )
    assert_clean(
        art,
        kept=["more than 1,400 times", "donations from a hardware store", "yearly budget of 3,000 dollars"],
        dropped=["[Archive]", "tile cutter", "pressure washer", "Leave a comment", "seed library that grew"],
    )


def test_magazine_html_with_json_ld_caption_bio_comments_and_related():
    art = parse(PAGES / "magazine.html")
    m = art.metadata
    assert art.title == "The Quiet Return of the Night Train"
    assert (m["author"], m["published_at"], m["updated_at"]) == (
        "Ingrid Salo",
        "2024-09-18T07:30:00+02:00",
        "2024-09-19T10:00:00+02:00",
    )
    assert (m["site"], m["url"], m["language"]) == (
        "The Continental Review",
        "https://continental.example/night-train",
        "en-GB",
    )
    assert m["author_bio"].startswith("Ingrid Salo covers transport")
    assert_clean(
        art,
        kept=["1.5 million night-train tickets", "A sleeper train leaves Vienna", "track access fees"],
        dropped=[
            "Accept all cookies",
            "Share on Facebook",
            "fastest trains, ranked",
            "it was packed",
            "Newsletter sign-up",
        ],
    )


def test_local_news_html_with_opengraph_only():
    art = parse(PAGES / "local-news.html")
    m = art.metadata
    assert art.title == "Riverside Market Reopens After Flood Repairs"
    assert (m["author"], m["published_at"], m["site"]) == ("Owen Pritchard", "2025-01-08", "Valley Gazette")
    assert_clean(
        art,
        kept=["eleven months after the October floods", "2.3 million pounds", "new flood barrier"],
        dropped=[
            "Weather Jobs",
            "Tweet Share Email",
            "Bridge closure extended",
            "Great news for the town",
            "morning briefing",
        ],
    )


def test_keeping_comments_indexes_them_as_their_own_region():
    art = parse(PAGES / "blog-post.md")
    chunks = chunk_article(
        art, lambda ts: [len(t.split()) for t in ts], 120, 20, labels=("body", "caption", "comments")
    )
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
    for clutter in [
        "Connect with us",
        "what are you looking for",
        "desperation move by putin",
        "Tumen river",
        "Pingback",
        "Leave a Reply",
        "will not be published",
        "You May Also Like",
        "Challenger 3",
        "Hezbollah",
        "Admiral Kuznetsov",
    ]:
        assert clutter not in everything


def test_broken_and_hostile_html_fails_cleanly_or_yields_text():
    from dossier_core.errors import DossierError

    broken = (
        b"<html><body><div><p>An unclosed paragraph about the river crossing that flooded twice in March "
        b"<b>bold <i>nested"
    )
    assert "river crossing" in parse("broken.html", broken).region_text("body")
    deep = (
        b"<html><body>"
        + b"<div>" * 10000
        + b"<p>Deep text about a lighthouse keeper who kept the lamp lit for forty years.</p>"
        + b"</div>" * 10000
    )
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


# -- PDF reports: running headers and footers, breaks across pages, dates


def report_pdf(pages: list[list[str]], created=None) -> bytes:
    """A PDF whose pages hold these lines, each on its own visual line, under a running header and footer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(created)
    pdf.set_font("Helvetica", size=10)
    for number, lines in enumerate(pages, 1):
        pdf.add_page()
        pdf.cell(0, 6, "Tarrow Harbour Trust  |  Dredging review HT-7/2023", new_x="LMARGIN", new_y="NEXT")
        for line in lines:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6, f"Page {number} of {len(pages)}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


LONG = "The outer channel was dredged to a depth of nine metres over the winter,"


def test_pdf_running_header_footer_and_page_numbers_stay_out_and_breaks_across_pages_join():
    from datetime import datetime

    data = report_pdf(
        [
            ["Silt in the outer channel", LONG, "and the contractor reported that the sedi-"],
            [
                "ment survey found far less clay than in 2019, when the channel was last",
                "cleared by the Trust's own barge.",
                "A second survey is planned.",
            ],
        ],
        created=datetime(2023, 11, 30, 9, 0),
    )
    art = parse("dredging.pdf", data)
    assert "Tarrow Harbour Trust" not in art.text and "Page 1" not in art.text and "Page 2" not in art.text
    assert (
        f"{LONG} and the contractor reported that the sediment survey found far less clay than in 2019, "
        "when the channel was last cleared by the Trust's own barge."
    ) in art.text.split("\n")
    # The sentence that runs over the break belongs to the page it starts on; the next one to page 2.
    first, second = art.regions
    assert (first.page, second.page) == (1, 2)
    assert "sediment survey" in art.text[first.start : first.end]
    assert art.text[second.start : second.end] == "A second survey is planned."
    assert art.metadata["published_at"] == "2023-11-30"  # nothing in the text says when: the PDF's creation date


def test_pdf_date_stated_in_the_opening_beats_the_title_date_and_the_creation_date():
    from datetime import datetime

    opening = ["Flooding of the east quay, 4 January 2023", "Issued 12 March 2023", LONG, "and the quay reopened."]
    data = report_pdf([opening, ["The gates were repaired in the spring."]], created=datetime(2023, 3, 14))
    assert parse("quay.pdf", data).metadata["published_at"] == "2023-03-12"


def test_running_lines_are_the_repeated_edges_and_page_numbers_not_the_body():
    from ingest.extract import without_running_lines

    pages = [
        ["Annual survey 2022", "Bay Water Board", "The first page opens the survey.", "- 1 -"],
        ["Annual survey 2022", "Bay Water Board", "Readings rose in June.", "Bay Water Board", "- 2 -"],
        ["Annual survey 2022", "Bay Water Board", "Readings fell in July.", "3"],
    ]
    assert without_running_lines(pages) == [
        ["The first page opens the survey."],
        ["Readings rose in June."],
        ["Readings fell in July."],
    ]
    # A single page has nothing to repeat: only its page number goes; a line met on one page only stays.
    one_page = [["Bay Water Board", "Readings rose.", "Page 4"]]
    assert without_running_lines(one_page) == [["Bay Water Board", "Readings rose."]]
    assert without_running_lines([["Heading", "Text one."], ["Other heading", "Text two."]]) == [
        ["Heading", "Text one."],
        ["Other heading", "Text two."],
    ]


def test_dates_broken_over_lines_join_but_table_rows_ending_in_numbers_stay_apart():
    from ingest.extract import unwrap_lines

    def unwrap(text: str, compounds: set[str]) -> str:
        return "\n".join(line for _, line in unwrap_lines(text.split("\n"), compounds))

    prose = "The pumps at the north basin were switched off at 4:15 p.m. on 23"
    after = "October, after the tide had turned."
    assert unwrap(f"{prose}\n{after}", set()) == f"{prose} {after}"
    assert unwrap("The basin was drained and inspected on 23 October\n2021 by the harbour engineer.", set()) == (
        "The basin was drained and inspected on 23 October 2021 by the harbour engineer."
    )
    table = [
        "Volume dredged from the outer channel in cubic metres in 2021 48200",
        "Samples of silt taken from the outer channel bed for testing 312",
        "Berth 12",
        "May works",
    ]
    assert unwrap("\n".join(table), set()).split("\n") == table


# -- text and Markdown pages


def test_front_matter_date_with_a_time_is_read():
    art = parse(
        "ferry.md",
        b"---\ntitle: Ferry fares frozen\ndate: 2024-10-02T07:45:00+01:00\n---\n\n"
        b"The island ferry company will keep its fares at this level until the spring, it said.\n",
    )
    assert art.metadata["published_at"] == "2024-10-02T07:45:00+01:00"


def test_wire_credits_in_brackets_are_a_byline_but_a_sentence_about_reporting_is_body():
    story = (
        "Grain barge sinks at Mellor lock\nBy Ines Harte\n\n"
        "MELLOR, Jan 9 (Rivernews) - A grain barge sank at Mellor lock on Thursday after striking the lower gate, "
        "the canal trust said, and the lock will stay shut for a week.\n\n"
        "Reporting by the Mellor Gazette found that the lower gate had been patched twice since the summer.\n\n"
        "(Reporting by Ines Harte; Additional reporting by Tom Vell; Editing by Kay Osei)\n"
    )
    art = parse("barge.txt", story.encode())
    assert_clean(art, kept=["patched twice since the summer", "the lower gate"], dropped=["Editing by Kay Osei"])
    assert "Editing by Kay Osei" in art.region_text("byline")


POST = """---
title: Tide tables go digital
author: Ros Penhale
---

Harbour users can now read the tide tables on the Trust's website, which replaces the printed booklet this year.

## More tables, fewer booklets

More than 300 booklets were printed last year, and the Trust says most went unread in the harbour office.

*Ros Penhale writes about the coast for the Quay Letter. Tips: ros@quayletter.example*

---

**More from the Quay Letter**

- [Why the breakwater lights changed colour](https://quayletter.example/lights)
- [A winter on the dredger](https://quayletter.example/dredger) (5 min)
"""


def test_markdown_post_ends_with_writer_note_rule_and_related_links_out_of_the_body():
    art = parse("tides.md", POST.encode())
    body = art.region_text("body")
    assert "printed booklet" in body and "## More tables, fewer booklets" in body and "went unread" in body
    assert "breakwater lights" not in body and "Quay Letter" not in body and "---" not in body
    assert "breakwater lights" in art.region_text("related") and "A winter on the dredger" in art.region_text("related")
    assert art.region_text("author_bio").startswith("*Ros Penhale writes about the coast")
    assert art.metadata["author_bio"].startswith("Ros Penhale writes")
    assert "breakwater lights" not in indexed_text(art)


def test_a_heading_that_opens_prose_or_links_inside_the_body_stays_body():
    # "More …" before prose, and a link list that the article goes on after, are the article's own.
    links = "**Related on the Quay Letter**\n\n- [The tide gauge](https://quayletter.example/gauge)\n\n"
    post = POST.split("*Ros")[0] + links + "The Trust will print a few booklets for the lifeboat station.\n"
    body = parse("tides.md", post.encode()).region_text("body")
    assert "More tables, fewer booklets" in body and "[The tide gauge]" in body and "lifeboat station" in body


def test_pypdf_notes_on_a_damaged_pdf_stay_off_the_terminal_and_its_errors_still_come_through(tmp_path):
    """Run as a user runs it (no pytest log capture): pypdf's warnings would print through logging's
    last-resort handler."""
    damaged = tmp_path / "damaged.pdf"  # a download cut short in its last bytes, with a wrong xref pointer
    damaged.write_bytes(PDF_ONE_PAGE.replace(b"%%EOF", b"%%EO").replace(b"startxref\n", b"startxref\n1"))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(PDF_ONE_PAGE[:200])
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from dossier_core.errors import DossierError\n"
        "from ingest.extract import extract_pdf\n"
        "print(extract_pdf(Path(sys.argv[1]).read_bytes(), 'damaged.pdf').text)\n"
        "try:\n"
        "    extract_pdf(Path(sys.argv[2]).read_bytes(), 'broken.pdf')\n"
        "except DossierError as e:\n"
        "    print(e)\n"
    )
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", script, damaged, broken], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "The harbour wall is 400 metres long" in run.stdout
    assert "broken.pdf: cannot read the PDF" in run.stdout
    assert run.stderr == ""


# -- Markdown written by hand: a first-level heading names it, and its paragraphs may be wrapped


def test_markdown_h1_is_the_title_and_a_wrapped_opening_paragraph_is_body():
    art = parse(FIXTURES / "markdown" / "field-guide.md")
    assert art.title == "Kelp Log"
    assert [r.label for r in art.regions][:2] == ["title", "body"]
    assert_clean(
        art,
        kept=["Notes kept by the volunteers", "borrowed boat", "grew back along the northern reef", "38 urchins"],
        dropped=["# Kelp Log"],
    )
    body = art.region_text("body")
    assert body.startswith("Notes kept") and "## How a count works\n\nTwo divers" in body


def test_a_markdown_heading_starts_markdown_whatever_the_name():
    art = parse("kelp.txt", (FIXTURES / "markdown" / "field-guide.md").read_bytes())
    assert art.title == "Kelp Log" and art.region_text("body").startswith("Notes kept by the volunteers")
    closed = parse("kelp.txt", b"# Kelp Log #\n\nThe beds grew back along the northern reef this spring, divers say.")
    assert closed.title == "Kelp Log"


def test_markdown_without_a_heading_and_with_one_line_paragraphs_reads_as_before():
    text = (
        "Menu\n\nPort news\n\n"
        "Harbour dues rise next month\n\n"
        "The harbour board voted on Tuesday to raise mooring dues by eight percent from the first of June.\n\n"
        "Fishing boats under ten metres are exempt until the end of the year, the board said.\n"
    )
    assert label_lines(text, markdown=True) == label_lines(text)
    art = parse("dues.md", text.encode())
    assert art.title == "Harbour dues rise next month"
    assert "eight percent" in art.region_text("body") and "Port news" not in art.region_text("body")


def test_a_scraped_page_saved_as_markdown_still_loses_its_menu_and_share_buttons():
    page = (
        "News\nSport\nWeather\nLocal\nJobs\n\n"
        "# Ferry\n\n"
        "Share this article\n\n"
        "The island ferry will run twice a day through the winter, the operator said on Monday, after\n"
        "a petition signed by most of the island's 900 residents asked it to keep the second crossing.\n"
    )
    art = parse("ferry.md", page.encode())
    assert art.title == "Ferry"
    assert_clean(
        art, kept=["twice a day through the winter", "keep the second crossing"], dropped=["Weather", "Share this"]
    )


def test_a_column_of_menu_links_is_no_wrapped_paragraph():
    menu = "Home News Sport Weather Travel\nCulture Food Money Homes Cars\nPuzzles Jobs Events Shop Podcasts.\n\n"
    text = (
        menu
        + "# Lighthouse keepers return\n\n"
        + "The lighthouse on Gull Rock has keepers again for the first time since 1989.\n"
    )
    labels = [label for _, label in label_lines(text, markdown=True)]
    assert labels == ["chrome", "chrome", "chrome", "title", "body"]
    # Nor is a dateline standing right above a paragraph written on one long line.
    dated = (
        "# Lighthouse keepers return\n\nUpdated 3 May 2024 for the coast desk\n"
        "The lighthouse on Gull Rock has keepers again for the first time since 1989, and the two who moved "
        "in last week say the lamp room needs a new roof before the autumn gales.\n"
    )
    art = parse("gull-rock.md", dated.encode())
    assert art.metadata["published_at"] == "2024-05-03" and "coast desk" not in art.region_text("body")
