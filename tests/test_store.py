
import numpy as np
import pytest

from ingest.chunk import chunk_article
from ingest.errors import DossierError
from ingest.models import Chunk
from tests.conftest import FakeEmbedder, parse
from vectorstore.store import ChromaStore

EMBEDDER = {"embedder": "fake-bow", "dimensions": FakeEmbedder.dim}
INDEXED = ("body", "caption")


def stored(store, embedder, source, text):
    art = parse("a.txt", text.encode(), source=source)
    chunks = chunk_article(art, embedder.count_tokens, 40, 8)
    store.put(art, chunks, embedder.embed_batch([c.embedding_text for c in chunks]), INDEXED)
    return art, chunks


LONG = " ".join(f"Sentence {i} talks about item{i} and a few more words here." for i in range(20))
PENGUINS = "Penguins live in Antarctica and eat krill, which they catch in cold water."


def test_put_search_replace_remove_and_counts(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    assert store.counts() == (0, 0)
    assert store.search(fake_embedder.embed_batch(["anything"])[0], "anything", 5) == []
    art, chunks = stored(store, fake_embedder, "/docs/one.txt", LONG)
    penguins, _ = stored(store, fake_embedder, "/docs/two.txt", PENGUINS)
    assert store.counts() == (2, len(chunks) + 1)
    record = store.article(art.id)
    assert (record.source, record.content_hash, record.chunks) == ("/docs/one.txt", art.content_hash, len(chunks))
    assert store.find(source="/docs/two.txt").id == penguins.id
    assert store.find(content_hash=art.content_hash).id == art.id
    assert store.article("missing") is None and store.find(source="/nope") is None
    assert [r.source for r in store.articles()] == ["/docs/one.txt", "/docs/two.txt"]

    hits = store.search(fake_embedder.embed_batch(["penguins krill"])[0], "penguins krill", 3, "dense")
    assert hits[0].source == "/docs/two.txt" and hits[0].text == PENGUINS
    assert hits[0].score > hits[1].score
    assert hits[0].metadata["region"] == "body" and hits[0].metadata["title"] == "A"

    replacement = "Now a short replacement about glaciers that is long enough to be prose."
    stored(store, fake_embedder, "/docs/one.txt", replacement)
    assert store.counts() == (2, 2)
    hit = store.search(fake_embedder.embed_batch(["glaciers replacement"])[0], "glaciers replacement", 1)[0]
    assert hit.text == replacement and hit.article_id == art.id
    store.remove(art.id)
    assert store.counts() == (1, 1) and store.check() == []


def test_the_whole_article_is_kept_for_rechunking(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art, _ = stored(store, fake_embedder, "/docs/one.txt", LONG)
    loaded, labels = store.load_article(art.id)
    assert loaded == art and labels == INDEXED
    assert store.chunking() == {}
    store.set_chunking({"chunk_size": 40})
    assert ChromaStore(tmp_path / "s", EMBEDDER, chroma_url).chunking() == {"chunk_size": 40}


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
    store._chunks.upsert(ids=["x-new-0"], embeddings=[np.ones(FakeEmbedder.dim)], documents=["half"],
                         metadatas=[{"article_id": art.id, "content_hash": "newer", "source": "/docs/one.txt", "start": 0, "end": 4}])
    store._site.begin(art.id)
    assert any("chunks without a matching article record" in p for p in store.check())
    with store.writing():
        pass
    assert store.check() == []
    # A crash while a brand-new article was half written leaves nothing of it.
    store._chunks.upsert(ids=["y-0"], embeddings=[np.ones(FakeEmbedder.dim)], documents=["orphan"],
                         metadatas=[{"article_id": "y", "content_hash": "h", "source": "/y", "start": 0, "end": 6}])
    store._site.begin("y")
    with store.writing():
        pass
    assert store.check() == [] and store.counts() == (1, len(store._chunks.get()["ids"]))


def test_article_vector_is_the_normalised_mean_of_its_chunks(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art, chunks = stored(store, fake_embedder, "/x.txt", LONG)
    assert len(chunks) > 1
    mean = fake_embedder.embed_batch([c.embedding_text for c in chunks]).mean(axis=0)
    got = np.array(store._articles.get(ids=[art.id], include=["embeddings"])["embeddings"][0])
    assert np.allclose(got, mean / np.linalg.norm(mean), atol=1e-5)


def test_a_store_sees_what_another_process_wrote(tmp_path, chroma_url, fake_embedder):
    import subprocess
    import sys
    from pathlib import Path

    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    assert store.counts() == (0, 0)
    root = Path(__file__).resolve().parents[1]
    folder = tmp_path / ("s2" if chroma_url else "s")  # with a server, the other process may be on another machine
    script = f"""
from tests.conftest import FakeEmbedder
from tests.test_store import ChromaStore, EMBEDDER, stored, PENGUINS
stored(ChromaStore({str(folder)!r}, EMBEDDER, {chroma_url!r}), FakeEmbedder(), "/docs/two.txt", PENGUINS)
"""
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120)
    assert store.counts() == (1, 1)
    hit = store.search(fake_embedder.embed_batch(["penguins krill"])[0], "penguins krill", 1)[0]
    assert hit.text == PENGUINS


def test_a_search_finds_the_new_version_of_an_article_another_store_replaced(tmp_path, chroma_url, fake_embedder):
    reader = ChromaStore(tmp_path / "r", EMBEDDER, chroma_url)
    writer = ChromaStore(tmp_path / ("w" if chroma_url else "r"), EMBEDDER, chroma_url)
    stored(writer, fake_embedder, "/docs/one.txt", PENGUINS)
    assert reader.search(fake_embedder.embed_batch(["penguins"])[0], "penguins", 1)[0].text == PENGUINS
    replacement = "Now a short replacement about glaciers that is long enough to be prose."
    stored(writer, fake_embedder, "/docs/one.txt", replacement)
    assert reader.search(fake_embedder.embed_batch(["glaciers"])[0], "glaciers", 1)[0].text == replacement


def test_repair_rebuilds_a_lost_bm25_index_and_keeps_every_article(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    one, _ = stored(store, fake_embedder, "/docs/one.txt", LONG)
    stored(store, fake_embedder, "/docs/two.txt", PENGUINS)
    store._bm25.delete(one.id)
    problems = store.check()  # with a server the index is a local copy, which check brings up to date first
    assert problems == [] if chroma_url else any(p.startswith("BM25 index and vectors differ") for p in problems)
    with store.writing():
        store.repair()
    assert store.check() == [] and store.counts()[0] == 2


def test_rechunking_into_fewer_chunks_leaves_no_old_chunk_behind(tmp_path, chroma_url, fake_embedder):
    store = ChromaStore(tmp_path / "s", EMBEDDER, chroma_url)
    art = parse("a.txt", LONG.encode(), source="/docs/one.txt")
    for size in (40, 120):
        chunks = chunk_article(art, fake_embedder.count_tokens, size, 8)
        store.put(art, chunks, fake_embedder.embed_batch([c.embedding_text for c in chunks]), INDEXED)
    assert store.counts() == (1, len(chunks)) and store.check() == []


@pytest.mark.slow
def test_a_store_larger_than_one_chroma_get_can_be_listed_checked_and_repaired(tmp_path, chroma_url):
    """Chroma refuses a get of more than 32 766 records ("too many SQL variables")."""
    store = ChromaStore(tmp_path / "s", {"embedder": "tiny", "dimensions": 4}, chroma_url)
    vectors = np.random.default_rng(0).standard_normal((6000, 4)).astype(np.float32)
    for a in range(6):
        words = [f"word{a}x{i}" for i in range(6000)]
        art = parse(f"{a}.txt", " ".join(words).encode(), source=f"/docs/{a}.txt")
        chunks = [Chunk(art.id, i, w, 0, 1, 1, 1) for i, w in enumerate(words)]
        store.put(art, chunks, vectors, INDEXED)
    assert store.counts() == (6, 36_000) and len(store.articles()) == 6
    store._bm25.delete(art.id)
    with store.writing():
        store.repair()
    assert store.check() == [] and store.counts() == (6, 36_000)
    assert store.search(vectors[7], "word5x7", 1)[0].text == "word5x7"
