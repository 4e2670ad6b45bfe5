"""Follow-up questions: what to search for given the conversation so far (pure).

A pronoun in a follow-up stands for something an earlier turn named. "What did she say?"
after an answer naming investigator Dr. Ana Ruiz is searched as "What did Ana Ruiz say?":
searching the previous question's words instead drew passages that merely share them,
such as the reporter's author bio. Named entities are found with plain rules (runs of
capitalised words, titles, role words, speech verbs); gender is never guessed.
"""

import re
from dataclasses import dataclass, replace

from dossier_core.text import MONTHS, WEEKDAYS, content_words, sentence_spans
from rag.markers import strip_markers

# A question leaning on an earlier turn refers back with one of these, or opens with a connective.
_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|the same)\b", re.IGNORECASE
)
_CONTINUES = re.compile(r"^\s*(and|but|also|so|what about|how about|then)\b", re.IGNORECASE)

PERSON, ORGANISATION, THING = "person", "organisation", "thing"
# What each personal pronoun most plausibly stands for: "she" and "he" alike a person,
# "it" a thing or an organisation, "they" an organisation.
_PRONOUN_KINDS = {
    "she": PERSON,
    "he": PERSON,
    "her": PERSON,
    "him": PERSON,
    "his": PERSON,
    "it": THING,
    "its": THING,
    "they": ORGANISATION,
    "them": ORGANISATION,
    "their": ORGANISATION,
}
_PRONOUN = re.compile(r"\b(" + "|".join(_PRONOUN_KINDS) + r")\b", re.IGNORECASE)
_FITS = {PERSON: {PERSON}, THING: {THING, ORGANISATION}, ORGANISATION: {ORGANISATION}}
# "it" standing for nothing: "how long will it take", "what does it mean", "is it true".
_DUMMY_IT = re.compile(r"\s+(take|takes|took|mean|means|meant|true|possible|likely)\b", re.IGNORECASE)
# "her" is possessive unless what follows ends the phrase: "ask her about", "hire her?".
_AFTER_OBJECT = frozenset("about after at before by for from in into of on or and to with when if that as".split())

_WORD = re.compile(r"[^\W\d_][\w'’-]*|\S")
# Quoted speech and quoted titles are not what a pronoun points at; their capitals mislead.
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|(?<!\w)‘[^’]*’(?!\w)")

_TITLES = frozenset("dr mr mrs ms mx prof sir dame rev sgt lt capt col sen rep gov hon".split())
_ROLES = frozenset(
    "investigator inspector detective officer chief minister mayor president senator governor judge professor doctor "
    "director spokesperson spokesman spokeswoman secretary chair chairman chairwoman councillor councilor commissioner "
    "reporter correspondent editor author writer captain coach ceo founder manager researcher scientist economist "
    "analyst lawyer attorney prosecutor sheriff superintendent engineer historian witness resident farmer trader "
    "activist official deputy sergeant lieutenant colonel premier chancellor ambassador king queen prince princess "
    "bishop leader teacher nurse pilot owner expert geologist glaciologist biologist physician surgeon".split()
)
# Only people speak in these words: "said Ana Ruiz", "Ruiz told", "Ruiz, the city's engineer", "Ruiz, who".
_SPEECH = frozenset(
    "said says told tells added explained argued wrote warned stated noted confirmed denied replied "
    "announced insisted recalled asked".split()
)
_SPEAKS = re.compile(r"\s*(" + "|".join(_SPEECH) + r")\b")
_APPOSITIVE = re.compile(r"\s*,\s*(who\b|(a|an|the)\s+([\w'’-]+\s+){0,3}?(" + "|".join(_ROLES) + r")\b)", re.IGNORECASE)
_ORGANISATION_WORDS = frozenset(
    "council board committee ministry department agency company corporation corp inc ltd llc plc university college "
    "school police authority association union bank party government commission service institute group court office "
    "federation league club foundation trust society organisation organization parliament congress senate assembly "
    "army navy airlines railway railways network press times post ledger daily news reuters fund centre center "
    "laboratory hospital bureau administration coalition alliance cabinet firm".split()
)
_THING_WORDS = frozenset(
    "bridge street road avenue river lake mountain mount park station airport tower building hall stadium arena square "
    "port harbor harbour island islands bay valley county city state province district region project plan act bill "
    "law report study program programme line highway dam canal tunnel festival cup games war treaty accord agreement "
    "summit fire flood storm hurricane crisis glacier sea ocean north south east west new united republic kingdom "
    "market terminal prize award index system point cape beach coast village town".split()
)
_CALENDAR = frozenset(WEEKDAYS + MONTHS)
# Capitalised only because they start a sentence (or a question): never part of a name.
_STARTERS = frozenset(
    "the a an this that these those in on at by for from to of with after before when while since during according "
    "near around outside inside under over across between through into onto toward towards "
    "its his her their our my your but and or so yet however meanwhile also then there here it he she they we i you "
    "as if once although though last next each every some many most all both no not one two three yesterday today "
    "tomorrow earlier later roughly about nearly almost what who whom whose which where why how did does do is was "
    "are were has have had can could will would should may might must".split()
)
# What follows a sentence's subject: punctuation, an auxiliary or a past-tense verb ("The Harbor Bridge will",
# "Acme Corp, which", "The Rhone Glacier thinned"), not a noun it modifies ("The Lakeport city council").
_AFTER_SUBJECT = re.compile(
    r"\s*($|[,;:.!?(—–]|(is|was|are|were|will|would|has|had|have|can|could|may|might|must|"
    r"should|does|did|said|says|also|now|still)\b|[a-z]+ed\b)"
)
# Lowercase words that join the capitalised words of one name: "Ministry of Transport", "Ludwig van Beethoven".
_CONNECTORS = frozenset("of for de van von der da del du la le".split())


@dataclass(frozen=True)
class Entity:
    name: str
    kind: str  # person | organisation | thing
    cue: bool  # a title, role word, speech verb or "who" marks it as a person
    subject: bool  # it opens its sentence
    context: frozenset[str] = frozenset()  # the content words of the sentences naming it


def previous_question(history: list[dict] | None) -> str | None:
    return _last(history, "user")


def _last(history: list[dict] | None, role: str) -> str | None:
    return next((turn["content"] for turn in reversed(history or []) if turn.get("role") == role), None)


def retrieval_query(question: str, history: list[dict] | None) -> str:
    """The question with its pronoun replaced by the entity the previous answer named; else,
    when it leans on the conversation (it refers back or opens with a connective), the
    previous user question followed by it."""
    resolved = resolve(question, history)
    if resolved:
        return resolved
    previous = previous_question(history)
    if previous and (_REFERS_BACK.search(question) or _CONTINUES.match(question)):
        return f"{previous} {question}"
    return question


def resolve(question: str, history: list[dict] | None) -> str | None:
    """The question with its first personal pronoun replaced by what it most plausibly refers
    to: a person the previous answer names (else the previous question names) for she/he; a
    thing or organisation that opens one of the answer's sentences for it; an organisation
    that does for they. The question itself when it names the referent before the pronoun;
    None when nothing fits."""
    answer = _last(history, "assistant")
    # "the IT department" is no pronoun: words in capitals are acronyms.
    pronoun = next((m for m in _PRONOUN.finditer(question) if not (len(m.group()) > 1 and m.group().isupper())), None)
    if not answer or not pronoun:
        return None
    word = pronoun.group().lower()
    kind = _PRONOUN_KINDS[word]
    if word == "it" and _DUMMY_IT.match(question, pronoun.end()):
        return None
    following = re.match(r"\s*([^\W\d_]+)", question[pronoun.end() :])
    possessive = word in ("his", "its", "their") or (
        word == "her" and following is not None and following.group(1).lower() not in _AFTER_OBJECT
    )
    # "Did Ana Ruiz say she …", "Ana Ruiz and her team": the question names the referent itself.
    # An object pronoun never stands for the clause's subject ("What did Tom Berg say about her?").
    reflexive = possessive or word not in ("him", "her", "them")
    if reflexive and any(e.kind in _FITS[kind] for e in entities(question[: pronoun.start()])):
        return question
    # Among several fitting entities, the one whose sentence shares most words with what the user
    # asked so far: the sentence that answered, not one that came with it.
    topic = content_words(" ".join(turn["content"] for turn in history if turn.get("role") == "user"))
    entity = _referent(kind, entities(answer), topic)
    if entity is None and kind == PERSON:
        entity = _referent(kind, entities(previous_question(history) or ""), topic)
    if entity is None:
        return None
    return question[: pronoun.start()] + entity.name + ("'s" if possessive else "") + question[pronoun.end() :]


def _referent(kind: str, found: list[Entity], topic: set[str]) -> Entity | None:
    """Persons marked as such first; then the most words shared with the topic; then the first named."""
    if kind == PERSON:
        return min(
            (e for e in found if e.kind == PERSON), key=lambda e: (not e.cue, -len(e.context & topic)), default=None
        )
    # "it" and "they" often stand for an unnamed thing ("the price"): only a sentence's subject is trusted.
    return min(
        (e for e in found if e.subject and e.kind in _FITS[kind]), key=lambda e: -len(e.context & topic), default=None
    )


def entities(text: str) -> list[Entity]:
    """The named entities of a text, each once, in order of first mention."""
    text = _QUOTED.sub(" ", strip_markers(text))
    found: dict[str, Entity] = {}
    for start, end, _ in sentence_spans(text):
        context = frozenset(content_words(text[start:end]))
        for entity in _sentence_entities(text[start:end]):
            known = found.get(entity.name)
            if known:  # a later mention may be the one that shows it a subject or a person
                found[entity.name] = replace(
                    known,
                    cue=known.cue or entity.cue,
                    subject=known.subject or entity.subject,
                    context=known.context | context,
                )
            elif not (
                len(entity.name.split()) == 1
                and any(e.kind == PERSON and e.name.split()[-1] == entity.name for e in found.values())
            ):  # "Ruiz" again
                found[entity.name] = replace(entity, context=context)
    return list(found.values())


def _sentence_entities(sentence: str) -> list[Entity]:
    tokens = list(_WORD.finditer(sentence))
    first_word = next((i for i, t in enumerate(tokens) if t.group()[0].isalpha()), None)
    out, i = [], 0
    while i < len(tokens):
        if not tokens[i].group()[0].isupper():
            i += 1
            continue
        run, j = [], i
        while j < len(tokens):
            word = tokens[j].group()
            if word[0].isupper():
                # A title or an initial keeps its full stop: "Dr.", "J.".
                dotted = (
                    j + 1 < len(tokens) and tokens[j + 1].group() == "." and (word.lower() in _TITLES or len(word) == 1)
                )
                bare = re.sub(r"['’]s$", "", word)
                run.append(word + "." if dotted else bare)
                j += 2 if dotted else 1
                if bare != word:  # a possessive ends the name: "Ruiz’s report"
                    break
            elif word in _CONNECTORS and run and j + 1 < len(tokens) and tokens[j + 1].group()[0].isupper():
                run.append(word)
                j += 1
            else:
                break
        before = [w.strip(",;:").lower() for w in sentence[: tokens[i].start()].split()[-3:]]
        entity = _entity(run, i == first_word, before, sentence[tokens[j - 1].end() :])
        if entity:
            out.append(entity)
        i = j
    return out


def _entity(words: list[str], initial: bool, before: list[str], after: str) -> Entity | None:
    """What a run of capitalised words names, if anything; `before` holds the (up to three)
    words before it and `after` the rest of its sentence."""
    subject, titled = initial and bool(_AFTER_SUBJECT.match(after)), False
    article = bool(before) and before[-1] in ("the", "a", "an")  # people's names take none: "the Ostrava Viaduct"
    # "investigator Ana Ruiz", "said Ana Ruiz", "said harbour master Ana Ruiz"
    cue = bool(before) and before[-1] in _ROLES or bool(_SPEECH.intersection(before))
    while words and (
        (initial and words[0].lower() in _STARTERS)
        or words[0].lower() in _ROLES
        or words[0].rstrip(".").lower() in _TITLES
    ):
        word = words.pop(0).rstrip(".").lower()
        titled = titled or word in _TITLES
        cue = cue or word in _ROLES or titled
        article = article or word in ("the", "a", "an")
        initial = False
    cue = cue or bool(_SPEAKS.match(after) or _APPOSITIVE.match(after))
    joint = next((k for k, w in enumerate(words) if w in ("of", "for")), None)
    if cue and joint and not {w.lower() for w in words[:joint]} & (_ORGANISATION_WORDS | _THING_WORDS):
        words = words[:joint]  # "Dr. Ana Ruiz of Transport Canada"
    lower = {w.lower().rstrip(".") for w in words}
    if not words or lower <= _CALENDAR or (len(words) == 1 and (initial or lower <= _STARTERS) and not cue):
        return None
    acronym = any(len(w) >= 2 and w.isupper() and w.isalpha() for w in words)
    if titled:
        kind = PERSON
    elif lower & _ORGANISATION_WORDS or acronym:
        kind = ORGANISATION
    elif article or lower & (_THING_WORDS | _CALENDAR) or not (cue or 2 <= len(words) <= 4):
        kind = THING
    else:
        kind = PERSON
    return Entity(" ".join(words), kind, cue and kind == PERSON, subject)
