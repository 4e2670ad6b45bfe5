"""Region labelling for scraped pages saved as text, and for Markdown.

A scraped page is mostly lines: site chrome, a title, a caption, the body,
an author box, comments, a reply form, teasers for other articles. Section
headings ("About the Author", "3 Comments", "Leave a Reply", "You May Also
Like") switch what the following lines are; before the body, only the title
and captions are worth keeping. Markdown gets the same reading, except that
a first-level heading is its title and a paragraph wrapped over several
lines is read whole.
"""

import re
from dataclasses import dataclass

from ingest.metadata import byline_outlet, find_date, names_outlet

BODY, TITLE, BYLINE, AUTHOR_BIO, CAPTION, COMMENTS, RELATED, CHROME = (
    "body",
    "title",
    "byline",
    "author_bio",
    "caption",
    "comments",
    "related",
    "chrome",
)
LABELS = (BODY, TITLE, BYLINE, AUTHOR_BIO, CAPTION, COMMENTS, RELATED, CHROME)


def _any(*patterns: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


# Headings that open a section of the page; what follows belongs to it.
_SECTION_HEADINGS = {
    AUTHOR_BIO: _any(r"about the (author|writer)s?\b.*", r"(author|writer) bio(graphy)?", r"about (me|us)"),
    COMMENTS: _any(
        r"\d+\s+(comments?|responses?|replies|thoughts on .*)",
        r"comments?( \(\d+\))?",
        r"(show|view|read) (all )?comments?",
        r"join the (discussion|conversation)",
        r"discussion",
        r"reader comments",
    ),
    CHROME: _any(
        r"leave a (reply|comment)",
        r"post a comment",
        r"add a comment",
        r"cancel reply",
        r"share this( article| story)?:?",
        r"newsletter",
        r"sign up.*",
        r"subscribe.*",
        r"follow us.*",
        r"connect with us",
    ),
    RELATED: _any(
        r"you (may|might) (also )?like",
        r"related( articles| stories| posts| content| coverage)?",
        r"read (more|next|also)",
        r"more (from|stories|on|in) .*",
        r"more stories",
        r"recommended( for you| reading)?",
        r"(trending|popular)( now| stories)?",
        r"most (read|popular|viewed)",
        r"further reading",
        r"see also",
        r"latest (news|stories|posts)",
        r"editor'?s picks",
    ),
}
_WRITTEN_BY = _any(r"written by:?", r"posted by:?", r"(author|by):?")
# Single lines that are chrome wherever they stand.
_CHROME_LINE = _any(
    r"hi,? what are you looking for\??",
    r"search( for)?:?( …| \.\.\.)?",
    r"skip to (main )?content",
    r"menu",
    r"home",
    r"close",
    r"(share|tweet|email|print|copy link|pin it|whatsapp|facebook|twitter|linkedin|x|reddit)"
    r"( this)?( article| story| link)?:?",
    r"advertisement",
    r"sponsored( content)?",
    r"click here.*",
    r".*\b(accept|manage|use) (all )?cookies\b.*",
    r".*\bcookie (policy|settings|preferences)\b.*",
    r"your email address will not be published\..*",
    r"required fields are marked.*",
    r"(post|submit) comment",
    r"save my name, email.*",
    r"all rights reserved\.?.*",
    r"©.*",
    r"copyright ©?.*",
    r"\d+ shares?",
    r"(log ?in|sign ?in|register|subscribe|sign up)( now| today)?",
    r"listen to (this|the) (article|story).*",
    r"\d+ min(ute)? read",
    r"(previous|next) (article|post|story)",
    r"tags?:.*",
    r"filed under:?.*",
    r"uncategorized",
)
_RELATED_LINE = _any(r"(read|see) (more|also|next):.*", r"related:.*", r"recommended:.*")
_CAPTION_CUE = re.compile(
    r"\((?:R|L|C|left|right|center|centre|top|bottom)\)"
    r"|\b(?:photo|image|picture|file photo|credit|courtesy|getty|reuters|AP Photo|AFP|shutterstock)\b",
    re.I,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_ENDS_WITH_DATE = re.compile(rf"\b{_MONTH}\s+\d{{1,2}},?\s+(?:19|20)\d\d[.)]?$", re.I)
# Wire credits: "Reporting by A; editing by B", usually in brackets at the story's end.
_CREDITS = re.compile(r"^\(?(?:reporting|writing|editing|additional reporting|compiled|edited) by\b", re.I)
# At the very end of a post, a heading that only opens a list of links ("Related on Sensor Week", "More from
# us"): looser than the section headings above, so it counts only when links alone follow it.
_LINKS_HEADING = _any(
    r"(related|more|read (more|next|also)|see also|also on|elsewhere|further reading|recommended)\b.*"
)
_MARKDOWN_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
# A closing note on the writer, set apart in italics: "*Ana Reyes edits the Weekly. …*".
_AUTHOR_NOTE = re.compile(
    r"^([*_])(?![*_])[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3},? "
    r"(?:is|was|edits|writes|covers|reports|has|joined|leads)\b.*\1$"
)
_BYLINE = re.compile(
    r"^\**(?i:(?:posted|written|words|story|text)\s+)?(?i:by)\s+(?P<name>[A-Z][\w.'’-]+(?:\s+(?:[A-Z][\w.'’-]+|de|van|von|da|al|bin))*(?:\s+(?:and|&)\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+)*)?)"
)


@dataclass(frozen=True)
class Line:
    start: int
    end: int
    text: str

    @property
    def words(self) -> int:
        """Counted up to 26: no rule here asks about more, and splitting a 48 MiB line whole took 500 MiB."""
        return len(self.text.split(maxsplit=25))


def has_date(text: str) -> bool:
    return find_date(text) is not None


def lines_of(text: str) -> list[Line]:
    return [Line(m.start(), m.end(), m.group().strip()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]


# The lookbehind tries the trailing pattern only where a run starts: a line of 100 000 ": " stays linear.
_LEADING_DECORATION = re.compile(r"^[#>*_\s-]+")
_TRAILING_DECORATION = re.compile(r"(?<![*_\s:])[*_\s:]+$")


def _plain(line: str) -> str:
    """The line without Markdown decoration, for matching."""
    return _TRAILING_DECORATION.sub("", _LEADING_DECORATION.sub("", line)).strip()


def is_prose(line: Line) -> bool:
    ends = line.text.rstrip("\"”’')]*_").endswith((".", "!", "?", "…", ":"))
    return (line.words >= 12 and ends) or line.words >= 25


def is_caption(line: Line) -> bool:
    return line.words >= 5 and bool(_CAPTION_CUE.search(line.text) or _ENDS_WITH_DATE.search(line.text.rstrip(".")))


def section_of(line: Line) -> str | None:
    """The section a heading line opens, if it is one."""
    if line.words > 8:
        return None
    plain = _plain(line.text)
    for label, pattern in _SECTION_HEADINGS.items():
        if pattern.fullmatch(plain):
            return label
    return None


def is_credits(line: Line) -> bool:
    return bool(_CREDITS.match(_plain(line.text))) and not is_prose(line)


def byline_name(text: str) -> str | None:
    m = _BYLINE.match(_plain(text))
    return m.group("name").strip() if m and len(text.split()) <= 12 else None


def label_lines(text: str, markdown: bool = False) -> list[tuple[Line, str]]:
    """Each non-empty line of a scraped page with its region label.

    `markdown`: the text was written in Markdown, where a paragraph may be wrapped over several lines and a
    first-level heading names the article."""
    lines = lines_of(text)
    wrapped = _wrapped_prose_starts(text, lines) if markdown else set()
    body_start = next(
        (i for i, line in enumerate(lines) if i in wrapped or (is_prose(line) and not is_caption(line))), None
    )
    if body_start is None:  # no prose at all: nothing to tell apart, keep everything
        return [(line, BODY) for line in lines]
    labels = _label_preamble(lines[:body_start], markdown) + _label_rest(lines[body_start:])
    _label_tail(lines, labels)
    return list(zip(lines, labels))


# Lines that are Markdown blocks of their own, never part of a paragraph: headings, quotes, table rows, code
# fences, list items, rules.
_BLOCK_LINE = re.compile(r"[#>|]|```|~~~|[-*+]\s|\d{1,9}[.)]\s|[-=*_\s]+$")
ATX_TITLE = re.compile(r"#\s+\S")  # "# Title"; not "## Section", nor "#hashtag"


def _wrapped_prose_starts(text: str, lines: list[Line]) -> set[int]:
    """The first lines of the hard-wrapped paragraphs that are prose as a whole.

    Wrapped at 80 characters, a paragraph's lines are each short of the words or the full stop that make a
    line prose, and only its last line would count. A wrapped paragraph is two or more adjacent lines, every
    one but the last filled to near the paragraph's width: a column of menu items or a byline above a long
    paragraph line is no wrapped paragraph."""
    runs, run = [], []
    for i, line in enumerate(lines):
        adjacent = run and text.count("\n", lines[run[-1]].end, line.start) == 1
        if run and not adjacent:
            runs.append(run)
            run = []
        if _BLOCK_LINE.match(line.text):
            runs.append(run)
            run = []
        else:
            run.append(i)
    runs.append(run)
    starts = set()
    for run in (r for r in runs if len(r) >= 2):
        width = max(len(lines[i].text) for i in run)
        filled = all(lines[i].words >= 6 and len(lines[i].text) >= 0.7 * width for i in run[:-1])
        clutter = any(section_of(lines[i]) or _CHROME_LINE.fullmatch(_plain(lines[i].text)) for i in run)
        joined = Line(lines[run[0]].start, lines[run[-1]].end, " ".join(lines[i].text for i in run))
        if filled and not clutter and is_prose(joined):
            starts.add(run[0])
    return starts


def _title_of(lines: list[Line], markdown: bool) -> int | None:
    def fits(line: Line) -> bool:
        return not section_of(line) and not _CHROME_LINE.fullmatch(_plain(line.text)) and not is_caption(line)

    # A Markdown author names the article in a first-level heading, however short ("# Tides").
    headings = [i for i, line in enumerate(lines) if markdown and ATX_TITLE.match(line.text) and fits(line)]
    titles = headings or [
        i
        for i, line in enumerate(lines)
        if 3 <= line.words <= 25 and not line.text.rstrip().endswith(".") and fits(line)
    ]
    return max(titles, key=lambda i: (lines[i].words >= 4, lines[i].text.startswith("#"), lines[i].words), default=None)


def _label_preamble(lines: list[Line], markdown: bool) -> list[str]:
    labels = [CHROME] * len(lines)
    title = _title_of(lines, markdown)
    for i, line in enumerate(lines):
        if i == title:
            labels[i] = TITLE
        elif byline_name(line.text) or (line.words <= 10 and has_date(line.text)):
            labels[i] = BYLINE
        elif is_caption(line):
            labels[i] = CAPTION
            # A short line right before a caption, after the title, is the image's own label.
            if i > 0 and labels[i - 1] == CHROME and title is not None and i - 1 > title and lines[i - 1].words <= 8:
                labels[i - 1] = CAPTION
        elif is_prose(line):
            labels[i] = BODY
    return labels


def is_link_line(line: Line) -> bool:
    """Mostly a Markdown link: "- [Title](https://…)", "[Title](…) (March 2024)"."""
    links = _MARKDOWN_LINK.findall(line.text)
    rest = _MARKDOWN_LINK.sub(" ", line.text)
    return bool(links) and len(re.findall(r"\w+", rest)) < sum(len(re.findall(r"\w+", text)) for text in links)


def _label_tail(lines: list[Line], labels: list[str]) -> None:
    """Relabel the end of the body: a list of links under a "Related …" heading, then the writer's note."""
    last = max((i for i, label in enumerate(labels) if label == BODY), default=None)
    if last is None:
        return
    first_link = last + 1
    while first_link > 0 and labels[first_link - 1] == BODY and is_link_line(lines[first_link - 1]):
        first_link -= 1
    heading = first_link - 1
    if (
        first_link <= last
        and heading >= 0
        and labels[heading] == BODY
        and lines[heading].words <= 8
        and _LINKS_HEADING.fullmatch(_plain(lines[heading].text))
    ):
        labels[heading : last + 1] = [RELATED] * (last + 1 - heading)
        last = max((i for i in range(heading) if labels[i] == BODY), default=None)
    if last is not None and _AUTHOR_NOTE.match(lines[last].text) and any(label == BODY for label in labels[:last]):
        labels[last] = AUTHOR_BIO


def _label_rest(lines: list[Line]) -> list[str]:
    labels = []
    state = BODY
    seen = set()
    for i, line in enumerate(lines):
        plain = _plain(line.text)
        section = section_of(line)
        if section:
            state = section
            labels.append(CHROME if section == CHROME else section)
            continue
        if _WRITTEN_BY.fullmatch(plain):
            # "Bruce Klingner / Written By": the name line above is the byline too.
            if labels and lines[i - 1].words <= 5:
                labels[-1] = BYLINE
            labels.append(BYLINE)
            state = AUTHOR_BIO
            continue
        if state == BODY:
            # A line of decoration alone ("---", "* * *") holds no words.
            if not plain or _CHROME_LINE.fullmatch(plain) or (line.words <= 6 and plain.lower() in seen):
                labels.append(CHROME)
            elif _RELATED_LINE.fullmatch(plain):
                labels.append(RELATED)
            elif (byline_name(line.text) and not is_prose(line)) or is_credits(line):
                labels.append(BYLINE)
            else:
                labels.append(BODY)
        else:
            labels.append(state)
        seen.add(plain.lower())
    return labels


def byline_parts(text: str) -> tuple[str | None, str | None]:
    """The writer a byline line names, and the outlet it names beside them ("By Ana Ruiz | Harbour Ledger").
    Without a "By", only a name with its outlet in brackets is a byline: "Ana Ruiz (Harbour Wire)"."""
    who, outlet = byline_outlet(text)
    name = byline_name(text)
    bracketed = outlet and f"{who} ({outlet})" in text and names_outlet(outlet) and not names_outlet(who)
    if not name and bracketed and len(who.split()) >= 2 and byline_name(f"By {who}") == who:
        name = who
    return name, outlet if name else None
