"""Dossier: a cited-answer assistant over a library of articles.

The public names load on first use, so that importing a module of the package (the chat page's first lines,
rag.page_open) does not import Chroma and the model's runtime before the page has drawn."""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dossier_core.errors import DossierError
    from rag.answer import Answer, Citation
    from rag.assistant import Assistant
    from rag.filters import Filters
    from rag.ingestion import IngestResult
    from rag.library import Library
    from rag.settings import Settings

_HOMES = {
    "Answer": "rag.answer",
    "Assistant": "rag.assistant",
    "Citation": "rag.answer",
    "DossierError": "dossier_core.errors",
    "Filters": "rag.filters",
    "IngestResult": "rag.ingestion",
    "Library": "rag.library",
    "Settings": "rag.settings",
}
__all__ = ["Answer", "Assistant", "Citation", "DossierError", "Filters", "IngestResult", "Library", "Settings"]


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
