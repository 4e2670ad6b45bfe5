"""Searching a store: the candidates of a query, then their ranking.

`candidates` gathers what each side finds (the nearest chunks by cosine, the best
by BM25), restricted to the current version of each article; `best` ranks them
with vectorstore.ranking (fusion, a cap per article, a floor, an optional
rerank) and reads the text of those it keeps from their articles' records
(vectorstore.passages). Benchmarks try other rankings on the same candidates.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from chromadb.errors import ChromaError

from vectorstore import ranking
from vectorstore.consistency import Consistency
from vectorstore.handle import StoreHandle, served
from vectorstore.passages import Passages
from vectorstore.records import Hit, hit, with_article

READS = 5  # tries of a search whose embedded client another process's writes left behind
PAUSE = 0.05  # seconds before the second try, doubled before each next: a busy writer may be saving its vectors


@dataclass(frozen=True)
class Candidates:
    """What a query found before ranking. `hits` holds every candidate chunk by id, each
    Hit.score its cosine to the query (also for those only the lexical side found), the
    dense side's in Chroma's order first, without their text (Search.filled reads it);
    `lexical` the BM25 score of those the lexical side found, best first."""

    hits: dict[str, Hit] = field(default_factory=dict)
    lexical: dict[str, float] = field(default_factory=dict)
    by_words: bool = False  # whether the lexical side was searched (a server's BM25 copy may be catching up)


def best_across(
    searches: list["Search"],
    vector: np.ndarray,
    query: str | None,
    k: int,
    mode: str = "hybrid",
    articles: list[str] | None = None,
    rerank: bool = False,
    floor: float = -1.0,
) -> list[Hit]:
    """`Search.best` over several libraries' searches, their candidates ranked together. Each library's BM25
    index weighs words by its own articles, so its scores are scaled by its best before they meet; a passage two
    libraries hold counts once, as the first library's. A passage whose article a writer replaced between finding
    and reading it is left out, and the search is run once more, on the new version."""
    hits, complete = _best_once(searches, vector, query, k, mode, articles, rerank, floor)
    if not complete:
        hits, _ = _best_once(searches, vector, query, k, mode, articles, rerank, floor)
    return hits


def _best_once(searches, vector, query, k, mode, articles, rerank, floor) -> tuple[list[Hit], bool]:
    """best_across's hits, and whether every passage chosen could still be read."""
    hits, lexical, seen, by_words = {}, {}, set(), False
    pool = max(4 * k, 20)  # Chroma returns fewer when the store holds fewer; counting first costs 10 ms at 100 k
    for search in searches:
        found = search.candidates(vector, query, pool, mode, articles)
        by_words |= found.by_words
        best = max(found.lexical.values(), default=0.0) or 1.0
        for i, h in found.hits.items():
            if (h.article_id, h.start, h.end) in seen:
                continue
            seen.add((h.article_id, h.start, h.end))
            key = f"{h.library}/{i}"  # one article's chunks have the same ids in every library
            hits[key] = h
            if i in found.lexical:
                lexical[key] = found.lexical[i] / best
    weight = {"dense": 0.0, "lexical": 1.0}.get(mode, ranking.LEXICAL_WEIGHT) if by_words else 0.0
    score = ranking.convex_fusion({i: h.score for i, h in hits.items()}, lexical, weight)
    order = sorted(score, key=lambda i: -score[i])
    relevant = {i for i in order if hits[i].score >= floor}
    chosen = ranking.per_article_cap(order, {i: hits[i].article_id for i in order}, k, relevant)
    filled = {}
    for search in searches:
        mine = [hits[i] for i in chosen if hits[i].library == search.handle.library]
        filled.update((f"{h.library}/{h.chunk_id}", h) for h in search.filled(mine))
    complete = len(filled) == len(chosen)
    chosen = [i for i in chosen if i in filled]
    if rerank:
        chosen = ranking.rerank(query or "", {i: score[i] for i in chosen}, {i: filled[i].text for i in chosen})
    return [filled[i] for i in chosen], complete


class Search:
    def __init__(self, handle: StoreHandle, consistency: Consistency, passages: Passages):
        self.handle = handle
        self._consistency = consistency
        self._passages = passages
        self._known: tuple[str | None, dict] = (None, {})  # (generation, {article id: its record's metadata})

    def best(
        self,
        vector: np.ndarray,
        query: str | None,
        k: int,
        mode: str = "hybrid",
        articles: list[str] | None = None,
        rerank: bool = False,
        floor: float = -1.0,
    ) -> list[Hit]:
        """The k best chunks for a query: by meaning ("dense"), by words ("lexical"),
        or both fused ("hybrid"), from all articles or only those listed. At most half
        of them come from one article while others score a cosine of at least `floor`;
        `rerank` reorders them by their best sentence. Hit.score is always the cosine
        similarity to the query vector, whatever ranked the hit."""
        return best_across([self], vector, query, k, mode, articles, rerank, floor)

    @served
    def filled(self, hits: list[Hit]) -> list[Hit]:
        """The hits with their text, read from their articles' records, and what a citation shows of the article;
        a hit whose article version the records no longer hold is left out."""
        return self._read(self._filled, hits)

    def _filled(self, hits: list[Hit]) -> list[Hit]:
        records = self._records({h.article_id for h in hits}, self._known[0] or self.handle.generation())
        texts = self._passages.texts({(h.article_id, h.content_hash) for h in hits})
        return [
            with_article(h, texts[version], records[h.article_id])
            for h in hits
            if (version := (h.article_id, h.content_hash)) in texts and h.article_id in records
        ]

    @served
    def candidates(
        self, vector: np.ndarray, query: str | None, pool: int, mode: str = "hybrid", articles: list[str] | None = None
    ) -> Candidates:
        """Up to `pool` chunks from each side the mode uses (dense: nearest by cosine; lexical:
        best by BM25 over `query`), from all articles or only those listed. Only chunks of an
        article's current version count, so a search during a replacement never mixes versions. While a
        server's BM25 copy catches up, only the dense side searches."""
        if articles == []:
            return Candidates()
        return self._read(self._candidates, vector, query, pool, mode, articles)

    def _read(self, read, *args):
        for attempt in range(READS):
            try:
                return read(*args)
            except ChromaError:
                # A writer busy in another process can leave a fresh client behind again at once.
                if attempt == READS - 1 or not self.handle.site.refresh_reader():
                    raise
                time.sleep(PAUSE * 2**attempt)

    def _candidates(self, vector, query, pool, mode, articles) -> Candidates:
        generation = self.handle.generation()
        chunks = self.handle.chunks
        found: dict[str, Hit] = {}
        by_words = mode != "dense" and bool(query) and self._consistency.follow(generation)
        if mode != "lexical" or not by_words:
            where = {"article_id": {"$in": articles}} if articles else None
            include = ["metadatas", "distances"]
            r = chunks.query(query_embeddings=[vector], n_results=pool, where=where, include=include)
            # An embedded client may still list chunks another process has just deleted, without their metadata.
            rows = zip(r["ids"][0], r["metadatas"][0], r["distances"][0])
            library = self.handle.library
            found.update({i: hit(i, m, 1.0 - dist, library) for i, m, dist in rows if m})
        words = self.handle.lexical.search(query, pool, articles) if by_words else []
        # Only the current version of each article counts: a writer may be halfway through replacing it.
        records = self._records({h.article_id for h in found.values()} | {a for *_, a, _ in words}, generation)
        current = {a: m["content_hash"] for a, m in records.items()}
        hits = {i: h for i, h in found.items() if current.get(h.article_id) == h.content_hash}
        lexical = {i: score for i, score, a, version in words if current.get(a) == version}
        if missing := [i for i in lexical if i not in hits]:
            r = chunks.get(ids=missing, include=["metadatas", "embeddings"])
            rows = zip(r["ids"], r["metadatas"], r["embeddings"])
            hits.update({i: hit(i, m, float(np.dot(e, vector)), self.handle.library) for i, m, e in rows})
        return Candidates(hits, {i: score for i, score in lexical.items() if i in hits}, by_words)

    def _records(self, article_ids: set[str], generation: str) -> dict[str, dict]:
        """{article id: its record's metadata} of those the records hold, remembered until the store's generation
        changes: a Chroma get of the records is 30 ms at 100 k chunks. Whatever version is remembered, a search
        keeps one version of each article, never a mix."""
        if self._known[0] != generation:
            self._known = (generation, {})
        known = self._known[1]
        if unknown := sorted(a for a in article_ids if a not in known):
            got = self.handle.fetch(self.handle.articles, ["metadatas"], ids=unknown)
            known.update({**dict.fromkeys(unknown), **dict(zip(got["ids"], got["metadatas"]))})
        return {a: known[a] for a in article_ids if known.get(a) is not None}
