"""Article metadata from page markup (JSON-LD, OpenGraph, <meta>) and from text."""

import json
import re
from datetime import date, datetime

from dossier_core.text import MONTH_PATTERN

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
            month = int(month) if month.isdigit() else datetime.strptime(month[:3].title(), "%b").month
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
