"""The answerer: a question (and the conversation so far) → passages from the library → an answer
whose every sentence cites the passage it comes from, checked against it."""

import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict, replace
from datetime import date
from functools import cached_property
from pathlib import Path

from dossier_core.errors import DossierError, InputError
from dossier_core.text import content_words
from rag.answer import Answer, Citation
from rag.backends import BACKENDS
from rag.backends.extractive import ExtractiveBackend
from rag.citations import Verifier, abstains, citation, finish
from rag.conflicts import find_conflicts
from rag.conversation import previous_question, resolve, retrieval_query
from rag.dated import dated_quotes, dates_note
from rag.dates import DateIntent, asks_timeline, read_dates, topic
from rag.disagreement import on_question, reported, with_conflicts
from rag.evidence import weigh
from rag.feedback import FeedbackLog, feedback_path
from rag.filters import Filters, Scope, scope
from rag.judge import addresses, answered_plainly, first_repeat
from rag.libraries import sibling
from rag.library import Library
from rag.markers import MarkerStream, Numbering
from rag.question import MAX_QUESTION
from rag.recency import RECENT_MARGIN, as_of, newest_relevant, published_day, with_as_of
from rag.settings import Settings
from rag.timeline import entry, one_per_article, timeline
from vectorstore.embedder import Embedder, Remembering
from vectorstore.records import Hit
from vectorstore.search import best_across
from vectorstore.sites import MAIN

# "How has X changed?" draws on more passages than one answer needs: a line from each article on X.
TIMELINE_PASSAGES = 12
# An article's line belongs in a timeline when its passage scores within this of the best one (bench/conflicts:
# the articles of a timeline scored 0.19 below its best at most) and holds the question's words.
TIMELINE_MARGIN = 0.25


def _best(hits: list[Hit]) -> float:
    return max((h.score for h in hits), default=-1.0)


def _traced(hit: Hit) -> dict:
    return {
        "chunk_id": hit.chunk_id,
        "article_id": hit.article_id,
        "title": hit.title,
        "source": hit.source,
        "url": hit.url,
        "outlet": hit.outlet,
        "published_at": hit.published_at,
        "score": round(hit.score, 4),
        "library": hit.library,
    }


def _retrieval(mode: str, libraries: list[Library]) -> str:
    """How the passages were searched for: by meaning alone while a server's BM25 copy catches up."""
    behind = [library.name for library in libraries if library.store.consistency.lexical_sync.catching_up]
    if mode == "dense" or not behind:
        return mode
    return f"dense only: the BM25 copy of {', '.join(behind)} is catching up with the server"


def _traced_dates(dates: DateIntent) -> dict:
    days = {name: day.isoformat() if day else None for name, day in (("since", dates.since), ("until", dates.until))}
    return {"phrases": list(dates.phrases), **days, "recency": dates.recency, "label": dates.describe()}


def _undated(left_out: int) -> str:
    """What a date filter's answer says of the articles it could not date."""
    if not left_out:
        return ""
    many = "articles have no date and were" if left_out > 1 else "article has no date and was"
    return f" ({left_out} {many} left out by the date.)"


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


class _NewSources:
    """The passages a streamed answer's markers have numbered since last asked, each told once."""

    def __init__(self, numbering: Numbering, passages: list[Hit]):
        self.numbering, self.passages, self.told = numbering, passages, 0

    def new(self) -> Iterator[Citation]:
        numbered = list(self.numbering.numbers.items())[self.told :]
        self.told += len(numbered)
        for index, n in numbered:
            yield citation(n, self.passages[index - 1])


class Assistant:
    def __init__(
        self,
        store: str | Path | Library | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
    ):
        """Answers over a library: a `Library` (its settings and embedder are the answers' too), or the store
        folder to open one from (default: `settings.store`). Questions are asked of `settings.library` (several
        when it names several), unless `Filters.libraries` says otherwise. The answer backend is built when the
        first question comes, so opening costs no model."""
        if isinstance(store, Library) and (settings or embedder):
            raise DossierError("Assistant(library): the library's settings and embedder answer; pass neither again")
        if isinstance(store, Library):
            self.library, self.settings = store, store.settings
        else:
            self.settings = settings or Settings()
            first = replace(self.settings, library=self.settings.libraries[0])
            self.library = Library(store, first, embedder, create=False)
        self._open = {self.library.name: self.library}  # the store's libraries asked so far, by name
        self._opening = threading.Lock()  # two sessions' first questions to a library open it once
        self._building = threading.Lock()  # a chat page's sessions share one Assistant
        self._built = None  # the answer backend, once a question needs it
        self.embedder = self.library.embedder
        self.feedback = FeedbackLog(feedback_path(self.library))
        self._sentences = Remembering(self.embedder)
        self._verifier = Verifier(self._sentences)

    @property
    def _backend(self):
        with self._building:  # two first questions at once must not load a model twice
            if self._built is None:
                self._built = BACKENDS[self.settings.backend](self._sentences, self.settings)
            return self._built

    @cached_property
    def _extractive(self) -> ExtractiveBackend:
        """Quotes from the passages: the answer, or what a model's flagged answer is shown beside."""
        backend = self._backend
        return backend if isinstance(backend, ExtractiveBackend) else ExtractiveBackend(self._sentences, self.settings)

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        libraries = self.libraries(filters)
        return self._search(query, k or self.settings.top_k, self._scope(libraries, filters).articles, libraries)

    def libraries(self, filters: Filters | None = None) -> list[Library]:
        """The libraries a question is asked of: those the filters name, else those the settings name."""
        names = (filters.libraries if filters is not None else ()) or self.settings.libraries
        for name in names:
            with self._opening:
                if name not in self._open:
                    self._open[name] = sibling(self.library, name)
        return [self._open[name] for name in names]

    def _search(self, query: str, k: int, articles: list[str] | None, libraries: list[Library]) -> list[Hit]:
        vector = self.embedder.embed_batch([query])[0]
        s = self.settings
        searches = [library.store.search for library in libraries]
        return best_across(searches, vector, query, k, s.retrieval, articles, s.rerank, s.min_relevance)

    def _scope(
        self, libraries: list[Library], filters: Filters | None, since: date | None = None, until: date | None = None
    ) -> Scope:
        """The articles a question may draw on; the article records are read only when something narrows them."""
        if not filters and not (since or until):
            return Scope(filters, None)
        # An article two libraries hold is one article to the filters.
        records = {r.id: r for library in reversed(libraries) for r in library.store.records.articles()}
        return scope(list(records.values()), filters, since, until)

    def _today(self) -> date:
        return date.fromisoformat(self.settings.as_of) if self.settings.as_of else date.today()

    def stream(
        self,
        question: str,
        history: list[dict] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        strict: bool | None = None,
        sources: bool = False,
        dates: bool = True,
    ) -> Iterator[str | Citation | Answer]:
        """Pieces of answer text as they are ready, then the final `Answer`.

        `history` is the conversation so far: [{"role": "user"|"assistant", "content": str}, …];
        `filters` limit the articles the answer may draw on; `k` passages are retrieved
        (default `Settings.top_k`). When `strict` (default `Settings.strict`), sentences no cited
        passage supports are dropped, so the text comes whole at the end. With `sources`, each
        passage is also yielded as a `Citation` once, when a marker first numbers it and before the
        text with that marker: its `n` is the streamed text's, its highlights not yet known. The
        final `Answer` is what checking made of it all, its citations numbered as its text is. Dates the
        question names ("since March", "latest") narrow the articles or prefer newer ones unless not `dates`.
        """
        question = " ".join(question.split())
        if not question:
            raise InputError("the question is empty; type a question")
        if len(question) > MAX_QUESTION:
            raise InputError(f"the question is {len(question)} characters long; ask in under {MAX_QUESTION}")
        history = history or []
        began = time.perf_counter()
        # Dates the question names ("since March") narrow the filters, and leave the words retrieval weighs, in a
        # library that dates its articles. Where none has a date (an encyclopedia), "in 1997" is about the topic.
        named = read_dates(question, self._today()) if dates else DateIntent(question)
        as_timeline = asks_timeline(question)
        libraries = self.libraries(filters)
        within = self._scope(libraries, filters, named.since, named.until)
        if within.dated:
            question = named.question
        k = k or self.settings.top_k
        query, hits = self._hits(
            question, history, within.articles, max(k, TIMELINE_PASSAGES) if as_timeline else k, libraries
        )
        if not hits and all(library.counts()[1] == 0 for library in libraries):  # a count costs 10 ms at 100 k chunks
            path, name = self.library.path, libraries[0].name
            flag = "" if name == MAIN else f" --library {name}"
            raise DossierError(
                f"store {path}{'' if name == MAIN else f' (library {name})'} has no articles yet; "
                f"add some with: python -m ingest PATH --store {path}{flag}"
            )
        # The evidence is weighed for what the user asks ("What did she say?" → "What did Ana Ruiz say?"), not for
        # a retrieval query that may carry the previous question's names along.
        question = resolve(question, history) or question
        # Passages rarely say "changed": a timeline's evidence and lines are weighed for what changed.
        asked = topic(question) if as_timeline else question
        # "How has X changed?": a line from each relevant article, oldest first, where two or more are dated.
        lines = one_per_article(asked, hits, _best(hits) - TIMELINE_MARGIN) if as_timeline else []
        as_timeline = sum(bool(published_day(h.published_at)) for h in lines) > 1
        hits = lines + [h for h in hits if h not in lines] if as_timeline else hits[:k]
        evidence = weigh(asked, hits, self._sentences)
        trace = {
            "query": query,
            "libraries": [library.name for library in libraries],
            "retrieval": _retrieval(self.settings.retrieval, libraries),
            "filters": str(within.filters or ""),
            "dates": {**_traced_dates(named), "applied": within.dated} if named.phrases else None,
            "undated_left_out": within.left_out,
            "passages": [_traced(h) for h in hits],
            "evidence": asdict(evidence),
        }
        retrieved = time.perf_counter()
        if not evidence.covers(self.settings.min_relevance):
            answer = abstention(hits, evidence.missing)
            answer = replace(answer, text=answer.text + _undated(within.left_out))
            yield answer.text
            yield replace(answer, trace={**trace, "seconds": {"retrieve": round(retrieved - began, 3), "answer": 0.0}})
            return
        strict = self.settings.strict if strict is None else strict
        newest = None
        if as_timeline:
            trace["timeline"] = {"articles": [h.article_id for h in lines]}
        elif named.recency:  # "latest", "still", "so far": the newest relevant article answers
            hits, newest = newest_relevant(hits, max(self.settings.min_relevance, _best(hits) - RECENT_MARGIN))
            trace["recency"] = {"newest": newest, "article_id": hits[0].article_id if newest else None}
        found, answers = on_question(find_conflicts(question, hits), question)
        if as_timeline and self._backend is self._extractive:
            # Articles that disagree give rival figures: neither supersedes the other.
            rivals = [frozenset(hits[v.passage].article_id for v in c.values) for c in found if not c.correction]
            entries = [entry(asked, h, self._extractive.scored(asked, [h])) for h in lines]
            answer = with_conflicts(timeline(asked, entries, rivals), found, hits)
            yield from answer.citations if sources else ()
            yield answer.text
        elif answers and self._backend is self._extractive:  # quotes would pick one side: the disagreement answers
            answer = reported(found, hits)
            answer = replace(answer, text=as_of(newest) + answer.text) if newest else answer
            yield from answer.citations if sources else ()
            yield answer.text
        else:
            # A model writing a timeline is shown only its articles, oldest first.
            shown = lines if as_timeline else hits
            answer = yield from self._written(question, shown, history, strict, sources, newest)
            answer = with_conflicts(answer, found, hits)
        yield replace(
            answer,
            trace={
                **trace,
                "seconds": {
                    "retrieve": round(retrieved - began, 3),
                    "answer": round(time.perf_counter() - retrieved, 3),
                },
            },
        )

    def _written(
        self, question: str, hits: list[Hit], history: list[dict], strict: bool, sources: bool, newest: str | None
    ) -> Generator[str | Citation, None, Answer]:
        """The backend's answer from the passages, streamed as `stream` says, and then returned checked."""
        passages = self._backend.passages(question, hits, history)
        numbering = Numbering(len(passages))
        markers = MarkerStream(numbering)
        # Strict mode renumbers what survives its check: its sources come with the checked text instead.
        numbered = _NewSources(numbering, passages) if sources and not strict else None
        model = self._backend is not self._extractive
        pieces, repeated = [], False
        # A "latest" answer opens with the day it speaks for; quotes from articles of different days carry theirs.
        written = self._backend.stream(question, passages, history)
        for piece in with_as_of(written if model else dated_quotes(list(written), passages), newest):
            pieces.append(markers.feed(piece))
            cut = first_repeat("".join(pieces), complete=False) if model else None
            if cut is not None:  # a small model looping: stop reading it (the stream closes)
                pieces, repeated = ["".join(pieces)[:cut]], True
                break
            yield from numbered.new() if numbered else ()
            if pieces[-1] and not strict:
                yield pieces[-1]
        if not repeated:
            pieces.append(markers.flush())
        text = "".join(pieces).strip()
        if model and not repeated and (cut := first_repeat(text)) is not None:
            text, repeated = text[:cut].strip(), True
        answer = replace(finish(text, numbering, passages, self._verifier, strict), repeated=repeated)
        if answer.abstained and newest:  # "the articles don't say" speaks for no day
            answer = replace(answer, text=answer.text.removeprefix(as_of(newest)))
        if model:
            answer = self._judged(question, answer, passages)
        # A model that names none of its sources' days, where they differ: they follow its text (which has streamed).
        note = dates_note(answer) if model else ""
        answer = replace(answer, text=answer.text + note)
        if strict:
            yield from answer.citations if sources else ()
            yield answer.text
        elif pieces[-1] and not repeated:  # what streamed past the repeat is dropped from the final text
            yield from numbered.new() if numbered else ()
            yield pieces[-1]
        if note and not strict:
            yield note
        return answer

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

    def _hits(
        self, question: str, history: list[dict], articles: list[str] | None, k: int, libraries: list[Library]
    ) -> tuple[str, list[Hit]]:
        """The query searched for and the passages found."""
        query = retrieval_query(question, history)
        hits = self._search(query, k, articles, libraries)
        previous = previous_question(history)
        if previous and query == question and _best(hits) < self.settings.min_relevance:
            # Alone, the question finds nothing relevant; it may lean on the conversation,
            # but only passages that share a word with the question itself may answer it.
            words = content_words(question)
            combined = self._search(f"{previous} {question}", k, articles, libraries)
            combined = [h for h in combined if words & content_words(h.text)]
            if _best(combined) > _best(hits):
                return f"{previous} {question}", combined
        return query, hits

    def ask(
        self,
        question: str,
        history: list[dict] | None = None,
        filters: Filters | None = None,
        k: int | None = None,
        strict: bool | None = None,
        dates: bool = True,
    ) -> Answer:
        *_, answer = self.stream(question, history, filters, k, strict, dates=dates)
        return answer

    def as_retriever(self, k: int | None = None, filters: Filters | None = None):
        """A LangChain retriever over the store, returning `Document`s with chunk metadata."""
        from rag.retriever import DossierRetriever

        return DossierRetriever(assistant=self, k=k or self.settings.top_k, filters=filters)
