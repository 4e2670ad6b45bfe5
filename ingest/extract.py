"""Raw document text → clean article text and metadata.

The seam for region-aware extraction: every format goes through `extract`,
which returns the text to index and what it learned about the article.
"""

import re

import trafilatura

from ingest.errors import DossierError
from ingest.text import normalize_whitespace

FORMATS = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


def extract(fmt: str, raw: str, name: str) -> tuple[str, dict]:
    """Clean text plus metadata (title, author, published_at, url, site — when known)."""
    if fmt == "html":
        text, metadata = _extract_html(raw, name)
    else:
        text = normalize_whitespace(raw)
        metadata = {"title": _markdown_title(text)} if fmt == "markdown" else {}
    if not text:
        raise DossierError(f"{name}: no article text found after cleaning; check that the file is not empty")
    return text, {k: v for k, v in metadata.items() if v}


def _extract_html(raw: str, name: str) -> tuple[str, dict]:
    doc = trafilatura.bare_extraction(raw, with_metadata=True, include_comments=False, favor_recall=True)
    if doc is None or not (doc.text or "").strip():
        return "", {}
    # trafilatura puts one block per line; blank lines keep them as paragraphs.
    text = normalize_whitespace(doc.text.replace("\n", "\n\n"))
    return text, {
        "title": doc.title,
        "author": doc.author,
        "published_at": doc.date,
        "url": doc.url,
        "site": doc.sitename,
    }


def _markdown_title(text: str) -> str | None:
    heading = re.search(r"^#{1,2}\s+(.+?)\s*#*$", text, re.M)
    return heading.group(1) if heading else None
