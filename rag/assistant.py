"""The façade: ingest sources, retrieve passages, answer with citations."""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ingest.chunk import INDEXED, chunk_article
from ingest.errors import DossierError
from ingest.load import MAX_BYTES, Document, article_id, find_inputs, parse_articles, read_input, upload
from ingest.models import Article, Chunk
from ingest.text import content_words
from rag.answer import Answer
from rag.backends import BACKENDS
from rag.backends.extractive import ExtractiveBackend
from rag.citations import Verifier, abstains, finish
from rag.conversation import previous_question, resolve, retrieval_query
from rag.evidence import weigh
from rag.feedback import FeedbackLog
from rag.filters import Filters
from rag.judge import addresses, answered_plainly, first_repeat
from rag.markers import MarkerStream, Numbering
from rag.settings import DEFAULT_STORE, Settings
from vectorstore.embedder import Embedder, MiniLMEmbedder, Remembering
from vectorstore.records import ArticleRecord, Hit
from vectorstore.store import ChromaStore

# Bump when cleaning or chunking changes what a stored chunk is: stores re-chunk.
PIPELINE_VERSION = "4"
# A question, not a document: longer ones are refused rather than scanned by every rule.
MAX_QUESTION = 2000
# Filters become an id list in the vector and lexical queries; SQLite caps a query's variables.
MAX_FILTERED_ARTICLES = 10_000
# Chunks are embedded in groups across articles: one length-sorted encode of a few hundred
# pads less and costs less per call than one per article (sotu: 15-25 % faster).
EMBED_GROUP = 256
log = logging.getLogger("dossier")


def _best(hits: list[Hit]) -> float:
    return max((h.score for h in hits), default=-1.0)


def _traced(hit: Hit) -> dict:
    m = hit.metadata
    return {"chunk_id": hit.chunk_id, "article_id": hit.article_id, "title": hit.title, "source": hit.source, "url": m.get("url"),
            "outlet": m.get("site"), "published_at": m.get("published_at"), "score": round(hit.score, 4)}


def abstention(hits: list[Hit], missing: tuple[str, ...] = ()) -> Answer:
    """Saying the library does not cover the question, and what the closest passages are about instead."""
    titles = list(dict.fromkeys(f"“{h.title or h.source}”" for h in sorted(hits, key=lambda h: -h.score)))[:3]
    if missing:
        text = f"The articles in the library don't mention {' or '.join(missing)}, so they don't cover this question."
        if titles:
            text += f" The closest passages are about {', '.join(titles)}."
    else:
        text = "The articles in the library don't cover this question."
        if titles:
            text += f" The closest passage is from {titles[0]}, but it does not answer this."
    return Answer(text=text, citations=(), abstained=True)


@dataclass(frozen=True)
class _Pending:
    """An article chunked and waiting for its group to be embedded."""

    article: Article
    labels: tuple[str, ...]
    chunks: list[Chunk]
    status: str  # added | replaced


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # added | unchanged | replaced | duplicate | failed
    chunks: int = 0
    title: str | None = None
    error: str | None = None  # why it failed, or what it duplicates


class Assistant:
    def __init__(self, store: str | Path = DEFAULT_STORE, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or Settings()
        self.embedder = embedder or MiniLMEmbedder(self.settings.encoder)
        if self.settings.chunk_size > self.embedder.max_tokens:
            raise DossierError(
                f"chunk_size={self.settings.chunk_size} is over what {self.embedder.name} reads "
                f"({self.embedder.max_tokens} tokens); lower chunk_size"
            )
        self.store = ChromaStore(store, {"embedder": self.embedder.name, "dimensions": self.embedder.dim}, self.settings.chroma_url)
        self.store.recover_if_idle()
        self.feedback = FeedbackLog(self.store.path / "dossier-feedback.sqlite3")
        self._sentences = Remembering(self.embedder)
        self._backend = BACKENDS[self.settings.backend](self._sentences, self.settings)
        extractive = isinstance(self._backend, ExtractiveBackend)
        self._extractive = self._backend if extractive else ExtractiveBackend(self._sentences, self.settings)
        self._verifier = Verifier(self._sentences)
        chunking = {"chunk_size": self.settings.chunk_size, "chunk_overlap": self.settings.chunk_overlap, "pipeline": PIPELINE_VERSION}
        if self.store.chunking() != chunking:
            self._rechunk(chunking)

    # -- library

    def ingest(self, inputs: Iterable[str | Path], **options) -> list[IngestResult]:
        return list(self.iter_ingest(inputs, **options))

    def iter_ingest(
        self,
        inputs: Iterable[str | Path],
        include: list[str] = (),
        exclude: list[str] = (),
        keep: tuple[str, ...] = (),
        max_bytes: int = MAX_BYTES,
        on_wait=None,
    ) -> Iterator[IngestResult]:
        """One result per article as each is stored. Inputs are files, folders
        (recursive), http(s) URLs or '-' for stdin; `keep` adds regions to index
        (e.g. "comments"). A failed input does not stop the rest."""
        labels = INDEXED + tuple(keep)
        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        with self.store.writing(on_wait):
            pending: list[_Pending] = []
            for item in find_inputs([str(i) if isinstance(i, Path) else i for i in inputs], include, exclude):
                yield from self._guarded(str(item), lambda item=item: self._ingest(read_input(item, max_bytes, self.settings.allow_private), labels, pending))
            yield from self._embed(pending)

    def ingest_upload(self, name: str, data: bytes) -> list[IngestResult]:
        """A document that arrived as bytes (the chat page's uploader)."""
        with self.store.writing():
            pending: list[_Pending] = []
            results = list(self._guarded(f"upload:{name}", lambda: self._ingest(upload(name, data), INDEXED, pending)))
            return results + list(self._embed(pending))

    @staticmethod
    def _guarded(name: str, results) -> Iterator[IngestResult]:
        """Results of one input; whatever goes wrong with it becomes its failed result, so a batch goes on."""
        try:
            yield from results()
        except DossierError as e:
            yield IngestResult(name, "failed", error=str(e))
        except Exception as e:  # noqa: BLE001 — an unforeseen problem with one input must not stop the rest
            yield IngestResult(name, "failed", error=f"{name}: unexpected error ({type(e).__name__}: {e}); please report it")

    def _ingest(self, doc: Document, labels: tuple[str, ...], pending: list[_Pending]) -> Iterator[IngestResult]:
        known = self.store.find(source=doc.source)
        if known and known.content_hash == doc.content_hash:
            yield IngestResult(doc.source, "unchanged", known.chunks, known.title)
            return
        articles, problems = parse_articles(doc)
        for article in articles:
            existing = self.store.article(article.id)
            result = self._needless(article, existing, pending)
            if result:
                yield result
            else:
                yield from self._queue(pending, _Pending(article, labels, self._chunk(article, labels), "replaced" if existing else "added"))
        for problem in problems:
            yield IngestResult(doc.source, "failed", error=problem)

    def _needless(self, article: Article, existing: ArticleRecord | None, pending: list[_Pending]) -> IngestResult | None:
        """The result for an article that needs no storing: unchanged, or a duplicate of another."""
        if existing and existing.content_hash == article.content_hash:
            return IngestResult(article.source, "unchanged", existing.chunks, existing.title)
        twin = self.store.find(content_hash=article.content_hash) or next(
            (p.article for p in pending if p.article.content_hash == article.content_hash), None)
        if twin and twin.id != article.id:
            return IngestResult(article.source, "duplicate", 0, twin.title, f"same content as {twin.source}")
        return None

    def _chunk(self, article: Article, labels: tuple[str, ...]) -> list:
        return chunk_article(article, self.embedder.count_tokens, self.settings.chunk_size, self.settings.chunk_overlap, labels)

    def _queue(self, pending: list[_Pending], item: _Pending) -> Iterator[IngestResult]:
        pending.append(item)
        if sum(len(p.chunks) for p in pending) >= EMBED_GROUP:
            yield from self._embed(pending)

    def _embed(self, pending: list[_Pending]) -> Iterator[IngestResult]:
        """Embed the pending articles' chunks in one go and store each article."""
        group, pending[:] = list(pending), []
        if not group:
            return
        try:
            vectors = self.embedder.embed_bulk([c.embedding_text for p in group for c in p.chunks])
        except Exception as e:  # noqa: BLE001 — the group fails, the batch goes on
            for p in group:
                yield IngestResult(p.article.source, "failed", error=f"{p.article.source}: embedding failed ({type(e).__name__}: {e}); please report it")
            return
        offset = 0
        for p in group:
            self.store.put(p.article, p.chunks, vectors[offset : offset + len(p.chunks)], p.labels)
            offset += len(p.chunks)
            yield IngestResult(p.article.source, p.status, len(p.chunks), p.article.title)

    def _rechunk(self, chunking: dict) -> None:
        with self.store.writing():
            records = self.store.articles()
            if records:
                log.warning("store %s was chunked with %s; re-chunking its %d articles with %s", self.store.path, self.store.chunking(), len(records), chunking)
            pending: list[_Pending] = []
            for record in records:
                article, labels = self.store.load_article(record.id)
                list(self._queue(pending, _Pending(article, labels, self._chunk(article, labels), "replaced")))
            list(self._embed(pending))
            self.store.set_chunking(chunking)

    def articles(self) -> list[ArticleRecord]:
        return self.store.articles()

    def remove(self, ref: str) -> ArticleRecord:
        """Remove an article named by its id, its path or its URL."""
        candidates = [self.store.article(ref), self.store.article(article_id(ref)), self.store.find(source=ref)]
        if not ref.startswith(("http://", "https://", "upload:", "stdin:")):
            candidates.append(self.store.find(source=str(Path(ref).resolve())))
        record = next((c for c in candidates if c), None)
        if record is None:
            raise DossierError(f"{ref}: no article with this id, path or URL; see `python -m ingest list`")
        with self.store.writing():
            self.store.remove(record.id)
        return record

    def regions(self, article_id: str) -> list[tuple[str, str, bool]]:
        """What ingestion made of an article, in page order: (label, text, indexed) per region."""
        article, indexed = self.store.load_article(article_id)
        return [(r.label, article.text[r.start : r.end], r.label in indexed) for r in article.regions] or [("body", article.text, True)]

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the store."""
        return self.store.counts()

    # -- questions

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        return self._search(query, k or self.settings.top_k, self._articles(filters))

    def _search(self, query: str, k: int, articles: list[str] | None) -> list[Hit]:
        vector = self.embedder.embed_batch([query])[0]
        return self.store.search(vector, query, k, self.settings.retrieval, articles, self.settings.rerank, self.settings.min_relevance)

    def _articles(self, filters: Filters | None) -> list[str] | None:
        """Ids of the articles the filters allow (None: all of them)."""
        if not filters:
            return None
        allowed = self.store.article_ids(filters.matches)
        if not allowed:
            raise DossierError(f"no article matches the filters {filters}; see `python -m ingest list`")
        if len(allowed) == self.counts()[0]:
            return None
        if len(allowed) > MAX_FILTERED_ARTICLES:
            raise DossierError(f"the filters {filters} match {len(allowed)} articles, over {MAX_FILTERED_ARTICLES}; narrow them")
        return allowed

    def stream(self, question: str, history: list[dict] | None = None, filters: Filters | None = None, k: int | None = None) -> Iterator[str | Answer]:
        """Pieces of answer text as they are ready, then the final `Answer`.

        `history` is the conversation so far: [{"role": "user"|"assistant", "content": str}, …];
        `filters` limit the articles the answer may draw on; `k` passages are retrieved
        (default `Settings.top_k`). With `Settings.strict`, sentences no cited passage
        supports are dropped, so the text comes whole at the end.
        """
        question = " ".join(question.split())
        if not question:
            raise DossierError("the question is empty; type a question")
        if len(question) > MAX_QUESTION:
            raise DossierError(f"the question is {len(question)} characters long; ask in under {MAX_QUESTION}")
        history = history or []
        began = time.perf_counter()
        query, hits = self._hits(question, history, self._articles(filters), k or self.settings.top_k)
        if not hits and self.counts()[1] == 0:  # counted only then: at 100 k chunks a count costs 10 ms
            raise DossierError(
                f"store {self.store.path} has no articles yet; add some with: python -m ingest PATH --store {self.store.path}"
            )
        # The evidence is weighed for what the user asks ("What did she say?" → "What did Ana Ruiz say?"), not for
        # a retrieval query that may carry the previous question's names along.
        question = resolve(question, history) or question
        evidence = weigh(question, hits, self._sentences)
        trace = {"query": query, "filters": str(filters or ""), "passages": [_traced(h) for h in hits],
                 "evidence": asdict(evidence)}
        retrieved = time.perf_counter()
        if not evidence.covers(self.settings.min_relevance):
            answer = abstention(hits, evidence.missing)
            yield answer.text
            yield replace(answer, trace={**trace, "seconds": {"retrieve": round(retrieved - began, 3), "answer": 0.0}})
            return
        passages = self._backend.passages(question, hits, history)
        numbering = Numbering(len(passages))
        markers = MarkerStream(numbering)
        model = self._backend is not self._extractive
        pieces, repeated = [], False
        for piece in self._backend.stream(question, passages, history):
            pieces.append(markers.feed(piece))
            cut = first_repeat("".join(pieces), complete=False) if model else None
            if cut is not None:  # a small model looping: stop reading it (the stream closes)
                pieces, repeated = ["".join(pieces)[:cut]], True
                break
            if pieces[-1] and not self.settings.strict:
                yield pieces[-1]
        if not repeated:
            pieces.append(markers.flush())
        text = "".join(pieces).strip()
        if model and not repeated and (cut := first_repeat(text)) is not None:
            text, repeated = text[:cut].strip(), True
        answer = replace(finish(text, numbering, passages, self._verifier, self.settings.strict), repeated=repeated)
        if model:
            answer = self._judged(question, answer, passages)
        if self.settings.strict:
            yield answer.text
        elif pieces[-1] and not repeated:  # what streamed past the repeat is dropped from the final text
            yield pieces[-1]
        yield replace(answer, trace={**trace, "seconds": {"retrieve": round(retrieved - began, 3), "answer": round(time.perf_counter() - retrieved, 3)}})

    def _judged(self, question: str, answer: Answer, passages: list[Hit]) -> Answer:
        """A model's answer flagged when it misses the question or refuses what a passage
        plainly says, with the passages' own answer to show beneath it."""
        if answer.abstained:  # the model said the articles don't say (not: gave nothing, or nothing verified)
            flags = {"refusal_contradicted": abstains(answer.text) and answered_plainly(question, passages)}
        else:
            flags = {"off_question": not addresses(question, answer.text, passages)}
        if not any(flags.values()):
            return answer
        pieces = list(self._extractive.stream(question, passages, []))
        numbering = Numbering(len(passages))
        extractive = finish(numbering.rewrite("".join(pieces)), numbering, passages, self._verifier)
        return replace(answer, **flags, from_passages=extractive)

    def _hits(self, question: str, history: list[dict], articles: list[str] | None, k: int) -> tuple[str, list[Hit]]:
        """The query searched for and the passages found."""
        query = retrieval_query(question, history)
        hits = self._search(query, k, articles)
        previous = previous_question(history)
        if previous and query == question and _best(hits) < self.settings.min_relevance:
            # Alone, the question finds nothing relevant; it may lean on the conversation,
            # but only passages that share a word with the question itself may answer it.
            words = content_words(question)
            combined = [h for h in self._search(f"{previous} {question}", k, articles) if words & content_words(h.text)]
            if _best(combined) > _best(hits):
                return f"{previous} {question}", combined
        return query, hits

    def ask(self, question: str, history: list[dict] | None = None, filters: Filters | None = None, k: int | None = None) -> Answer:
        *_, answer = self.stream(question, history, filters, k)
        return answer

    def as_retriever(self, k: int | None = None, filters: Filters | None = None):
        """A LangChain retriever over the store, returning `Document`s with chunk metadata."""
        from rag.retriever import DossierRetriever

        return DossierRetriever(assistant=self, k=k or self.settings.top_k, filters=filters)
