"""Dates in questions (pure): "since March", "in 2019", "last week" become bounds on published_at, and
"latest", "still", "so far" a preference for newer articles.

A date is a filter only where a date word governs it ("in 2019", "since March", "before the vote in
November 2024") or where it is relative on its own ("last week", "yesterday"). A bare year or month is
part of the topic ("the 2019 budget", "May said"), and so is a date followed straight by a lowercase
content word ("in 2019 cases", "in May elections"). Everything is read by precompiled regular
expressions: dateparser is slow, reads relative words by the machine's locale, and every absolute form
read here (ISO, "3 November 2025", "Nov. 3", "March 2024") is a month name and numbers.

Bounds are inclusive days. A period running to now ("since March", "this week", "the past 3 days") leaves
`until` open: the caller caps it at today or --as-of. An event dated by a period counts as that period:
"before the election in November 2024" ends on 31 October.
"""

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from dossier_core.text import (
    MONTH_ABBREVIATIONS,
    MONTH_NUMBERS,
    MONTH_PATTERN,
    MONTHS,
    NUMBER_VALUES,
    STOPWORDS,
    WEEKDAYS,
)
from rag.recency import day_label

DAY = timedelta(days=1)
# Counts written as words ("the past two weeks").
_COUNTS = {w: NUMBER_VALUES[w] for w in "one two three four five six seven eight nine ten eleven twelve".split()}
_COUNTS |= {"couple of": 2, "few": 3, "twenty": 20, "thirty": 30}
_MODIFIERS = {"early": 0, "start": 0, "beginning": 0, "mid": 1, "middle": 1, "late": 2, "end": 2}

# Words that may follow a date filter without the date modifying them ("in 2019 since", "since May onwards").
_CONTINUING = STOPWORDS | set("since until till ago onwards according compared following amid among".split())
_STOPS = "|".join(sorted(_CONTINUING, key=len, reverse=True))
_FULL_MONTHS = "|".join(m for m in MONTHS if m != "may")
_ABBREVIATED = "|".join(sorted(MONTH_ABBREVIATIONS, key=len, reverse=True))
# "may" is a month when capitalised or before a number ("may 3"); an abbreviation needs its full stop or a
# number ("Nov. 3", "Jan 2024"), so "after Jan resigned" is a name.
_MONTH = rf"(?:(?:{_FULL_MONTHS})\b|(?-i:May)\b|may\b(?= \d)|(?:{_ABBREVIATED})(?:\.|\b(?= \d)))"
_DAY_NUMBER = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\b"
_YEAR = r"(?:1[89]|20)\d\d\b(?![.,/:–-]?\d|%)"
_MODIFIER = r"(?:(?:early|mid|late)(?: |-)|the (?:start|beginning|middle|end) of )"
# Dates written with digits. Atomic, so "March 2024" never falls back to "March" when the guard fails.
_DATED = (
    rf"(?>\d{{4}}-\d\d(?:-\d\d)?\b|{_DAY_NUMBER} (?:of )?{_MONTH}(?:,? {_YEAR})?|{_MONTH} {_DAY_NUMBER}(?:,? {_YEAR})?"
    rf"|{_MODIFIER}?{_MONTH},? (?:of )?{_YEAR}|{_MODIFIER}?{_YEAR})"
)
# A date followed by a lowercase word that is not a stopword modifies that word: topic, not a filter.
_NOT_MODIFIER = rf"(?! (?-i:(?!(?:{_STOPS})\b)[a-z]))"
_RELATIVE = (
    r"(?-i:today|yesterday|(?<!\w\s)Today|(?<!\w\s)Yesterday)|(?<!the\s)(?:this|last|previous) (?:week|month|year)"
    rf"|last (?:{_FULL_MONTHS}|May|{'|'.join(WEEKDAYS)})\b"
)
_POINT = rf"{_DATED}{_NOT_MODIFIER}|{_MODIFIER}?{_MONTH}(?!,? \d){_NOT_MODIFIER}|(?:{'|'.join(WEEKDAYS)})\b|{_RELATIVE}"
_PARTS = {
    "<P>": rf"(?P<p>{_POINT})",
    "<Q>": rf"(?P<q>{_POINT})",
    "<D>": rf"(?P<p>{_DATED}{_NOT_MODIFIER}|{_RELATIVE})",  # a point that cannot be a name ("from May")
    "<R>": rf"(?P<p>{_RELATIVE})",
    # An event dated by the point ("the election in"): the filter is the point, the event stays in the question.
    "<E>": r"(?:(?:[^\W\d][\w'’-]* ){1,4}?(?P<at>in|on) )??",
    "<N>": rf"(?P<n>\d{{1,3}}|{'|'.join(_COUNTS)}|a couple of|a few)",
    "<U>": r"(?P<u>hour|day|week|month|year|decade)",
}
# "the still images", "stand still": still as an adjective, not "still in office".
_STILL = "".join(rf"(?<!\b{w}\s)" for w in "a an the this that stand stood sit sat keep kept stay stayed lie".split())

# (phrase pattern, meaning), one line a kind; earliest, then longest, then first in this list wins.
# A space is any whitespace; <P> and <Q> are points in time (a day, month, year, weekday, "last week"),
# <D> a point with digits or a relative one, <R> a relative one, <E> an event, <N> a count, <U> a unit.
PHRASES = [
    (r"as of (?:today|now)|so far(?! (?:as|away|from|off|beyond|behind)\b)|to date|at present|nowadays", "latest"),
    (r"between <P> and (?:<Q>|now)", "range"),
    (r"(?:in|during) <P> and <Q>", "range"),
    (r"from <P> (?:to|until|till|through) (?:<Q>|now|date)", "range"),
    (r"(?:in|during|from|between) (?P<p>(?:1[89]|20)\d\d)\s*[-–]\s*(?P<q>(?:1[89]|20)\d\d)", "range"),
    (r"since <E><P>(?: onwards?)?", "since"),
    (r"from <P> onwards?", "since"),
    (r"after <E><P>", "after"),
    (r"before <E><P>", "before"),
    (r"(?:until|till|through|up to) <E><P>", "until"),
    (r"as of <P>", "as of"),
    (r"(?:in|during|throughout|on) <P>", "in"),
    (r"from <D>", "in"),
    (r"of <R>", "in"),
    (r"<R>", "in"),
    (r"(?:(?:in|over|during|within|for) )?(?:the )?(?:last|past) <N> <U>s?(?! (?:of|before|after)\b)", "past"),
    (r"(?:(?:in|over|during|within|for) )?the (?:last|past) <U>(?! (?:of|before|after)\b)", "past"),
    (r"latest|newest|most recent(?:ly)?|recent(?:ly)?|lately|currently", "latest"),
    (r"current(?= [a-z])(?! (?:accounts?|of|through|in|from|flows?)\b)|now", "latest"),
    (rf"{_STILL}still(?! (?:life|images?|photos?|pictures?|frames?|shots?)\b)", "latest"),
]

# What each meaning makes of its point's first and last day: (since, until), or None when it makes no sense
# ("after this week": a period that runs to now has no last day to count from).
_BOUNDS = {
    "in": lambda first, last: (first, last),
    "since": lambda first, last: (first, None),
    "before": lambda first, last: (None, first - DAY),
    "after": lambda first, last: last and (last + DAY, None),
    "until": lambda first, last: last and (None, last),
    "as of": lambda first, last: last and (None, last),
}


def _compile(pattern: str) -> re.Pattern:
    for part, text in _PARTS.items():
        pattern = pattern.replace(part, text)
    # Whole words only, and not a possessive ("last year's budget" is about the budget).
    pattern = pattern.replace(" ", r"\s+")
    return re.compile(rf"(?<![\w'’-])(?:{pattern})(?![\w-]|['’]s\b)", re.IGNORECASE)


@cache
def compiled() -> list[tuple[re.Pattern, str]]:
    """The table's patterns, compiled when the first question is read (some 50 ms: not at every import)."""
    return [(_compile(pattern), meaning) for pattern, meaning in PHRASES]


_ISO = re.compile(r"(\d{4})-(\d\d)(?:-(\d\d))?")
_MONTH_NAME = re.compile(rf"\b(?:{MONTH_PATTERN})\b", re.IGNORECASE)
_YEAR_DIGITS = re.compile(r"\d{4}")


@dataclass(frozen=True)
class DateIntent:
    """What a question says about dates. `since` and `until` bound published_at (inclusive; None is open),
    `recency` asks for the newest state, `phrases` are the phrases read as written, `question` is the
    question without the phrases that became filters."""

    question: str
    since: date | None = None
    until: date | None = None
    recency: bool = False
    phrases: tuple[str, ...] = ()

    def describe(self) -> str:
        """The chip label: "since 1 Mar 2026", "1–31 Mar 2024", "latest first", or "" for none."""
        if self.since and self.until:
            dates = _span_label(self.since, self.until)
        else:
            dates = f"since {_label(self.since)}" if self.since else f"until {_label(self.until)}" if self.until else ""
        return ", ".join(filter(None, (dates, "latest first" if self.recency else "")))


def read_dates(question: str, today: date) -> DateIntent:
    """The dates a question asks about, relative to `today`. Phrases that contradict one read earlier are dropped."""
    found = [(m, meaning) for pattern, meaning in compiled() for m in pattern.finditer(question)]
    found.sort(key=lambda f: (f[0].start(), -f[0].end()))  # stable: on a tie the table's order stands
    since = until = None
    recency, phrases, cuts, end = False, [], [], -1
    for match, meaning in found:
        read = None if match.start() < end else _read(match, meaning, today)
        if read is None:
            continue
        low = max(filter(None, (since, read[0])), default=None)
        high = min(filter(None, (until, read[1])), default=None)
        if low and high and low > high:
            continue
        since, until, recency, end = low, high, recency or read[2], match.end()
        phrases.append(match.group())
        if read[0] or read[1]:
            cuts.append((match.start("at"), match.end()) if match.groupdict().get("at") else match.span())
    return DateIntent(_without(question, cuts), since, until, recency, tuple(phrases))


def _read(match: re.Match, meaning: str, today: date) -> tuple[date | None, date | None, bool] | None:
    """(since, until, recency) for one phrase, or None when its date does not exist ("Feb. 30")."""
    if meaning == "latest":
        return None, None, True
    if meaning == "past":
        since = _past(match.groupdict().get("n"), match["u"].lower(), today)
        return since and (since, None, False)
    p, q = _points(match["p"], match.groupdict().get("q"), today)
    if p is None or (match.groupdict().get("q") and q is None):
        return None
    if meaning == "range":
        if q and q[1] and p[0] > q[1]:  # "between 2021 and 2019"
            p, q = q, p
        return p[0], q[1] if q else None, False
    bounds = _BOUNDS[meaning](*p)
    return bounds and (*bounds, meaning == "as of")


def _points(p_text: str, q_text: str | None, today: date) -> tuple[tuple | None, tuple | None]:
    """The spans of a phrase's points. In a range of months, a start without a year is the nearest before the
    end ("from November to February 2024" is November 2023), an end without one the nearest after the start."""
    if q_text is None:
        return _span(p_text, today), None
    named = _MONTH_NAME.search(p_text) and _MONTH_NAME.search(q_text)
    if named and not _YEAR_DIGITS.search(p_text):
        q = _span(q_text, today)
        return (_span(p_text, q[1]) if q else None), q
    p = _span(p_text, today)
    if named and not _YEAR_DIGITS.search(q_text):
        return p, (_span(q_text, p[0], forward=True) if p else None)
    return p, _span(q_text, today)


def _span(text: str, ref: date, forward: bool = False) -> tuple[date, date | None] | None:
    """First and last day of a point; without a year, the nearest one not after `ref` (or not before it,
    forward). The last day is None for a period that runs to now ("this week")."""
    words = re.findall(r"\d+|[^\W\d_]+", text.lower())
    relative = " ".join(words).replace("previous", "last")
    monday = ref - timedelta(days=ref.weekday())
    first = ref.replace(day=1)
    relatives = {
        "today": (ref, ref),
        "yesterday": (ref - DAY, ref - DAY),
        "this week": (monday, None),
        "last week": (monday - 7 * DAY, monday - DAY),
        "this month": (first, None),
        "last month": (_months_back(first, 1), first - DAY),
        "this year": (date(ref.year, 1, 1), None),
        "last year": (date(ref.year - 1, 1, 1), date(ref.year - 1, 12, 31)),
    }
    if relative in relatives:
        return relatives[relative]
    if words[0] == "last":  # "last March" is before this month, "last Friday" before today
        return _span(text.split(None, 1)[1], (first if words[1] in MONTH_NUMBERS else ref) - DAY)
    if relative in WEEKDAYS:  # the latest such day, today included
        day = ref - timedelta(days=(ref.weekday() - WEEKDAYS.index(relative)) % 7)
        return day, day
    iso = _ISO.fullmatch(text)
    numbers = [int(w) for w in words if w.isdigit()]
    year = int(iso[1]) if iso else next((n for n in numbers if n > 31), None)
    month = int(iso[2]) if iso else next((MONTH_NUMBERS[w] for w in words if w in MONTH_NUMBERS), None)
    day = (iso[3] and int(iso[3])) if iso else next((n for n in numbers if n <= 31), None)
    if year is None and month is None:
        return None
    try:
        if month is None:
            return _part(date(year, 1, 1), date(year, 12, 31), words)
        if day is None:
            if year is None:
                year = ref.year + (month < ref.month) if forward else ref.year - (month > ref.month)
            return _part(date(year, month, 1), date(year, month, monthrange(year, month)[1]), words)
        if year is not None:
            return date(year, month, day), date(year, month, day)
    except ValueError:  # month 13, 30 February
        return None
    return _nearest(month, day, ref, forward)


def _nearest(month: int, day: int, ref: date, forward: bool) -> tuple[date, date] | None:
    for shift in range(9):  # 29 February can be eight years away
        try:
            found = date(ref.year + shift if forward else ref.year - shift, month, day)
        except ValueError:
            continue
        if (found >= ref) if forward else (found <= ref):
            return found, found
    return None


def _part(first: date, last: date, words: list[str]) -> tuple[date, date]:
    """The early, middle or late third of a month (days 1–10, 11–20, 21–end) or year (four months each)."""
    third = next((_MODIFIERS[w] for w in words if w in _MODIFIERS), None)
    if third is None:
        return first, last
    if first.month == last.month:
        return first.replace(day=(1, 11, 21)[third]), last.replace(day=(10, 20, last.day)[third])
    end_month = (4, 8, 12)[third]
    return date(first.year, end_month - 3, 1), date(first.year, end_month, monthrange(first.year, end_month)[1])


def _past(count: str | None, unit: str, today: date) -> date | None:
    """The first day of "the past N units": N units before today (a month back from 31 May is 30 April)."""
    words = " ".join((count or "one").lower().split()).removeprefix("a ")
    n = int(words) if words.isdigit() else _COUNTS[words]
    if unit in ("hour", "day", "week"):
        return today - timedelta(days=-(-n // 24) if unit == "hour" else n * (7 if unit == "week" else 1))
    try:
        return _months_back(today, n * {"month": 1, "year": 12, "decade": 120}[unit])
    except ValueError:  # before year 1
        return None


def _months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def _without(question: str, cuts: list[tuple[int, int]]) -> str:
    """The question without the filter phrases, tidied; unchanged when nothing (or only dates) would be left."""
    if not cuts:
        return question
    text = question
    for start, end in sorted(cuts, reverse=True):
        text = f"{text[:start]} {text[end:]}"
    text = " ".join(text.split())
    text = re.sub(r"[,;:]\s*(?=[,;:?.!]|$)", "", re.sub(r"\s+(?=[,;:?.!])", "", text)).lstrip(",;: ")
    if not re.search(r"\w", text):
        return question
    return text[:1].upper() + text[1:] if question[:1].isupper() else text


def _label(day: date) -> str:
    return day_label(day.isoformat())


def _span_label(first: date, last: date) -> str:
    if first == last:
        return _label(first)
    if first.year != last.year:
        return f"{_label(first)} – {_label(last)}"
    return f"{first.day}–{_label(last)}" if first.month == last.month else f"{_label(first)[:-5]} – {_label(last)}"


# Questions asking how something changed over time (rag.timeline answers them).
_CHANGED = r"chang(?:e|ed|ing)|evolv(?:e|ed|ing)|develop(?:ed)?|shift(?:ed)?|progress(?:ed)?|risen|grown|fallen"
_AFTER = r"\s*(?:$|[?.!,;]|\s+(?:since|over|from|between|in|during|through|after|across|so far)\b)"
_ASKS = re.compile(
    rf"\btime\s?lines?\b|\bchronolog(?:y|ical)\b|\bover (?:the )?(?:years|time|decades?|past (?:few |\w+ )?years)\b"
    rf"|\bhow (?:has|have|did|does|do|is|are)\b[^?]{{1,120}}?\b(?:{_CHANGED}){_AFTER}"
    rf"|\bwhat (?:has|have) happened (?:with|to)\b|\bwhat happened (?:with|to)\b[^?]{{1,120}}?\bsince\b"
    r"|\b(?:history|evolution) of\b",
    re.I,
)
# The words of a timeline question that ask for change, not for what changed: passages rarely say "changed".
_CHANGE_WORDS = re.compile(
    rf"\b(?:{_CHANGED}|develops|time\s?lines?|chronolog(?:y|ical)|history|evolution|happened)\b"
    r"|\bover (?:the )?(?:years|time|decades?)\b|\b(?:give|show|tell) me\b|\bplease\b",
    re.I,
)


def asks_timeline(question: str) -> bool:
    """Whether the question asks how something changed over time."""
    return bool(_ASKS.search(question))


def topic(question: str) -> str:
    """A timeline question without its words of change: "How has the fare changed?" → "How has the fare?"."""
    return re.sub(r"\s+(?=[?.!,;])", "", " ".join(_CHANGE_WORDS.sub(" ", question).split()))
