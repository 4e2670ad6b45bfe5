"""Answers to "what is the latest on X?" (pure): they come from the newest article among the relevant
ones, and say which day they speak for ("As of 3 Nov 2025: …")."""

import re
from datetime import date

from vectorstore.records import Hit

# A passage counts as relevant to a "latest" question when it scores within this of the best one (and above
# the library's min_relevance): an older report that matches the words better must not outrank a newer one
# on the same thing, and a newer article on another thing must not answer.
RECENT_MARGIN = 0.1
_AS_OF = re.compile(r"\AAs of \d{1,2} [A-Z][a-z]{2} \d{4}: ")


def newest_relevant(hits: list[Hit], floor: float) -> tuple[list[Hit], str | None]:
    """The passages of the newest dated article scoring at least `floor` (best first), and its date;
    all the hits and None when no relevant passage has a date."""
    relevant = [h for h in hits if h.score >= floor and h.published_at]
    if not relevant:
        return hits, None
    newest = max(relevant, key=lambda h: h.published_at[:10])
    return [h for h in hits if h.article_id == newest.article_id], newest.published_at[:10]


def as_of(day: str) -> str:
    """The words an answer opens with to say which day it speaks for: "As of 3 Nov 2025: "."""
    day = date.fromisoformat(day)
    return f"As of {day.day} {day:%b %Y}: "


def without_as_of(sentence: str) -> str:
    """A sentence without the date an answer opens with: the date is the cited article's, not a claim to check."""
    return _AS_OF.sub("", sentence)
