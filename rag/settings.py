"""One frozen settings object, validated when built."""

import os
from dataclasses import dataclass

from ingest.errors import DossierError
from rag.backends import BACKENDS

STORE_ENV = "DOSSIER_STORE"
DEFAULT_STORE = "data/store"


def store_from_env() -> str:
    """The store folder for the CLIs and the chat page: $DOSSIER_STORE or data/store."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


@dataclass(frozen=True)
class Settings:
    chunk_size: int = 200  # embedder tokens; MiniLM reads at most 254
    chunk_overlap: int = 40
    top_k: int = 5  # passages retrieved for an answer
    backend: str = "extractive"
    # Below this question–passage cosine similarity the articles are taken not to
    # cover the question (calibrated in bench/calibrate.py; see bench/calibration.md).
    min_relevance: float = 0.35
    max_sentences: int = 3

    def __post_init__(self):
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise DossierError(f"chunk_overlap={self.chunk_overlap} must be at least 0 and below chunk_size={self.chunk_size}")
        if self.top_k < 1 or self.max_sentences < 1:
            raise DossierError(f"top_k={self.top_k} and max_sentences={self.max_sentences} must be at least 1")
        if self.backend not in BACKENDS:
            raise DossierError(f"unknown answer backend '{self.backend}'; choose from: {', '.join(BACKENDS)}")
