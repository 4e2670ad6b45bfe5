"""Dossier: a cited-answer assistant over a library of articles."""

from dossier_core.errors import DossierError
from rag.answer import Answer, Citation
from rag.assistant import Assistant
from rag.filters import Filters
from rag.ingestion import IngestResult
from rag.library import Library
from rag.settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "DossierError", "Filters", "IngestResult", "Library", "Settings"]
