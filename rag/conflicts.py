"""Where passages of different articles disagree (pure): on a number, a date or a name in a role
(rag.claims reads them), or one denying what another reports. Tuned for precision: a conflict shown where
there is none misleads more than one missed.

Two claims are about one thing when their units match (a count's noun, a currency, a dimension, a role) and
so do their modifiers ("annual", "another", "by" before a change); their passages tell one story (they name
something in common, if both name anything); no other year is named and the articles appeared within a year
of each other, and on the same day if one is a growing total ("has risen to 9": else an update); and the
words next to them agree: an event word ("killed", "opened") in common (a count needs one) and none apart,
and enough of the other words. The holders of an office compare when their organisations match; the scorers
of a winning goal and the winners of a contest when each passage names the others' teams, grounds and places.
An article giving two values for one thing ("rose from 1,200 to 3,000") sits it out. Values agree as
Claim.agrees says ("about 1,200" and 1,250; "more than 1,000" and 1,050; "1,100–1,300" and 1,200; "May 2024"
and "3 May 2024"). A later article of the same outlet changing its value is a correction, reported apart
(only the outlet's latest value meets other outlets'), and so is what a correction notice corrects ("we
reported that 8,400 … The correct figure is 4,800"): the outlet's earlier article, else the value the notice
itself takes back. A denial ("… did not resign", "denied that …", "no one was killed in the fire") conflicts
with another article's sentence stating the claim, neither negated nor hedged, published within a year; a
negation of a later time ("has not flooded since") denies nothing. rag.disagreement says what each is about."""

import re
from dataclasses import dataclass, replace

from dossier_core.text import sentence_spans
from rag.claims import LOWER, OFFICES, Claim, events, read_claims, stem, stemmed, stems
from rag.question import answer_type, mentions, names
from vectorstore.records import Hit


@dataclass(frozen=True)
class Value:  # one article's statement of the value
    value: str  # as written: "about 3,000", "$48 million", "3 May 2024", "Ana Ruiz"; a denial's words or report
    normalized: str  # "~3000", "USD 48000000", "6.4 m", "2024-05-03", "ana ruiz", "reported" / "denied"
    passage: int  # index into the hits given
    sentence: tuple[int, int]  # offsets of the sentence in the passage's text
    published_at: str | None
    outlet: str | None
    side: int = 0  # which group of agreeing values of its Conflict it is in, 0 first


@dataclass(frozen=True)
class Conflict:
    values: tuple[Value, ...]  # one per article, grouped by side; a correction's oldest side first
    kind: str  # "number", "date", "name" or "denial"
    words: frozenset[str]  # the stems of what it is about, that its claims share: what a question about it names
    claims: tuple[Claim, ...]  # those compared (a denial's: the report first), that rag.disagreement names it by
    correction: bool = False  # a later article of the same outlet changed the value


@dataclass(frozen=True)
class _Said:  # a claim in an article
    claim: Claim
    value: Value
    article: str
    around: frozenset[str] = frozenset()  # a name's passage's words: its organisation may be named elsewhere
    story: frozenset[str] = frozenset()  # the names its passage gives: passages naming none in common tell two stories
    notice: str = ""  # in a correction notice: "retracted" ("we reported that 8,400") or "correct" ("… is 4,800")


_NEGATED = re.compile(r"\b(?:not|no|never|nobody|none|den(?:y|ies|ied|ying)|false|untrue|whether|if|claims?"
                      r"|allegations?|rumou?rs?|may|might|could)\b|n[’']t\b", re.I)  # fmt: skip
_THAT = r"(?:(?:the\s+)?(?:reports?|claims?|allegations?|suggestions?|rumou?rs?)\s+)?that\s+"
_DENIALS = [  # "denied that …", "reports that … were false", "the minister did not resign", "no one was killed"
    re.compile(rf"\b(?:den(?:y|ies|ied|ying)|rejected|dismissed|refuted)\s+{_THAT}(?P<claim>[^;:]+)", re.I),
    re.compile(
        r"\b(?:reports?|claims?|rumou?rs?)\s+that\s+(?P<claim>[^;:]+?)\s+(?:were|was|are|is)\s+(?:false|untrue)\b"
    ),
    re.compile(  # its subject is read before it: Python's re scans slowly from "any three words"
        r"\b(?:did not|didn[’']t|(?P<passive>(?:has|have|had|was|were) not|(?:has|have|had|was|were)n[’']t))"
        r"\s+(?:been\s+)?(?:(?:ever|even|yet|always|really|actually|necessarily|just)\s+)?(?P<verb>[a-z]{3,})\b"
    ),
    re.compile(
        r"\b(?:[Nn]o one|[Nn]obody|[Nn]o (?P<claim>[a-z]+))\s+(?:was|were|has been|have been)\s+(?P<verb>[a-z]{4,})\b"
    ),
]
# A correction notice's sentences: the value it takes back, and the right one.
_RETRACTED = re.compile(r"\bwe (?:wrongly |incorrectly )?(?:reported|said|stated|wrote)\b", re.I)
_CORRECT = re.compile(r"\b(?:correct|right|actual) (?:figure|number|total|amount|date|name) (?:is|was)\b", re.I)
# The events rag.claims reads many words of as one ("died", "death toll", "killed"): a question naming one of them
# asks about it, not another ("killed", not "injured").
_FAMILIES = frozenset(map(stem, ("killed", "injured", "cost", "opened", "closed", "found")))
_GENERIC = frozenset(map(stem, "happened happen say said tell news latest recent update know going new".split()))
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
# The harms a count of people may be of, by stem: "died", "death toll" → killed; "hurt" → injured.
HARMS = {stem(word): word for word in ("killed", "injured")}
_DENYING = frozenset("not no nobody deny denies denied denying rejected dismissed refuted false untrue t".split())
# A negation of a later time than a report's ("has not flooded since the wall was built", "not yet").
_LATER = re.compile(r"\b(?:since|yet|again|any ?more|so far|no longer|until|till)\b", re.I)
# Verbs whose negation denies nothing ("did not respond", "was not immediately clear").
_NOT_DENIALS = frozenset("say respond comment reply return answer give specify elaborate disclose reveal confirm "
                         "know immediately provide release identify explain address mention name expect want need "
                         "plan appear seem have make take think believe".split())  # fmt: skip


# The kind of value each kind of question (rag.question.answer_type) asks for.
ASKED = {"quantity": "number", "date": "date", "person": "name"}


def find_conflicts(question: str, hits: list[Hit]) -> list[Conflict]:
    """The things passages of different articles give different values for, each side cited. Passages naming none
    of the names the question gives tell another story and are left out. When the question asks for a quantity,
    a date or a person, only claims of that kind count, in sentences sharing its words, and of the event it names
    ("killed", not "injured")."""
    wanted = ASKED.get(answer_type(question))
    stories, named = [_story(hit) for hit in hits], names(question)
    asked = _asked(question, wanted, named)
    sentences = [
        [(s, e) for s, e, _ in sentence_spans(hit.text)]
        if not named or any(mentions(n, f"{hit.title or ''}\n{hit.text}") for n in named)
        else []
        for hit in hits
    ]
    asked_events = events(question) & _FAMILIES if wanted else set()
    said = [m for i, h in enumerate(hits) for m in _said(h, i, sentences[i], stories[i], wanted, asked_events, asked)]
    kept = [m for m in said if m.notice != "retracted"]  # what a notice takes back, its article no longer says
    found = [c for group in _groups(kept) for c in _judge(group)] + _notices(said)
    return found + _denials(hits, sentences, stories, asked)


def _asked(question: str, wanted: str | None, named: list[str]) -> set[str]:
    """The words a sentence must share one of to be relevant: the question's, or when it asks for no quantity,
    date or person, those of them that are neither names nor words any question has ("happened", "latest")."""
    if wanted:
        return stems(question)
    return stems(question) - _GENERIC - stems(" ".join(named))


def _said(hit: Hit, i: int, sentences: list, story: frozenset, wanted: str | None, asked_events: set, asked: set[str]):
    """The claims of passage i's sentences that the question asks about."""
    found, words = [], None
    notices = _RETRACTED.search(hit.text)  # a correction notice's passage
    for s, e in sentences:
        correct, retracted = (_CORRECT.search(hit.text, s, e), _RETRACTED.search(hit.text, s, e)) if notices else (0, 0)
        # A notice's right value is about what its article takes back, whatever words it has.
        for claim in read_claims(hit.text, (s, e)) if not asked or correct or stems(hit.text[s:e]) & asked else ():
            if wanted not in (None, claim.kind) or claim.events and asked_events and not claim.events & asked_events:
                continue
            if claim.kind == "name" and words is None:  # the passage's words, read once
                words = frozenset(stems(hit.text))
            around = words if claim.kind == "name" else frozenset()
            if claim.kind == "name" and not claim.subjects:  # no organisation named: the one the question names
                claim = replace(claim, subjects=frozenset((asked - stems(claim.label)) & around))
            value = Value(claim.written, claim.normalized, i, (s, e), hit.published_at, hit.outlet)
            notice = "retracted" if retracted else "correct" if correct else ""
            found.append(_Said(claim, value, hit.article_id, around, story, notice))
    return found


def _notices(said: list[_Said]) -> list[Conflict]:
    """What correction notices correct: the outlet's earlier article that gave the value a notice takes back,
    against the notice's right value; without that article, the value the notice takes back ("we reported that
    8,400 …"), which it states first, against the right one."""
    found = {}
    for r in (m for m in said if m.notice == "retracted"):
        kind = [m for m in said if m.article == r.article and m.claim.kind == r.claim.kind]
        # The right value of the same unit, or of the kind if the notice takes back one value of it.
        right = [m for m in kind if m.notice == "correct" and (m.claim.unit == r.claim.unit or _only(r, kind))][:1]
        old = [
            m
            for m in said
            if m.article != r.article and _outlet(r) and _outlet(m) == _outlet(r)
            and m.claim.normalized == r.claim.normalized
            and (m.value.published_at or "") < (r.value.published_at or "")
        ]  # fmt: skip
        for c, before in ((c, before) for c in right for before in old or [r]):
            values = (replace(before.value, side=0), replace(c.value, side=1))
            group = [r, before] if old else [r, c]
            conflict = Conflict(values, r.claim.kind, _words(group), tuple(m.claim for m in group), True)
            found.setdefault((before.article, c.article), conflict)
    return list(found.values())


def _only(r: _Said, kind: list[_Said]) -> bool:
    """Whether r is the one value of its kind its notice takes back."""
    return sum(m.notice == "retracted" for m in kind) == 1


def _same_thing(a: _Said, b: _Said) -> bool:
    x, y = a.claim, b.claim
    if a.article == b.article or x.modifiers != y.modifiers:  # _groups pairs claims of one unit only
        return False
    if x.years and y.years and not x.years & y.years or _years_apart(a, b) or _updated(a, b):  # another time's figure
        return False
    if _other_story(a, b):
        return False
    if x.kind == "name" and x.unit[1] not in OFFICES:  # one event's: the other passage names what each names
        return x.subjects <= b.around and y.subjects <= a.around
    if x.kind == "name":  # the organisations named overlap, or the passage naming none mentions the other's
        return bool(
            x.subjects & y.subjects if x.subjects and y.subjects else x.subjects & b.around or y.subjects & a.around
        )
    # An event word of one next to the other, as an event or not ("marched" and "joined a march"), is shared.
    shared, counted = x.events & (y.events | y.subjects) | y.events & (x.events | x.subjects), x.unit[0] == "count"
    if x.events and y.events and not shared or x.kind == "date" and bool(x.events) != bool(y.events):
        return False  # different events; for a date, an event word on one side only may be another event
    if counted and not shared or x.unit == ("count", None) and not shared & HARMS.keys():  # "killed 3,000": of people
        return False  # a count is of what an event did to it ("killed 1,200 people"), else too loose
    if not (x.subjects and y.subjects):  # "about 3,000 people were killed": what was counted and the event say it
        return bool(shared) and counted
    # Other words in common: a quarter of the fewer for a count of one event, else half of them.
    common = len((x.subjects | x.events) & (y.subjects | y.events) - shared)
    return common > 0 and common >= min(len(x.subjects), len(y.subjects)) / (4 if counted else 2)


def _updated(a: _Said, b: _Said) -> bool:
    """Whether one is a growing total ("the toll has risen to 9") and the other appeared another day: an update."""
    days = {v.published_at[:10] for v in (a.value, b.value) if v.published_at}
    return (a.claim.running or b.claim.running) and len(days) == 2


def _other_story(a: _Said, b: _Said) -> bool:
    """Whether the passages name things and none in common (the names claimed aside): they tell two stories."""
    claimed = stems(f"{a.claim.written} {b.claim.written}")
    return bool(a.story - claimed and b.story - claimed and not a.story & b.story - claimed)


def _story(hit: Hit) -> frozenset[str]:
    """The names a passage gives (its places, people, organisations), as stems: its capitalised words that it
    never writes in lower case ("Police" opening a sentence is a name only if "police" is nowhere else)."""
    text = f"{hit.title or ''}\n{hit.text}"
    lowered = set(LOWER.findall(text))
    return frozenset(stems(" ".join(w for w in set(_CAPITALISED.findall(text)) if w.lower() not in lowered)))


def _years_apart(a: _Said, b: _Said) -> bool:
    """Whether the articles were published more than a year apart: their figures are of different times."""
    return _apart(a.value.published_at, b.value.published_at)


def _apart(day: str | None, other: str | None) -> bool:
    years = [d[:4] for d in (day, other) if d and d[:4].isdigit()]
    return len(years) == 2 and abs(int(years[0]) - int(years[1])) > 1


def _groups(said: list[_Said]) -> list[list[_Said]]:
    """The claims about one thing (pairs about the same thing, joined), one per article: an article whose own
    claims about the thing disagree is left out of it."""
    parent, by_unit = list(range(len(said))), {}
    for i, m in enumerate(said):  # only claims of one unit can be about one thing
        by_unit.setdefault(m.claim.unit, []).append(i)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = i = parent[parent[i]]
        return i

    for same in by_unit.values():
        for n, i in enumerate(same):
            for j in same[n + 1 :]:
                if root(i) != root(j) and _same_thing(said[i], said[j]):
                    parent[root(j)] = root(i)
    joined: dict[int, dict[str, list[_Said]]] = {}
    for i, m in enumerate(said):
        joined.setdefault(root(i), {}).setdefault(m.article, []).append(m)
    kept = [[ms[0] for ms in g.values() if all(ms[0].claim.agrees(m.claim) for m in ms)] for g in joined.values()]
    return [group for group in kept if len(group) > 1]


def _judge(group: list[_Said]) -> list[Conflict]:
    """The conflict among the outlets' latest values, and a correction for each outlet that changed its value."""
    dated = sorted((m for m in group if _outlet(m) and m.value.published_at), key=lambda m: m.value.published_at)
    latest = {_outlet(m): m for m in dated}
    older = [m for m in dated if m.value.published_at < latest[_outlet(m)].value.published_at]
    older = [m for m in older if not m.claim.agrees(latest[_outlet(m)].claim)]
    found = [_conflict(group, [m for m in group if all(m is not o for o in older)], False)]
    for outlet, new in latest.items():
        changed = [m for m in older if _outlet(m) == outlet]
        found.append(_conflict(group, [*changed, new], True) if changed else None)
    return [c for c in found if c]


def _outlet(m: _Said) -> str:
    return " ".join((m.value.outlet or "").lower().split())


def _conflict(group: list[_Said], said: list[_Said], correction: bool) -> Conflict | None:
    """The sides of agreeing values, if two or more. The most precise values that disagree with every more precise
    one found each start a side; the others join the one side they agree with ("May 2024" agrees with "3 May"
    and "5 May": it sides with neither)."""
    seeds: list[_Said] = []
    for m in sorted(said, key=lambda m: m.claim.width):
        seeds += [] if any(m.claim.agrees(seed.claim) for seed in seeds) else [m]
    sides = [[m for m in said if [x for x in seeds if m.claim.agrees(x.claim)] == [seed]] for seed in seeds]
    if len(sides) < 2:
        return None
    first = (lambda m: m.value.published_at) if correction else (lambda m: m.value.passage)
    sides.sort(key=lambda side: min(map(first, side)))  # a correction's oldest first, else in the passages' order
    values = tuple(replace(m.value, side=k) for k, side in enumerate(sides) for m in sorted(side, key=first))
    return Conflict(values, group[0].claim.kind, _words(group), tuple(m.claim for m in group), correction)


def _words(group: list[_Said]) -> frozenset[str]:
    """What the claims are about, as stems: a name's or a denial's label and organisation or denied words, else
    the words the first shares with the others ("people", "killed") and its unit's noun."""
    first = group[0].claim
    if first.label or first.kind == "denial":
        return frozenset(stems(first.label) | first.subjects)
    claims = [m.claim for m in group]
    return frozenset(shared_words(first, claims) | {str(first.unit[-1])})


def shared_words(claim: Claim, claims: list[Claim] | tuple[Claim, ...]) -> set[str]:
    """The stems of the claim's words that another of the claims has too."""
    others = {st for c in claims if c is not claim for st, _ in c.words}
    return {st for st, _ in claim.words if st in others}


def _denials(hits: list[Hit], sentences: list[list], stories: list[frozenset[str]], asked: set[str]) -> list[Conflict]:
    """An article denying what another reports: "denied that …", "… did not resign", "no one was killed". The
    passages' sentence offsets and stories as find_conflicts found them."""
    found: dict[tuple, Conflict] = {}
    stated: list[list] = []  # each passage's sentences with their words, read at the first denial
    for i, hit in enumerate(hits):
        for s, e in sentences[i]:
            sentence = hit.text[s:e]
            if not _DENYING.intersection(LOWER.findall(sentence.lower())) or asked and not stems(sentence) & asked:
                continue
            for m in filter(None, (p.search(hit.text, s, e) for p in _DENIALS)):
                if not (denied := _denied(m)):
                    continue
                stated = stated or [[_stated(h.text, s, e) for s, e in spans] for h, spans in zip(hits, sentences)]
                reports = {h.article_id: _report(h, j, stated[j], stories[j], *denied) for j, h in enumerate(hits)}
                # A report from a passage naming things, none of them named here, is of another story.
                story = stories[i]
                reports = {
                    a: r
                    for a, r in reports.items()
                    if r and a != hit.article_id and not (story and r.story and not story & r.story)
                    and not _apart(r.value.published_at, hit.published_at)  # another time's report
                }  # fmt: skip
                if not reports:
                    continue
                wanted = denied[0] | {denied[1]}  # what the report states: rag.disagreement names the conflict by it
                claim = Claim("denial", m.group().strip(), "denied", ("denial",), ("denied",), subjects=wanted)
                said = [replace(r, claim=replace(r.claim, subjects=wanted)) for r in reports.values()]
                value = Value(claim.written, "denied", i, (s, e), hit.published_at, hit.outlet)
                for c in _judge([*said, _Said(claim, value, hit.article_id)]):
                    found.setdefault(tuple((v.passage, v.sentence) for v in c.values), c)
    return list(found.values())


def _denied(m: re.Match) -> tuple[set[str], str, int] | None:
    """What a denial says is not so: (its content words, its event word, how many of the words a report needs)."""
    if "claim" in m.re.groupindex:
        words = stems(m["claim"] or "")
    else:  # "the minister did not resign": the word before, in its clause, names whom the denial is about
        clause = re.split(r"[,;:—]", m.string[max(m.pos, m.start() - 40) : m.start()])[-1]
        words = set([st for st, _ in stemmed(clause)][-1:])
    if "verb" not in m.re.groupindex:  # "denied that …", "reports that … were false": most of its words
        return (words, "", max(2, -(-2 * len(words) // 3))) if len(words) >= 2 else None
    verb, passive = m["verb"], m.groupdict().get("passive")
    if stem(verb) in _NOT_DENIALS or verb in _NOT_DENIALS or passive and not verb.endswith(("ed", "en")):
        return None
    if _LATER.search(m.string, m.start(), min(m.endpos, m.end() + 40)):  # "has not flooded since": a later time's
        return None
    if m.re is _DENIALS[3]:  # "no one was killed", "no deaths were reported in the fire": its other words too
        event = stem(m["claim"]) if verb in ("reported", "recorded", "confirmed") else stem(verb)
        words = stems(m.string[m.pos : m.endpos]) - {event, stem(m["claim"] or ""), stem(verb)}
        return (words, event, 1) if words and event in HARMS else None
    if m.re is _DENIALS[2] and not words or not stem(verb):  # "It did not …": whose? "did not even": what?
        return None
    return words, stem(verb), min(1, len(words))


def _stated(text: str, s: int, e: int) -> tuple:
    written = stemmed(text[s:e])
    return s, e, written, {st for st, _ in written}


def _report(hit: Hit, i: int, stated: list, story: frozenset, words: set[str], event: str, needed: int) -> _Said | None:
    """The first sentence of a passage that states the claim, neither negated nor hedged. stated: its sentences'
    (start, end, stemmed words, their stems)."""
    for s, e, written, found in stated:
        if (not event or event in found) and len(words & found) >= needed and not _NEGATED.search(hit.text, s, e):
            claim = Claim("denial", hit.text[s:e], "reported", ("denial",), ("reported",), words=written)
            value = Value(hit.text[s:e], "reported", i, (s, e), hit.published_at, hit.outlet)
            return _Said(claim, value, hit.article_id, story=story)
    return None
