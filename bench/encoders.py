"""MiniLM's runtimes compared: throughput over Dossier's sotu chunks, and squad2
retrieval quality when the same runtime embeds both the corpus and the questions.

    python bench/encoders.py [--rounds 2] [--report bench/encoders.md]

Variants: PyTorch float32 (the reference), PyTorch bfloat16 autocast (the default for
ingests where the CPU has AMX), ONNX Runtime float32 on the cached export (the default
for questions), ONNX Runtime int8 (dynamic quantization of the export's MatMuls,
per channel), and "auto", Dossier's default (ingest by PyTorch, questions by ONNX).
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "bench" / "squad2"
SAMPLE = 640


def variants() -> dict:
    import vectorstore.embedder as embedder
    from vectorstore.embedder import MiniLMEmbedder, cache_dir

    @contextmanager
    def without_amx():
        real, embedder.has_amx = embedder.has_amx, lambda torch: False
        try:
            yield
        finally:
            embedder.has_amx = real

    class Float32Torch(MiniLMEmbedder):
        def embed_batch(self, texts: list[str]):
            with without_amx():
                return super().embed_batch(texts)

        def embed_bulk(self, texts: list[str]):
            with without_amx():
                return super().embed_bulk(texts)

    class Int8Onnx(MiniLMEmbedder):
        def onnx_file(self) -> Path:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            target = cache_dir() / "bench-int8.onnx"
            if not target.exists():
                quantize_dynamic(
                    super().onnx_file(),
                    target,
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    op_types_to_quantize=["MatMul"],
                    extra_options={"DefaultTensorType": 1},
                )
            return target

    return {
        "PyTorch float32": Float32Torch("torch"),
        "PyTorch bfloat16 (AMX)"
        if embedder.has_amx(__import__("torch"))
        else "PyTorch (no AMX: float32)": MiniLMEmbedder("torch"),
        "ONNX Runtime float32": MiniLMEmbedder("onnx"),
        "ONNX Runtime int8": Int8Onnx("onnx"),
        "auto (default)": MiniLMEmbedder("auto"),
    }


def sample_texts() -> list[str]:
    sys.path.insert(0, str(ROOT / "bench"))
    from ingest_speed import dossier_chunks

    texts = dossier_chunks()
    return texts[:: max(1, len(texts) // SAMPLE)][:SAMPLE]


def squad_hits(embedder) -> dict:
    from rag import Assistant
    from rag.eval import evaluate, ingest_corpus, load_questions, summarize

    with tempfile.TemporaryDirectory(prefix="dossier-encoders-") as folder:
        assistant = Assistant(folder, embedder=embedder)
        ingest_corpus(assistant, str(SQUAD / "corpus.jsonl"))
        return summarize(evaluate(assistant, load_questions(SQUAD / "questions-dev.jsonl")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    texts = sample_texts()
    models = variants()
    bulk = {name: m for name, m in models.items() if name != "auto (default)"}  # auto's bulk path is PyTorch's
    for m in bulk.values():
        m.embed_bulk(texts[:16])  # load, export, quantize: not timed
    speed = {name: [] for name in bulk}
    for _ in range(args.rounds):  # alternating, so every variant sees the same machine
        for name, m in bulk.items():
            began = time.perf_counter()
            m.embed_bulk(texts)
            speed[name].append(len(texts) / (time.perf_counter() - began))
            print(f"{name}: {speed[name][-1]:.1f} chunks/s", file=sys.stderr)
    quality = {name: squad_hits(m) for name, m in models.items()}
    reference = statistics.median(speed["PyTorch float32"])
    rows = []
    for name in models:
        rate = statistics.median(speed[name]) if name in speed else None
        q = quality[name]
        rows.append(
            f"| {name} | {f'{rate:.1f}' if rate else '(PyTorch’s)'} | {f'{rate / reference:.2f}' if rate else ''} | "
            f"{q['hits_at_1']:.3f} | {q['hits_at_5']:.3f} | {q['mrr_at_10']:.3f} |"
        )
    lines = [
        "## Encoder runtimes",
        "",
        f"{date.today()} · {platform.machine()}, {os.cpu_count()} CPUs · throughput over {len(texts)} of Dossier's "
        f"sotu chunks (median of {args.rounds} alternating rounds, batches of 8 sorted by length) · squad2: 250 "
        "questions over 411 paragraphs, hybrid + rerank · `python bench/encoders.py`",
        "",
        "| runtime | chunks/s | × PyTorch float32 | Hits@1 | Hits@5 | MRR@10 |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
