"""A local GGUF model run in this process by llama-cpp-python (an optional install)."""

import os
from collections.abc import Iterator
from pathlib import Path

from dossier_core.errors import DossierError
from rag.backends.base import ChatBackend

# The Makefile builds llama.cpp with the CPU flags these machines need; the extra is the same package without
# them. Not `pip install dossier[…]`: PyPI's "dossier" is another project.
INSTALL = "make llamacpp in the Dossier folder (it compiles llama.cpp, ~6 min), or pip install -e '.[llamacpp]' there"


class LlamaCppBackend(ChatBackend):
    def __init__(self, embedder, settings):
        super().__init__(settings)
        if not settings.model:
            raise DossierError("llamacpp backend: no model file; pass --model PATH/TO/MODEL.gguf")
        path = Path(settings.model).expanduser()
        if not path.is_file():
            raise DossierError(f"llamacpp backend: {path}: no such model file; pass --model PATH/TO/MODEL.gguf")
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise DossierError(
                f"llamacpp backend: llama-cpp-python is not installed; install it with: {INSTALL}"
            ) from e
        try:
            # The budget counts tiktoken tokens; a model's own tokenizer may need more.
            self._llm = Llama(
                model_path=str(path),
                n_ctx=2 * (settings.context_tokens + settings.max_answer_tokens),
                n_threads=os.cpu_count(),
                verbose=False,
            )
        except ValueError as e:
            raise DossierError(
                f"llamacpp backend: {path}: not a model llama.cpp can load ({e}); pass a .gguf file"
            ) from e

    def _chat(self, messages: list[dict]) -> Iterator[str]:
        for chunk in self._llm.create_chat_completion(
            messages=messages, stream=True, temperature=0, max_tokens=self._settings.max_answer_tokens
        ):
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece
