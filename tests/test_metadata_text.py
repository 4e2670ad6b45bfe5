"""Metadata that articles state in their text: a header block of `Key: value` lines, a byline naming an outlet,
a PDF's date in its first lines."""

import pytest

from ingest.metadata import byline_outlet, header_block
from tests.conftest import PDF_FONT, parse, pdf_file, pdf_page, pdf_stream

BODY = (
    "The lock keepers on the Severn branch voted to strike for two days next week over the closure of four "
    "lock cottages, the union said on Tuesday."
)
SECOND = "Boat owners were told to plan for delays at every lock between the weir and the basin."


def story(head: str) -> bytes:
    return f"{head}\n\n{BODY}\n\n{SECOND}\n".encode()


# -- header blocks


@pytest.mark.parametrize(
    "name, head",
    [
        (
            "plain.txt",
            "Title: Lock keepers vote to strike\nAuthor: Petra Voss\nDate: 14 Jan 2025\nSource: Canal Weekly",
        ),
        (
            "shouted.txt",
            "SOURCE: Canal Weekly\nPublished at: January 14, 2025\nheadline: Lock keepers vote to strike\n"
            "WRITER: Petra Voss\n---",
        ),
        (
            "bold.md",
            "**Headline:** Lock keepers vote to strike\n**Byline:** By Petra Voss\n**Publication:** Canal Weekly\n"
            "**Date:** Tuesday, 14 January 2025",
        ),
        (
            "leading-blank.txt",
            "\n\npublished: 2025-01-14\nBy: Petra Voss\nOutlet: Canal Weekly\n"
            "Title: Lock keepers vote to strike\n\n***",
        ),
    ],
)
def test_a_header_block_in_any_order_and_case_is_metadata_and_leaves_the_text(name, head):
    art = parse(name, story(head))
    assert art.title == "Lock keepers vote to strike"
    assert art.metadata["author"] == "Petra Voss"
    assert art.metadata["published_at"] == "2025-01-14"
    assert art.metadata["site"] == "Canal Weekly"
    assert art.text.startswith("The lock keepers on the Severn branch")
    assert "Canal Weekly" not in art.text and "Petra Voss" not in art.text
    assert [r.label for r in art.regions] == ["body"]


def test_other_keys_among_the_header_stay_in_the_text_but_out_of_the_body():
    head = (
        "Headline: Lock keepers vote to strike\nSection: Waterways\nBy: Petra Voss\nLink: https://canal.example/locks"
    )
    art = parse("sectioned.txt", story(head))
    assert (art.title, art.metadata["author"], art.metadata["url"]) == (
        "Lock keepers vote to strike",
        "Petra Voss",
        "https://canal.example/locks",
    )
    assert art.text.startswith("Section: Waterways\n\nThe lock keepers")
    section = next(r for r in art.regions if r.start == 0)
    assert section.label != "body"


def test_a_source_given_as_an_address_is_the_url_and_an_author_line_with_its_agency_gives_the_outlet():
    given, rest = header_block(
        "Title: Weir gates replaced\nAuthor: Petra Voss, Severn Press Agency\nSource: https://canal.example/weir\n\n"
        "The gates were lifted out by crane."
    )
    assert given == {
        "title": "Weir gates replaced",
        "author": "Petra Voss",
        "site": "Severn Press Agency",
        "url": "https://canal.example/weir",
    }
    assert rest == "The gates were lifted out by crane."


def test_a_stated_outlet_beats_the_one_in_the_author_line_and_two_author_lines_add_up():
    given, _ = header_block(
        "Author: Petra Voss (Severn Wire)\nAuthor: Jon Ek\nPublisher: Canal Weekly\n\nThe gates were lifted out."
    )
    assert given == {"author": "Petra Voss, Jon Ek", "site": "Canal Weekly"}


@pytest.mark.parametrize(
    "opening",
    [
        "Warning: the canal rose above the towpath overnight and the trust has closed the Severn branch to boats.",
        "Update: the strike was called off late on Monday.\nSource: the union's branch secretary, by telephone.",
        "Source: a trust memo seen by this newsletter says four lock cottages will be sold.",
        "Note: figures are provisional.\nCaution: the towpath is closed.",
        "Date: to be set by the trust in the spring, the union said.",
    ],
)
def test_a_first_paragraph_that_opens_with_a_label_stays_body(opening):
    art = parse("labelled.txt", f"{opening}\n\n{BODY}\n".encode())
    assert art.text.startswith(opening)
    assert "site" not in art.metadata and "url" not in art.metadata
    assert header_block(f"{opening}\n\n{BODY}") == ({}, f"{opening}\n\n{BODY}")


def test_one_line_that_is_only_a_date_or_a_title_is_read_but_a_date_line_of_prose_is_not():
    dated = parse("dated.txt", story("Dateline: GLOUCESTER, March 3, 2024"))
    assert dated.metadata["published_at"] == "2024-03-03" and dated.text.startswith("The lock keepers")
    titled = parse("titled.txt", story("Title: Lock keepers vote to strike"))
    assert titled.title == "Lock keepers vote to strike" and titled.text.startswith("The lock keepers")
    assert header_block("Published: 3 March 2024, the report found that fares rose by a tenth.\n\nMore.")[0] == {}


def test_front_matter_still_wins_and_reads_the_same_keys():
    art = parse(
        "front.md",
        b"---\nheadline: Lock keepers vote to strike\nauthor: Petra Voss | Canal Weekly\ndate: 2025-01-14\n---\n\n"
        + BODY.encode(),
    )
    assert (art.title, art.metadata["author"], art.metadata["site"], art.metadata["published_at"]) == (
        "Lock keepers vote to strike",
        "Petra Voss",
        "Canal Weekly",
        "2025-01-14",
    )


# -- bylines


@pytest.mark.parametrize(
    "byline, who, outlet",
    [
        ("By Petra Voss, Severn Press Agency", "By Petra Voss", "Severn Press Agency"),
        ("By P. Voss | The Basin Ledger", "By P. Voss", "The Basin Ledger"),
        ("Petra Voss (Reuters)", "Petra Voss", "Reuters"),
        ("By Petra Voss for Canal TV", "By Petra Voss", "Canal TV"),
        ("By Petra Voss, Staff Writer, The Basin Times, 4 May 2024", "By Petra Voss, Staff Writer", "The Basin Times"),
        ("By PETRA VOSS - SEVERN GAZETTE", "By PETRA VOSS", "SEVERN GAZETTE"),
        ("By Petra Voss and Jon Ek", "By Petra Voss and Jon Ek", None),
        ("By Petra Voss, Jon Ek", "By Petra Voss, Jon Ek", None),
        ("By Petra Voss, Gloucester", "By Petra Voss, Gloucester", None),
        ("By Petra Voss | 4 min read", "By Petra Voss | 4 min read", None),
        ("By Petra Voss (@pvoss)", "By Petra Voss (@pvoss)", None),
        ("By Petra Voss | Senior Correspondent", "By Petra Voss | Senior Correspondent", None),
        ("By Petra Voss, press officer", "By Petra Voss, press officer", None),
    ],
)
def test_a_byline_names_its_outlet_only_when_it_is_one(byline, who, outlet):
    assert byline_outlet(byline) == (who, outlet)


TITLE = "Lock keepers on the Severn branch vote to strike over the sale of cottages"


BYLINES = [
    ("By Petra Voss, Severn Press Agency", "Petra Voss", "Severn Press Agency"),
    ("By P. Voss | The Basin Ledger", "P. Voss", "The Basin Ledger"),
    ("Petra Voss (Severn Wire)", "Petra Voss", "Severn Wire"),
    ("Petra Voss (Severn Wire) · 14 Jan 2025", "Petra Voss", "Severn Wire"),
    ("By Petra Voss and Jon Ek", "Petra Voss and Jon Ek", None),
    ("By Petra Voss, Staff Writer", "Petra Voss", None),
]


@pytest.mark.parametrize("byline, author, site", BYLINES)
def test_a_text_article_byline_gives_the_author_and_its_outlet(byline, author, site):
    art = parse("strike.txt", story(f"{TITLE}\n{byline}"))
    assert art.title == TITLE
    assert art.metadata["author"] == author
    assert art.metadata.get("site") == site


def test_a_byline_alone_above_the_body_is_no_title_but_a_title_that_starts_with_by_is():
    art = parse("strike.txt", story("By Petra Voss, Severn Press Agency"))
    assert (art.title, art.metadata["author"], art.metadata["site"]) == ("Strike", "Petra Voss", "Severn Press Agency")
    art = parse("design.txt", story("By Design: How Canal Towns Rebuilt Their Locks"))
    assert art.title == "By Design: How Canal Towns Rebuilt Their Locks" and "author" not in art.metadata


def test_a_menu_line_with_brackets_is_no_byline():
    art = parse("menu.txt", story(f"Latest News (Live)\n{TITLE}"))
    assert "author" not in art.metadata and "site" not in art.metadata


def test_an_outlet_from_a_header_beats_the_bylines():
    art = parse("both.txt", story(f"Title: {TITLE}\nSource: Canal Weekly\n\nBy Petra Voss, Severn Press Agency"))
    assert (art.metadata["author"], art.metadata["site"]) == ("Petra Voss", "Canal Weekly")


def page(byline: str, site_meta: str = "") -> bytes:
    return (
        f"<html><head>{site_meta}</head><body><article><h1>{TITLE}</h1><p class='byline'>{byline}</p>"
        f"<p>{BODY}</p><p>{SECOND}</p></article></body></html>"
    ).encode()


@pytest.mark.parametrize("byline, author, site", BYLINES)
def test_a_page_byline_reads_as_the_same_line_of_a_text_article(byline, author, site):
    art = parse("strike.html", page(byline))
    assert (art.metadata["author"], art.metadata.get("site")) == (author, site)


def test_a_page_byline_gives_the_outlet_only_when_the_markup_names_none():
    art = parse("strike.html", page("By Petra Voss | The Basin Ledger"))
    assert (art.metadata["author"], art.metadata["site"]) == ("Petra Voss", "The Basin Ledger")
    wire = parse("wire.html", page("Petra Voss (Severn Wire)"))
    assert (wire.metadata["author"], wire.metadata["site"]) == ("Petra Voss", "Severn Wire")
    named = parse(
        "named.html",
        page("By Petra Voss, Severn Press Agency", "<meta property='og:site_name' content='Canal Weekly'>"),
    )
    assert (named.metadata["author"], named.metadata["site"]) == ("Petra Voss", "Canal Weekly")
    pair = parse("pair.html", page("By Petra Voss and Jon Ek"))
    assert pair.metadata["author"] == "Petra Voss and Jon Ek" and "site" not in pair.metadata


# -- PDFs: no information dictionary, so no creation date; the date is in the first lines or nowhere


def bare_pdf(lines: list[str]) -> bytes:
    """A one-page PDF of these lines and no document information (no /CreationDate)."""
    text = b" ".join(b"(%s) Tj T*" % line.encode() for line in lines)
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            pdf_page(2, 4, 5),
            pdf_stream(b"BT /F1 11 Tf 72 740 Td 14 TL " + text + b" ET"),
            PDF_FONT,
        ]
    )


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Published 9 October 2023", "2023-10-09"),
        ("October 9, 2023", "2023-10-09"),
        ("Date: 9 Oct 2023", "2023-10-09"),
        ("Posted on Monday 9 October 2023 by the trust", "2023-10-09"),
    ],
)
def test_a_pdf_without_a_metadata_date_is_dated_by_its_first_lines(line, expected):
    art = parse("weir.pdf", bare_pdf(["Weir gates replaced on the Severn branch", line, BODY, SECOND]))
    assert art.metadata["published_at"] == expected


def test_a_pdf_that_states_no_date_has_none():
    art = parse("undated.pdf", bare_pdf(["Weir gates replaced on the Severn branch", BODY, SECOND]))
    assert "published_at" not in art.metadata
