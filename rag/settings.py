"""One frozen settings object, validated when built."""

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

from ingest.errors import DossierError
from rag.backends import BACKENDS
from vectorstore.embedder import RUNTIMES

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


def settings_from_env(**given) -> "Settings":
    """Settings for the CLIs and the chat page: what the user gave, else $DOSSIER_BACKEND,
    $DOSSIER_MODEL, $DOSSIER_BASE_URL, $OPENAI_API_KEY, $DOSSIER_ENCODER, $DOSSIER_CHROMA_URL and
    $DOSSIER_ALLOW_PRIVATE=1, else the defaults."""
    env = {"backend": "DOSSIER_BACKEND", "model": "DOSSIER_MODEL", "base_url": "DOSSIER_BASE_URL", "api_key": "OPENAI_API_KEY", "encoder": "DOSSIER_ENCODER",
           "chroma_url": "DOSSIER_CHROMA_URL"}
    values = {name: os.environ[var] for name, var in env.items() if os.environ.get(var)}
    if os.environ.get("DOSSIER_ALLOW_PRIVATE") == "1":  # only "1": any other value leaves the safe default
        values["allow_private"] = True
    values.update({k: v for k, v in given.items() if v is not None})
    return Settings(**values)


def store_from_env() -> str:
    """The store folder for the CLIs and the chat page: $DOSSIER_STORE or data/store."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


@dataclass(frozen=True)
class Settings:
    chunk_size: int = 200  # embedder tokens; MiniLM reads at most 254
    chunk_overlap: int = 40
    top_k: int = 5  # passages retrieved for an answer
    backend: str = "extractive"
    encoder: str = "auto"  # MiniLM's runtime: auto (ONNX for questions, PyTorch for ingests) | onnx | torch
    # A Chroma server (`chroma run`) holding the library instead of the store folder; the
    # folder then keeps only a local copy of the BM25 index. Token: $CHROMA_AUTH_TOKEN.
    chroma_url: str | None = None
    retrieval: str = "hybrid"  # dense | lexical | hybrid (see bench/eval-squad2.md)
    rerank: bool = True  # reorder the passages found by their best sentence (see bench/eval-squad2.md)
    # Below this question–passage cosine similarity the articles are taken not to
    # cover the question (calibrated in bench/calibrate.py; see bench/calibration.md).
    min_relevance: float = 0.45
    max_sentences: int = 2  # sentences an extractive answer quotes (two in a row count two; bench/calibration.md)
    strict: bool = False  # drop answer sentences that no cited passage supports
    # Language-model backends (openai, llamacpp).
    model: str | None = None  # the served model's name, or a .gguf path for llamacpp
    base_url: str | None = None  # an OpenAI-compatible server; None is OpenAI itself
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 120.0  # seconds the model may take to answer
    context_tokens: int = 3000  # prompt budget (tiktoken cl100k_base); least relevant passages go first
    max_answer_tokens: int = 400
    # Fetch URLs that resolve to loopback, private or link-local addresses (the user's own network).
    allow_private: bool = False

    def __post_init__(self):
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise DossierError(f"chunk_overlap={self.chunk_overlap} must be at least 0 and below chunk_size={self.chunk_size}")
        if self.top_k < 1:
            raise DossierError(f"top_k={self.top_k} must be at least 1")
        if not 1 <= self.max_sentences <= 4:
            raise DossierError(f"max_sentences={self.max_sentences} must be from 1 to 4: answers are short")
        if self.retrieval not in RETRIEVAL:
            raise DossierError(f"unknown retrieval '{self.retrieval}'; choose from: {', '.join(RETRIEVAL)}")
        if self.context_tokens < 500:
            raise DossierError(f"context_tokens={self.context_tokens} leaves no room for passages; use at least 500")
        if self.encoder not in RUNTIMES:
            raise DossierError(f"unknown encoder runtime '{self.encoder}'; choose from: {', '.join(RUNTIMES)}")
        if self.backend not in BACKENDS:
            raise DossierError(f"unknown answer backend '{self.backend}'; choose from: {', '.join(BACKENDS)}")
