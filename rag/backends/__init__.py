from rag.backends.extractive import ExtractiveBackend

# name → class taking (embedder, settings); error messages list these names.
BACKENDS = {"extractive": ExtractiveBackend}
