"""Every setting in one place: one frozen object, validated when built, filled by one function from the
command-line flag, then the environment variable, then the default. The CLIs, the chat page and
rag.eval all read settings through `load_settings`; `add_flags` gives a CLI the flags of the settings it uses,
with help texts that show the real defaults."""

import argparse
import os
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields

from dossier_core.errors import DossierError
from rag.backends import BACKENDS
from rag.filters import iso_day
from vectorstore.embedder import RUNTIMES
from vectorstore.handle import library_name
from vectorstore.sites import MAIN

RETRIEVAL = ("hybrid", "dense", "lexical")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    store: str = "data/store"  # the store folder (with a Chroma server: only the local copy of the BM25 index)
    # The store's library to use; several, comma-separated, to ask across them ("news,archive").
    library: str = MAIN
    # A Chroma server (`chroma run`) holding the library instead of the store folder.
    chroma_url: str | None = None
    chroma_token: str | None = field(default=None, repr=False)
    cache: str | None = None  # derived model files (MiniLM's ONNX export); None: $XDG_CACHE_HOME/dossier
    encoder: str = "auto"  # MiniLM's runtime: auto (ONNX for questions, PyTorch for ingests) | onnx | torch
    chunk_size: int = 200  # embedder tokens; MiniLM reads at most 254
    chunk_overlap: int = 40
    top_k: int = 5  # passages retrieved for an answer
    retrieval: str = "hybrid"  # dense | lexical | hybrid (see bench/eval-squad2.md)
    rerank: bool = True  # reorder the passages found by their best sentence (see bench/eval-squad2.md)
    # Below this question–passage cosine similarity the articles are taken not to
    # cover the question (calibrated in bench/calibrate.py; see bench/calibration.md).
    min_relevance: float = 0.45
    max_sentences: int = 2  # sentences an extractive answer quotes (two in a row count two; bench/calibration.md)
    strict: bool = False  # drop answer sentences that no cited passage supports
    # The day date words in questions ("last week", "since March") count from, YYYY-MM-DD; None: today.
    as_of: str | None = None
    backend: str = "extractive"
    # Language-model backends (openai, llamacpp).
    model: str | None = None  # the served model's name, or a .gguf path for llamacpp
    base_url: str | None = None  # an OpenAI-compatible server; None is OpenAI itself
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 120.0  # seconds the model may take to answer
    context_tokens: int = 3000  # prompt budget (tiktoken cl100k_base); least relevant passages go first
    max_answer_tokens: int = 400
    # Fetch URLs that resolve to loopback, private or link-local addresses (the user's own network).
    allow_private: bool = False
    # Embed an ingest on a Ray cluster (rag.cluster): "local" (started for the run) or its address; None: here.
    ray: str | None = None
    # The HTTP server (python -m rag serve): where it listens, and the keys its clients send ("KEY", or
    # "KEY:read" for a key that may ask and search but not add or remove). No keys: loopback only.
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self):
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise DossierError(
                f"chunk_overlap={self.chunk_overlap} must be at least 0 and below chunk_size={self.chunk_size}"
            )
        if self.top_k < 1:
            raise DossierError(f"top_k={self.top_k} must be at least 1")
        if not 1 <= self.max_sentences <= 4:
            raise DossierError(f"max_sentences={self.max_sentences} must be from 1 to 4: answers are short")
        if self.context_tokens < 500:
            raise DossierError(f"context_tokens={self.context_tokens} leaves no room for passages; use at least 500")
        object.__setattr__(self, "library", ",".join(self.libraries))
        if not self.libraries:
            raise DossierError(f"library={self.library!r} names no library; give a name such as {MAIN}")
        if self.as_of is not None:
            iso_day("as_of", self.as_of)
        if not 1 <= self.port <= 65535:
            raise DossierError(f"port={self.port} is no TCP port; give one from 1 to 65535")
        for name, value, known in (
            ("retrieval", self.retrieval, RETRIEVAL),
            ("encoder runtime", self.encoder, RUNTIMES),
            ("answer backend", self.backend, BACKENDS),
        ):
            if value not in known:
                raise DossierError(f"unknown {name} '{value}'; choose from: {', '.join(known)}")

    @property
    def libraries(self) -> tuple[str, ...]:
        """The libraries named, each checked, in the order given."""
        return tuple(dict.fromkeys(library_name(n.strip()) for n in self.library.split(",") if n.strip()))

    def visible(self) -> dict:
        """The settings without the secrets, for reports and traces."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}


@dataclass(frozen=True)
class Way:
    """How a setting arrives: its environment variable, and whether it has a flag (secrets have none:
    a command line is visible to every user of the machine)."""

    env: str
    help: str
    flag: bool = True
    unset: str = "none"  # what the default None means, for help texts


WAYS = {
    "store": Way("DOSSIER_STORE", "store folder"),
    "library": Way("DOSSIER_LIBRARY", "the store's library; to ask across several, name them: news,archive"),
    "chroma_url": Way(
        "DOSSIER_CHROMA_URL",
        "a Chroma server holding the library, e.g. http://127.0.0.1:8000",
        unset="the store folder",
    ),
    "chroma_token": Way("CHROMA_AUTH_TOKEN", "the Chroma server's token", flag=False),
    "cache": Way("DOSSIER_CACHE", "folder for derived model files", unset="$XDG_CACHE_HOME/dossier"),
    "encoder": Way("DOSSIER_ENCODER", "MiniLM's runtime: ONNX for questions, PyTorch for ingests when auto"),
    "chunk_size": Way("DOSSIER_CHUNK_SIZE", "embedder tokens per passage"),
    "chunk_overlap": Way("DOSSIER_CHUNK_OVERLAP", "tokens passages share with the one before"),
    "top_k": Way("DOSSIER_TOP_K", "passages retrieved for an answer"),
    "retrieval": Way("DOSSIER_RETRIEVAL", "how passages are found"),
    "rerank": Way("DOSSIER_RERANK", "reorder the passages found by their best sentence"),
    "min_relevance": Way("DOSSIER_MIN_RELEVANCE", "below this question-passage similarity the answer abstains"),
    "max_sentences": Way("DOSSIER_MAX_SENTENCES", "sentences an extractive answer quotes"),
    "strict": Way("DOSSIER_STRICT", "drop sentences that no cited passage supports"),
    "as_of": Way("DOSSIER_AS_OF", "the day date words in questions count from, YYYY-MM-DD", unset="today"),
    "backend": Way("DOSSIER_BACKEND", "who writes the answer"),
    "model": Way("DOSSIER_MODEL", "model name on the server (openai), or a .gguf file (llamacpp)"),
    "base_url": Way("DOSSIER_BASE_URL", "OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1", unset="OpenAI"),
    "api_key": Way("OPENAI_API_KEY", "the model server's key", flag=False),
    "timeout": Way("DOSSIER_TIMEOUT", "seconds the model may take to answer"),
    "context_tokens": Way("DOSSIER_CONTEXT_TOKENS", "prompt budget in tokens"),
    "max_answer_tokens": Way("DOSSIER_MAX_ANSWER_TOKENS", "tokens a model's answer may take"),
    "allow_private": Way("DOSSIER_ALLOW_PRIVATE", "fetch URLs on loopback, private or link-local addresses"),
    "ray": Way(
        "DOSSIER_RAY",
        "embed on a Ray cluster: local (a Ray started for the run) or a cluster's address (auto, HOST:6379, "
        "ray://HOST:10001)",
        unset="this process",
    ),
    "host": Way("DOSSIER_HOST", "address the HTTP server listens on; other than loopback only with API keys"),
    "port": Way("DOSSIER_PORT", "port the HTTP server listens on"),
    # The issue asks for a flag too; its help says the variable keeps the keys off the process list.
    "api_keys": Way(
        "DOSSIER_API_KEYS",
        "a key clients must send (repeatable; KEY:read may only ask and search); the variable takes them "
        "comma-separated and keeps them off the process list",
        unset="none: loopback only",
    ),
}
# The settings each kind of command uses.
STORE = ("store", "library", "chroma_url", "cache", "encoder")
CHUNKING = ("chunk_size", "chunk_overlap")
ANSWERS = ("top_k", "retrieval", "rerank", "min_relevance", "max_sentences", "strict", "as_of", "backend", "model",
           "base_url", "timeout", "context_tokens", "max_answer_tokens")  # fmt: skip
# What an ingest reads: where the library is and how it is chunked, never how questions are answered.
LIBRARY = STORE + CHUNKING + ("chroma_token", "allow_private", "ray")
SERVER = ("host", "port", "api_keys")
_FIELDS = {f.name: f for f in fields(Settings)}


def default(name: str):
    f = _FIELDS[name]
    return f.default if f.default is not MISSING else f.default_factory()


def _kind(name: str) -> type:
    kind = _FIELDS[name].type
    return kind if kind in (int, float, bool) else tuple if str(kind).startswith("tuple") else str


def _flag(name: str) -> str:
    """A setting's flag: a list setting's is singular and repeatable (--api-key A --api-key B)."""
    return "--" + (name[:-1] if _kind(name) is tuple else name).replace("_", "-")


def _shown(name: str) -> str | None:
    """A setting's default as help texts show it (None: what `unset` says)."""
    value = default(name)
    return None if value in (None, ()) else str(value)


def _parse(name: str, text: str, where: str):
    kind = _kind(name)
    if kind is tuple:  # comma-separated
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if kind is bool:
        if text.strip().lower() in TRUE + FALSE:
            return text.strip().lower() in TRUE
        raise DossierError(f"{where}={text!r}: not a yes/no value; use 1 or 0")
    try:
        return kind(text)
    except ValueError:
        wanted = "a whole number" if kind is int else "a number"
        raise DossierError(f"{where}={text!r}: not {wanted}; give {wanted}") from None


def load_settings(
    flags: Mapping | argparse.Namespace | None = None,
    environ: Mapping | None = None,
    names: Iterable[str] | None = None,
    **given,
) -> Settings:
    """Settings from the flags given (None: not given), else the environment, else the defaults.
    With `names`, only those settings are read (an ingest has no business with answer settings);
    the others keep their defaults."""
    environ = os.environ if environ is None else environ
    flags = {**(vars(flags) if isinstance(flags, argparse.Namespace) else dict(flags or {})), **given}
    values = {}
    for name, way in WAYS.items():
        if names is not None and name not in names:
            continue
        if flags.get(name) is not None:
            values[name] = tuple(flags[name]) if _kind(name) is tuple else flags[name]
        elif environ.get(way.env):
            values[name] = _parse(name, environ[way.env], f"${way.env}")
    return Settings(**values)


def add_flags(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """--flag for each setting, defaulting to None so that load_settings can tell 'not given' from a value."""
    for name in names:
        way, value = WAYS[name], _shown(name)
        if not way.flag:
            continue
        flag = _flag(name)
        shown = f"(default: ${way.env}, else {value if value is not None else way.unset})"
        if _kind(name) is tuple:
            parser.add_argument(flag, action="append", dest=name, metavar="KEY", help=f"{way.help} {shown}")
            continue
        if _kind(name) is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=f"{way.help} {shown}")
            continue
        choices = {"retrieval": RETRIEVAL, "encoder": RUNTIMES, "backend": tuple(BACKENDS)}.get(name)
        parser.add_argument(
            flag, type=_kind(name), choices=choices, default=None, metavar=None if choices else name.upper(),
            help=f"{way.help} {shown}",
        )  # fmt: skip


def settings_table() -> str:
    """The README's table of settings: name, flag, variable, default, and what each is for."""
    rows = ["| setting | flag | environment | default |", "|---|---|---|---|"]
    for name, way in WAYS.items():
        flag = f"`{_flag(name)}`" if way.flag else "—"
        value = f"`{_shown(name)}`" if _shown(name) is not None else way.unset
        rows.append(f"| `{name}` | {flag} | `{way.env}` | {value} |")
    return "\n".join(rows)
