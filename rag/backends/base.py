from abc import ABC, abstractmethod
from collections.abc import Iterator

from rag import prompt
from vectorstore.records import Hit


class Backend(ABC):
    """Writes an answer to a question from numbered passages, citing them as [n]."""

    def passages(self, question: str, hits: list[Hit], history: list[dict]) -> list[Hit]:
        """The hits the answer may draw on, most relevant first (a prompt may not fit them all)."""
        return hits

    @abstractmethod
    def stream(self, question: str, hits: list[Hit], history: list[dict]) -> Iterator[str]:
        """Pieces of answer text as they are ready; [n] cites hits[n - 1]."""


class ChatBackend(Backend):
    """A language model answering from the grounded prompt of rag.prompt."""

    def __init__(self, settings):
        self._settings = settings

    def passages(self, question: str, hits: list[Hit], history: list[dict]) -> list[Hit]:
        return prompt.fit(question, hits, history, self._settings.context_tokens)[0]

    def stream(self, question: str, hits: list[Hit], history: list[dict]) -> Iterator[str]:
        _, turns = prompt.fit(question, hits, history, self._settings.context_tokens)
        yield from self._chat(prompt.messages(question, hits, turns))

    @abstractmethod
    def _chat(self, messages: list[dict]) -> Iterator[str]:
        """The model's reply to chat messages, streamed."""
