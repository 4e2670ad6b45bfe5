"""Answers that say where their sources disagree, from the conflicts rag.conflicts finds among the passages
retrieved. An answer Dossier writes from quotes is then the disagreement itself, each side cited, instead of
one side picked: "Reports differ on the people killed: about 1,200 [1] (Meridian Wire, 12 Aug 2025); 3,000 [2]
(Valley Post, 13 Aug 2025)." A correction says what the value became: "A report on the cost of the bridge was
corrected from £6 million [1] (Harbour Post, 1 Mar 2024) to £9 million [2] (Harbour Post, 4 Mar 2024)." A
model's answer keeps its text and gains the conflicts, their passages cited. What a conflict is about is named
here, from the words of the clauses that give its values ("the people killed", "when the market closes")."""

import re
from dataclasses import replace

from rag.answer import Answer, Citation, Disagreement, Reported, Sentence
from rag.citations import citation
from rag.claims import SOURCE, WORD, Claim, content_stem, is_event, stem, stems
from rag.conflicts import ASKED, HARMS, Conflict, shared_words
from rag.question import answer_type
from rag.recency import day_label
from vectorstore.records import Hit


def on_question(conflicts: list[Conflict], question: str) -> tuple[list[Conflict], bool]:
    """The conflicts about what the question is about (a word of theirs in it, stemmed as the conflicts are:
    "died" and "death toll" ask about people killed), and whether they answer it: it asks for a value of
    their kind, one side denies what another reports, or a correction notice is read without the article it
    corrects (its text gives the wrong value first: a quote of it would mislead)."""
    words = stems(question)
    related = [c for c in conflicts if c.words & words]
    wanted = ASKED.get(answer_type(question))
    return related, any(c.kind in (wanted, "denial") or _notice(c) for c in related)


def _notice(conflict: Conflict) -> bool:
    """Whether it is a correction whose values one article gives: a correction notice alone."""
    return conflict.correction and len({(v.outlet, v.published_at) for v in conflict.values}) == 1


def reported(conflicts: list[Conflict], hits: list[Hit]) -> Answer:
    """The answer that names each conflict's sides, its passages numbered by first use."""
    citations: list[Citation] = []
    disagreements = tuple(_disagreement(c, hits, _citing(citations, hits)) for c in conflicts)
    sentences = tuple(_sentence(d) for d in disagreements)
    return Answer(" ".join(s.text for s in sentences), tuple(citations), False, sentences, conflicts=disagreements)


def with_conflicts(answer: Answer, conflicts: list[Conflict], hits: list[Hit]) -> Answer:
    """`answer` listing the conflicts, their passages added to its citations (after its own)."""
    if not conflicts or answer.abstained:
        return answer
    citations = list(answer.citations)
    disagreements = tuple(_disagreement(c, hits, _citing(citations, hits)) for c in conflicts)
    return replace(answer, citations=tuple(citations), conflicts=disagreements)


def _citing(citations: list[Citation], hits: list[Hit]):
    """The number citing a passage: its citation's, or a new one appended to `citations`, with the
    sentences that give a value highlighted."""
    number = {(c.article_id, c.start): c.n for c in citations}

    def cite(hit: Hit, sentence: tuple[int, int]) -> int:
        key = (hit.article_id, hit.start)
        if key not in number:
            number[key] = len(citations) + 1
            citations.append(citation(number[key], hit, [sentence]))
        return number[key]

    return cite


def _disagreement(conflict: Conflict, hits: list[Hit], cite) -> Disagreement:
    sides = []
    for side in sorted({v.side for v in conflict.values}):
        values = [v for v in conflict.values if v.side == side]
        numbers = tuple(dict.fromkeys(cite(hits[v.passage], v.sentence) for v in values))
        first = values[0]
        quote = hits[first.passage].text[slice(*first.sentence)]
        sides.append(Reported(first.value, numbers, first.published_at, first.outlet, quote))
    return Disagreement(about(conflict), conflict.kind, tuple(sides), conflict.correction)


def _sentence(d: Disagreement) -> Sentence:
    # A side's outlet and date, unless the next side's are the same (a correction notice's two values).
    credits = [_credit(v) for v in d.values]
    sides = [
        f"{v.value} {''.join(f'[{n}]' for n in v.citations)}{'' if credit in credits[i + 1 : i + 2] else credit}"
        for i, (v, credit) in enumerate(zip(d.values, credits))
    ]
    if d.correction:
        text = f"A report on {d.about} was corrected from {', then '.join(sides[:-1])} to {sides[-1]}."
        reason = "a later article of the same outlet, or its correction notice"
    else:
        text, reason = f"Reports differ on {d.about}: {'; '.join(sides)}.", "the passages cited give different values"
    return Sentence(text, tuple(n for v in d.values for n in v.citations), True, f"{reason}; each is quoted")


def _credit(value: Reported) -> str:
    credit = ", ".join(filter(None, (value.outlet, day_label(value.published_at) if value.published_at else None)))
    return f" ({credit})" if credit else ""


# -- what a conflict is about, as a noun phrase from its clauses' words ("the people killed", "the cost of the
# Brook Lane redevelopment", "the length of the tunnel", "when the market closes")


def about(conflict: Conflict) -> str:
    """What the conflict's claims are of: a noun phrase read from the first whose clause gives one, a name's role
    ("the director of the agency"), or whether a report is so ("whether the minister resigned"); else the words
    the claims share."""
    claims, first = conflict.claims, conflict.claims[0]
    if conflict.kind == "denial":  # the report's words, the denied ones among them
        return _whether(first.written, first.subjects) or " ".join(
            dict.fromkeys(w for st, w in first.words if st in first.subjects)
        )
    if first.label:
        return first.label
    cost = any(stem("cost") in c.events for c in claims)
    label = next(filter(None, (_describe(c, shared_words(c, claims), cost) for c in claims)), "")
    if label:
        return label
    written = [w for st, w in dict(first.words).items() if st in shared_words(first, claims)][:4]
    return ("when " if first.kind == "date" else "") + " ".join(written) or str(first.unit[-1])


_DETERMINERS = frozenset("the a an its their his her our this".split())
_AUXILIARIES = frozenset("is are was were be been being has have had will would can could may might must".split())
_PREPOSITIONS = frozenset("of in at on from near for to by with through across into over inside outside".split())
_TAIL = re.compile(r"(?:\s+(?:on|in|at|by|from|until|since|to|for|of|with|who|that|which|and|the|a|an))+\s*$", re.I)
# Nouns for people: a count of them that did something is "the people who marched", not "the people marched".
_PEOPLE = re.compile(
    r"(?:people|persons|children|men|women|staff|crew|police|troops|[a-z]{3,}(?:ers|ors|ists|ants|ents|ians|ees))$"
)
_DIMENSION_WORDS = dict.fromkeys("tall high height rose risen rise rises peaked reached level".split(), "height")
_DIMENSION_WORDS |= dict.fromkeys(("deep", "depth"), "depth") | dict.fromkeys(("wide", "width"), "width")
_DIMENSION_WORDS |= dict.fromkeys(("long", "length"), "length")
_DIMENSIONS = {"m": "length", "kg": "weight", "km/h": "speed", "ha": "area"}
_RISES = frozenset(map(stem, "rise rises rose risen raise raised increase increased grow grew grown".split())) | {"up"}
_FALLS = frozenset(map(stem, "fall falls fell fallen cut drop dropped decrease decreased shrink shrank".split())) | {
    "down"
}


def _describe(claim: Claim, shared: set[str], cost: bool = False) -> str:
    """What a number or a date is of, as a noun phrase of its clause's words, those in `shared` (the stems of the
    words that the values compared share) among them; "" when none reads. cost: one of the values is a cost."""
    before, after = claim.clause
    if claim.kind == "date":  # "…, when the market closes for good"; "The bridge opened on"
        when = re.match(r"\W*when\s+", after)
        words = _phrase(after[when.end() :] if when else before, shared, determiner=False)
        return f"when {words}" if words else ""
    if claim.unit[0] == "count":
        return _counted(claim, shared)
    spent = claim.unit[0] == "money" and re.match(r"\s*(?:on|for)\s+", after)  # "£6 million on repairs to …"
    thing = _phrase(after[spent.end() :], shared, start=True, limit=6) if spent else _thing(after, shared)
    thing = thing or _phrase(before, shared - claim.events, subject=True)
    if not thing:
        return ""
    if claim.unit[0] == "money":
        return f"the {'cost' if cost else 'value'} of {thing}"
    if claim.unit[0] in _DIMENSIONS:
        written = {w.lower() for w in WORD.findall(f"{before} {after}")}
        dimension = next((_DIMENSION_WORDS[w] for w in written if w in _DIMENSION_WORDS), _DIMENSIONS[claim.unit[0]])
        return f"the {dimension} of {thing}"
    moved = re.search(r"\b([a-z]+)\s+by\s*$", before) if "by" in claim.modifiers else None  # "rose by 4 %"
    if moved:
        went = stem(moved[1]) or moved[1]  # "go up by", "cut by"
        change = "fall" if went in _FALLS else "rise" if went in _RISES else "change"
        return f"the {change} in {thing}"
    return thing  # a percentage: "the turnout"


def _counted(claim: Claim, shared: set[str]) -> str:
    """The counted noun and what happened to it, or what it did: "the people killed", "the residents evacuated",
    "the people who took part in a march through Larchmont", "the patients at Kelderby General Hospital"."""
    before, after = claim.clause
    noun = claim.words[0][1] if claim.unit[1] and claim.words and claim.words[0][0] == claim.unit[1] else ""
    if not noun:  # "the death toll rose to 9"
        return _phrase(before, shared, subject=True)
    written = re.match(rf"\s*((?:[a-z][\w-]*\s+){{0,2}}?{re.escape(noun)})\b", after)
    counted, rest = (written[1], after[written.end() :]) if written else (noun, after)
    done = re.search(r"\b([a-z]+)\s*$", before)  # "the storm killed 1,200 people", "crews evacuated 300 homes"
    if done and is_event(done[1]) and done[1].endswith(("ed", "en")):
        return f"the {counted} {done[1]}"
    verb = re.match(r"\s*(?:(?P<aux>(?:were|was|are|is|have|has|had)\s+)?(?:been\s+)?)(?P<verb>[a-z]+)\b", rest)
    harm = verb and HARMS.get(stem(verb["verb"]))  # "six people died", "31 were hurt": the people killed, injured
    if harm or verb and (verb["aux"] or not written) and is_event(verb["verb"]):
        return f"the {counted} {harm or verb['verb']}"
    place = re.match(r"\s*(of|in|at|from|on|near)\s+((?:the\s+)?[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*)", rest)
    if place:
        return f"the {counted} {place[1]} {place[2]}"
    did = _phrase(rest, shared, determiner=False, start=True)
    if did and did.split()[0].lower() in _PREPOSITIONS:  # "1,150 pupils on roll"; not "… from eight stations fought"
        return f"the {counted} {did}" if len(did.split()) <= 4 else f"the {counted}"
    if did:  # "4,000 people took part in a march", "40 homes destroyed by fire", "90 ships that called"
        who = "who " if _PEOPLE.search(counted) else "" if did.split()[0].endswith("ed") else "that "
        return f"the {counted} {who}{did}"
    return f"the {counted}"


def _thing(after: str, shared: set[str]) -> str:
    """The noun a sum or a measure is of, written after it: "a $130 million contract to build four ferries", "a
    £42 million redevelopment of Brook Lane", "the 3.2 km Glasmere Tunnel"; "" when none is."""
    m = re.match(
        r"\s*((?:[A-Za-z][\w’'-]*\s*){1,3}?)(?=\s*(?:\b(?:of|to|for|in|at|on|after|with|that|which)\b|[,.;:]|$))", after
    )
    head = m[1].strip() if m else ""
    words = head.split()
    if not words or any(not content_stem(w) or is_event(w.lower()) or w.lower() in _DIMENSION_WORDS for w in words):
        return ""
    more = _phrase(after[m.end() :], shared, determiner=False, start=True, limit=6)
    phrase = f"{head} {more}".strip() if more and after[m.end() :].split()[0] in ("of", "to", "for") else head
    return f"the {phrase}" if stems(phrase) & shared else ""


def _phrase(text: str, shared: set[str], subject: bool = False, determiner: bool = True, start: bool = False,
            limit: int = 8) -> str:  # fmt: skip
    """The words of `text` from the first in `shared` (with the name and determiner before it) to the last, at most
    `limit` of them; from the first word if `start`; a subject's ending before its verb. With a determiner ("the")
    when `determiner` and what it names is no name."""
    words = list(WORD.finditer(text))
    marked = [i for i, w in enumerate(words) if content_stem(w.group()) in shared]
    if not marked:
        return ""
    first = 0 if start else marked[0]
    last = max(i for i in marked if i < first + limit) if any(i < first + limit for i in marked) else -1
    if subject:  # "the Brook Lane redevelopment will cost", "the estate covers": the subject ends at its verb
        verb = len(words) - 1 if words[-1].group().islower() and len(words) > 1 else len(words)
        last = next((i - 1 for i in range(first + 1, last + 1) if words[i].group().lower() in _AUXILIARIES), last)
        last = min(last, verb - 1)
    while first and not text[words[first - 1].end() : words[first].start()].strip():
        if not (words[first - 1].group()[0].isupper() or words[first - 1].group().lower() in _DETERMINERS):
            break
        first -= 1
        if words[first].group().lower() in _DETERMINERS:
            break
    if last < first:
        return ""
    phrase = _TAIL.sub("", text[words[first].start() : words[last].end()])
    lead, _, rest = phrase.partition(" ")
    if lead.lower() in _DETERMINERS:  # "The hoard", "its new stadium": the hoard, the new stadium
        return f"{'the' if determiner else lead.lower() if lead in ('The', 'A', 'An') else lead} {rest}".strip()
    following = words[1].group() if len(words) > 1 else ""
    if determiner and not first and following.islower() and not text[: words[0].start()].strip():
        phrase = lead.lower() + phrase[len(lead) :]  # "Turnout was": a sentence's first word, not a name
    head = re.split(rf"\s(?:{'|'.join(_PREPOSITIONS)})\s", phrase)[0].split()[-1]  # "unemployment" in "… in Lorvik"
    return f"the {phrase}" if determiner and head[:1].islower() else phrase


def _whether(sentence: str, wanted: set[str]) -> str:
    """What a report states, as "whether …": the clause of the sentence with most of `wanted` (the stems of what
    a denial denies), from its start (after who says so) to its end, or to the last of them if long."""
    clauses = [c for c in re.split(r"[;:()\[\]—]|,(?!\d)|\s[–-]\s", sentence) if c.strip()]
    clause = max(clauses, key=lambda c: len(stems(c) & wanted), default="")
    if len(clause.split()) > 12:  # "A wall was built after the street flooded twice": the part saying it
        parts = re.split(r"\b(?:after|when|because|as|since|that|which|who|where|before|until|if)\b", clause)
        clause = max(reversed(parts), key=lambda c: len(stems(c) & wanted))
    told = list(SOURCE.finditer(clause))
    clause = clause[told[-1].end() :] if told and stems(clause[told[-1].end() :]) & wanted else clause
    short = len(clause.split()) <= 12  # the whole clause, else to the last of the words
    words = _phrase(clause, wanted | stems(clause) if short else wanted, determiner=False, start=True, limit=12)
    return f"whether {words}" if stems(words) & wanted else ""
