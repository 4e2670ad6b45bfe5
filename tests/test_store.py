import numpy as np
import pytest

from ingest.chunk import chunk_article
from ingest.errors import DossierError
from ingest.load import parse_article
from vectorstore.store import ChromaStore

BUILD = {"embedder": "fake-bow", "dimensions": 256, "chunk_size": 40, "chunk_overlap": 8, "pipeline": "1"}


def stored(store, embedder, source, text):
    art = parse_article(source, "a.txt", text.encode())
    chunks = chunk_article(art, embedder.count_tokens, 40, 8)
    store.put(art, chunks, embedder.embed_batch([c.text for c in chunks]))
    return art, chunks


def test_put_search_replace_and_counts(tmp_path, fake_embedder):
    store = ChromaStore(tmp_path / "s", BUILD)
    assert store.counts() == (0, 0)
    assert store.search(fake_embedder.embed_batch(["anything"])[0], 5) == []
    text = " ".join(f"Sentence {i} talks about item{i} and more words." for i in range(20))
    art, chunks = stored(store, fake_embedder, "/docs/one.txt", text)
    stored(store, fake_embedder, "/docs/two.txt", "Penguins live in Antarctica and eat krill.")
    assert store.counts() == (2, len(chunks) + 1)
    record = store.article(art.id)
    assert (record.source, record.content_hash, record.chunks) == ("/docs/one.txt", art.content_hash, len(chunks))
    assert store.article("missing") is None

    hits = store.search(fake_embedder.embed_batch(["penguins krill"])[0], 3)
    assert hits[0].source == "/docs/two.txt" and hits[0].text == "Penguins live in Antarctica and eat krill."
    assert hits[0].score > hits[1].score
    assert (hits[0].start, hits[0].end) == (0, len(hits[0].text))

    stored(store, fake_embedder, "/docs/one.txt", "Now a short replacement about glaciers.")
    assert store.counts() == (2, 2)
    hit = store.search(fake_embedder.embed_batch(["glaciers replacement"])[0], 1)[0]
    assert hit.text == "Now a short replacement about glaciers." and hit.article_id == art.id


def test_reopening_with_other_build_settings_is_a_clear_error(tmp_path):
    ChromaStore(tmp_path / "s", BUILD)
    ChromaStore(tmp_path / "s", BUILD)
    with pytest.raises(DossierError) as e:
        ChromaStore(tmp_path / "s", {**BUILD, "embedder": "other-model", "dimensions": 768})
    message = str(e.value)
    assert "fake-bow" in message and "other-model" in message and "new --store" in message


def test_unusable_store_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DossierError, match="cannot open it"):
        ChromaStore(blocker, BUILD)


def test_article_vector_is_the_normalised_mean_of_its_chunks(tmp_path, fake_embedder):
    store = ChromaStore(tmp_path / "s", BUILD)
    stored(store, fake_embedder, "/x.txt", "Alpha beta gamma delta. " * 30)
    got = store._articles.get(include=["embeddings"])
    assert np.isclose(np.linalg.norm(got["embeddings"][0]), 1.0, atol=1e-5)
