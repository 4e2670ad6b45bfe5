"""Lexical index, rank fusion and hybrid search (fake embedder; the real one in test_integration)."""

from ingest.chunk import chunk_article
from tests.conftest import parse
from vectorstore.fusion import convex_fusion
from vectorstore.lexical import LexicalIndex
from vectorstore.store import ChromaStore


def test_convex_fusion_weighs_scaled_bm25_against_cosine():
    dense = {"a": 0.9, "b": 0.5, "c": 0.4}
    lexical = {"b": 10.0, "c": 5.0}
    # a: 0.6 × 0.9 = 0.54; b: 0.4 × 1 + 0.6 × 0.5 = 0.70; c: 0.4 × 0.5 + 0.6 × 0.4 = 0.44
    assert convex_fusion(dense, lexical, 0.4) == ["b", "a", "c"]
    assert convex_fusion(dense, lexical, 0.0) == ["a", "b", "c"]
    assert convex_fusion(dense, {}, 0.4) == ["a", "b", "c"]


def test_lexical_index_ranks_by_bm25_and_updates_per_article(tmp_path):
    index = LexicalIndex(tmp_path / "lex.sqlite3")
    index.add([
        ("a-1", "a", "h1", "The harbour bridge opened in May after years of delays."),
        ("a-2", "a", "h1", "Bridges, bridges everywhere: the city of bridges."),
        ("b-1", "b", "h2", "Glaciers in the Alps lost a tenth of their ice."),
    ])
    assert [i for i, _ in index.search("When did the harbour bridge open?", 5)] == ["a-1", "a-2"]
    assert index.search("the of and", 5) == []  # only stopwords
    assert [i for i, _ in index.search("glacier", 5)] == ["b-1"]  # stemmed
    index.add([("a-9", "a", "h3", "A new version of the bridge article.")])
    index.delete("a", keep_hash="h3")
    assert index.count("a") == 1 and index.count() == 2 and index.ids() == {"a-9", "b-1"}
    index.delete("b")
    assert index.count() == 1


def test_hybrid_search_finds_rare_words_that_vectors_miss_and_scores_stay_cosines(tmp_path, fake_embedder):
    store = ChromaStore(tmp_path / "s", {"embedder": "fake-bow", "dimensions": 256})
    texts = [f"Report {i} covers the weather, the markets and the local football results in plain words." for i in range(30)]
    texts.append("The inspector's code name was XK-4471 during the operation in the harbour district.")
    for i, text in enumerate(texts):
        art = parse("a.txt", text.encode(), source=f"/docs/{i}.txt")
        chunks = chunk_article(art, fake_embedder.count_tokens, 60, 0)
        store.put(art, chunks, fake_embedder.embed_batch([c.embedding_text for c in chunks]), ("body",))
    query = "xk-4471"
    vector = fake_embedder.embed_batch(["report"])[0]  # a vector that points elsewhere
    dense = store.search(vector, query, 3, "dense")
    assert all("XK-4471" not in h.text for h in dense)
    for mode in ("lexical", "hybrid"):
        hits = store.search(vector, query, 3, mode)
        assert any("XK-4471" in h.text for h in hits), mode
    hit = next(h for h in store.search(vector, query, 3, "hybrid") if "XK-4471" in h.text)
    expected = float(fake_embedder.embed_batch([f"{hit.title}\n\n{hit.text}"])[0] @ vector)
    assert abs(hit.score - expected) < 1e-5
    assert store.check() == []


def test_one_article_may_not_fill_every_slot_unless_nothing_else_is_left():
    from vectorstore.fusion import per_article_cap

    article_of = {"a1": "A", "a2": "A", "a3": "A", "a4": "A", "b1": "B", "c1": "C"}
    assert per_article_cap(["a1", "a2", "a3", "a4", "b1", "c1"], article_of, 4) == ["a1", "a2", "b1", "c1"]
    assert per_article_cap(["a1", "a2", "a3", "b1"], article_of, 4) == ["a1", "a2", "b1", "a3"]
    assert per_article_cap(["a1", "a2", "a3", "a4"], article_of, 3) == ["a1", "a2", "a3"]


def test_user_text_never_breaks_the_lexical_query(tmp_path):
    index = LexicalIndex(tmp_path / "lex.sqlite3")
    index.add([("a-1", "a", "h", "Café prices in Zürich rose NEAR the station.")])
    for query in ['"quoted" words', "NEAR(a b)", "pre* col:x ^start", "_", "AND OR NOT", "zurich cafe", "x" * 10000, "word " * 3000]:
        assert isinstance(index.search(query, 5), list)
    assert [i for i, _ in index.search("zürich café", 5)] == ["a-1"]
    assert [i for i, _ in index.search("Zurich cafe", 5)] == ["a-1"]  # diacritics folded
