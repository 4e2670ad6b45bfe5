import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from dossier_core.errors import DossierError
from dossier_core.models import Article, Chunk
from ingest.chunk import chunk_article
from tests.conftest import FakeEmbedder, parse
from vectorstore.records import ArticleRecord, Hit
from vectorstore.store import ChromaStore

EMBEDDER = {"embedder": "fake-bow", "dimensions": FakeEmbedder.dim}
INDEXED = ("body", "caption")


def stored(store, embedder, source, text):
    art = parse("a.txt", text.encode(), source=source)
    chunks = chunk_article(art, embedder.count_tokens, 40, 8)
    store.records.put(art, chunks, embedder.embed_batch([c.embedding_text for c in chunks]), INDEXED)
    return art, chunks


LONG = " ".join(f"Sentence {i} talks about item{i} and a few more words here." for i in range(20))
PENGUINS = "Penguins live in Antarctica and eat krill, which they catch in cold water."


def test_put_search_replace_remove_and_counts(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    assert store.records.counts() == (0, 0)
    assert store.search.best(fake_embedder.embed_batch(["anything"])[0], "anything", 5) == []
    art, chunks = stored(store, fake_embedder, "/docs/one.txt", LONG)
    penguins, _ = stored(store, fake_embedder, "/docs/two.txt", PENGUINS)
    assert store.records.counts() == (2, len(chunks) + 1)
    record = store.records.article(art.id)
    assert (record.source, record.content_hash, record.chunks) == ("/docs/one.txt", art.content_hash, len(chunks))
    assert store.records.find(source="/docs/two.txt").id == penguins.id
    assert store.records.find(content_hash=art.content_hash).id == art.id
    assert store.records.article("missing") is None and store.records.find(source="/nope") is None
    assert [r.source for r in store.records.articles()] == ["/docs/one.txt", "/docs/two.txt"]

    hits = store.search.best(fake_embedder.embed_batch(["penguins krill"])[0], "penguins krill", 3, "dense")
    assert hits[0].source == "/docs/two.txt" and hits[0].text == PENGUINS
    assert hits[0].score > hits[1].score
    assert hits[0].region == "body" and hits[0].title == "A"

    replacement = "Now a short replacement about glaciers that is long enough to be prose."
    stored(store, fake_embedder, "/docs/one.txt", replacement)
    assert store.records.counts() == (2, 2)
    hit = store.search.best(fake_embedder.embed_batch(["glaciers replacement"])[0], "glaciers replacement", 1)[0]
    assert hit.text == replacement and hit.article_id == art.id
    store.records.remove(art.id)
    assert store.records.counts() == (1, 1) and store.consistency.check() == []


def test_a_hit_carries_its_articles_fields_and_the_outlet_stays_stored_as_site(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    text = "Ferry timetable for the winter months.\n\nThe harbour board approved three extra crossings."
    metadata = {"author": "Ines Varga", "site": "Harbour Gazette", "url": "https://gazette.test/ferry", "x": 1}
    article = Article(
        "ferry", "/docs/ferry.pdf", text, "hash-ferry", "Ferry news", {**metadata, "published_at": "2025-02-03"}
    )
    chunks = [
        Chunk("ferry", 0, text[:38], 0, 38, 6, "caption", page=1),
        Chunk("ferry", 1, text[40:], 40, len(text), 7, page=2),
    ]
    store.records.put(article, chunks, fake_embedder.embed_batch([c.text for c in chunks]), INDEXED)
    query = "harbour crossings"
    best = store.search.best(fake_embedder.embed_batch([query])[0], query, 1)[0]
    assert best == Hit(
        "ferry-hash-ferry-1",
        "ferry",
        text[40:],
        40,
        len(text),
        best.score,
        "Ferry news",
        "/docs/ferry.pdf",
        "https://gazette.test/ferry",
        "Ines Varga",
        "Harbour Gazette",
        "2025-02-03",
        "body",
        2,
        content_hash="hash-ferry",
    )
    caption = store.search.best(fake_embedder.embed_batch(["ferry timetable"])[0], "ferry timetable", 1)[0]
    assert (caption.region, caption.page, caption.start, caption.end) == ("caption", 1, 0, 38)
    # Stores written before Hit had fields hold the outlet as "site": it stays the stored key, in the record.
    stored = store.handle.articles.get(ids=["ferry"], include=["metadatas"])["metadatas"][0]
    assert stored["site"] == "Harbour Gazette" and "outlet" not in stored and "x" not in stored
    # A passage's text is kept once, in its article's record: its chunk holds the offsets and what names it.
    chunk = store.handle.chunks.get(ids=[best.chunk_id], include=["documents", "metadatas"])
    assert chunk["documents"] == [None]
    assert {"article_id", "content_hash", "start", "end", "source", "title"} <= set(chunk["metadatas"][0])
    assert not {"site", "url", "author", "published_at"} & set(chunk["metadatas"][0])


KEEPERS = "The keepers change shifts at dawn and at dusk, and log the lamp's hours."


def lighthouse(store, embedder):
    """An article with an outlet, an author and a date, in one chunk whose context has a word its text lacks."""
    metadata = {"site": "Cape Herald", "author": "Tomas Reyes", "published_at": "2025-03-01"}
    article = Article("light", "/docs/light.md", KEEPERS, "hash-light", "Keepers", metadata)
    chunks = [Chunk("light", 0, KEEPERS, 0, len(KEEPERS), 16, context="Keepers — Winter roster")]
    store.records.put(article, chunks, embedder.embed_batch([c.embedding_text for c in chunks]), INDEXED)
    return article


def test_article_ids_choose_among_typed_records_that_carry_the_outlet(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    lighthouse(store, fake_embedder)
    penguins, _ = stored(store, fake_embedder, "/docs/two.txt", PENGUINS)
    offered = []
    assert store.records.article_ids(lambda r: offered.append(r) or r.outlet == "Cape Herald") == ["light"]
    assert {type(r) for r in offered} == {ArticleRecord} and {r.id for r in offered} == {"light", penguins.id}
    assert store.records.article("light") == ArticleRecord(
        "light", "Keepers", "/docs/light.md", "hash-light", 1, "2025-03-01", "Tomas Reyes", "Cape Herald"
    )
    # The outlet stays stored as "site", so stores written before the field was named open unchanged.
    assert store.handle.articles.get(ids=["light"], include=["metadatas"])["metadatas"][0]["site"] == "Cape Herald"


def test_a_rebuilt_bm25_index_holds_the_rows_the_writer_wrote(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    lighthouse(store, fake_embedder)
    stored(store, fake_embedder, "/docs/two.txt", PENGUINS)
    written = store.handle.lexical.search("roster lamp krill", 5)
    assert {a for _, _, a, _ in written} >= {"light"}  # "roster" is only in the chunk's context
    store.handle.lexical.delete("light")
    with store.consistency.writing():
        store.consistency.repair()
    assert store.handle.lexical.search("roster lamp krill", 5) == written


def test_candidates_are_each_sides_finds_of_current_versions_only(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art, _ = stored(store, fake_embedder, "/docs/one.txt", LONG)
    penguins, _ = stored(store, fake_embedder, "/docs/two.txt", PENGUINS)
    query = "krill item3"
    vector = fake_embedder.embed_batch([query])[0]
    dense = store.search.candidates(vector, query, 3, "dense")
    assert dense.lexical == {} and len(dense.hits) == 3
    assert [h.score for h in dense.hits.values()] == sorted((h.score for h in dense.hits.values()), reverse=True)
    lexical = store.search.candidates(vector, query, 2, "lexical")
    assert set(lexical.hits) == set(lexical.lexical) and len(lexical.hits) == 2
    assert {h.article_id for h in lexical.hits.values()} == {art.id, penguins.id}
    assert list(lexical.lexical.values()) == sorted(lexical.lexical.values(), reverse=True)
    assert {h.text for h in lexical.hits.values()} == {""}  # read only for the chosen (Search.filled)
    for found in store.search.filled(list(lexical.hits.values())):  # found only by its words, scored by cosine
        embedded = fake_embedder.embed_batch([f"A\n\n{found.text}" if found.article_id == art.id else found.text])[0]
        assert found.score == pytest.approx(float(embedded @ vector), abs=1e-5)
    hybrid = store.search.candidates(vector, query, 20, articles=[penguins.id])
    assert {h.article_id for h in hybrid.hits.values()} == {penguins.id} and set(hybrid.lexical) <= set(hybrid.hits)
    assert store.search.candidates(vector, query, 20, articles=[]).hits == {}
    # A writer halfway through replacing the penguin article: its new chunk is nobody's candidate yet.
    half = "Penguins krill krill krill, half written."
    store.handle.chunks.upsert(
        ids=["half-0"],
        embeddings=fake_embedder.embed_batch([half]),
        metadatas=[
            {"article_id": penguins.id, "content_hash": "newer", "source": "/docs/two.txt", "start": 0, "end": 9}
        ],
    )
    store.handle.lexical.add([("half-0", penguins.id, "newer", half)])
    for mode in ("dense", "lexical", "hybrid"):
        found = store.search.candidates(fake_embedder.embed_batch([half])[0], "krill", 20, mode)
        assert "half-0" not in found.hits and "half-0" not in found.lexical and found.hits, mode


def test_the_server_token_goes_as_a_bearer_header_and_only_when_given(tmp_path, monkeypatch):
    seen = []

    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": "Unauthorized", "message": "bad token"}')

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    # rag's Settings turns the variable into a token; the store itself sends only the token it is given.
    monkeypatch.setenv("CHROMA_AUTH_TOKEN", "from-the-environment")
    try:
        for token in ("t0ken-1", None):
            with pytest.raises(DossierError) as e:
                ChromaStore(tmp_path / "s", EMBEDDER, url, token=token)
            assert str(e.value).startswith(f"chroma server {url}: cannot reach it") and "t0ken" not in str(e.value)
    finally:
        server.shutdown()
    assert seen and set(seen) == {"Bearer t0ken-1", None}


def test_the_whole_article_is_kept_for_rechunking(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art, _ = stored(store, fake_embedder, "/docs/one.txt", LONG)
    loaded, labels = store.records.load_article(art.id)
    assert loaded == art and labels == INDEXED
    assert store.records.chunking() == {}
    store.records.set_chunking({"chunk_size": 40})
    assert ChromaStore(tmp_path / "s", EMBEDDER, chroma_url).records.chunking() == {"chunk_size": 40}


def test_loading_an_article_that_is_gone_names_it(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    lighthouse(store, fake_embedder)
    store.records.remove("light")  # as another process might, between a listing and the load
    with pytest.raises(DossierError) as e:
        store.records.load_article("light")
    assert str(e.value) == "article light is not in the library (another process may have removed it)"


def test_chunking_another_store_set_is_seen_at_once(tmp_path, chroma_url):
    """A writer that waited for another's lock reads the chunking that one has just stored."""
    reader = ChromaStore(tmp_path / "r", EMBEDDER, chroma_url)
    writer = ChromaStore(tmp_path / ("w" if chroma_url else "r"), EMBEDDER, chroma_url)
    assert reader.records.chunking() == {}
    writer.records.set_chunking({"chunk_size": 60})
    assert reader.records.chunking() == {"chunk_size": 60}
    reader.records.set_chunking({"chunk_size": 60, "chunk_overlap": 6})
    assert writer.records.chunking() == {"chunk_size": 60, "chunk_overlap": 6}


def test_reopening_with_another_embedder_is_a_clear_error(tmp_path, chroma_url):
    ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    with pytest.raises(DossierError) as e:
        ChromaStore(tmp_path / "s", {"embedder": "other-model", "dimensions": 768}, chroma_url)
    message = str(e.value)
    assert "fake-bow" in message and "other-model" in message and "new --store" in message


def test_unusable_store_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DossierError, match="cannot open it"):
        ChromaStore(blocker, EMBEDDER)


def test_an_interrupted_write_is_rolled_back_on_the_next_write(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art, _ = stored(store, fake_embedder, "/docs/one.txt", LONG)
    # Simulate a crash after a new version's chunks went in but before its record did.
    store.handle.chunks.upsert(
        ids=["x-new-0"],
        embeddings=[np.ones(FakeEmbedder.dim)],
        documents=["half"],
        metadatas=[{"article_id": art.id, "content_hash": "newer", "source": "/docs/one.txt", "start": 0, "end": 4}],
    )
    store.handle.site.begin(art.id)
    assert any("chunks without a matching article record" in p for p in store.consistency.check())
    with store.consistency.writing():
        pass
    assert store.consistency.check() == []
    # A crash while a brand-new article was half written leaves nothing of it.
    store.handle.chunks.upsert(
        ids=["y-0"],
        embeddings=[np.ones(FakeEmbedder.dim)],
        documents=["orphan"],
        metadatas=[{"article_id": "y", "content_hash": "h", "source": "/y", "start": 0, "end": 6}],
    )
    store.handle.site.begin("y")
    with store.consistency.writing():
        pass
    assert store.consistency.check() == [] and store.records.counts() == (1, len(store.handle.chunks.get()["ids"]))


def test_article_vector_is_the_normalised_mean_of_its_chunks(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art, chunks = stored(store, fake_embedder, "/x.txt", LONG)
    assert len(chunks) > 1
    mean = fake_embedder.embed_batch([c.embedding_text for c in chunks]).mean(axis=0)
    got = np.array(store.handle.articles.get(ids=[art.id], include=["embeddings"])["embeddings"][0])
    assert np.allclose(got, mean / np.linalg.norm(mean), atol=1e-5)


def test_a_store_sees_what_another_process_wrote(tmp_path, chroma_url, fake_embedder):
    import subprocess
    import sys
    from pathlib import Path

    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    assert store.records.counts() == (0, 0)
    root = Path(__file__).resolve().parents[1]
    folder = tmp_path / ("s2" if chroma_url else "s")  # with a server, the other process may be on another machine
    script = f"""
from tests.conftest import FakeEmbedder
from tests.test_store import ChromaStore, EMBEDDER, stored, PENGUINS
stored(ChromaStore({str(folder)!r}, EMBEDDER, {chroma_url!r}), FakeEmbedder(), "/docs/two.txt", PENGUINS)
"""
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120)
    assert store.records.counts() == (1, 1)
    hit = store.search.best(fake_embedder.embed_batch(["penguins krill"])[0], "penguins krill", 1)[0]
    assert hit.text == PENGUINS


def test_a_search_finds_the_new_version_of_an_article_another_store_replaced(tmp_path, chroma_url, fake_embedder):
    reader = ChromaStore(tmp_path / "r", EMBEDDER, chroma_url)
    writer = ChromaStore(tmp_path / ("w" if chroma_url else "r"), EMBEDDER, chroma_url)
    stored(writer, fake_embedder, "/docs/one.txt", PENGUINS)
    assert reader.search.best(fake_embedder.embed_batch(["penguins"])[0], "penguins", 1)[0].text == PENGUINS
    replacement = "Now a short replacement about glaciers that is long enough to be prose."
    stored(writer, fake_embedder, "/docs/one.txt", replacement)
    assert reader.search.best(fake_embedder.embed_batch(["glaciers"])[0], "glaciers", 1)[0].text == replacement


def test_repair_rebuilds_a_lost_bm25_index_and_keeps_every_article(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    one, _ = stored(store, fake_embedder, "/docs/one.txt", LONG)
    stored(store, fake_embedder, "/docs/two.txt", PENGUINS)
    store.handle.lexical.delete(one.id)
    problems = store.consistency.check()  # with a server the index is a local copy, which check brings up to date first
    assert problems == [] if chroma_url else any(p.startswith("BM25 index and vectors differ") for p in problems)
    with store.consistency.writing():
        store.consistency.repair()
    assert store.consistency.check() == [] and store.records.counts()[0] == 2


def test_rechunking_into_fewer_chunks_leaves_no_old_chunk_behind(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art = parse("a.txt", LONG.encode(), source="/docs/one.txt")
    for size in (40, 120):
        chunks = chunk_article(art, fake_embedder.count_tokens, size, 8)
        store.records.put(art, chunks, fake_embedder.embed_batch([c.embedding_text for c in chunks]), INDEXED)
    assert store.records.counts() == (1, len(chunks)) and store.consistency.check() == []


@pytest.mark.slow
def test_a_store_larger_than_one_chroma_get_can_be_listed_checked_and_repaired(tmp_path, chroma_url):
    """Chroma refuses a get of more than 32 766 records ("too many SQL variables")."""
    store = ChromaStore(tmp_path / "s", {"embedder": "tiny", "dimensions": 4}, chroma_url)
    vectors = np.random.default_rng(0).standard_normal((6000, 4)).astype(np.float32)
    for a in range(6):
        words = [f"word{a}x{i}" for i in range(6000)]
        art = parse(f"{a}.txt", " ".join(words).encode(), source=f"/docs/{a}.txt")
        starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
        chunks = [Chunk(art.id, i, w, int(s), int(s) + len(w), 1) for i, (w, s) in enumerate(zip(words, starts))]
        store.records.put(art, chunks, vectors, INDEXED)
    assert store.records.counts() == (6, 36_000) and len(store.records.articles()) == 6
    store.handle.lexical.delete(art.id)
    with store.consistency.writing():
        store.consistency.repair()
    assert store.consistency.check() == [] and store.records.counts() == (6, 36_000)
    assert store.search.best(vectors[7], "word5x7", 1)[0].text == "word5x7"


def test_a_store_whose_chunks_also_hold_their_text_opens_and_answers_from_the_records(
    tmp_path, chroma_url, fake_embedder
):
    """Stores written before kept each passage's text and its article's fields in the chunk too."""
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    article = lighthouse(store, fake_embedder)
    got = store.handle.chunks.get(include=["metadatas", "embeddings"])
    old = {**got["metadatas"][0], "site": "Old Herald", "url": "https://herald.test/keepers"}
    store.handle.chunks.upsert(ids=got["ids"], embeddings=got["embeddings"], documents=[KEEPERS], metadatas=[old])
    store.handle.lexical.delete(article.id)
    with store.consistency.writing():
        store.consistency.repair()  # the BM25 rows come back from the record's text
    assert store.consistency.check() == []
    best = store.search.best(fake_embedder.embed_batch(["lamp hours"])[0], "roster lamp hours", 1)[0]
    assert (best.text, best.outlet, best.author, best.url) == (KEEPERS, "Cape Herald", "Tomas Reyes", None)


def test_a_passage_whose_article_changed_since_it_was_found_is_left_out_not_misquoted(
    tmp_path, chroma_url, fake_embedder
):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art, _ = stored(store, fake_embedder, "/docs/one.txt", LONG)
    vector = fake_embedder.embed_batch(["item3"])[0]
    found = list(store.search.candidates(vector, "item3", 5).hits.values())
    again = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)  # another process, which has read no text yet
    assert [h.text for h in store.search.filled(found)] == [LONG[h.start : h.end] for h in found]
    stored(store, fake_embedder, "/docs/one.txt", "A different text now: " + LONG)  # the same article, changed
    assert again.search.filled(found) == []  # the found offsets belong to the old version's text
    # A text read before the change is that version's own, so its offsets still quote it rightly.
    assert [h.text for h in store.search.filled(found)] == [LONG[h.start : h.end] for h in found]
    fresh = store.search.best(vector, "item3", 1)[0]
    assert "item3" in fresh.text and fresh.content_hash == store.records.article(art.id).content_hash


def test_new_collections_are_made_with_the_measured_hnsw_parameters(tmp_path, chroma_url):
    from vectorstore.handle import HNSW

    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    for collection in (store.handle.chunks, store.handle.articles):
        assert {k: collection.configuration["hnsw"][k] for k in HNSW} == HNSW
