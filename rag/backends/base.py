from abc import ABC, abstractmethod
from collections.abc import Iterator

from rag.answer import Answer
from vectorstore.store import Hit


class Backend(ABC):
    """Turns a question and retrieved passages into an answer."""

    @abstractmethod
    def stream(self, question: str, hits: list[Hit], history: list[dict]) -> Iterator[str | Answer]:
        """Yield pieces of answer text as they are ready, then the final `Answer`."""
