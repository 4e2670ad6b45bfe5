"""Text on the chat page's panels: article text and the engine's errors shown as written, never as Markdown,
and labels that tell articles apart."""

import re
from collections import Counter

import streamlit as st

from rag.page_words import page_message


def escape(text: str) -> str:
    """Article text is shown as written, never interpreted as Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\\\1", text)


def show_error(message: str, where=st) -> None:
    """Errors name inputs (file names, URLs, a server's reply): shown as written too."""
    where.error(escape(page_message(message)))


def unique_labels(records, label) -> dict[str, str]:
    """Article id → label; articles sharing a label (one story from several outlets) get their id's start."""
    labels = {r.id: label(r) for r in records}
    uses = Counter(labels.values())
    return {i: f"{v} · {i[:6]}" if uses[v] > 1 else v for i, v in labels.items()}
