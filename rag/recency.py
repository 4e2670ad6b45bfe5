"""Answers to "what is the latest on X?" (pure): they come from the newest article among the relevant
ones, and say which day they speak for ("As of 3 Nov 2025: …")."""

import re
from collections.abc import Iterable, Iterator
from datetime import date

from dossier_core.text import MONTHS
from vectorstore.records import Hit

# A passage counts as relevant to a "latest" question when it scores within this of the best one (and above
# the library's min_relevance): an older report that matches the words better must not outrank a newer one
# on the same thing, and a newer article on another thing must not answer. Measured (bench/news.md, "Recency margin")
# on bench/conflicts' 9 latest questions and 12 harder invented ones, newest relevant article chosen:
# margin 0.05: 6/9 + 4/12; 0.10: 9/9 + 5/12; 0.15: 9/9 + 8/12; 0.17: 9/9 + 8/12 but an off-topic newer article
# answers one; 0.25: 8/9 + 8/12, four off-topic. A newer article on the same thing scored up to 0.32 below the
# best, one on another thing 0.167 below it at the closest. A decay of the score by age does worse: updates days
# apart (a death toll) barely decay, so the older one answers at every rate (8/9), and at 0.1 a year, its best
# (18/21), two off-topic newer articles answer.
RECENT_MARGIN = 0.15
_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?!\d)")


def newest_relevant(hits: list[Hit], floor: float) -> tuple[list[Hit], str | None]:
    """The passages of the newest dated article scoring at least `floor` (best first), and its date;
    all the hits and None when no relevant passage has a date."""
    relevant = [h for h in hits if h.score >= floor and published_day(h.published_at)]
    if not relevant:
        return hits, None
    newest = max(relevant, key=lambda h: published_day(h.published_at))
    return [h for h in hits if h.article_id == newest.article_id], published_day(newest.published_at)


def published_day(published_at: str | None) -> str | None:
    """The day, month or year an article's date starts with ("2025-11-04", "2025-11", "2025"), which sort
    as dates; None when it does not start with one (a dump may give "March 3, 2024" as it found it)."""
    found = _ISO.match(published_at or "")
    if not found:
        return None
    year, month, day = found.groups()
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    return found.group()


def as_of(day: str) -> str:
    """The words an answer opens with to say which day it speaks for: "As of 3 Nov 2025: "."""
    return f"As of {day_label(day)}: "


def day_label(published_at: str) -> str:
    """A date as answers write it: "3 Nov 2025" (or "Nov 2025", "2025"); one not in ISO form as it is."""
    day = published_day(published_at)
    if day is None:
        return published_at.strip()
    if len(day) == 4:
        return day
    year, month, *rest = map(int, day.split("-"))
    named = f"{MONTHS[month - 1][:3].title()} {year}"  # not strftime's %b: that follows the machine's locale
    return f"{rest[0]} {named}" if rest else named


def with_as_of(pieces: Iterable[str], day: str | None) -> Iterator[str]:
    """An answer's pieces opened with the day it speaks for ("As of 3 Nov 2025: The fare …"), the space a
    model starts with dropped; the pieces as they are when there is no day."""
    if day is None:
        yield from pieces
        return
    yield as_of(day)
    started = False
    for piece in pieces:
        if not started:
            piece = piece.lstrip()
            started = bool(piece)
        if piece:
            yield piece
