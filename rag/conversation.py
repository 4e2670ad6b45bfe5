"""Follow-up questions: what to search for given the conversation so far."""

import re

# A question leaning on an earlier turn refers back with one of these.
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|the same)\b", re.I)


def retrieval_query(question: str, history: list[dict] | None) -> str:
    """The question, preceded by the previous user question when it refers back to it."""
    previous = [turn["content"] for turn in history or [] if turn.get("role") == "user"]
    if previous and _REFERS_BACK.search(question):
        return f"{previous[-1]} {question}"
    return question
