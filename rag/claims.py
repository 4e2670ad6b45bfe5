"""Values as news writes them (pure): the numbers, dates and names in a role that a sentence states, each
with what it is about (a count's noun, a unit or currency, the event and subject words next to it) and the
range of values it allows, so that "1,200", "1200", "twelve hundred", "1.2 thousand" compare as one, and
"$48 million", "48 million dollars", "US$48m"; "3.5 %", "3.5 per cent"; "6.4 m", "6.4 metres", "21 feet".

An exact figure allows its last written digit's rounding ("1.2 thousand": 1,150–1,250), "about X" ±10 %,
"nearly X" the 10 % below, "more than X" everything above, "fewer than X" everything below, "1,100–1,300" and
"between 1,100 and 1,300" their range ("from 1,200 to 3,000" is a change: two figures). Years, clock times,
and identifiers ("Route 66") are not counted things. A name's role is an office held ("the agency's director,
Ana Ruiz") or what one person did in one event (the winning goal's scorer, a contest's winner).
rag.conflicts compares claims."""

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from dossier_core.text import (
    MONTH_ABBREVIATIONS,
    MONTH_NUMBERS,
    MONTHS,
    NUMBER_VALUES,
    STOPWORDS,
    WEEKDAYS,
    content_words,
)


@dataclass(frozen=True)
class Claim:
    kind: str  # "number", "date" or "name"
    written: str  # as written: "about 3,000", "$48 million", "3 May 2024", "Ana Ruiz"
    normalized: str  # "~3000", "USD 48000000", "6.4 m", "2024-05-03", "ana ruiz"
    unit: tuple  # what must match: ("count", noun), ("money", "USD"), ("%",), ("m",), ("name", role)…
    key: tuple  # what is compared: (low, high) in the unit, (year, month, day) each or None, (surname,)
    events: frozenset[str] = frozenset()  # event words next to it ("killed", "opened"), stemmed
    subjects: frozenset[str] = frozenset()  # its other content words nearby; a name's, its organisation's
    modifiers: frozenset[str] = frozenset()  # words making it another figure: "annual", "another", "per", "by"
    years: frozenset[str] = frozenset()  # other years its sentence gives
    words: tuple[tuple[str, str], ...] = ()  # (stem, as written) of its counted noun and the words next to it
    label: str = ""  # what a name is about: "the director of the agency"
    running: bool = False  # a total that grows with time: "has risen to 7", "has now raised £210,000"
    clause: tuple[str, str] = ("", "")  # its clause as written, before it (after who says so) and after it

    def agrees(self, other: "Claim") -> bool:
        """Whether the two values can both be true: ranges that overlap, dates whose given parts match, one name."""
        if self.kind == "number":
            return self.key[0] <= other.key[1] and other.key[0] <= self.key[1]
        return all(x is None or y is None or x == y for x, y in zip(self.key, other.key))

    @property
    def width(self) -> float:
        """How vague it is: a number's range, a date's missing parts."""
        return self.key[1] - self.key[0] if self.kind == "number" else sum(x is None for x in self.key)


def _keys(words: str, value) -> dict:
    return dict.fromkeys(words.split("|"), value)


_SCALES = _keys("thousand|k", 1e3) | _keys("million|m|mn", 1e6) | _keys("billion|bn", 1e9) | _keys("trillion|tn", 1e12)
# "about X" reaches ±10 %, "nearly X" the 10 % below, ">" and "<" everything beyond X.
_QUALIFIERS = _keys("about|around|approximately|roughly|some|an estimated|close to", "~")
_QUALIFIERS |= _keys("nearly|almost|just under", "<~") | _keys("more than|over|at least|upwards of|just over", ">")
_QUALIFIERS |= _keys("fewer than|less than|under|up to|at most|as many as|no more than", "<")
_CURRENCIES = _keys("$|us$|usd|dollars|dollar", "USD") | _keys("€|eur|euros", "EUR") | _keys("£|gbp|pounds", "GBP")
# Written unit → (the dimension compared, factor to its base unit).
_UNITS = _keys("%|percent|per cent", ("%", 1.0)) | _keys("m|metres|meters|metre|meter", ("m", 1.0))
_UNITS |= _keys("km|kilometres|kilometers", ("m", 1e3)) | _keys("cm|centimetres", ("m", 0.01))
_UNITS |= _keys("ft|feet|foot", ("m", 0.3048)) | _keys("miles|mile", ("m", 1609.344))
_UNITS |= _keys("kg|kilograms|kilos", ("kg", 1.0)) | _keys("tonnes|tons", ("kg", 1e3))
_UNITS |= {"km/h": ("km/h", 1.0), "mph": ("km/h", 1.609344), "hectares": ("ha", 1.0), "acres": ("ha", 0.404686)}


def _alternatives(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_SMALL = _alternatives(NUMBER_VALUES)
_SIGN = r"US\$|\$|€|£|\b(?:USD|EUR|GBP)\s?"
_LOWER_FIRST = frozenset(NUMBER_VALUES).union(q.split()[0] for q in _QUALIFIERS) | {"between", "from"}
_UNIT = _alternatives(set(_UNITS) | set(_CURRENCIES) - {"$", "€", "£"})
# What may stand before an amount: a qualifier ("about"), and "between" or "from" before a range.
_LEAD = re.compile(rf"(?:\b(?P<qual>{_alternatives(_QUALIFIERS)})\s+)?(?:\b(?P<range>between|from)\s+)?$", re.I)


def _amount(words: bool, ranged: bool) -> re.Pattern:
    """An amount: currency, numeral (digits, or words too), a range's second numeral, scale, unit. Matching
    starts at the number (the words before it are read by _LEAD): Python's re scans slowly from a word list."""
    numeral = r"\d+(?:,\d{3})*(?:\.\d+)?"
    numeral += rf"|(?:{_SMALL})\b(?:[\s-]+(?:and\s+)?(?:{_SMALL}|hundred|thousand)\b)*" if words else ""
    second = rf"(?:\s*(?P<sep>[-–]|to\b|and\b)\s*(?:{_SIGN})?(?P<num2>{numeral}))?" if ranged else ""
    return re.compile(
        rf"(?P<cur>{_SIGN})?(?<![\w.,:/-])(?P<num>{numeral}){second}"
        rf"(?P<scale>\s*(?:thousand|million|billion|trillion)\b|(?:bn|mn|tn|k|m)\b)?"
        rf"(?P<unit>\s*(?:{_UNIT})(?![\w/]))?(?![\w]|[:/]\d|\s?[ap]\.?m\b)",
        re.I,
    )


_AMOUNTS = {(words, ranged): _amount(words, ranged) for words in (False, True) for ranged in (False, True)}
_MONTH = _alternatives(m.capitalize() for m in MONTHS + MONTH_ABBREVIATIONS)
_DAY, _YEAR = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?", r"(?:1[89]|20)\d\d"
_DATE = re.compile(
    rf"\b(?:(?P<d1>{_DAY})\s+(?:of\s+)?(?P<m1>{_MONTH})\.?(?:,?\s+(?P<y1>{_YEAR}))?"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>{_DAY})\b(?:,?\s+(?P<y2>{_YEAR}))?|(?P<m3>{_MONTH})\.?\s+(?P<y3>{_YEAR})"
    rf"|(?P<y4>{_YEAR})-(?P<m4>[01]\d)-(?P<d4>[0-3]\d))\b"
)
_MONTH_WORDS = frozenset(MONTHS + MONTH_ABBREVIATIONS)
LOWER = re.compile(r"[a-z]+")
_DIGIT = re.compile(r"\d")
_YEARS = re.compile(rf"\b{_YEAR}\b")
# Roles one person holds at a time in an organisation (a spokesperson or a minister may be one of many).
_ROLES = _keys("director|head|chief|director-general|boss", "head") | _keys("chief executive|ceo", "ceo")
_ROLES |= _keys("chairman|chairwoman|chair", "chair")
_ROLES |= {r: r for r in ("president", "mayor", "governor", "commissioner", "prime minister", "coach", "captain")}
# A name's words: "Ruiz", "O'Neill", "McKay", "Mensah-Hart"; not a possessive's "s" ("Ruiz's").
_NAME = r"(?:[A-Z][’']|Ma?c)?[A-Z][a-z]+(?:-[A-Z]?[a-z]+)*"
_PERSON = rf"(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?{_NAME}(?:\s+[A-Z]\.)?(?:\s+(?:de\s+|van\s+)?{_NAME}){{1,2}}\b"
_ORG = r"(?:(?P<org>(?:the\s+)?(?:[A-Za-z][\w-]*(?:'s|’s)|[a-z]+))\s+)?"
_OF = r"(?:\s+of\s+(?:the\s+)?(?P<of>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*|(?<=the\s)[a-z]+))?"
_ROLE = rf"(?i:\b(?P<role>{_alternatives(_ROLES)}))\b"
# "the agency's director, Ana Ruiz", "director Tom Hale", "Ana Ruiz, the agency's director", "named Ana Ruiz as
# its chief executive", "Ana Ruiz was elected mayor" (the last two appointments: a new holder). An organisation
# before the role is read by _ORG_BEFORE.
_NAMED = [
    re.compile(rf"{_ROLE}{_OF},?\s+(?P<name>{_PERSON})\b"),
    re.compile(rf"(?P<name>{_PERSON}),\s+(?:the\s+)?{_ORG}{_ROLE}{_OF}"),
    re.compile(rf"(?P<name>{_PERSON}),?\s+as\s+(?:its\s+|the\s+)?(?:new\s+)?{_ROLE}{_OF}"),
    re.compile(
        rf"(?P<name>{_PERSON})\s+(?:has|have|had|was|were|will)?\s*(?:been|be)?\s*(?:elected|appointed|named|sworn in)"
        rf"\s+(?:as\s+)?(?:its\s+|the\s+)?(?:new\s+)?{_ROLE}{_OF}"
    ),
]
_ORG_BEFORE = re.compile(r"(?:the\s+)?(?:[A-Za-z][\w-]*(?:'s|’s)|[A-Z][\w-]*)\s+$")  # "the agency's", "Harbor"
# Words that make a capitalised run an institution or a place, not a person ("President of the United States").
_INSTITUTIONAL = frozenset("States Kingdom Nations Union Republic House Senate Congress Court Council Department "
                           "Ministry Agency Office Party Committee Bank Company University".split())  # fmt: skip
_ROLE_WORDS = frozenset(w for role in _ROLES for w in re.split(r"[\s-]", role))
# Who held or will hold a role, or holds another one, is not its holder; a new holder is compared with new ones.
_PREVIOUS = re.compile(r"\b(?:former|ex|outgoing|acting|interim|deputy|assistant|vice|late|then|a|an)\W*$")
_NEW = re.compile(r"\b(?:new|incoming)\W*$")
OFFICES = frozenset(_ROLES.values())
# Roles one person fills in one event, named by what they did: the scorer of the winning goal ("Ana Ruiz's late
# header beat Lorvik", "Tom Hale headed in the winner"), the winner of a contest ("Ana Ruiz won the Lorvik
# marathon"). Not "who scored", "who was arrested": several may, and a different name contradicts nothing.
_GOAL = r"(?:goal|header|strike|penalty|volley|shot|effort|finish|tap-in|free[ -]kick|winner)"
_SCORED = r"(?:scored|headed|netted|struck|fired|slotted|curled|volleyed|nodded|poked|drilled|smashed|converted)"
_CONTEST = r"(?i:race|election|by-election|marathon|title|prize|award|contest|cup|trophy|tournament|championship)"
_WHAT = rf"(?P<what>(?:[\w’'-]+\s+){{0,4}}?{_CONTEST})s?\b"
_ACTS = [  # "scored": a goal, the winning one if its clause says so; "winner": a goal or a contest's
    ("scored", re.compile(rf"(?P<name>{_PERSON})(?:[’']s\s+(?:[\w-]+\s+){{0,3}}?{_GOAL}|\s+{_SCORED})\b")),
    ("winner", re.compile(rf"\b(?:winner|winning goal|decider)\s+(?:came\s+)?(?:from|by)\s+(?P<name>{_PERSON})")),
    ("winner", re.compile(rf"(?P<name>{_PERSON})\s+(?:has\s+|had\s+)?won\s+(?:the\s+|an?\s+)?{_WHAT}")),
    ("winner", re.compile(rf"\b(?:[Tt]he\s+)?{_WHAT}\s+was\s+won\s+by\s+(?P<name>{_PERSON})")),
]
_ACT_WORDS = frozenset("won winner winning decider decisive beat win victory".split())
# What makes a goal the winning one, and what makes it another ("an equaliser", "the opener").
_WINNING = re.compile(
    r"\b(?:(?:match-)?winner|winning|decider|decisive|beat\s+[A-Z]"
    r"|(?:sealed|clinched|secured|earned|gave\s+\w+)\s+(?:the\s+|an?\s+)?(?:[\w-]+\s+)?(?:win|victory))"
)
_NOT_WINNING = re.compile(
    r"\b(?:equali[sz]\w*|level\w*|opener|opening|consolation|own goal|first|second|third|lead|hat-trick)\b", re.I
)
# A team is no scorer ("Lorvik Rovers struck late to beat Dunmere").
_TEAMS = frozenset("Rovers United City Town Athletic Wanderers Rangers Albion Club FC Villa Olympic Sporting".split())
# Where a clause ends, and where the source of a report ends ("Rescue workers said …" is not the subject).
_BREAK = re.compile(
    r"[;:()\[\]—]|,(?!\d|\s*(?:when|where)\b)|\s[–-]\s|\b(?:and|but|while|whereas|although|though)\b", re.I
)
SOURCE = re.compile(r"\b(?:said|says|say|told|reported|according to|estimated|announced|added)\b(?:.{0,30}?\bthat\b)?")
WORD = re.compile(r"[A-Za-z][A-Za-z’'-]*")
# One word for what news writes many ways ("died", "death toll", "fatalities"), so the event words match.
_SAME = _keys("killed|kill|kills|died|die|dies|dead|death|deaths|toll|fatalities|lives", "killed")
_SAME |= _keys("injured|injure|injures|injuries|injury|wounded|hurt", "injured")
_SAME |= _keys("cost|costs|costing|price|priced|pay|pays|paid|spent|spend", "cost")
_SAME |= _keys("opened|open|opens|opening", "opened") | _keys("closed|close|closes|closing|closure", "closed")
_SAME |= _keys("found|find|finds|discovered|discovery|unearthed", "found")
# Words ending like event words that are not ("during", "building") or are said of people ("delighted").
_NOT_EVENT = frozenset(
    "during including following according morning evening building nothing something delighted pleased concerned "
    "worried interested involved expected planned proposed scheduled based related limited detailed alleged".split()
)
_IGNORED = frozenset(
    "said says told reported reports according estimated estimate officials official figure figures total least "
    "nearly almost around approximately roughly fewer less upwards many much hundred last past next ago "
    "tonight today yesterday tomorrow year years month months week weeks day days new rose risen rises climbed".split()
) | frozenset(NUMBER_VALUES | _SCALES | _CURRENCIES | _UNITS).union(MONTHS, MONTH_ABBREVIATIONS, WEEKDAYS) - {"march"}
_SKIP = STOPWORDS | _IGNORED
# "goes up to £6": a move to the figure, not a figure "up to £6".
_MOVED = re.compile(r"\b(?:go|goes|went|gone|going|put|puts|moved?|moves)\s+$", re.I)
_RUNNING = re.compile(r"\b(?:risen|rose|rises|climbed|increased|grown|grew|reached|now|so far|to date)\b", re.I)
# Words that make a figure a different one ("annual cost", "another 300", "$2 per ticket").
_MODIFIERS = frozenset("annual yearly daily monthly weekly first final initial additional extra further another "
                       "average per each record maximum minimum".split())  # fmt: skip


def read_claims(text: str, sentence: tuple[int, int]) -> list[Claim]:
    """The dates, numbers and names in a role that a sentence of the text states (sentence: its offsets)."""
    (s, e), found, dates = sentence, [], []

    def near(kind, unit, key, start, end, written, normalized, head=("", "")):
        """A claim, with the content words next to it in its clause, five each side: its event words and the others."""
        clause = max((b.end() for b in _BREAK.finditer(text, s, start)), default=s)
        clause = max((r.end() for r in SOURCE.finditer(text, clause, start)), default=clause)
        ending = next((b.start() for b in _BREAK.finditer(text, end, e)), e)
        before = [w for w in WORD.findall(text[clause:start]) if content_stem(w)][-5:]
        after = [w for w in WORD.findall(text[end:ending]) if content_stem(w) and w != head[1]][:5]
        events = frozenset(content_stem(w) for w in before + after if is_event(w.lower()))
        words = [(content_stem(w), w) for w in before + after]
        raw = frozenset(f"{text[max(clause, start - 40) : start]} {text[end : min(end + 20, ending)]}".lower().split())
        raw = raw & _MODIFIERS | ({"by"} if text[clause:start].split()[-1:] == ["by"] else set())  # "rose by 3 %"
        years = frozenset(_YEARS.findall(f"{text[s:start]} {text[end:e]}")) if kind != "date" else frozenset()
        subjects = frozenset(st for st, _ in words) - events
        words = [head, *words] if head[0] else words
        running = bool(_RUNNING.search(text, max(clause, start - 40), start))
        beside = (text[clause:start], text[end:ending])
        found.append(
            Claim(kind, written, normalized, unit, key, events, subjects, raw, years, tuple(words), "", running, beside)
        )

    lowered = set(LOWER.findall(text[s:e].lower()))
    for m in _DATE.finditer(text, s, e) if lowered & _MONTH_WORDS or "-" in text[s:e] else ():
        day, month, year = (next((m[g] for g in _DATE.groupindex if g[0] == p and m[g]), None) for p in "dmy")
        month = int(month) if month.isdigit() else MONTH_NUMBERS[month.lower()]
        key = (int(year) if year else None, month, int(re.sub(r"\D", "", day)) if day else None)
        normalized = f"{key[0] or '-'}-{key[1]:02d}" + (f"-{key[2]:02d}" if key[2] else "")
        near("date", ("date",), key, *m.span(), m.group(), normalized)
        dates.append(m.span())
    words, at = bool(lowered & NUMBER_VALUES.keys()), s
    while (words or _DIGIT.search(text, at, e)) and (m := _AMOUNTS[words, True].search(text, at, e)):
        lead = _LEAD.search(text, max(s, m.start() - 30), m.start())
        sep, before = (m["sep"] or "").lower(), (lead["range"] or "").lower()
        if sep and (before == "from" or sep == "and" and before != "between"):
            m = _AMOUNTS[words, False].match(text, m.start(), e)  # "from 1,200 to 3,000" is no range
        ranged = m.groupdict().get("num2") and before == "between"
        qual = lead["qual"] if not _MOVED.search(text, max(s, lead.start() - 12), lead.start()) else None
        at, start = m.end(), lead.start("qual") if qual else lead.start("range") if ranged else m.start()
        quantity = None if any(a < m.end() and start < b for a, b in dates) else _quantity(m, qual, text, s, e, start)
        if quantity:  # not part of a date, nor a year or an identifier
            unit, span, normalized, head = quantity
            counted = (unit[1], head) if head else ("", "")
            written = text[start : m.end()].strip()
            if written.split()[0].lower() in _LOWER_FIRST:  # "At least four" opening a sentence: "at least four"
                written = written[0].lower() + written[1:]
            near("number", unit, span, start, m.end(), written, normalized, counted)
    for pattern in _NAMED if lowered & _ROLE_WORDS else ():
        for m in pattern.finditer(text, s, e):
            before = _ORG_BEFORE.search(text, max(s, m.start() - 40), m.start())
            org = m.groupdict().get("org") or (before.group().strip() if before and pattern is _NAMED[0] else "")
            if _PREVIOUS.search(text, max(s, m.start("role") - 30), m.start("role")) or org.lower() in ("a", "an"):
                continue
            new = pattern in _NAMED[2:] or _NEW.search(text, max(s, m.start("role") - 30), m.start("role"))
            name = re.sub(r"^(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+", "", m["name"])
            if _INSTITUTIONAL.intersection(name.split()):
                continue
            organisation = re.sub(r"^the |[’']s$", "", f"{org} {m['of'] or ''}".strip())
            of = f" of {'the ' if organisation[:1].islower() else ''}{organisation}" if stems(organisation) else ""
            label = f"the {m['role'].lower()}{of}"
            unit, key, subjects = ("name", _ROLES[m["role"].lower()]), (name.split()[-1].lower(),), stems(organisation)
            modifiers = frozenset({"new"} if new else ())
            found.append(Claim("name", name, name.lower(), unit, key, subjects=frozenset(subjects), modifiers=modifiers,
                               label=label))  # fmt: skip
    return found + (_acts(text, s, e) if lowered & _ACT_WORDS else [])


def _acts(text: str, s: int, e: int) -> list[Claim]:
    """The scorers of winning goals and the winners of contests a sentence names. What they are compared by: the
    contest, and the names their clause gives besides (the teams, the ground), which the other article must give."""
    found = []
    for act, pattern in _ACTS:
        for m in pattern.finditer(text, s, e):
            name = m["name"]
            what = re.sub(r"^(?:[Tt]he|an?)\s+", "", " ".join((m.groupdict().get("what") or "").split()))
            if _INSTITUTIONAL.intersection(name.split()) or not what and _TEAMS.intersection(name.split()):
                continue  # a party or a council; a team wins a cup, but scores no goal
            start = max((b.end() for b in _BREAK.finditer(text, s, m.start())), default=s)
            ending = next((b.start() for b in _BREAK.finditer(text, m.end("name"), e)), e)
            won = _WINNING.search(text, m.end("name"), ending)
            if act == "scored" and (not won or _NOT_WINNING.search(text, m.end("name"), won.start())):
                continue  # "Ruiz's header", "Ruiz scored": the winning goal, and no other
            # The clause's names: its capitalised words, the first only if a name goes on after it ("Lorvik Rovers").
            words = WORD.findall(text[start:ending])
            named = {w for i, w in enumerate(words) if w[0].isupper() and (i or words[1:2] and words[1][0].isupper())}
            name = re.sub(r"^(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+", "", name)
            subjects = frozenset(stems(" ".join(named)) - stems(name)) | stems(what)
            role, label = (f"winner of {' '.join(sorted(stems(what)))}", f"the winner of the {what}") if what else (
                "winning goal", "the scorer of the winning goal")  # fmt: skip
            years = frozenset(_YEARS.findall(text, s, e))  # "won the Lorvik marathon in 2019"
            found.append(Claim("name", name, name.lower(), ("name", role), (name.split()[-1].lower(),),
                               subjects=subjects, years=years, label=label))  # fmt: skip
    return found


def _quantity(m: re.Match, qual: str | None, text: str, s: int, e: int, start: int) -> tuple | None:
    """(unit, (low, high), normalized, counted noun as written) of a number written from start (its qualifier), or
    None for a year or an identifier."""
    num, num2, cur = m["num"], m.groupdict().get("num2"), (m["cur"] or "").strip().lower()
    scale, unit = (m["scale"] or "").strip().lower(), " ".join((m["unit"] or "").lower().split())
    if scale == "m" and not cur:  # "6.4m" is metres; "$48m" millions
        scale, unit = "", "m"
    before = text[s:start].split()
    if not (cur or scale or unit) and re.fullmatch(_YEAR, num) or len(before) > 1 and before[-1][0].isupper():
        return None  # a year, or an identifier ("Route 66", "Flight 370")
    if num.lower() == "one" and before and before[-1].lower() in ("no", "any", "every", "some", "the", "each"):
        return None
    currency, (dimension, factor) = _CURRENCIES.get(cur) or _CURRENCIES.get(unit), _UNITS.get(unit, (None, 1.0))
    head = ""
    if not (currency or dimension):  # a count of what the words after it name: "1,200 local residents"
        after = WORD.findall(text[m.end() : next((b.start() for b in _BREAK.finditer(text, m.end(), e)), e)])
        before = WORD.findall(re.split(r"[,;:]", text[max(s, start - 30) : start])[-1])
        if any(_SAME.get(w) in ("killed", "injured") for w in after[:3] + before[-2:]):  # "31 were hurt", "killed 12"
            head = "people"
        nouns = list(itertools.takewhile(lambda w: w.islower() and w not in STOPWORDS and not is_event(w), after[:2]))
        head = next((w for w in nouns if w.endswith("s")), nouns[0]) if nouns else head  # "1,200 local residents"
    noun = stem("people") if stem(head) == "person" else stem(head) or None
    kind = ("money", currency) if currency else (dimension,) if dimension else ("count", noun)
    multiplier = _SCALES.get(scale, 1.0) * factor
    (low, _), (high, half) = _number(num), _number(num2 or num)
    qualifier = _QUALIFIERS.get(" ".join((qual or "").lower().split()), "")
    written = f"{qualifier}{_plain(low * multiplier)}" + (f"-{_plain(high * multiplier)}" if num2 else "")
    normalized = f"{currency} {written}" if currency else written + (f" {dimension}" if dimension else "")
    low, high, half = low * multiplier, high * multiplier, half * multiplier * 0.999
    span = {"~": (0.9 * low, 1.1 * high), "<~": (0.9 * low, high), ">": (low, 1.1 * high), "<": (0.9 * low, high)}
    low, high = span.get(qualifier, (low, high))
    return kind, (low - half, high + half), normalized, head


def _number(written: str) -> tuple[float, float]:
    """The value of a numeral and half its last written digit ("1.2" → 1.2, 0.05)."""
    if written[0].isdigit():
        return float(written.replace(",", "")), 0.5 * 10 ** -len(written.partition(".")[2])
    total = current = 0  # "three thousand two hundred": 3 × 1000 + 2 × 100
    for w in re.findall(r"[a-z]+", written.lower()):
        if w == "thousand":
            total, current = total + current * 1000, 0
        else:
            current = current * 100 if w == "hundred" else current + NUMBER_VALUES.get(w, 0)
    return float(total + current), 0.5


def _plain(x: float) -> str:
    x = round(x) if abs(x) >= 1e4 else float(f"{x:.4g}")
    return str(int(x)) if x == int(x) else str(x)


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A word's stem as stems() gives it ("" for a stopword)."""
    word = word.lower().removesuffix("'s").removesuffix("’s")
    return min(content_words(_SAME.get(word, word)), default="")


def stems(text: str) -> set[str]:
    """The stems of a text's content words, one for words news uses alike ("died", "killed", "death toll")."""
    return {st for st, _ in stemmed(text)} - {""}


def events(text: str) -> set[str]:
    """The stems of a text's event words ("killed", "opened", "cost")."""
    return {st for st, w in stemmed(text) if is_event(w.lower())}


@lru_cache(maxsize=1 << 12)
def stemmed(text: str) -> tuple[tuple[str, str], ...]:
    """(stem, as written) of each content word of a text, in order."""
    return tuple((st, w) for w in WORD.findall(text) if (st := content_stem(w)))


@lru_cache(maxsize=1 << 16)
def content_stem(word: str) -> str:
    """A content word's stem, "" for any other word: stopwords, numbers, units, "said", "I'm", "don't"."""
    lower = word.lower().removesuffix("'s").removesuffix("’s")
    return "" if lower in _SKIP or len(lower) < 2 or "'" in lower or "’" in lower else stem(lower)


def is_event(w: str) -> bool:
    """Whether a word (in lower case if it is not a name) names an event: "killed", "opened", "marching"."""
    return w in _SAME or (w.islower() and len(w) > 4 and w.endswith(("ed", "ing")) and w not in _NOT_EVENT)
