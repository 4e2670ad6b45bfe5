"""One frozen settings object, validated when built."""

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from ingest.errors import DossierError
from rag.backends import BACKENDS

STORE_ENV = "DOSSIER_STORE"
RETRIEVAL = ("hybrid", "dense", "lexical")
DEFAULT_STORE = "data/store"


@contextmanager
def quiet_broken_pipe():
    """For the CLIs: output piped into `head` ends quietly, not with a traceback."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def store_from_env() -> str:
    """The store folder for the CLIs and the chat page: $DOSSIER_STORE or data/store."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


@dataclass(frozen=True)
class Settings:
    chunk_size: int = 200  # embedder tokens; MiniLM reads at most 254
    chunk_overlap: int = 40
    top_k: int = 5  # passages retrieved for an answer
    backend: str = "extractive"
    retrieval: str = "hybrid"  # dense | lexical | hybrid (see bench/eval-squad2.md)
    rerank: bool = True  # reorder the passages found by their best sentence (see bench/eval-squad2.md)
    # Below this question–passage cosine similarity the articles are taken not to
    # cover the question (calibrated in bench/calibrate.py; see bench/calibration.md).
    min_relevance: float = 0.35
    max_sentences: int = 3

    def __post_init__(self):
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise DossierError(f"chunk_overlap={self.chunk_overlap} must be at least 0 and below chunk_size={self.chunk_size}")
        if self.top_k < 1:
            raise DossierError(f"top_k={self.top_k} must be at least 1")
        if not 1 <= self.max_sentences <= 4:
            raise DossierError(f"max_sentences={self.max_sentences} must be from 1 to 4: answers are short")
        if self.retrieval not in RETRIEVAL:
            raise DossierError(f"unknown retrieval '{self.retrieval}'; choose from: {', '.join(RETRIEVAL)}")
        if self.backend not in BACKENDS:
            raise DossierError(f"unknown answer backend '{self.backend}'; choose from: {', '.join(BACKENDS)}")
