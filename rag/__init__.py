"""Dossier: a cited-answer assistant over a library of articles."""

from ingest.errors import DossierError
from rag.answer import Answer, Citation
from rag.assistant import Assistant, IngestResult
from rag.filters import Filters
from rag.settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "DossierError", "Filters", "IngestResult", "Settings"]
