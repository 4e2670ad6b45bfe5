"""What a question asks for (pure): its answer type, the names it mentions, and whether a
sentence holds an answer of that type. Plain rules over words and capitals: they must work on
articles no one has seen, offline, in microseconds."""

import re

from dossier_core.text import (
    MONTH_ABBREVIATIONS,
    MONTH_PATTERN,
    MONTHS,
    NUMBER_WORDS,
    WEEKDAYS,
    content_words,
    singular,
)

# A question, not a document: longer ones are refused rather than scanned by every rule.
MAX_QUESTION = 2000

# The types whose answer a sentence can be seen to hold (a number, a date, a name, a quotation).
KINDS = frozenset({"quantity", "date", "person", "organisation", "place", "quote"})

# The first rule that matches the question decides (order matters: "how many" before "how").
_TYPE_RULES = [
    (
        "quantity",
        r"\bhow (much|many|long|far|old|tall|big|large|often|high|deep|wide|fast|heavy)\b"
        r"|\b(what|which) (margin|score|majority|speed|distance|size|length|height|weight|capacity)\b"
        r"|\bby (what|how much|how many)\b"
        r"|\bwhat (is|was|are|were) the ([\w-]+ )?(toll|cost|price|budget|score|total|number|amount|rate"
        r"|population|margin|majority|speed|fine|bill)\b"
        r"|\bwhat (percentage|percent|share|proportion|number|amount|sum|price|cost|figure|total|rate|toll)\b"
        # "What did the turbines cost?", "What will it cost taxpayers?" (not "What did she say about the cost?")
        r"|\b(how much|what) (did|does|do|will|would|could|might) "
        r"((?!(say|said|tell|think|ask|write|claim|report|about|of|on)\b)[\w'’-]+ ){1,6}(cost|weigh|measure|earn)\b",
    ),
    (
        "date",
        r"\bwhen\b|\bwhat (year|date|day|month|time|decade|century|hour)\b|\bat what (time|hour|point)\b"
        r"|\bwhat (is|was) the (\w+ )?(date|time|day|year)\b"
        r"|\b(which|what) (year|date|day|month)\b|\bsince when\b",
    ),
    (
        "quote",
        r"\b(call|calls|called|describe|describes|described|characteri[sz]e[sd]?|dub|dubbed|label"
        r"|labelled|labeled"
        r"|term|termed)\b|\bwhat (did|does|do) .{1,60}\b(say|said|tell|told|warn|argue|claim)\b"
        r"|\bwhat words?\b|\bhow did .{1,60}\b(react|respond|reply)\b",
    ),
    (
        "organisation",
        r"\b(which|what) ([\w-]+ )?(company|firm|agency|organi[sz]ation|group|party|body|council"
        r"|department|ministry"
        r"|authority|union|team|operator|newspaper|court|university|committee|bank|board)\b",
    ),
    (
        "place",
        r"\bwhere\b|\b(which|what) (city|town|village|country|state|county|region|province|station|street"
        r"|river|place|port|airport|district|neighbou?rhood|island|continent)\b|\bin which\b",
    ),
    (
        "person",
        r"\bwho(m|se)?\b|\b(which|what) (person|official|minister|leader|man|woman|president|mayor|engineer"
        r"|investigator|spokes(man|woman|person)|chief|director|author|reporter|driver|officer|judge)\b",
    ),
    (
        "reason",
        r"\bwhy\b|\bwhat (caused|causes|led to|leads to|prompted|triggered|explains)\b|\bfor what reason\b"
        r"|\bhow come\b|\bwhat was the (cause|reason)\b",
    ),
    (
        "definition",
        r"^\s*what (is|are|was|were) (an? |the )?[\w-]+( [\w-]+)?\s*\??\s*$|\bwhat does .{1,80} mean\b"
        r"|\bwhat is meant by\b",
    ),
    ("yesno", r"^\s*(is|are|was|were|do|does|did|can|could|will|would|has|have|had|should|shall|may|might)\b"),
]
_TYPE_PATTERNS = [(name, re.compile(pattern, re.I)) for name, pattern in _TYPE_RULES]

# Number words, and the fractions and multiples that also state a quantity.
_QUANTITY_WORDS = "|".join(sorted(NUMBER_WORDS | {"quarter", "third", "double", "twice", "triple"}))
_CALENDAR = frozenset(MONTHS + MONTH_ABBREVIATIONS + WEEKDAYS)

_QUANTITY = re.compile(rf"\d|[$€£¥%]|\b(percent|per cent|{_QUANTITY_WORDS})\b", re.I)
_DATE = re.compile(
    rf"\b(1[5-9]\d\d|20\d\d)\b|\b\d{{1,2}}[:.]\d\d\b|\b[ap]\.?m\.?(?!\w)|\b(noon|midnight|dawn|dusk|yesterday|today"
    rf"|tomorrow|tonight|(last|next|this) (week|month|year|spring|summer|autumn|fall|winter)"
    rf"|{'|'.join(WEEKDAYS)}|{MONTH_PATTERN})\b",
    re.I,
)
_QUOTED = re.compile(r"[“\"‘]([^”\"’]{2,200})[”\"’]|(?<!\w)'([^']{2,200})'(?!\w)")
_REASON = re.compile(
    r"\b(because|due to|owing to|as a result|caused|blamed|after|since|so that|led to|leading to|resulted"
    r"|reason|attributed|following|stemmed|triggered|in order to|thanks to)\b",
    re.I,
)
_DEFINITION = re.compile(r"\b(is|are|was|were|refers to|means|known as|describes?)\b", re.I)
_ORG_WORD = re.compile(
    r"\b(Council|Ministry|Department|Agency|Authority|Board|Committee|Commission|Inc|Ltd|Corp|Corporation|Company"
    r"|Group|Bank|University|Institute|Association|Union|Party|Court|Railways?|Rail|Trust|Foundation|Office"
    r"|Service|Services|Police|Constabulary|Network|Times|News|Post|Press|Systems|plc|Partners|Holdings)\b"
    r"|\b[A-Z]{2,6}\b"
)
# Words written with a capital that are not names: sentence openers, titles, question words.
_NOT_NAMES = (
    frozenset(
        "a an the this that these those it its he she they we i you his her their our my your what who whom whose "
        "which when where why how is are was were do does did can could will would has have had should shall may might "
        "and but or if in on at of for to from by with as after before since during about mr mrs ms dr prof sir "
        "according also however meanwhile then there here yes no not am pm a.m p.m so ok".split()
    )
    | _CALENDAR
)
_TITLES = frozenset("mr mrs ms dr prof sir president minister mayor governor senator judge chief inspector".split())
_CAPITALISED = re.compile(r"\b[A-Z][\w’'&.-]*(?:\s+(?:(?:of|de|la|von|van|der|the)\s+)?[A-Z][\w’'&.-]*)*")
# Where a sentence or line starts: its first word is capitalised whatever it is.
_OPENER = re.compile(r"(?:^|[.?!:;]\s+|\n)[\s\"“‘'(]*\Z")


def answer_type(question: str) -> str:
    """The kind of answer a question asks for: a name in _TYPE_RULES, or "other". The rule matching earliest
    decides ("What did she say about when …" asks for a quote, "Was it … when …" yes or no); on a tie, the
    first rule listed."""
    found = [
        (m.start(), n, name) for n, (name, pattern) in enumerate(_TYPE_PATTERNS) if (m := pattern.search(question))
    ]
    return min(found)[2] if found else "other"


def names(text: str) -> list[str]:
    """Capitalised word runs that look like names ("Harbor Bridge", "Ana Ruiz"), minus
    question words, titles and sentence openers. A lone capitalised word opening a sentence or
    line is taken for an ordinary word ("Officials said …", "Name the …", "… Give details.")."""
    found = []
    for m in _CAPITALISED.finditer(text):
        words = [w.strip(".’'").removesuffix("’s").removesuffix("'s") for w in m.group().split()]
        if len(words) == 1 and _OPENER.search(text[max(0, m.start() - 40) : m.start()]):
            continue
        while words and words[0].lower() in _NOT_NAMES | _TITLES:
            words.pop(0)
        while words and words[-1].lower() in _NOT_NAMES:
            words.pop()
        if words and not (len(words) == 1 and len(words[0]) < 2):
            found.append(" ".join(words))
    return list(dict.fromkeys(found))


# Words that name a kind of thing rather than which one ("Stanford University", "Lake Baikal").
_GENERIC = frozenset(
    "university college school institute academy river lake sea ocean bay island mount mountain valley bridge "
    "street road "
    "avenue square city town village county state states republic kingdom empire province district council company "
    "corporation group party house hall park station airport port church cathedral museum war battle treaty "
    "protocol act "
    "north south east west northern southern eastern western new old great greater national international united royal "
    "saint st fort center centre club league association society department ministry agency board committee junction "
    "crossing square lane hill field green market".split()
)


def _word(word: str) -> str:
    """A lowercase word of a name as compared: no possessive, no plural ("Smiths'", "Bridges")."""
    return singular(word.removesuffix("'s").removesuffix("’s"))


def _near(word: str, words: set[str]) -> bool:
    """In `words`, or (for words of five letters or more) one typo away: a letter changed or two swapped."""
    if word in words:
        return True
    if len(word) < 5:
        return False
    for other in words - _CALENDAR:  # "Marsh" is no typo of "March"
        if len(other) == len(word):
            diff = [i for i, (a, b) in enumerate(zip(word, other)) if a != b]
            if len(diff) == 1 or (
                len(diff) == 2
                and diff[1] == diff[0] + 1
                and word[diff[0]] == other[diff[1]]
                and word[diff[1]] == other[diff[0]]
            ):
                return True
    return False


def mentions(name: str, text: str) -> bool:
    """Whether a text mentions a name: the words that say which one it is ("Stanford" of
    "Stanford University"), written with a capital as names are ("Corran Water" is not
    mentioned by "hold water back") — at least half of them, more than half of three or more;
    plurals, possessives and one typo forgiven. For an acronym, also the initials of a
    capitalised run ("NTSB", "National Transportation Safety Board")."""
    words = [_word(w) for w in re.findall(r"[\w’']+", name.lower()) if w not in _NOT_NAMES and w not in _TITLES]
    specific = [w for w in words if w not in _GENERIC] or words
    capitalised = {_word(w.lower()) for w in re.findall(r"[\w’']+", text) if w[0].isupper()}
    found = sum(_near(w, capitalised) for w in specific)
    if not specific or (2 * found > len(specific) if len(specific) >= 3 else 2 * found >= len(specific)):
        return True
    initials = (
        "".join(w[0] for w in run.split() if w[0].isupper() and w.lower() not in _NOT_NAMES)
        for run in _CAPITALISED.findall(text)
    )
    acronym = name.removesuffix("'s").removesuffix("’s")
    return acronym.isupper() and any(acronym in run for run in initials)


def _new_names(sentence: str, question_words: set[str]) -> list[str]:
    return [n for n in names(sentence) if not content_words(n) <= question_words]


# A number, or a number word, as a pattern piece.
_NUMERAL = rf"(?:\d[\d,.]*|{_QUANTITY_WORDS})"
_MONEY = re.compile(
    r"[$€£¥]\s?\d|\d\s?(?:%|per ?cent|percent)|\b(million|billion|trillion|dollars|pounds|euros)\b", re.I
)
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d\d\b|\b\d{1,2}\s?[ap]\.?m\b\.?|\b(noon|midnight)\b", re.I)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_ASKS_CLOCK = re.compile(r"\b(what|which) (time|hour)\b|\bat what time\b", re.I)
_ASKS_YEAR = re.compile(r"\b(what|which) year\b|\bin what year\b", re.I)
_ASKS_MONEY = re.compile(r"\bhow much\b|\b(cost|price|spend|spent|worth|budget|paid|pay|fund|raise|fine)\b", re.I)
_COUNTED = re.compile(r"\bhow many ([a-z][a-z-]+)", re.I)
# Words around a person's name: a title or role before it, or speech, an age or a role after it.
_ROLES = (
    "dr|mr|mrs|ms|mx|prof|professor|sir|dame|lord|lady|councillor|councilor|senator|minister|mayor|governor"
    "|president|judge|inspector|chief|officer|director|executive|chairman|chairwoman|chair|spokesman|spokeswoman"
    "|spokesperson|engineer|driver|guard|author|reporter|editor|analyst|leader|secretary|manager|founder"
    "|captain|sergeant|detective|constable|coroner|resident|passenger|witness|student|teacher|doctor|nurse"
)
_PERSON_CUE = re.compile(
    rf"\b(?i:{_ROLES})\.?,?\s+(?:[A-Z][\w'’-]+\s+){{0,2}}[A-Z][\w'’-]+"
    rf"|\b[A-Z][\w'’-]+\s+[A-Z][\w'’-]+,?\s+(?:\d{{1,3}},|(?:who|said|says|told|wrote|added|explained|warned)\b)"
    r"|\b(?:named|identified)\s+(?:as\s+)?[A-Z][\w'’-]+\s+[A-Z]|\baccording to\s+[A-Z][\w'’-]+\s+[A-Z]"
)
_PLACE_CUE = re.compile(r"\b(?:in|at|near|outside|from|to|towards|across|along|beside|below|above)\s+(?:the\s+)?[A-Z]")
_STRONG_REASON = re.compile(
    r"\b(because|due to|owing to|as a result|caused by|blamed|attributed to|the reason|"
    r"led to|leading to|resulted from|stemmed from|so that|in order to|thanks to)\b",
    re.I,
)
_SAID = re.compile(r"\b(said|says|told|warned|argued|added|according to)\b", re.I)
_CALLED = re.compile(r"\b(call|called|calls|describe|described|describes|dubbed|labelled|labeled|termed)\b", re.I)


def answer_strength(kind: str, sentence: str, question: str) -> float:
    """How surely a sentence holds an answer of this kind that the question does not already
    give: 1 for the very kind asked for ("112 passengers" for "how many passengers", a time of
    day for "at what time"), 0.5 for the looser kind (any number, any date, any name), else 0."""
    rest = _without(sentence, question)
    asked = content_words(question)
    if kind == "quantity":
        counted = _COUNTED.search(question)
        if counted:
            noun = re.escape(next(iter(content_words(counted.group(1))), counted.group(1))[:5])
            if re.search(rf"\b{_NUMERAL}\s+(?:[\w-]+\s+){{0,3}}?{noun}", rest, re.I):
                return 1.0
        elif _ASKS_MONEY.search(question) and _MONEY.search(rest):
            return 1.0
        return 0.5 if _QUANTITY.search(rest) else 0.0
    if kind == "date":
        if _ASKS_CLOCK.search(question):
            return 1.0 if _CLOCK.search(rest) else 0.3 * bool(_DATE.search(rest))
        if _ASKS_YEAR.search(question):
            return 1.0 if _YEAR.search(rest) else 0.3 * bool(_DATE.search(rest))
        return 1.0 if _DATE.search(rest) else 0.0
    if kind == "quote":
        return 1.0 if _QUOTED.search(sentence) else 0.5 * bool(_CALLED.search(sentence) or _SAID.search(sentence))
    if kind == "reason":
        return 1.0 if _STRONG_REASON.search(sentence) else 0.5 * bool(_REASON.search(sentence))
    if kind == "definition":
        return 1.0 if _DEFINITION.search(sentence) else 0.0
    new = _new_names(sentence, asked)
    if kind == "organisation":
        return 1.0 if any(_ORG_WORD.search(n) for n in new) else 0.0
    if kind == "person":
        if not new:
            return 0.0
        cued = any(
            _personal(m.group()) and not content_words(m.group()) <= asked for m in _PERSON_CUE.finditer(sentence)
        )
        return 1.0 if cued else 0.5
    if kind == "place":
        return (1.0 if _PLACE_CUE.search(sentence) else 0.5) if new else 0.0
    return 0.0


def _personal(cued: str) -> bool:
    """Whether the capitalised words of a cue look like a person's name, not an organisation's
    or a place's ("Vale Constabulary said", "Saltings Junction, 12,")."""
    capitalised = [w for w in re.findall(r"[\w'’-]+", cued) if w[0].isupper()]
    return not any(w.lower() in _GENERIC or _ORG_WORD.fullmatch(w) for w in capitalised)


def _without(sentence: str, question: str) -> str:
    """The sentence minus the numbers and dates the question itself states ("in 2019")."""
    for token in set(re.findall(r"\d[\d,.:]*\d|\d", question)):
        sentence = re.sub(rf"(?<![\d.,:]){re.escape(token)}(?![\d]|[.,:]\d)", " ", sentence)
    return sentence
