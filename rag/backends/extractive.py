"""The offline default: answer with the retrieved sentences that hold the answer, each cited.
Nothing is generated, so nothing is made up.

The sentence that shares the most words with a question is often not the one that answers
it ("The minister spoke about the plan on Tuesday." / "He called it 'a reckless gamble'."),
so candidates are single sentences and, when the best-matching sentence lacks the kind of
answer asked for, that sentence with the next one that holds it."""

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from dossier_core.text import content_words, sentence_spans
from rag.backends.base import Backend
from rag.markers import strip_markers
from rag.question import KINDS, answer_strength, answer_type, names
from vectorstore.records import Hit

# Candidate score = cosine(question, best sentence) + LEXICAL × share of the question's content
# words (weighted by rarity) in the candidate + PASSAGE × cosine(question, passage)
# + TYPE when the candidate holds an answer of the kind asked for (calibrated in bench/calibration.md).
LEXICAL = 0.45
PASSAGE = 0.3
TYPE = 0.45
# The share of the question's weighted words at which the TYPE bonus counts in full.
NEAR = 0.5
# The weight of the words of the names a question gives, against its other words (0.6: squad2 answer recall
# unchanged, the news set two answers more; bench/answers.md).
NAMED = 0.6
# What quoting two sentences in a row costs: the second must add enough of the question's words.
SPAN = 0.05
# Further candidates join the answer only when they score close to the best one.
MARGIN = 0.15
# Embedding the sentences is most of an answer's time, so only the EMBEDDED best candidates
# by the rest of the score are embedded.
EMBEDDED = 12
# Answer types whose answer can sit in the sentence after the one naming the question's subject.
_NEIGHBOURLY = KINDS | {"reason"}
_PERSON = re.compile(r"[\"“‘']?(he|she|they|his|her|their)\b", re.I)
_THING = re.compile(r"(it|its|this|that)\b", re.I)


def is_statement(sentence: str) -> bool:
    """A sentence worth quoting: not a heading, caption label or menu line."""
    words = sentence.split()
    if sentence.startswith("#") or len(words) < 4:
        return False
    if sentence.rstrip("\"”’')]*_").endswith((".", "!", "?", "…")):
        return True
    capitalised = sum(w[0].isupper() for w in words)
    return len(words) >= 10 and capitalised < 0.6 * len(words)  # long, and not a Title Case headline


@dataclass(frozen=True)
class Statement:
    """A quotable sentence of a retrieved passage, with what it holds of the question."""

    passage: int  # 1-based, in the order of the passages given
    hit: Hit
    text: str
    words: frozenset[str]  # the question's content words it contains
    typed: float  # how surely it holds an answer of the kind the question asks for (rag.question)


def statements(question: str, hits: list[Hit]) -> list[Statement]:
    """The distinct quotable sentences of the passages, in passage order."""
    asked, kind = content_words(question), answer_type(question)
    seen, found = set(), []
    for passage, hit in enumerate(hits, 1):
        before = (frozenset(), frozenset())  # the question's words in the sentence before: in its names, in all
        for start, end, _ in sentence_spans(hit.text):
            text = hit.text[start:end]
            words = frozenset(content_words(text) & asked)
            person, thing = _PERSON.match(text), _THING.match(text)
            # "He called it …" is about the person the sentence before named, "It failed …" about its subject.
            words |= before[0] if person else before[1] if thing else frozenset()
            named = frozenset(content_words(" ".join(names(text))) & asked)
            before = (named or (before[0] if person else frozenset()), words)
            # Overlapping chunks repeat sentences, and articles quote each other (or themselves, in a pull quote).
            keys = {(hit.article_id, hit.start + start), " ".join(text.split())}
            if not keys & seen:
                seen |= keys
                found.append(Statement(passage, hit, text, frozenset(words), answer_strength(kind, text, question)))
    return [s for s in found if is_statement(s.text)] or found


def rarity(question: str, found: list[Statement]) -> dict[str, float]:
    """Weight of each content word of the question: words found in many of the sentences
    (the topic) tell them apart least; the weights sum to 1."""
    idf = {w: math.log(1 + len(found) / (1 + sum(w in s.words for s in found))) for w in content_words(question)}
    total = sum(idf.values()) or 1.0
    return {w: v / total for w, v in idf.items()}


def together(weights: dict[str, float], words: frozenset[str]) -> float:
    """Share of the question's weighted words found in one candidate."""
    return sum(weights.get(w, 0.0) for w in words)


@dataclass(frozen=True)
class _Candidate:
    sentences: tuple[Statement, ...]  # one sentence, or two in a row
    cheap: float  # the score before embeddings


def candidates(question: str, found: list[Statement]) -> list[_Candidate]:
    """Every sentence and every two sentences in a row of one passage, scored on all but meaning."""
    kind = answer_type(question)
    # The names a question gives place it ("… of Kestrel Monitoring Systems"); for a question asking for a kind
    # of answer, the sentence holding that answer often names them no more, so they count NAMED as much.
    located = content_words(" ".join(names(question))) if kind in _NEIGHBOURLY else set()
    weights = {w: v * (NAMED if w in located else 1.0) for w, v in rarity(question, found).items()}
    total = sum(weights.values()) or 1.0
    weights = {w: v / total for w, v in weights.items()}

    def cheap(group: tuple[Statement, ...]) -> float:
        share = together(weights, frozenset().union(*(s.words for s in group)))
        # The kind of answer counts near the question's words: a number in a sentence about something else is no answer.
        typed = max(s.typed for s in group) * min(1.0, share / NEAR)
        return LEXICAL * share + PASSAGE * group[0].hit.score + TYPE * typed

    singles = [_Candidate((s,), cheap((s,))) for s in found]
    pairs = []
    for a, b in zip(found, found[1:]):
        if a.hit is b.hit and (a.words or b.words):  # news paragraphs are often one sentence long
            # A span of two costs SPAN, unless the second holds the answer the first only leads up to.
            lead = kind in _NEIGHBOURLY and a.words and b.typed > a.typed
            pairs.append(_Candidate((a, b), cheap((a, b)) - (0.0 if lead else SPAN)))
    return singles + pairs


def select(scored: list[tuple[_Candidate, float]], max_sentences: int) -> list[_Candidate]:
    """The best candidate, then others scoring within MARGIN of it, up to max_sentences sentences."""
    ranked = sorted(scored, key=lambda cs: -cs[1])
    if not ranked:
        return []
    best = ranked[0][1]
    chosen, used = [], set()
    for candidate, score in ranked:
        if score < best - MARGIN:
            break
        ids = {id(s) for s in candidate.sentences}
        if not ids & used and len(used) + len(ids) <= max_sentences:
            chosen.append(candidate)
            used |= ids
    return chosen


class ExtractiveBackend(Backend):
    def __init__(self, embedder, settings):
        self._embedder = embedder
        self._settings = settings

    def stream(self, question: str, hits: list[Hit], history: list[dict]) -> Iterator[str]:
        chosen = select(self.scored(question, hits), self._settings.max_sentences)
        quoted = [s for c in chosen for s in c.sentences]
        for n, s in enumerate(quoted):
            # A quoted "[3]", "【3】" or "(3)" would read as a citation marker.
            yield ("" if n == 0 else " ") + f"{strip_markers(s.text)} [{s.passage}]"

    def scored(self, question: str, hits: list[Hit]) -> list[tuple[_Candidate, float]]:
        """The best candidates by the cheap score, with the best cosine of their sentences added."""
        cheap = sorted(candidates(question, statements(question, hits)), key=lambda c: -c.cheap)[:EMBEDDED]
        texts = list(dict.fromkeys(s.text for c in cheap for s in c.sentences))
        vectors = self._embedder.embed_batch([question] + texts)
        cosine = dict(zip(texts, (float(v) for v in vectors[1:] @ vectors[0])))
        # Two sentences count their mean cosine: the one naming the subject must not carry one that says little.
        return [(c, c.cheap + max(cosine[s.text] for s in c.sentences)) for c in cheap]
