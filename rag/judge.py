"""Judging a language model's answer as a whole (pure): every sentence can be supported and
the answer still miss the question (asked what the city will spend on flood barriers, a model
restates the sentence about road repairs); a small model can refuse what its sources plainly
say, or loop on the same sentences. Each check is plain rules over the question's answer type
and rare words (measured on the hand-labelled model answers of bench/answers-labels.jsonl, in bench/answers.md)."""

from dossier_core.text import WORD, content_words, sentence_spans
from rag.backends.extractive import candidates, rarity, statements, together
from rag.markers import strip_markers
from rag.question import KINDS, answer_strength, answer_type
from vectorstore.records import Hit

# An answer addresses the question when it holds this weighted share of the question's words
# (rare ones weigh most) and, for questions asking for a kind of answer, one of that kind.
ADDRESSES = 0.4
# A passage answers plainly when one candidate holds this share and the kind of answer asked for.
ANSWERS = 0.4
# Sentences shorter than this are not taken for a loop when repeated ("Yes." twice is not one).
_LOOP_WORDS = 4


def addresses(question: str, text: str, hits: list[Hit]) -> bool:
    """Whether an answer's text speaks to what the question asks."""
    if not content_words(question):  # "Why?", "Who?": nothing to check the answer against
        return True
    text = strip_markers(text)
    weights = rarity(question, statements(question, hits))
    share = together(weights, frozenset(content_words(text) & content_words(question)))
    kind = answer_type(question)
    return share >= ADDRESSES and (kind not in KINDS or answer_strength(kind, text, question) >= 0.5)


def answered_plainly(question: str, hits: list[Hit]) -> bool:
    """Whether one of the passages plainly answers: a sentence (or a sentence and the next)
    holding the question's rare words together and, where a kind of answer is asked for, one."""
    found = statements(question, hits)
    weights = rarity(question, found)
    typed = answer_type(question) in KINDS
    return any(
        together(weights, frozenset().union(*(s.words for s in c.sentences))) >= ANSWERS
        and (not typed or max(s.typed for s in c.sentences) >= 0.5)
        for c in candidates(question, found)
    )


def first_repeat(text: str, complete: bool = True) -> int | None:
    """Where the first sentence that repeats an earlier one starts (markers and case aside).
    With `complete` False the text is still streaming, so its last sentence may be unfinished."""
    spans = sentence_spans(text)
    if not complete:
        spans = spans[:-1]
    seen = set()
    for start, end, _ in spans:
        words = WORD.findall(strip_markers(text[start:end]).lower())
        key = " ".join(words)
        if len(words) >= _LOOP_WORDS and key in seen:
            return start
        seen.add(key)
    return None
