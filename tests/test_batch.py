"""An ingest's groups kept in flight while earlier ones are stored (what a Ray cluster's embedder asks for), with
an embedder whose vectors arrive later; and the ordinary ingest, which never imports Ray."""

import subprocess
import sys
from pathlib import Path

import pytest

from dossier_core.errors import DossierError
from ingest.chunk import INDEXED
from rag import ingestion
from rag.ingestion import Batch
from tests.conftest import FakeEmbedder, parse
from vectorstore.store import ChromaStore

ROOT = Path(__file__).resolve().parents[1]
CHUNKING = {"chunk_size": 40, "chunk_overlap": 8}


class LaterEmbedder(FakeEmbedder):
    """Vectors that arrive when asked for, two groups kept in flight; the store's article count at each send."""

    in_flight = 2

    def __init__(self, store: ChromaStore, failing: int | None = None):
        self.store, self.failing, self.sent = store, failing, []

    def submit(self, texts):
        self.sent.append(self.store.records.counts()[0])
        group = len(self.sent)

        def vectors():
            if group == self.failing:
                raise DossierError("the cluster lost its node")
            return self.embed_bulk(texts)

        return vectors


def article(n: int, words: str | None = None):
    text = words or f"Report {n} says the canal lock number {n} reopened after repairs costing {n * 7} thousand."
    return parse(f"{n}.txt", text.encode(), source=f"/docs/{n}.txt")


@pytest.fixture
def groups_of_one_article(monkeypatch):
    monkeypatch.setattr(ingestion, "EMBED_GROUP", 1)  # each article is a group of its own


def test_groups_in_flight_are_stored_in_order_and_each_waits_for_its_vectors(tmp_path, groups_of_one_article):
    store = ChromaStore(tmp_path / "s", {"embedder": "fake-bow", "dimensions": FakeEmbedder.dim})
    embedder = LaterEmbedder(store)
    batch = Batch(store, embedder, CHUNKING)
    results = []
    for n in range(5):
        results += batch.add_article(article(n), INDEXED)
    assert [r.source for r in results] == ["/docs/0.txt", "/docs/1.txt", "/docs/2.txt"]  # two still in flight
    results += batch.flush()
    assert [r.source for r in results] == [f"/docs/{n}.txt" for n in range(5)]
    assert {r.status for r in results} == {"added"}
    assert embedder.sent == [0, 0, 0, 1, 2]  # the third group went before the first was stored
    assert store.records.counts()[0] == 5 and store.consistency.check() == []


def test_a_twin_of_an_article_in_flight_is_a_duplicate_and_a_failed_group_fails_alone(tmp_path, groups_of_one_article):
    store = ChromaStore(tmp_path / "s", {"embedder": "fake-bow", "dimensions": FakeEmbedder.dim})
    batch = Batch(store, LaterEmbedder(store, failing=2), CHUNKING)
    twin = article(9, words=article(0).text)  # another file with the same content, while the first is in flight
    results = [r for a in (article(0), twin, article(1), article(2)) for r in batch.add_article(a, INDEXED)]
    results += batch.flush()
    status = {r.source: (r.status, r.error) for r in results}
    assert status["/docs/9.txt"][0] == "duplicate" and "/docs/0.txt" in status["/docs/9.txt"][1]
    assert status["/docs/1.txt"] == ("failed", "/docs/1.txt: embedding failed: the cluster lost its node")
    assert status["/docs/0.txt"][0] == status["/docs/2.txt"][0] == "added"
    assert {r.source for r in store.records.articles()} == {"/docs/0.txt", "/docs/2.txt"}


def test_the_ordinary_ingest_never_imports_ray(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "lock.md").write_text("# Canal Lock\n\nThe canal lock reopened in May after repairs.\n")
    code = (
        "import sys\nfrom ingest.__main__ import main\n"
        f"assert main([{str(folder)!r}, '--store', {str(tmp_path / 'store')!r}]) == 0\n"
        "print('ray' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False"
