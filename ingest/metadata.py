"""Article metadata from page markup (JSON-LD, OpenGraph, <meta>) and from text: front matter, a header
block of `Key: value` lines, a byline's outlet."""

import json
import re
from datetime import date, datetime

from dossier_core.text import MONTH_ABBREVIATIONS, MONTH_NUMBERS, MONTH_PATTERN, MONTHS, WEEKDAYS

_DATE_PATTERNS = [
    (
        re.compile(rf"\b({MONTH_PATTERN})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", re.I),
        ("month", "day", "year"),
    ),
    (
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH_PATTERN})\.?,?\s+((?:19|20)\d\d)\b", re.I),
        ("day", "month", "year"),
    ),
    (re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b"), ("year", "month", "day")),
]


def find_date(text: str) -> str | None:
    """The first calendar date written in the text, as ISO 8601 (YYYY-MM-DD)."""
    found = []
    for pattern, order in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            parts = dict(zip(order, m.groups()))
            month = parts["month"]
            month = int(month) if month.isdigit() else MONTH_NUMBERS[month.lower()]
            try:
                found.append((m.start(), date(int(parts["year"]), month, int(parts["day"])).isoformat()))
            except ValueError:
                continue
    return min(found)[1] if found else None


def iso_date(value: str | None) -> str | None:
    """A markup date ("2024-11-12T08:00:00+01:00", "Nov 12, 2024") as ISO 8601, keeping the time when given."""
    if not value:
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return find_date(value)


def stated_date(value: str) -> str | None:
    """A date an article's metadata states, as ISO 8601 ("March 3, 2024" → "2024-03-03"; a year, or a month in
    ISO form, stays as written: "1790", "2025-06"), or None when it names no day ("June 2025", "last spring")."""
    value = value.strip()
    # ISO first: find_date reads no date out of "2025-03-21T08:30:00+00:00" (no word break before the T).
    return iso_date(value) or (value if re.fullmatch(r"\d{4}(-\d\d)?", value) else None)


def pdf_date(value) -> str | None:
    """A PDF information date ("D:20250402093000+01'00'") as ISO 8601 (YYYY-MM-DD); its time and zone are
    often missing or wrong (the producer's clock), so only the day is kept."""
    m = re.match(r"(?:D:)?((?:19|20)\d\d)(\d\d)(\d\d)", value.strip()) if isinstance(value, str) else None
    try:
        return date(*map(int, m.groups())).isoformat() if m else None
    except ValueError:
        return None


def json_ld(scripts: list[str]) -> dict:
    """Metadata from the page's schema.org Article object, if it has one."""
    for raw in scripts:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # a page's own broken or absurdly nested JSON-LD is just not metadata
            continue
        for obj in _objects(data):
            kind = obj.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and (k.endswith("Article") or k in ("BlogPosting", "Report")) for k in kinds):
                return {
                    "title": _text(obj.get("headline") or obj.get("name")),
                    "author": _names(obj.get("author")),
                    "published_at": iso_date(_text(obj.get("datePublished"))),
                    "updated_at": iso_date(_text(obj.get("dateModified"))),
                    "site": _names(obj.get("publisher")),
                    "url": _text(obj.get("url"))
                    or _text(
                        (obj.get("mainEntityOfPage") or {}).get("@id")
                        if isinstance(obj.get("mainEntityOfPage"), dict)
                        else obj.get("mainEntityOfPage")
                    ),
                    "language": _text(obj.get("inLanguage")),
                }
    return {}


def _objects(data):
    if isinstance(data, list):
        for item in data:
            yield from _objects(item)
    elif isinstance(data, dict):
        yield data
        yield from _objects(data.get("@graph", []))


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _names(value) -> str | None:
    items = value if isinstance(value, list) else [value]
    names = [_text(v.get("name")) if isinstance(v, dict) else _text(v) for v in items]
    return ", ".join(n for n in names if n) or None


# The keys a front-matter block or a header block may use for each field, in any case and spacing ("Published at",
# "BYLINE", "canonical_url").
_FIELDS = {
    "title": ("title", "headline"),
    "author": ("author", "authors", "by", "byline", "writer"),
    "published_at": ("date", "published", "published_at", "pubdate", "dateline"),
    "site": ("site", "source", "publication", "outlet", "publisher"),
    "url": ("url", "canonical_url", "link"),
}
_FIELD_OF = {key: field for field, keys in _FIELDS.items() for key in keys}


def _field(key: str) -> str | None:
    return _FIELD_OF.get(re.sub(r"[\s-]+", "_", key.strip().lower()))


def given_metadata(pairs: list[tuple[str, str]]) -> dict:
    """The metadata stated by `key: value` pairs: the first value of a field counts (authors add up), the date as
    ISO 8601, a source given as a URL as the url, an outlet the author's byline names as the site."""
    metadata, authors, outlets = {}, [], []
    for key, value in pairs:
        field, value = _field(key), value.strip().strip("'\"").strip()
        if field == "site" and value.startswith(("http://", "https://")):
            field = "url"
        if field == "author" and value:
            who, outlet = byline_outlet(value)
            authors.append(re.sub(r"(?i)^by:?\s+", "", who))
            outlets.append(outlet)
        elif field and value:
            metadata.setdefault(field, value)
    if metadata.get("published_at"):
        metadata["published_at"] = stated_date(metadata["published_at"])
    metadata["author"] = ", ".join(authors)
    metadata.setdefault("site", next(filter(None, outlets), None))
    return {k: v for k, v in metadata.items() if v}


# YAML front matter of Markdown articles (Jekyll, Hugo, Obsidian): simple `key: value` lines.
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


def front_matter(raw: str) -> tuple[dict, str]:
    """The metadata a front-matter block gives, and the text after it."""
    m = _FRONT_MATTER.match(raw)
    if not m:
        return {}, raw
    return given_metadata(re.findall(r"(?m)^([A-Za-z_]+)[ \t]*:[ \t]*(.+)$", m.group(1))), raw[m.end() :]


# A plain-text article's header block: the `Key: value` lines it opens with ("Headline: …", "By: …", "Published
# at: …"), then a blank line or a rule. A key is one to three words; a value is a line, not a paragraph. Lines
# with other keys ("Section: Business") may sit among them and stay in the text. It takes two recognised
# fields, or one line that no sentence opens with: a title, or a date that is only a date ("Date: 3 Nov 2025").
# One other label opening the text ("Update: the bridge reopened …", "Source: a memo seen by …") is the story's
# first words.
_HEADER_LINE = re.compile(r"[*_]{0,2}([A-Za-z][A-Za-z -]{0,23}?)[*_]{0,2}[ \t]*:[*_]{0,2}[ \t]+(\S.*)")
_RULE = re.compile(r"(?:-{3,}|\*{3,}|_{3,}|={3,})")
_HEADER_VALUE_CHARS = 330
_HEADER_VALUE_WORDS = 25
_LONE_DATE_WORDS = 8  # "Date: Sunday, 3 November 2025, 10:30 GMT"


def header_block(text: str) -> tuple[dict, str]:
    """The metadata a header block at the very start of the text gives, and the text without its lines."""
    lines = iter(text.split("\n", 60))  # a header is a few dozen lines at most; a huge text is not split whole
    pairs, others, rest = [], [], []
    for line in lines:
        plain = line.strip()
        if not plain and not pairs and not others:
            continue  # blank lines before the block
        m = _HEADER_LINE.fullmatch(plain) if len(plain) <= _HEADER_VALUE_CHARS else None
        if not m or len(m.group(1).split()) > 3 or len(m.group(2).split()) > _HEADER_VALUE_WORDS:
            rest = [line]
            break
        if _field(m.group(1)):
            pairs.append(m.groups())
        else:
            others.append(line)
    fields = {_field(key) for key, _ in pairs}
    if len(fields) < 2 and not (len(pairs) == 1 and _stands_alone(*pairs[0])):
        return {}, text
    rest += lines
    while rest and not rest[0].strip():
        rest.pop(0)
    if rest and _RULE.fullmatch(rest[0].strip()):
        rest.pop(0)
    return given_metadata(pairs), "\n".join([*others, "", *rest] if others else rest)


def _stands_alone(key: str, value: str) -> bool:
    if _field(key) == "title":
        return not value.endswith(".")
    return _field(key) == "published_at" and len(value.split()) <= _LONE_DATE_WORDS and iso_date(value) is not None


# An outlet a byline names beside the writer: after a "|", in brackets, or a part that names a kind of outlet
# ("By Ana Ruiz, Harbour Press Agency"). A job ("Staff Writer"), a date, a handle or a second person is none.
_OUTLET_WORD = re.compile(
    r"\b(?:Agency|Press|News|Times|Post|Herald|Journal|Ledger|Gazette|Tribune|Reuters|AP|AFP|Bloomberg|Wire|Radio|"
    r"TV|Broadcasting|Daily|Weekly|Review|Chronicle|Courier|Observer|Telegraph|Magazine|Media|Dispatch|Bulletin)\b"
)
_NOT_OUTLET = re.compile(
    r"(?i)\b(?:writer|correspondent|editor|reporter|contributor|staff|columnist|photographer|photos?|analyst|"
    r"author|journalist|producer|intern|min read|updated|published|posted|"
    + "|".join((*MONTHS, *MONTH_ABBREVIATIONS, *WEEKDAYS))
    + r")\b|^@"
)
_BYLINE_PART = re.compile(r"\||\(|\)|[,;·•]|\s[-–—]\s|\s+for\s+")
_BYLINE_WORDS = 15  # longer is a sentence about the writer ("…, who covers shipping for the …"), not a byline


def names_outlet(text: str) -> bool:
    """Whether the words name a kind of outlet ("Harbour Press Agency", "THE VALLEY GAZETTE")."""
    return bool(_OUTLET_WORD.search(text) or (text.isupper() and _OUTLET_WORD.search(text.title())))


def byline_outlet(byline: str) -> tuple[str, str | None]:
    """A byline split into who wrote it and the outlet it names, if it names one:
    "By Ana Ruiz | Harbour Ledger, 3 May 2024" → ("By Ana Ruiz", "Harbour Ledger"). Two people are not a person and
    an outlet: "By Ana Ruiz, Tom Hale" names none."""
    byline = byline.strip(" *_#>")
    if len(byline.split(maxsplit=_BYLINE_WORDS)) > _BYLINE_WORDS:
        return byline, None
    separators = list(_BYLINE_PART.finditer(byline))
    for sep, following in zip(separators, [*separators[1:], None]):
        part = byline[sep.end() : following.start() if following else len(byline)].strip(" .*_")
        marked = sep.group() in ("|", "(")
        named = names_outlet(part)
        who = byline[: sep.start()].strip(" ,;|-–—·•")
        if (
            who
            and (marked or named)
            and re.match(r"(?:the\s+)?[A-Z]", part)
            and len(part.split()) <= 6
            and not _NOT_OUTLET.search(part)
            and (named or not re.search(r"\d", part))  # "Channel 4 News", not "3 May" or "4 min"
        ):
            return who, part
    return byline, None
