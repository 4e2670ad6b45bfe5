"""What an answer is: text with [n] markers, its sentences checked, and the passages they cite."""

from dataclasses import asdict, dataclass, field

from vectorstore.sites import MAIN


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
    url: str | None = None
    author: str | None = None
    outlet: str | None = None  # the publication or site
    published_at: str | None = None
    highlights: tuple[tuple[int, int], ...] = ()  # offsets in `text` of the sentences that support the answer
    library: str = MAIN  # the store's library the article is in


def named_libraries(cited: list[str], asked: list[str]) -> bool:
    """Whether citations say which library each is from: when the question was asked across several, or any
    is not the store's `main`."""
    return len(asked) > 1 or any(name != MAIN for name in cited)


@dataclass(frozen=True)
class Sentence:
    text: str  # with its [n] markers
    citations: tuple[int, ...]
    supported: bool  # one of the cited passages supports it
    reason: str  # why it is or is not supported, for the reader
    # Dossier moved its citation to the passage that supports it (the reason says from which).
    recited: bool = False


@dataclass(frozen=True)
class Reported:
    """One side of a disagreement: a value, the passages that give it, and who gave it when."""

    value: str  # as the first of its passages writes it: "about 3,000", "$48 million", "3 May 2024"
    citations: tuple[int, ...]
    published_at: str | None = None
    outlet: str | None = None
    quote: str = ""  # the sentence of the first of its passages that gives the value


@dataclass(frozen=True)
class Disagreement:
    """Passages of different articles giving different values for one thing, or one denying what another says."""

    about: str  # "people killed", "the cost of the bridge", "when the market closed"
    kind: str  # number | date | name | denial
    values: tuple[Reported, ...]  # a group of agreeing passages each; a correction's earlier value first
    correction: bool = False  # a later article of the same outlet changed its own value


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    sentences: tuple[Sentence, ...] = ()
    removed_markers: tuple[int, ...] = ()  # [n] the model wrote that pointed at no passage
    # Checks of a language model's answer as a whole (always False for extractive answers).
    off_question: bool = False  # it does not address what the question asks
    refusal_contradicted: bool = False  # it says the articles don't say, though a passage answers
    repeated: bool = False  # the model began repeating itself; the answer was cut at the first repeat
    dropped: int = 0  # unverified sentences removed in strict mode
    # The extractive answer, shown beneath as "From the passages" when the model's is off the
    # question or a refusal the passages contradict.
    from_passages: "Answer | None" = None
    # Where the passages found disagree, each side cited (the answer's text says so when Dossier wrote it).
    conflicts: tuple[Disagreement, ...] = ()
    # How the answer was made: the retrieval query, the passages found, seconds per stage.
    trace: dict = field(default_factory=dict, compare=False)

    @property
    def unsupported(self) -> list[int]:
        """Indexes of the sentences no cited passage supports."""
        return [i for i, s in enumerate(self.sentences) if not s.supported]

    def to_dict(self) -> dict:
        return {
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "sentences": [asdict(s) for s in self.sentences],
            "unsupported": self.unsupported,
            "removed_markers": list(self.removed_markers),
            "off_question": self.off_question,
            "refusal_contradicted": self.refusal_contradicted,
            "repeated": self.repeated,
            "dropped": self.dropped,
            "from_passages": self.from_passages.to_dict() if self.from_passages else None,
            "conflicts": [asdict(c) for c in self.conflicts],
            "trace": self.trace,
        }
