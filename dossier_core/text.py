"""Pure text helpers: whitespace normalisation, sentence spans with offsets, words, and the calendar and
number words every layer reads."""

import re

# Control characters (C0 but tab and line ends, and DEL): never text, and lxml refuses to hold them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MONTHS = tuple("january february march april may june july august september october november december".split())
MONTH_ABBREVIATIONS = tuple("jan feb mar apr jun jul aug sep sept oct nov dec".split())
# Any month name or abbreviation, as a regular expression alternative (longest first: "sept" before "sep").
MONTH_PATTERN = "|".join(sorted({*MONTHS, *MONTH_ABBREVIATIONS}, key=lambda w: (-len(w), w)))
# Each month name and abbreviation → its number ("sept" → 9).
MONTH_NUMBERS = {w: [m[:3] for m in MONTHS].index(w[:3]) + 1 for w in (*MONTHS, *MONTH_ABBREVIATIONS)}
WEEKDAYS = tuple("monday tuesday wednesday thursday friday saturday sunday".split())
# Quantities written as words: a claim stating "twelve" needs a passage stating it.
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion trillion "
    "half dozen dozens".split()
)
# What the number words below a hundred count.
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
NUMBER_VALUES = {w: i for i, w in enumerate(f"{_ONES} seventeen eighteen nineteen".split())}
NUMBER_VALUES |= {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
# Single plain spaces are left alone: replacing each of a 48 MiB article's 8 million spaces
# made re.sub hold 8 million pieces (700 MiB).
_INLINE_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200b\u202f\u205f\u3000]")
_MANY_BLANKS = re.compile(r"\n{3,}")

# A sentence may end at . ! ? or … (plus closing quotes/brackets) when whitespace and a letter or digit
# follow (after an opening quote or bracket), or at a CJK full stop; _ends_sentence decides. A match starts
# only where a run of stops starts, and runs never give back: a line of 100 000 dots stays linear. Groups:
# the stops, the closers, the opener, the first character of what follows.
_SENTENCE_END = re.compile(r"(?<![.!?…])([.!?…]++)([\"”’')\]]*+)(?=\s+([\"“‘'(\[¿¡]?)([^\W_]))|[。！？]+")
# Abbreviations (lowercase, without their last full stop). Any word of letters and dots such as "u.s", "e.g"
# or "ph.d" (_DOTTED), and any single letter (an initial), counts too.
_ABBREVIATIONS = frozenset(
    "mr mrs ms messrs dr prof sr jr st vs etc cf gen gov sen rep pres supt det insp inc ltd co corp "
    "bros dept univ assn ave blvd rd lt col maj capt sgt cpl adm rev hon ft mt".split()
) | frozenset(MONTH_ABBREVIATIONS)
# Words that are abbreviations only before a number ("No. 5", "Fig. 3", "est. 1890"); before anything else
# they are words ("The answer was no.", "She studied art.").
_NUMBERED = frozenset("no nos fig figs vol vols pp art sec ch approx est".split())
_DOTTED = re.compile(r"(?:[^\W\d_]{1,2}\.)+[^\W\d_]{1,2}")
# After an abbreviation, a capitalised word is usually a name going on with the sentence ("Dr. Okafor",
# "U.S. Senate", "St. Louis"), so the sentence ends there only when the word is one that starts sentences
# ("... in the U.S. The family ...") and is not itself an initial ("Mr. A. Smith").
_STARTERS = frozenset(
    "the a an he she it they we i you his her its their our my this that these those there here but and or so yet "
    "in on at by for from to with as if when while after before since although though because however meanwhile "
    "still now then some many most all both each every no not what who where why how which mr mrs ms dr "
    "one two three four five six seven eight nine ten".split()
)
# a.m. and p.m. are the reverse: the capitalised words that carry on a time are few ("7 p.m. Friday",
# "9 a.m. EST"), and any other ("at 7:15 p.m. Officials said") starts a new sentence.
_TIMES = frozenset(["a.m", "p.m"])
_AFTER_TIME = frozenset(
    "mon tue tues wed thu thur thurs fri sat sun eastern central mountain pacific atlantic greenwich "
    "et est edt ct cst cdt mt mst mdt pt pst pdt gmt utc bst cet cest ist jst aest aedt".split()
) | frozenset(WEEKDAYS + MONTHS + MONTH_ABBREVIATIONS)
# What may come before a list item's full stop: "1." "b." "(iv)." are not sentences of their own.
_LIST_MARKER = re.compile(r"\(?(?:\d{1,3}|[^\W\d_]|[ivxlIVXL]{1,5})\)?")
_NEXT_WORD = re.compile(r"[^\W_]+")
_SPACES = re.compile(r"\s*")
# "Why?" Smith asked. — a question or exclamation quoted before its speaker goes on with the sentence.
_SPEAKER = re.compile(
    r"(?:[^\W\d_][\w'’-]*[ \t]+){1,3}(?:said|says|asked|asks|added|replied|wrote|told|shouted|cried|"
    r"recalled|insisted|explained|continued|whispered|yelled|answered)\b"
)


def normalize_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL.sub("", text)
    lines = (_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _MANY_BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _ends_sentence(text: str, stop: re.Match, begin: int, line_end: int) -> bool:
    """Whether the candidate `stop` ends the sentence that begins at `begin`. It reads only the last word
    before the stop and a few words after it, never past the sentence's start or the line's end: splitting
    stays linear, and a sentence quoted alone splits as it did in its passage."""
    stops, closers, opener, first = stop.groups()
    if stops is None:  # a CJK full stop
        return True
    if first.islower():
        return False
    after = stop.start(4)
    if stops[-1] in "?!" and closers and not opener:
        return not _SPEAKER.match(text, after, min(after + 60, line_end)) or _is_starter(text, after, line_end)
    if stops != "." or closers:
        return True
    if stop.start() - begin <= 12 and _LIST_MARKER.fullmatch(text, begin, stop.start()):
        return False
    if opener == "[" and first.isdigit():  # a citation marker: "... moved to the U.S. [2]"
        return True
    words = text[max(stop.start() - 40, begin) : stop.start()].split()
    token = words[-1].lstrip("\"“‘'([").lower() if words else ""
    if token in _NUMBERED:
        return not first.isdigit()
    initial = len(token) == 1 and token.isalpha()
    if not (token in _ABBREVIATIONS or token in _TIMES or initial or _DOTTED.fullmatch(token)):
        return True
    if first.isdigit():  # "Jan. 12", "the U.S. 10-year note"
        return False
    if token in _TIMES:
        return _NEXT_WORD.match(text, after, min(after + 40, line_end)).group().lower() not in _AFTER_TIME
    return _is_starter(text, after, line_end)


def _is_starter(text: str, at: int, line_end: int) -> bool:
    word = _NEXT_WORD.match(text, at, min(at + 40, line_end))
    return word.group().lower() in _STARTERS and not (len(word.group()) == 1 and text.startswith(".", word.end()))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, int]]:
    """(start, end, paragraph) for each sentence of text[start:end].

    Lines are hard breaks (scraped pages put headings and captions on their own
    lines); blank lines separate paragraphs. Spans never include surrounding
    whitespace, so only whitespace lies between consecutive spans.
    """
    end = len(text) if end is None else end
    spans = []
    paragraph = 0
    for line in re.finditer(r"[^\n]+|\n\s*\n", text[start:end]):
        if not line.group().strip():
            paragraph += 1
            continue
        cut, line_end = start + line.start(), start + line.end()
        begin = _SPACES.match(text, cut, line_end).end()  # where the sentence's first word is
        for stop in _SENTENCE_END.finditer(text, cut, line_end):
            if _ends_sentence(text, stop, begin, line_end):
                spans.append((cut, stop.end(), paragraph))
                cut, begin = stop.end(), _SPACES.match(text, stop.end(), line_end).end()
        spans.append((cut, line_end, paragraph))
    return [_strip(text, s, e, p) for s, e, p in spans if text[s:e].strip()]


def _strip(text: str, start: int, end: int, paragraph: int) -> tuple[int, int, int]:
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip()), paragraph


WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves s t""".split()
)


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def singular(word: str) -> str:
    """A word without its plural s ("bridges" → "bridge"); not a double s ("glass") nor a short word's ("bus")."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _stem(word: str) -> str:
    """A light stem, so "measure", "measures", "measured" and "measuring" match: plural s,
    then -ed / -ing, then a final e, each only where enough of the word is left."""
    word = singular(word)
    for ending in ("ing", "ed"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            word = word[: -len(ending)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def plural(n: int, word: str) -> str:
    """'1 article', '3 articles' (for words whose plural adds an s)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
