"""Follow-up questions: what to search for given the conversation so far."""

import re

# A question leaning on an earlier turn refers back with one of these, or opens with a connective.
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|the same)\b", re.I)
_CONTINUES = re.compile(r"^\s*(and|but|also|so|what about|how about|then)\b", re.I)


def previous_question(history: list[dict] | None) -> str | None:
    return next((turn["content"] for turn in reversed(history or []) if turn.get("role") == "user"), None)


def retrieval_query(question: str, history: list[dict] | None) -> str:
    """The question, preceded by the previous user question when it leans on it:
    it refers back or opens with a connective."""
    previous = previous_question(history)
    if previous and (_REFERS_BACK.search(question) or _CONTINUES.match(question)):
        return f"{previous} {question}"
    return question
