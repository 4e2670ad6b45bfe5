"""HTML pages → labelled regions and metadata.

Page structure says what is not the article: navigation, footers, forms,
comment threads, author boxes, teaser lists and share widgets are taken out
(and kept, labelled) before trafilatura finds the body in what is left.
"""

import html
import re

import lxml.html
import trafilatura
from lxml import etree

from dossier_core.text import CONTROL, MONTHS, WEEKDAYS
from ingest.metadata import find_date, iso_date, json_ld
from ingest.regions import AUTHOR_BIO, BODY, BYLINE, CAPTION, CHROME, COMMENTS, RELATED, byline_name, byline_parts

# Tested in order against an element's id and class names.
_BY_NAME = [
    (
        COMMENTS,
        re.compile(r"(^|[\s_-])(comments?|commentlist|comment-list|comments-area|disqus|discussion)([\s_-]|$)", re.I),
    ),
    (
        AUTHOR_BIO,
        re.compile(
            r"author[-_]?(bio|box|info|card|profile|description|about)|about[-_]?(the[-_]?)?author|(^|[\s_-])bio([\s_-]|$)",
            re.I,
        ),
    ),
    (
        RELATED,
        re.compile(
            r"related|recommend|more[-_]?(stories|articles|from|news)|also[-_]?like|read[-_]?(more|next)|teaser|trending|popular|most[-_]?read|outbrain|taboola",
            re.I,
        ),
    ),
    (BYLINE, re.compile(r"byline|author[-_]?name|(^|[\s_-])(author|authors)([\s_-]|$)", re.I)),
    (
        CHROME,
        re.compile(
            r"share|social|newsletter|subscribe|cookie|consent|breadcrumb|(^|[\s_-])(menu|navbar|nav|sidebar|widget|ad|ads|advert|advertisement|sponsor|sponsored|paywall|signup|popup|modal|masthead|site-header|site-footer|respond|reply)([\s_-]|$)",
            re.I,
        ),
    ),
]
_CHROME_TAGS = {"nav", "footer", "form", "aside", "button", "select", "noscript", "iframe"}
_BLOCKS = (
    "p|div|li|ul|ol|h1|h2|h3|h4|h5|h6|blockquote|figure|figcaption|section|article|main|header|footer|nav|aside"
    "|table|tr|dd|dt|br"
)


def extract_html(raw: str) -> tuple[list[tuple[str, str]], dict]:
    """[(label, text)] in reading order, and the metadata found."""
    raw = CONTROL.sub("", raw)  # lxml refuses them as text (and makes NUL a U+FFFD)
    # huge_tree: libxml2 otherwise stops reading a page nested deeper than 256 tags (2048 with it).
    # Bytes with their encoding given, because lxml refuses a str that starts with an XML declaration (XHTML).
    parser = lxml.html.HTMLParser(huge_tree=True, encoding="utf-8")
    try:
        tree = lxml.html.fromstring(raw.encode(), parser=parser)
    except (etree.ParserError, ValueError):
        return [], {}
    if not isinstance(tree.tag, str):  # a page that is only a comment ("<body><!--")
        return [], {}
    stopped = any(e.level == etree.ErrorLevels.FATAL for e in parser.error_log)
    try:
        for junk in tree.xpath("//script[not(@type='application/ld+json')]|//style|//template|//svg"):
            junk.drop_tree()
        metadata = _markup_metadata(tree)
        pulled = _pull_regions(tree)
        body = _body(tree, metadata)
    except (AssertionError, ValueError):
        # lxml and htmldate trip over some broken trees ("<svg><meta …>"): keep the words
        metadata, pulled, body, stopped = {}, [], [], True
    stripped = _stripped(raw)
    if stopped:
        # the tree holds only the page up to where the parser gave up; every word, unlabelled, beats losing the rest
        pulled, body = [], stripped
    elif not body and sum(map(len, stripped)) > 2 * sum(len(text) for _, text in pulled):
        body = stripped  # markup too broken or too deep for the parser still has its words
    title = metadata.get("title")
    if body and title and _norm(body[0]) == _norm(title):
        body = body[1:]
    pieces = [(label, text) for label, text in pulled if label in (BYLINE, CAPTION)]
    pieces += [(BODY, paragraph) for paragraph in body]
    pieces += [(label, text) for label, text in pulled if label not in (BYLINE, CAPTION)]
    for label, text in pulled:
        if label == BYLINE:  # the markup's own author and site first; a byline's paper or agency when it names none
            name, outlet = byline_parts(text if byline_name(text) else f"By {text}")
            metadata["author"] = metadata.get("author") or name
            metadata["site"] = metadata.get("site") or outlet
        if label == AUTHOR_BIO:
            metadata.setdefault("author_bio", text)
    if not metadata.get("published_at"):
        metadata["published_at"] = find_date(" ".join(t for label, t in pieces if label in (BYLINE, BODY)))
    return pieces, {k: v for k, v in metadata.items() if v}


def _markup_metadata(tree) -> dict:
    def meta(*names):
        for name in names:
            for value in tree.xpath(f"//meta[@property='{name}' or @name='{name}']/@content"):
                if value.strip():
                    return value.strip()
        return None

    found = json_ld(tree.xpath("//script[@type='application/ld+json']/text()"))
    markup = {
        "title": meta("og:title", "twitter:title"),
        "author": meta("author", "article:author", "parsely-author", "sailthru.author"),
        "published_at": iso_date(meta("article:published_time", "datePublished", "pubdate", "date", "dc.date")),
        "updated_at": iso_date(meta("article:modified_time", "dateModified", "og:updated_time")),
        "site": meta("og:site_name", "application-name"),
        "url": (tree.xpath("//link[@rel='canonical']/@href") or [None])[0] or meta("og:url"),
        "language": tree.get("lang") or meta("og:locale", "language"),
    }
    if markup["author"] and markup["author"].startswith("http"):
        markup["author"] = None
    return {k: found.get(k) or markup.get(k) for k in markup}


def _pull_regions(tree) -> list[tuple[str, str]]:
    """Take out every element that is not the article, keeping its text and label."""
    total = max(len(_text(tree)), 1)
    pulled = []
    walk = etree.iterwalk(tree, events=("start",))
    for _, el in walk:
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        label, by_name = _label(el)
        if label is None:
            continue
        text = _text(el)
        # A class name can mislead ("post has-related"); never take out by name
        # what holds most of the page: that is the article itself.
        if by_name and (len(text) > total / 2 or el.xpath(".//article|.//main")):
            continue
        if text:
            pulled.append((label, text))
        el.set("data-dossier-pulled", "1")
        # What is inside goes with it. Skipping it here, rather than asking each element whether an ancestor
        # was pulled, keeps nests 2000 tags deep linear (a 1 MB page of 20 took 8 s, now 0.6 s).
        walk.skip_subtree()
    for el in tree.xpath("//*[@data-dossier-pulled]"):
        el.drop_tree()
    return pulled


def _label(el) -> tuple[str | None, bool]:
    """The region an element holds, and whether only its id/class names say so."""
    if el.tag == "figcaption":
        return CAPTION, False
    structural = (
        el.get("role") in ("navigation", "banner", "contentinfo", "search", "complementary")
        or el.tag in _CHROME_TAGS
        or (el.tag == "header" and not any(a.tag in ("article", "main") for a in el.iterancestors()))
    )
    names = f"{el.get('id', '')} {el.get('class', '')}".strip()
    named = next((label for label, pattern in _BY_NAME if names and pattern.search(names)), None)
    return named or (CHROME if structural else None), not structural


def _body(tree, metadata: dict) -> list[str]:
    doc = trafilatura.bare_extraction(
        lxml.html.tostring(tree, encoding="unicode"), with_metadata=True, include_comments=False, favor_recall=True
    )
    if doc is not None:
        for key, value in (
            ("title", doc.title),
            ("author", doc.author),
            ("published_at", iso_date(doc.date)),
            ("site", doc.sitename),
            ("url", doc.url),
        ):
            metadata[key] = metadata.get(key) or value
    text = (
        doc.text
        if doc is not None and (doc.text or "").strip()
        else _text(tree.find("body") if tree.find("body") is not None else tree)
    )
    return [line.strip() for line in text.split("\n") if line.strip()]


def _text(el) -> str:
    """Visible text with block elements on their own lines."""
    parts = []
    # iterwalk, not recursion: pages can nest tags thousands deep.
    for event, node in etree.iterwalk(el, events=("start", "end")):
        block = isinstance(node.tag, str) and re.fullmatch(_BLOCKS, node.tag)
        if event == "start":
            if block:
                parts.append("\n")
            if node.text and isinstance(node.tag, str):
                parts.append(node.text)
        else:
            if block:
                parts.append("\n")
            if node is not el and node.tail:
                parts.append(node.tail)
    lines = (re.sub(r"\s+", " ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _stripped(raw: str) -> list[str]:
    # Both patterns fail fast where a tag is never closed, so a page of 100 000 "<script" stays linear:
    # an unclosed script runs to the end (as in a browser), a "<" with another "<" before any ">" is text.
    raw = re.sub(r"(?is)<(script|style|template)\b.*?(?:</\1\s*>|\Z)", " ", raw)
    text = html.unescape(re.sub(r"<[^<>]*>", "\n", raw))
    return [line for line in (re.sub(r"\s+", " ", t).strip() for t in text.split("\n")) if line]


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


# A web server's page for a folder: Apache, nginx and lighttpd write "Index of /path", Python "Directory listing for".
_LISTING_TITLE = re.compile(r"\s*(?:index of|directory listing for)\s+/", re.I)
# A link to a file or folder beside the page ("report.pdf", "2024/"), not to a page of the site or elsewhere.
_FILE_LINK = re.compile(r"[^/?#:][^?#:]*(?:\.\w{1,5}|/)")
_PROSE_WORD = re.compile(r"[^\W\d_]{4,}")
_CALENDAR = frozenset(MONTHS + WEEKDAYS)
_LISTED_FILES = 5  # fewer links to files is a page with a few downloads
_LISTING_PROSE = 40  # more words than this outside the links is an article, however many files it links


def is_directory_listing(raw: str) -> bool:
    """Whether a page is a web server's listing of a folder, or another page that is mostly links to files:
    no article, though its file names would pass for one. Words outside the links that only describe the
    files (dates, sizes, "Last modified") are not prose."""
    try:
        tree = lxml.html.fromstring(CONTROL.sub("", raw).encode(), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return False
    if not isinstance(tree.tag, str):
        return False
    if any(_LISTING_TITLE.match(heading.text_content()) for heading in tree.xpath("//title|//h1")):
        return True
    links = [href.strip() for href in tree.xpath("//a/@href")]
    files = sum(bool(_FILE_LINK.fullmatch(href)) for href in links)
    if files < _LISTED_FILES or files < 0.6 * len(links):
        return False
    for element in tree.xpath("//a|//script|//style|//title"):
        element.drop_tree()  # its tail, the text after it, stays
    prose = [w for w in _PROSE_WORD.findall(tree.text_content()) if w.lower() not in _CALENDAR]
    return len(prose) <= _LISTING_PROSE
