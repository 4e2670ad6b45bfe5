"""Answers that say where their sources disagree, from the conflicts rag.conflicts finds among the passages
retrieved. An answer Dossier writes from quotes is then the disagreement itself, each side cited, instead of
one side picked: "Reports differ on the people killed: about 1,200 [1] (Meridian Wire, 2025-08-12); 3,000 [2]
(Valley Post, 2025-08-13)." A model's answer keeps its text and gains the conflicts, their passages cited."""

from dataclasses import replace

from rag.answer import Answer, Citation, Disagreement, Reported, Sentence
from rag.citations import citation
from rag.claims import stems
from rag.conflicts import ASKED, Conflict
from rag.question import answer_type
from vectorstore.records import Hit


def on_question(conflicts: list[Conflict], question: str) -> tuple[list[Conflict], bool]:
    """The conflicts about what the question is about (a word of theirs in it, stemmed as the conflicts are:
    "died" and "death toll" ask about people killed), and whether they answer it: it asks for a value of
    their kind, or one side denies what another reports."""
    words = stems(question)
    related = [c for c in conflicts if stems(c.about) & words]
    wanted = ASKED.get(answer_type(question))
    return related, any(c.kind in (wanted, "denial") for c in related)


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
    return Disagreement(conflict.about, conflict.kind, tuple(sides), conflict.correction)


def _sentence(d: Disagreement) -> Sentence:
    sides = "; ".join(f"{v.value} {''.join(f'[{n}]' for n in v.citations)}{_credit(v)}" for v in d.values)
    if d.correction:
        text, reason = f"A report on {d.about} was corrected: {sides}.", "a later article of the same outlet"
    else:
        text, reason = f"Reports differ on {d.about}: {sides}.", "the passages cited give different values"
    return Sentence(text, tuple(n for v in d.values for n in v.citations), True, f"{reason}; each is quoted")


def _credit(value: Reported) -> str:
    credit = ", ".join(filter(None, (value.outlet, (value.published_at or "")[:10])))
    return f" ({credit})" if credit else ""
