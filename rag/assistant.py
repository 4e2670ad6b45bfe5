"""The façade: ingest sources, retrieve passages, answer with citations."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.chunk import chunk_article
from ingest.errors import DossierError
from ingest.load import article_id, content_hash, find_files, parse_article, read_source
from rag.answer import Answer
from rag.backends import BACKENDS
from rag.conversation import retrieval_query
from rag.settings import DEFAULT_STORE, Settings
from vectorstore.embedder import Embedder, MiniLMEmbedder
from vectorstore.store import ChromaStore, Hit

# Bump when cleaning or chunking changes what a stored chunk is.
PIPELINE_VERSION = "1"


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # added | unchanged | replaced | failed
    chunks: int = 0
    title: str | None = None
    error: str | None = None


class Assistant:
    def __init__(self, store: str | Path = DEFAULT_STORE, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or Settings()
        self.embedder = embedder or MiniLMEmbedder()
        if self.settings.chunk_size > self.embedder.max_tokens:
            raise DossierError(
                f"chunk_size={self.settings.chunk_size} is over what {self.embedder.name} reads "
                f"({self.embedder.max_tokens} tokens); lower chunk_size"
            )
        self.store = ChromaStore(
            str(store),
            {
                "embedder": self.embedder.name,
                "dimensions": self.embedder.dim,
                "chunk_size": self.settings.chunk_size,
                "chunk_overlap": self.settings.chunk_overlap,
                "pipeline": PIPELINE_VERSION,
            },
        )
        self._backend = BACKENDS[self.settings.backend](self.embedder, self.settings)

    def ingest(self, paths: Iterable[str | Path]) -> list[IngestResult]:
        return list(self.iter_ingest(paths))

    def iter_ingest(self, paths: Iterable[str | Path]) -> Iterator[IngestResult]:
        """One result per file, as each is stored; a failed file does not stop the rest."""
        for path in find_files(list(paths)):
            try:
                source, data = read_source(path)
                yield self._ingest(source, str(path), data)
            except DossierError as e:
                yield IngestResult(str(path), "failed", error=str(e))

    def ingest_upload(self, name: str, data: bytes) -> IngestResult:
        """A document that arrived as bytes (the chat page's uploader); `name` is only a label."""
        name = Path(name).name
        try:
            return self._ingest(f"upload:{name}", name, data)
        except DossierError as e:
            return IngestResult(f"upload:{name}", "failed", error=str(e))

    def _ingest(self, source: str, name: str, data: bytes) -> IngestResult:
        existing = self.store.article(article_id(source))
        if existing and existing.content_hash == content_hash(data):
            return IngestResult(source, "unchanged", existing.chunks, existing.title)
        article = parse_article(source, name, data)
        chunks = chunk_article(article, self.embedder.count_tokens, self.settings.chunk_size, self.settings.chunk_overlap)
        self.store.put(article, chunks, self.embedder.embed_batch([c.text for c in chunks]))
        return IngestResult(source, "replaced" if existing else "added", len(chunks), article.title)

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the store."""
        return self.store.counts()

    def retrieve(self, query: str, k: int | None = None) -> list[Hit]:
        return self.store.search(self.embedder.embed_batch([query])[0], k or self.settings.top_k)

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Pieces of answer text as they are ready, then the final `Answer`.

        `history` is the conversation so far: [{"role": "user"|"assistant", "content": str}, …].
        """
        question = question.strip()
        if not question:
            raise DossierError("the question is empty; type a question")
        if self.counts()[1] == 0:
            raise DossierError(
                f"store {self.store.path} has no articles yet; add some with: python -m ingest PATH --store {self.store.path}"
            )
        hits = self.retrieve(retrieval_query(question, history))
        yield from self._backend.stream(question, hits, history or [])

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        *_, answer = self.stream(question, history)
        return answer

    def as_retriever(self, k: int | None = None):
        """A LangChain retriever over the store, returning `Document`s with chunk metadata."""
        from rag.retriever import DossierRetriever

        return DossierRetriever(assistant=self, k=k or self.settings.top_k)
