"""Which articles a question may draw on (pure: a test of an article's record, and the scope a question is
answered in, from one read of the article records)."""

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from dossier_core.errors import InputError, NotFound
from vectorstore.handle import library_name
from vectorstore.records import ArticleRecord

# Filters become an id list in the vector and lexical queries; SQLite caps a query's variables.
MAX_FILTERED_ARTICLES = 10_000


@dataclass(frozen=True)
class Filters:
    """All given conditions must hold. `source` matches the outlet (publisher) or
    part of the source path/URL, `author` part of the author line, `since`/`until`
    the published date (inclusive; a date, a datetime — its own day — or "YYYY-MM-DD", kept as the latter),
    `articles` article ids. An article without a date passes a date condition only when `undated`.
    `libraries` names the store's libraries to ask (a list, or "a,b"); none: those the settings name."""

    source: str | None = None
    author: str | None = None
    since: str | date | None = None
    until: str | date | None = None
    articles: tuple[str, ...] = ()
    undated: bool = False
    libraries: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, iso_day(name, value))
        if isinstance(self.articles, str):
            object.__setattr__(self, "articles", (self.articles,))
        names = self.libraries.split(",") if isinstance(self.libraries, str) else self.libraries
        object.__setattr__(self, "libraries", tuple(dict.fromkeys(library_name(n.strip()) for n in names if n.strip())))

    def __str__(self) -> str:
        """The conditions on articles (the libraries are where they are looked for)."""
        return ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v and k != "libraries")

    def __bool__(self) -> bool:
        """Whether the filters narrow the articles (libraries choose where to look, not which articles)."""
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


def iso_day(name: str, value: str | date) -> str:
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


@dataclass(frozen=True)
class Scope:
    """What a question is answered from."""

    filters: "Filters | None"  # the filters given, narrowed to the question's dates where they apply
    articles: list[str] | None  # ids of the articles allowed (None: every one)
    left_out: int = 0  # articles without a date that the dates leave out
    dated: bool = False  # the question's dates narrowed the filters


def scope(records: list[ArticleRecord], filters: "Filters | None", since: date | None, until: date | None) -> Scope:
    """The scope of a question under `filters` whose words name the days `since`…`until` (None: open). The
    days apply only where an article the filters allow has a date: in an encyclopedia "in 1997" is the topic."""
    dated = bool(since or until) and any(r.published_at and (not filters or filters.matches(r)) for r in records)
    if dated:
        filters = (Filters() if filters is None else filters).within(since, until)
    if not filters:
        return Scope(filters, None)
    left_out = sum(not r.published_at for r in records) if filters.dated and not filters.undated else 0
    allowed = [r.id for r in records if filters.matches(r)]
    if not allowed:
        undated = f"; {left_out} undated left out: include undated articles with --include-undated" if left_out else ""
        raise NotFound(f"no article matches the filters {filters}{undated}; see `python -m ingest list`")
    if len(allowed) > MAX_FILTERED_ARTICLES:
        raise InputError(
            f"the filters {filters} match {len(allowed)} articles, over {MAX_FILTERED_ARTICLES}; narrow them"
        )
    return Scope(filters, None if len(allowed) == len(records) else allowed, left_out, dated)
