"""Document bytes → clean text split into labelled regions, plus metadata.

Every format ends in the same shape, so chunking, storage and the dry-run
view need not know where an article came from.
"""

import io
import re
from dataclasses import dataclass

from ingest.errors import DossierError
from ingest.html import extract_html
from ingest.metadata import find_date
from ingest.models import Region
from ingest.regions import AUTHOR_BIO, BODY, BYLINE, COMMENTS, TITLE, byline_name, label_lines
from ingest.text import normalize_whitespace

FORMATS = {
    ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
    ".pdf": "pdf", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}
MAX_PDF_PAGES = 2000


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


# YAML front matter of Markdown articles (Jekyll, Hugo, Obsidian): simple `key: value` lines.
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
_FRONT_FIELDS = {"title": ("title",), "author": ("author", "authors", "byline"), "published_at": ("date", "published", "published_at", "pubdate"),
                 "site": ("site", "publisher", "source", "outlet"), "url": ("url", "canonical_url", "link")}


def front_matter(raw: str) -> tuple[dict, str]:
    """The metadata a front-matter block gives, and the text after it."""
    m = _FRONT_MATTER.match(raw)
    if not m:
        return {}, raw
    given = {k.lower(): v.strip().strip("'\"").strip() for k, v in re.findall(r"(?m)^([A-Za-z_]+)[ \t]*:[ \t]*(.+)$", m.group(1))}
    metadata = {field: next((given[k] for k in keys if given.get(k)), None) for field, keys in _FRONT_FIELDS.items()}
    if metadata["published_at"]:
        metadata["published_at"] = find_date(metadata["published_at"]) or (metadata["published_at"] if re.fullmatch(r"\d{4}(-\d\d)?", metadata["published_at"]) else None)
    return {k: v for k, v in metadata.items() if v}, raw[m.end():]


def extract_page(raw: str, name: str) -> Extracted:
    """A scraped page or article saved as text or Markdown (front matter read as metadata)."""
    given, raw = front_matter(raw)
    text = normalize_whitespace(raw)
    labelled = label_lines(text)
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
        raise DossierError(f"{name}: no article text found in the page (only navigation or scripts?); save the article's own page")
    return Extracted(text, regions, metadata)


def extract_pdf(data: bytes, name: str) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DossierError(f"{name}: the PDF is encrypted; save an unprotected copy")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise DossierError(f"{name}: the PDF has {len(reader.pages)} pages, over the {MAX_PDF_PAGES}-page limit; split it")
        pages = [(BODY, page.extract_text() or "", number) for number, page in enumerate(reader.pages, 1)]
        info = reader.metadata or {}
    except DossierError:
        raise
    except LimitReachedError as e:  # pypdf's guards against bombs: page trees of a million leaves, streams inflating to gigabytes
        raise DossierError(f"{name}: the PDF goes over a safety limit ({e}); split it or print it to a new PDF") from None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise DossierError(f"{name}: cannot read the PDF ({e}); check that it is complete and not damaged") from None
    text, regions = assemble(pages)
    metadata = {"title": info.get("/Title"), "author": info.get("/Author")}
    if not text:
        raise DossierError(f"{name}: the PDF has no text layer (scanned pages?); run OCR on it first")
    return _checked(Extracted(text, regions, {k: str(v).strip() for k, v in metadata.items() if v and str(v).strip()}), name)


def _text_metadata(lines: list[tuple[str, str]]) -> dict:
    def first(label):
        return next((t for lab, t in lines if lab == label), None)

    title = first(TITLE)
    author = next((byline_name(t) for lab, t in lines if lab == BYLINE and byline_name(t)), None)
    about = re.match(r"^[#*\s]*about the (?:author|writer)s?[:\s-]+(.+?)[*\s]*$", first(AUTHOR_BIO) or "", re.I)
    written_by = [t for lab, t in lines if lab == BYLINE and not re.fullmatch(r"(?i)[*\s]*(written|posted) by:?[*\s]*", t)]
    author = author or (about.group(1) if about else None) or (written_by[0] if written_by and len(written_by[0].split()) <= 5 else None)
    bio = [t for lab, t in lines if lab == AUTHOR_BIO and not re.match(r"(?i)^[#*\s]*about the", t)]
    # A page's own date sits near its title; failing that, it is no later than its first comment.
    preamble = " ".join(t for lab, t in lines if lab in (BYLINE, TITLE))
    comment_dates = [d for d in (find_date(t) for lab, t in lines if lab == COMMENTS) if d]
    return {
        k: v
        for k, v in {
            "title": re.sub(r"^[#\s]+|[*_]+", "", title).strip() if title else None,
            "author": author,
            "author_bio": "\n\n".join(bio) or None,
            "published_at": find_date(preamble) or min(comment_dates, default=None),
        }.items()
        if v
    }


def _checked(extracted: Extracted, name: str) -> Extracted:
    if not any(r.label == BODY for r in extracted.regions):
        raise DossierError(f"{name}: no article text found after cleaning; check that the file is not empty")
    return extracted
