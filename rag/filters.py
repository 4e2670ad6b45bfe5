"""Which articles a question may draw on (pure: a test of an article's record)."""

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from dossier_core.errors import InputError
from vectorstore.records import ArticleRecord


@dataclass(frozen=True)
class Filters:
    """All given conditions must hold. `source` matches the outlet (publisher) or
    part of the source path/URL, `author` part of the author line, `since`/`until`
    the published date (inclusive; a date, a datetime — its own day — or "YYYY-MM-DD", kept as the latter),
    `articles` article ids. An article without a date passes a date condition only when `undated`."""

    source: str | None = None
    author: str | None = None
    since: str | date | None = None
    until: str | date | None = None
    articles: tuple[str, ...] = ()
    undated: bool = False

    def __post_init__(self):
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _day(name, value))
        if isinstance(self.articles, str):
            object.__setattr__(self, "articles", (self.articles,))

    def __str__(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v)

    def __bool__(self) -> bool:
        return any((self.source, self.author, self.since, self.until, self.articles))

    def matches(self, record: ArticleRecord) -> bool:
        """Does an article (its outlet, source, author, published date and id) pass?"""
        # A date may be a year or a month ("1790", "2024-07"): it passes when its span overlaps.
        day = (record.published_at or "")[:10]
        undated = not day and self.undated
        return bool(
            (
                not self.source
                or self.source.lower() in (record.outlet or "").lower()
                or self.source.lower() in record.source.lower()
            )
            and (not self.author or self.author.lower() in (record.author or "").lower())
            and (not self.since or undated or (day and day >= self.since[: len(day)]))
            and (not self.until or undated or (day and day <= self.until[: len(day)]))
            and (not self.articles or record.id in self.articles)
        )

    def within(self, since: date | None, until: date | None) -> "Filters":
        """These filters narrowed to the days from `since` to `until` (either open when None)."""
        low = max(filter(None, (self.since, since and since.isoformat())), default=None)
        high = min(filter(None, (self.until, until and until.isoformat())), default=None)
        return replace(self, since=low, until=high)

    @property
    def dated(self) -> bool:
        return bool(self.since or self.until)


def _day(name: str, value: str | date) -> str:
    """A date given as date, datetime or text, as YYYY-MM-DD."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise InputError(f"{name}={value!r} is not a date; write it as YYYY-MM-DD")
