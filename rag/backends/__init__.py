from rag.backends.extractive import ExtractiveBackend
from rag.backends.llamacpp import LlamaCppBackend
from rag.backends.openai_chat import OpenAIBackend

# name → class taking (embedder, settings); error messages list these names.
# Model libraries are imported when a backend is built, so choosing one costs nothing at start.
BACKENDS = {"extractive": ExtractiveBackend, "openai": OpenAIBackend, "llamacpp": LlamaCppBackend}
