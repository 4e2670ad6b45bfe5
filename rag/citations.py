"""Citation numbering, shared by every backend."""

import re

from rag.answer import Answer, Citation
from vectorstore.store import Hit

_MARKER = re.compile(r"\s*\[\d+\]")


def cite(claims: list[tuple[str, Hit]]) -> tuple[list[str], Answer]:
    """Each claim sentence gets the [n] of its passage; passages are numbered
    1..n in order of first use and only cited ones are returned.

    Returns the answer's text pieces (for streaming) and the final Answer.
    """
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    pieces = []
    for sentence, hit in claims:
        if hit.chunk_id not in numbers:
            numbers[hit.chunk_id] = len(numbers) + 1
            citations.append(
                Citation(
                    n=numbers[hit.chunk_id],
                    article_id=hit.article_id,
                    title=hit.title,
                    source=hit.source,
                    text=hit.text,
                    start=hit.start,
                    end=hit.end,
                    score=round(hit.score, 4),
                )
            )
        # A quoted "[3]" would read as a citation marker.
        sentence = _MARKER.sub("", sentence).strip()
        pieces.append(("" if not pieces else " ") + f"{sentence} [{numbers[hit.chunk_id]}]")
    return pieces, Answer(text="".join(pieces), citations=tuple(citations), abstained=False)
