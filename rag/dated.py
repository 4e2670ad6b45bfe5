"""Answers whose sources differ in date say so (pure): each quoted sentence opens with its article's day
("30 Sep 2023: The average rent … [2]"), and a model's answer that names none of its sources' days gains a
line naming them. The days an answer gives its sources are the articles' own, shown on each source line, so
the citation check leaves them out of the claims it checks."""

import re
from collections.abc import Iterable

from dossier_core.text import MONTH_NUMBERS, MONTH_PATTERN
from rag.answer import Answer
from rag.markers import cited
from rag.recency import day_label, published_day
from vectorstore.records import Hit

# A day as answers and models write it: 2025-11-04, 4 Nov 2025, 4th of November, November 4, 2025, Nov. 2025.
_MONTH = rf"(?:{MONTH_PATTERN})"
_ORDINAL = r"(?:st|nd|rd|th)?"
_DAY = (
    r"(?P<y1>\d{4})-(?P<m1>\d{2})-(?P<d1>\d{2})"
    rf"|(?P<d2>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<m2>{_MONTH})\.?(?:,?\s+(?P<y2>\d{{4}}))?"
    rf"|(?P<m3>{_MONTH})\.?\s+(?P<d3>\d{{1,2}}){_ORDINAL}(?!\d)(?:,?\s+(?P<y3>\d{{4}}))?"
    rf"|(?P<m4>{_MONTH})\.?,?\s+(?P<y4>\d{{4}})"
)
_NAMED = re.compile(rf"\b(?:{_DAY})\b", re.IGNORECASE)
# A day with what comes with it in an answer: "As of 3 Nov 2025: ", "4 Nov 2025: ", "on 4 November 2025, ",
# "(2025-11-04)".
_GIVEN = re.compile(rf"(?:\b(?:as of|on)\s+)?\(?\b(?:{_DAY})\b\)?[:,]?\s*", re.IGNORECASE)


def _read(m: re.Match) -> tuple[int | None, int, int | None]:
    """(year, month, day of the month) of a day as written; the year or the day of the month may be unsaid."""
    found = {name[0]: value for name, value in m.groupdict().items() if value}
    year, month, day = found.get("y"), found["m"], found.get("d")
    number = int(month) if month.isdigit() else MONTH_NUMBERS[month.lower()]
    return int(year) if year else None, number, int(day) if day else None


def _same_day(m: re.Match, days: set[tuple[int, int | None, int | None]], whole: bool) -> bool:
    """Whether a day as written is one of `days` (year, month, day of the month, as far as known): the same
    month, and year if it gives one; to the day when `whole`, else the same day of the month if both give one."""
    year, month, dom = _read(m)

    def same(y: int, mo: int | None, d: int | None) -> bool:
        return mo == month and year in (None, y) and (dom == d if whole else None in (dom, d) or dom == d)

    return any(same(*day) for day in days)


def _days(published: Iterable[str | None]) -> set[tuple[int, int | None, int | None]]:
    """The dates given in ISO form, as (year, month, day of the month), None where not given."""
    return {tuple([*map(int, day.split("-")), None, None][:3]) for day in map(published_day, published) if day}


def without_days(claim: str, cited: Iterable[str | None], shown: Iterable[str | None] | None = None) -> str:
    """A claim without the day Dossier opened it with ("As of 3 Nov 2025: ", "1854: ", a day of any article
    `shown`, default the cited ones) and without the days its `cited` articles were published ("On 4 November
    2025, the council …"): those are the articles' own, not claims their text must hold. Another article's
    day stays, to be checked."""
    cited = [p for p in cited if p]
    shown = cited if shown is None else [p for p in shown if p]
    labels = "|".join(re.escape(day_label(p)) for p in shown)
    claim = re.sub(rf"\A(?:As of )?(?:{labels}): ", "", claim) if labels else claim
    days = _days(cited)
    if not days:
        return claim
    return _GIVEN.sub(lambda m: "" if _same_day(m, days, whole=True) else m.group(), claim).strip()


def dated_quotes(pieces: list[str], passages: list[Hit]) -> list[str]:
    """Quotes each citing its passage ([n] is passages[n - 1]), opened with their article's day when the
    articles cited differ in date: "30 Sep 2023: The average monthly rent … [2]"; a quote from the same day as
    the one before it goes on without."""
    numbers = {n for piece in pieces for n in cited(piece) if 0 < n <= len(passages)}
    day = {n: published_day(passages[n - 1].published_at) for n in numbers}
    if len(set(day.values()) - {None}) < 2:
        return pieces
    out, previous = [], None
    for piece in pieces:
        published = next((day[n] for n in cited(piece) if day.get(n)), None)
        text = piece.lstrip()
        new = published and published != previous
        out.append(f"{piece[: len(piece) - len(text)]}{day_label(published)}: {text}" if new else piece)
        previous = published or previous
    return out


def dates_note(answer: Answer) -> str:
    """What a model's checked answer gains when the articles its sentences come from (the citations that
    support one) differ in date and it names none of their days: a line giving each one's day; else ""."""
    sources = [c for c in answer.citations if c.highlights and published_day(c.published_at)]
    days = _days(c.published_at for c in sources)
    if len(days) < 2 or any(_same_day(m, days, whole=False) for m in _NAMED.finditer(answer.text)):
        return ""
    return "\n\nThe sources differ in date: " + "; ".join(f"[{c.n}] {day_label(c.published_at)}" for c in sources) + "."
