"""Which articles a question may draw on (pure)."""

from dataclasses import dataclass
from datetime import date

from ingest.errors import DossierError


@dataclass(frozen=True)
class Filters:
    """All given conditions must hold. `source` matches the publisher (site) or
    part of the source path/URL, `author` part of the author line, `since`/`until`
    the published date (YYYY-MM-DD, inclusive), `articles` article ids."""

    source: str | None = None
    author: str | None = None
    since: str | None = None
    until: str | None = None
    articles: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise DossierError(f"{name}={value!r} is not a date; write it as YYYY-MM-DD") from None

    def __bool__(self) -> bool:
        return any((self.source, self.author, self.since, self.until, self.articles))

    def matches(self, article: dict) -> bool:
        """Does an article record's metadata (source, site, author, published_at) pass?"""
        day = (article.get("published_at") or "")[:10]
        return (
            (not self.source or self.source.lower() in (article.get("site") or "").lower() or self.source.lower() in article["source"].lower())
            and (not self.author or self.author.lower() in (article.get("author") or "").lower())
            and (not self.since or (day and day >= self.since))
            and (not self.until or (day and day <= self.until))
            and (not self.articles or article["article_id"] in self.articles)
        )
