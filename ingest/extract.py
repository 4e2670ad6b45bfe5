"""Document bytes → clean text split into labelled regions, plus metadata.

Every format ends in the same shape, so chunking, storage and the dry-run
view need not know where an article came from.
"""

import io
import itertools
import logging
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass

from dossier_core.errors import DossierError
from dossier_core.models import Region
from dossier_core.text import MONTH_PATTERN, normalize_whitespace, sentence_spans
from ingest.html import extract_html
from ingest.metadata import byline_outlet, find_date, front_matter, header_block, pdf_date
from ingest.regions import (
    ATX_TITLE,
    AUTHOR_BIO,
    BODY,
    BYLINE,
    CHROME,
    COMMENTS,
    TITLE,
    byline_name,
    byline_parts,
    label_lines,
)

FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
MAX_PDF_PAGES = 2000

# pypdf reports the damage it reads around ("EOF marker not found", "incorrect startxref pointer") as log warnings,
# which logging's last-resort handler prints on the terminal of every ingest, and its own Python warnings; what it
# cannot read it raises, and extract_pdf says so with the fix. Its error-level log messages still show.
logging.getLogger("pypdf").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", module=r"pypdf(\.|$)")


@dataclass(frozen=True)
class Extracted:
    text: str
    regions: tuple[Region, ...]
    metadata: dict


def assemble(pieces: list[tuple[str, str, int | None]]) -> tuple[str, tuple[Region, ...]]:
    """Join (label, text, page) pieces into one text; neighbours with the same label and page share a region."""
    parts, regions, offset = [], [], 0
    for label, text, page in pieces:
        text = normalize_whitespace(text)
        if not text:
            continue
        if parts:
            offset += 2
        if regions and regions[-1].label == label and regions[-1].page == page:
            regions[-1] = Region(label, regions[-1].start, offset + len(text), page)
        else:
            regions.append(Region(label, offset, offset + len(text), page))
        parts.append(text)
        offset += len(text)
    return "\n\n".join(parts), tuple(regions)


def extract_page(raw: str, name: str) -> Extracted:
    """A scraped page or article saved as text or Markdown (front matter or a header block read as metadata)."""
    given, raw = front_matter(raw)
    if not given:
        given, raw = header_block(raw)
    text = normalize_whitespace(raw)
    # Markdown by its name, or by its first line when it has no telling name (stdin, "notes.txt").
    markdown = FORMATS.get(os.path.splitext(name)[1].lower()) == "markdown" or bool(ATX_TITLE.match(text))
    labelled = label_lines(text, markdown)
    regions = []
    for line, label in labelled:
        if regions and regions[-1].label == label:
            regions[-1] = Region(label, regions[-1].start, line.end)
        else:
            regions.append(Region(label, line.start, line.end))
    metadata = {**_text_metadata([(label, line.text) for line, label in labelled]), **given}
    return _checked(Extracted(text, tuple(regions), metadata), name)


def extract_markup(raw: str, name: str) -> Extracted:
    pieces, metadata = extract_html(raw)
    text, regions = assemble([(label, t, None) for label, t in pieces])
    if not any(r.label == BODY for r in regions):
        raise DossierError(
            f"{name}: no article text found in the page (only navigation or scripts?); save the article's own page"
        )
    return Extracted(text, regions, metadata)


def extract_pdf(data: bytes, name: str) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DossierError(f"{name}: the PDF is encrypted; save an unprotected copy")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise DossierError(
                f"{name}: the PDF has {len(reader.pages)} pages, over the {MAX_PDF_PAGES}-page limit; split it"
            )
        texts = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
        metadata = {"title": info.get("/Title"), "author": info.get("/Author")}
        created = pdf_date(info.get("/CreationDate"))
    except DossierError:
        raise
    except LimitReachedError as e:  # pypdf's guards against bombs: million-leaf page trees, gigabyte streams
        raise DossierError(
            f"{name}: the PDF goes over a safety limit ({e}); split it or print it to a new PDF"
        ) from None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise DossierError(f"{name}: cannot read the PDF ({e}); check that it is complete and not damaged") from None
    compounds = {word.lower() for text in texts for word in _COMPOUND.findall(text)}
    pages = without_running_lines([normalize_whitespace(text).split("\n") for text in texts])
    lines = [(number, line) for number, page in enumerate(pages, 1) for line in page]
    # A line joined across a page break belongs to the page it starts on: a region never splits a sentence.
    joined = [(lines[first][0], line) for first, line in unwrap_lines([line for _, line in lines], compounds)]
    by_page = [(page, [line for _, line in group]) for page, group in itertools.groupby(joined, key=lambda j: j[0])]
    text, regions = assemble([(BODY, "\n".join(group), page) for page, group in by_page])
    if not text:
        raise DossierError(f"{name}: the PDF has no text layer (scanned pages?); run OCR on it first")
    metadata["published_at"] = _stated_date(by_page[0][1][:_OPENING_LINES]) or created
    return _checked(
        Extracted(text, regions, {k: str(v).strip() for k, v in metadata.items() if v and str(v).strip()}), name
    )


# Running headers and footers: the lines at a page's top or bottom that most pages repeat, compared with their
# digits blanked ("Page 3 of 9", "Annual report 2024 | 7"), and page-number lines at a page's edge.
_PAGE_NUMBER = re.compile(r"(?i)(?:page\s+)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d{1,4})?")
_EDGE = 3  # lines looked at from each end of a page: a header or footer is rarely more


def without_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Each page's lines without its running header, footer and page number."""

    def key(line: str) -> str:
        return " ".join(re.sub(r"\d+", "#", line.lower()).split())

    def edges(lines: list[str]) -> set[str]:
        kept = [line for line in lines if line]
        return {key(line) for line in kept[:_EDGE] + kept[-_EDGE:]}

    pages_with = Counter(k for lines in pages for k in edges(lines))
    repeated = {k for k, count in pages_with.items() if count >= max(2, len(pages) / 2)}

    def running(line: str) -> bool:
        return not line or key(line) in repeated or _PAGE_NUMBER.fullmatch(line) is not None

    cleaned = []
    for lines in pages:
        start, end, dropped = 0, len(lines), 0
        while start < end and dropped < _EDGE and running(lines[start]):
            dropped += bool(lines[start])
            start += 1
        dropped = 0
        while end > start and dropped < _EDGE and running(lines[end - 1]):
            dropped += bool(lines[end - 1])
            end -= 1
        cleaned.append(lines[start:end])
    return cleaned


# A report states its date near its start ("Published 2 April 2025", or a line that is only a date); other dates
# in its opening are often what it is about (the title's "Derailment … 11 March 2025").
_OPENING_LINES = 12
_DATE_CUE = re.compile(r"(?i)(?:published|posted|issued|dated?|released|(?:last )?updated|revised)\b")


def _stated_date(lines: list[str]) -> str | None:
    stated = (line for line in lines if _DATE_CUE.match(line) or len(line.split()) <= 4)
    return next((found for found in map(find_date, stated) if found), None)


# pypdf ends every visual line with a newline, and sentence_spans takes lines as hard breaks: a wrapped
# sentence would be quoted in fragments. A line joins the next when the next goes on with it — it starts
# in lowercase or with , ; : ) ], or a date runs on ("on 9" + "March 2025"), or the line is long (at least
# 70 % of the document's usual line, in a document whose lines are long enough to be prose) and ends in no
# digit — unless the next starts a list item or the splitter ends a sentence between them. Short lines
# (headings, list items) and lines ending in a number (table rows: "Culverts overdue 1,140") stay apart.
_LIST_ITEM = re.compile(r"[-•*–▪◦]\s|\(?(?:\d{1,3}|[a-z]|[ivx]{1,4}|[IVX]{1,4})[.)]\s")
_COMPOUND = re.compile(r"(?<![^\W\d_])[^\W\d_]++-[^\W\d_]++")
_BROKEN_WORD = re.compile(r"(?<![^\W\d_])([^\W\d_]+)[-\u2010\u00ad]$")
_FIRST_WORD = re.compile(r"[^\W_]+")
_ENDS_IN_DAY = re.compile(r"\s(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?$")
_STARTS_WITH_MONTH = re.compile(rf"(?i)(?:{MONTH_PATTERN})\b")
_ENDS_IN_MONTH = re.compile(rf"(?i)\s(?:{MONTH_PATTERN})\.?$")
_STARTS_WITH_DAY_OR_YEAR = re.compile(r"(?:\d{1,2}|(?:19|20)\d\d)\b")


def unwrap_lines(lines: list[str], compounds: set[str]) -> list[tuple[int, str]]:
    """A PDF's visual lines joined back into lines of text: (index of the first visual line, text).

    A word hyphenated across lines is joined whole. Without a dictionary the hyphen is dropped when the
    word goes on in lowercase ("recon-" + "struction"), kept before a capital or digit ("Anglo-" + "French",
    "COVID-" + "19") and kept when the document writes the hyphenated word elsewhere (`compounds`, lowercase:
    "well-known"). A soft hyphen is always dropped."""
    if not lines:
        return []
    lengths = sorted(len(line) for line in lines if line)
    width = lengths[len(lengths) * 9 // 10] if lengths else 0
    out = [[lines[0]]]  # each line of the result as its pieces: joining strings one by one would be quadratic
    firsts = [0]
    for index, (previous, line) in enumerate(itertools.pairwise(lines), 1):
        broken = previous[-1:] in "-\u2010\u00ad" and _BROKEN_WORD.search(previous[-60:])
        if not (previous and line) or _LIST_ITEM.match(line):
            out.append([line])
            firsts.append(index)
        elif broken and line[0].isalnum():
            compound = f"{broken.group(1)}-{_FIRST_WORD.match(line, 0, 60).group()}".lower()
            if previous[-1] == "\u00ad" or (line[0].islower() and compound not in compounds):
                out[-1][-1] = out[-1][-1][:-1]
            out[-1].append(line)
        elif _continues(previous, line, width) and not _ends_sentence_between(out[-1], line):
            out[-1] += [" ", line]
        else:
            out.append([line])
            firsts.append(index)
    return [(first, "".join(pieces)) for first, pieces in zip(firsts, out)]


def _continues(previous: str, line: str, width: int) -> bool:
    if line[0].islower() or line[0] in ",;:)]":
        return True
    if len(previous.split(maxsplit=3)) > 3 and (
        (_ENDS_IN_DAY.search(previous[-6:]) and _STARTS_WITH_MONTH.match(line, 0, 12))
        or (_ENDS_IN_MONTH.search(previous[-11:]) and _STARTS_WITH_DAY_OR_YEAR.match(line, 0, 5))
    ):
        return True  # a date broken between its day and month, or month and year, in running text
    return width >= 30 and len(previous) >= 0.7 * width and not previous[-1].isdigit()


def _ends_sentence_between(pieces: list[str], line: str) -> bool:
    """Whether the splitter ends a sentence between the text so far and `line` put after it on one line.
    The splitter reads a few words either side of a full stop, so the last 200 and first 100 characters do."""
    if pieces[-1][-1] not in ".!?…\"”’')]":  # no sentence ends without one of these
        return False
    tail = ""
    for piece in reversed(pieces):
        tail = piece[-200:] + tail
        if len(tail) >= 200:
            break
    tail = tail[-200:]
    return any(end == len(tail) for _, end, _ in sentence_spans(f"{tail} {line[:100]}"))


def _is_byline(line: str) -> bool:
    """Whether the line is a byline and nothing else: "By Ana Ruiz | Harbour Ledger", not "By Design: …"."""
    name = byline_name(line)
    return bool(name) and re.sub(r"(?i)^by\s+", "", byline_outlet(line)[0]) == name


def _text_metadata(lines: list[tuple[str, str]]) -> dict:
    def first(label):
        return next((t for lab, t in lines if lab == label), None)

    title = first(TITLE)
    # Lines before the body may hold a byline the labels missed: chrome without a "By" ("Ana Ruiz (Harbour Wire)"),
    # or the only short line above the body, taken for the title ("By Ana Ruiz, Harbour Press Agency").
    opening = [t for lab, t in itertools.takewhile(lambda line: line[0] != BODY, lines) if lab == CHROME]
    candidates = [t for lab, t in lines if lab == BYLINE] + opening
    if title and _is_byline(title):
        candidates, title = [title, *candidates], None
    author, outlet = next((found for found in map(byline_parts, candidates) if found[0]), (None, None))
    about = re.match(r"^[#*\s]*about the (?:author|writer)s?[:\s-]+(.+?)[*\s]*$", first(AUTHOR_BIO) or "", re.I)
    written_by = [
        t for lab, t in lines if lab == BYLINE and not re.fullmatch(r"(?i)[*\s]*(written|posted) by:?[*\s]*", t)
    ]
    author = (
        author
        or (about.group(1) if about else None)
        or (written_by[0] if written_by and len(written_by[0].split()) <= 5 else None)
    )
    bio = [t.strip("*_ ") for lab, t in lines if lab == AUTHOR_BIO and not re.match(r"(?i)^[#*\s]*about the", t)]
    # A page's own date sits near its title; failing that, it is no later than its first comment.
    preamble = " ".join(t for lab, t in lines if lab in (BYLINE, TITLE))
    comment_dates = [d for d in (find_date(t) for lab, t in lines if lab == COMMENTS) if d]
    return {
        k: v
        for k, v in {
            "title": re.sub(r"^[#\s]+|\s#+$|[*_]+", "", title).strip() if title else None,
            "author": author,
            "author_bio": "\n\n".join(bio) or None,
            "published_at": find_date(preamble) or min(comment_dates, default=None),
            "site": outlet,
        }.items()
        if v
    }


def _checked(extracted: Extracted, name: str) -> Extracted:
    if not any(r.label == BODY for r in extracted.regions):
        raise DossierError(f"{name}: no article text found after cleaning; check that the file is not empty")
    return extracted
