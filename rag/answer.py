"""What an answer is: text with [n] markers and the passages they cite."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str | None
    source: str
    text: str  # the cited passage
    start: int  # offsets of the passage in the cleaned article text
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]
    abstained: bool

    def to_dict(self) -> dict:
        return {"answer": self.text, "abstained": self.abstained, "citations": [asdict(c) for c in self.citations]}
