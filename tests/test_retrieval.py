"""Lexical index, rank fusion, rerank and hybrid search (fake embedder; the real one in test_integration)."""

import pytest

from dossier_core.text import content_words
from ingest.chunk import chunk_article
from tests.conftest import parse
from vectorstore.lexical import LexicalIndex
from vectorstore.ranking import convex_fusion, lexical_overlap, per_article_cap, rerank
from vectorstore.store import ChromaStore


def test_convex_fusion_weighs_scaled_bm25_against_cosine():
    dense = {"a": 0.9, "b": 0.5, "c": 0.4}
    lexical = {"b": 10.0, "c": 5.0}
    # a: 0.6 × 0.9 = 0.54; b: 0.4 × 1 + 0.6 × 0.5 = 0.70; c: 0.4 × 0.5 + 0.6 × 0.4 = 0.44
    assert convex_fusion(dense, lexical, 0.4) == pytest.approx({"a": 0.54, "b": 0.70, "c": 0.44})
    assert convex_fusion(dense, lexical, 0.0) == dense
    assert convex_fusion(dense, {}, 0.4) == pytest.approx({"a": 0.54, "b": 0.30, "c": 0.24})


def test_lexical_overlap_counts_question_content_words():
    q = content_words("How many bridges did the council approve?")
    assert q == {"many", "bridg", "council", "approv"}  # light stems: "approved" and "approve" meet
    plain = lexical_overlap(q, ["The council approved two bridges.", "Nothing relevant."])
    assert plain[1] == 0.0 and 0.5 < plain[0] < 0.8  # council, approved, bridges: all but "many"
    # A word every sentence shares counts for less than a word only one has.
    rare_first = lexical_overlap(q, ["The council met about the bridge.", "The bridge is long.", "A bridge fell."])
    assert rare_first[0] > 2 * rare_first[1] and rare_first[1] == rare_first[2] > 0
    assert lexical_overlap(set(), ["anything"]) == [0.0]


def test_rerank_lifts_the_chunk_with_a_sentence_holding_the_rare_question_words():
    texts = {
        "topic": "The bridge was a matter of debate. The bridge is long. People like the bridge.",
        "answer": "The bridge is old. In 1932 the council approved the toll for the bridge.",
        "far": "Nothing about it here.",
    }
    scores = {"topic": 0.62, "answer": 0.55, "far": 0.1}
    query = "When did the council approve the bridge toll?"
    assert rerank(query, scores, texts, weight=0.0) == ["topic", "answer", "far"]
    assert rerank(query, scores, texts) == ["answer", "topic", "far"]


def test_lexical_index_ranks_by_bm25_and_updates_per_article(tmp_path):
    index = LexicalIndex(tmp_path / "lex.sqlite3")
    index.add(
        [
            ("a-1", "a", "h1", "The harbour bridge opened in May after years of delays."),
            ("a-2", "a", "h1", "Bridges, bridges everywhere: the city of bridges."),
            ("b-1", "b", "h2", "Glaciers in the Alps lost a tenth of their ice."),
        ]
    )
    assert [i for i, *_ in index.search("When did the harbour bridge open?", 5)] == ["a-1", "a-2"]
    assert index.search("the of and", 5) == []  # only stopwords
    assert [i for i, *_ in index.search("glacier", 5)] == ["b-1"]  # stemmed
    index.add([("a-9", "a", "h3", "A new version of the bridge article.")])
    index.delete("a", keep_hash="h3")
    assert index.count("a") == 1 and index.count() == 2 and index.ids() == {"a-9", "b-1"}
    index.delete("b")
    assert index.count() == 1


def test_on_a_large_index_the_commonest_question_words_are_left_out_of_the_match(tmp_path, monkeypatch):
    index = LexicalIndex(tmp_path / "lex.sqlite3")
    index.add([(f"c-{i}", "c", "h", f"The council met on day {i}.") for i in range(30)])
    index.add([("g-1", "g", "h", "The council heard that glaciers retreat.")])
    monkeypatch.setattr("vectorstore.lexical.POSTINGS", 10)
    assert index._affordable(["council", "glacier", "met"]) == [
        "glacier"
    ]  # stems looked up: "glacier" counts "glaciers"
    assert index._affordable(["council"]) == ["council"]  # never left with no word
    assert [i for i, *_ in index.search("council glaciers", 5)] == ["g-1"]
    monkeypatch.setattr("vectorstore.lexical.POSTINGS", 1000)
    assert len(index.search("council glaciers", 50)) == 31


def test_hybrid_search_finds_rare_words_that_vectors_miss_and_scores_stay_cosines(tmp_path, fake_embedder):
    store = ChromaStore(tmp_path / "s", {"embedder": "fake-bow", "dimensions": fake_embedder.dim})
    texts = [
        f"Report {i} covers the weather, the markets and the local football results in plain words." for i in range(30)
    ]
    texts.append("The inspector's code name was XK-4471 during the operation in the harbour district.")
    for i, text in enumerate(texts):
        art = parse("a.txt", text.encode(), source=f"/docs/{i}.txt")
        chunks = chunk_article(art, fake_embedder.count_tokens, 60, 0)
        store.records.put(art, chunks, fake_embedder.embed_batch([c.embedding_text for c in chunks]), ("body",))
    query = "xk-4471"
    vector = fake_embedder.embed_batch(["report"])[0]  # a vector that points elsewhere
    dense = store.search.best(vector, query, 3, "dense")
    assert all("XK-4471" not in h.text for h in dense)
    for mode in ("lexical", "hybrid"):
        hits = store.search.best(vector, query, 3, mode)
        assert any("XK-4471" in h.text for h in hits), mode
    hit = next(h for h in store.search.best(vector, query, 3, "hybrid") if "XK-4471" in h.text)
    expected = float(fake_embedder.embed_batch([f"{hit.title}\n\n{hit.text}"])[0] @ vector)
    assert abs(hit.score - expected) < 1e-5
    assert store.consistency.check() == []


def test_one_article_may_not_fill_every_slot_unless_nothing_else_is_relevant():
    article_of = {"a1": "A", "a2": "A", "a3": "A", "a4": "A", "b1": "B", "c1": "C"}
    everything = set(article_of)
    assert per_article_cap(["a1", "a2", "a3", "a4", "b1", "c1"], article_of, 4, everything) == ["a1", "a2", "b1", "c1"]
    assert per_article_cap(["a1", "a2", "a3", "b1"], article_of, 4, everything) == ["a1", "a2", "b1", "a3"]
    assert per_article_cap(["a1", "a2", "a3", "a4"], article_of, 3, everything) == ["a1", "a2", "a3"]
    # b1 and c1 fall below the relevance floor: A's passages keep their places.
    relevant = {"a1", "a2", "a3", "a4"}
    assert per_article_cap(["a1", "a2", "a3", "a4", "b1", "c1"], article_of, 4, relevant) == ["a1", "a2", "a3", "a4"]
    assert per_article_cap(["a1", "b1", "a2", "a3", "c1"], article_of, 4, {"a1", "a2", "a3", "b1"}) == [
        "a1",
        "b1",
        "a2",
        "a3",
    ]
    # Nothing reaches the floor (a question whose rare words BM25 finds in passages about something else):
    # the ranking stands, and A's extra passages do not jump ahead of the others.
    assert per_article_cap(["b1", "c1", "a1", "a2", "a3", "a4"], article_of, 4, set()) == ["b1", "c1", "a1", "a2"]
    assert per_article_cap(["a1", "a2", "a3", "b1", "c1"], article_of, 4, set()) == ["a1", "a2", "b1", "c1"]


def test_user_text_never_breaks_the_lexical_query(tmp_path):
    index = LexicalIndex(tmp_path / "lex.sqlite3")
    index.add([("a-1", "a", "h", "Café prices in Zürich rose NEAR the station.")])
    for query in [
        '"quoted" words',
        "NEAR(a b)",
        "pre* col:x ^start",
        "_",
        "AND OR NOT",
        "zurich cafe",
        "x" * 10000,
        "word " * 3000,
    ]:
        assert isinstance(index.search(query, 5), list)
    assert [i for i, *_ in index.search("zürich café", 5)] == ["a-1"]
    assert [i for i, *_ in index.search("Zurich cafe", 5)] == ["a-1"]  # diacritics folded


def test_an_index_from_before_the_row_table_is_migrated_and_deletes_by_article(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "lex.sqlite3")
    old.execute(
        "CREATE VIRTUAL TABLE chunks USING fts5(chunk_id UNINDEXED, article_id UNINDEXED, content_hash UNINDEXED, "
        "text, tokenize='porter unicode61 remove_diacritics 2')"
    )
    old.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?)",
        [("a-1", "a", "h1", "owls hunt voles"), ("b-1", "b", "h2", "owls nest in barns")],
    )
    old.commit()
    old.close()
    index = LexicalIndex(tmp_path / "lex.sqlite3")
    assert index.count() == 2 and index.count("a") == 1
    index.add([("a-2", "a", "h3", "owls hunt mice")])
    index.delete("a", keep_hash="h3")
    assert index.ids() == {"a-2", "b-1"} and [i for i, *_ in index.search("owls hunt", 5)][0] == "a-2"
    index.delete("b")
    assert index.ids() == {"a-2"} and index.count() == 1
