"""Several libraries in one store folder or Chroma server: each its own articles, chunks, BM25 rows and feedback;
an article put into a second library is not embedded again; questions asked across several name each citation's
library; a library is listed, removed, and refused when it does not exist. Real MiniLM, real Chroma (embedded and a
real `chroma run` server), the CLI through subprocess and the HTTP API through its app."""

import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag import Assistant, DossierError, Filters, Library, Settings
from rag.libraries import libraries, remove_library, sibling
from rag.server.app import create_app
from tests.conftest import LIBRARY
from tests.test_cli import run
from tests.test_feeds import CountingEmbedder

pytestmark = pytest.mark.model
BRIDGE, COFFEE, GLACIER = (LIBRARY / n for n in ("harbor-bridge.md", "coffee-prices.html", "glacier-study.txt"))


def titles(library: Library) -> set[str]:
    return {r.title for r in library.articles()}


def test_two_libraries_keep_their_own_articles_and_a_shared_article_is_embedded_once(tmp_path, minilm, chroma_url):
    embedder = CountingEmbedder(minilm)
    settings = Settings(store=str(tmp_path / "store"), chroma_url=chroma_url)
    main = Library(settings=settings, embedder=embedder)
    assert {r.status for r in main.ingest([BRIDGE, COFFEE])} == {"added"}
    first = embedder.embedded
    news = sibling(main, "news", create=True)
    assert {r.status for r in news.ingest([BRIDGE, GLACIER])} == {"added"}
    glacier_chunks = next(r.chunks for r in news.articles() if "Glacier" in r.title)
    assert embedder.embedded - first == glacier_chunks  # the bridge's passages came from main's vectors
    assert titles(main) == {"Council Approves the Harbor Bridge", "Coffee Prices Hit a Record as Harvests Fail"}
    assert titles(news) == {
        "Council Approves the Harbor Bridge",
        "Alpine Glaciers Lost a Tenth of Their Ice in Two Years",
    }
    assert main.check() == [] and news.check() == []
    assert libraries(main) == {"main": main.counts(), "news": news.counts()}
    # The reused vectors are the ones embedding would give.
    got = news.store.handle.chunks.get(where={"source": str(BRIDGE)}, include=["embeddings"])
    again = minilm.embed_bulk([c.embedding_text for c in _chunks(news, str(BRIDGE))])
    assert np.allclose(sorted(map(tuple, got["embeddings"])), sorted(map(tuple, again)), atol=1e-5)
    # Each library's BM25 index holds its own passages only.
    words = news.store.search.candidates(minilm.embed_batch(["glaciers"])[0], "glaciers drones radar", 10, "lexical")
    assert words.lexical and {h.library for h in words.hits.values()} == {"news"}
    assert not main.store.search.candidates(
        minilm.embed_batch(["x"])[0], "glaciers drones radar", 10, "lexical"
    ).lexical


def _chunks(library: Library, source: str):
    from ingest.chunk import chunk_article

    record = library.store.records.find(source=source)
    article, labels = library.store.records.load_article(record.id)
    chunking = library.chunking
    return chunk_article(
        article, library.embedder.count_tokens, chunking["chunk_size"], chunking["chunk_overlap"], labels
    )


@pytest.fixture(scope="module")
def two(tmp_path_factory, minilm) -> Library:
    """A store whose main library holds the bridge and coffee articles, and `science` the glacier study."""
    store = tmp_path_factory.mktemp("two") / "store"
    main = Library(store, embedder=minilm)
    main.ingest([BRIDGE, COFFEE])
    sibling(main, "science", create=True).ingest([GLACIER])
    return main


def test_a_question_asked_across_libraries_names_each_citations_library(two, minilm):
    both = Assistant(settings=Settings(store=str(two.path), library="main,science"), embedder=minilm)
    answer = both.ask("How many glaciers did the researchers measure?")
    assert "176" in answer.text and {c.library for c in answer.citations} == {"science"}
    assert answer.trace["libraries"] == ["main", "science"]
    answer = both.ask("What will the Harbor Bridge cost?")
    assert "48 million" in answer.text and {c.library for c in answer.citations} == {"main"}
    # Only main: the glacier study is not there; Filters(libraries=…) picks per question.
    alone = Assistant(settings=Settings(store=str(two.path)), embedder=minilm)
    assert alone.ask("How many glaciers did the researchers measure?").abstained
    hits = alone.retrieve("glaciers measured with drones", filters=Filters(libraries="science"))
    assert hits and {h.library for h in hits} == {"science"}
    assert {h.library for h in alone.retrieve("bridge cost glaciers", 10, Filters(libraries=("main", "science")))} == {
        "main",
        "science",
    }


def test_feedback_is_kept_per_library(two, minilm):
    science = Assistant(settings=Settings(store=str(two.path), library="science"), embedder=minilm)
    answer = science.ask("How many glaciers did the researchers measure?")
    science.feedback.record("a1", 1, "glaciers?", answer.to_dict())
    main = Assistant(settings=Settings(store=str(two.path)), embedder=minilm)
    assert [f["answer_id"] for f in science.feedback.all()] == ["a1"] and main.feedback.all() == []


def test_a_store_made_before_libraries_opens_as_main(two):
    names = {c.name for c in two.store.handle.site.client().list_collections()}
    assert {"dossier_chunks", "dossier_articles"} <= names  # main's collections keep the names stores always had
    assert (two.path / "dossier-lexical.sqlite3").exists() and (two.path / "dossier-lexical-science.sqlite3").exists()


def test_unknown_and_badly_named_libraries_are_one_line_errors(two, minilm):
    with pytest.raises(DossierError, match=r"has no library 'sport' \(it holds: main, science\)"):
        Assistant(settings=Settings(store=str(two.path), library="sport"), embedder=minilm)
    with pytest.raises(DossierError, match="not a library name"):
        Settings(library="Sport Desk")
    with pytest.raises(DossierError, match="one library at a time"):
        Library(two.path, Settings(store=str(two.path), library="main,science"), minilm)


def test_removing_a_library_leaves_the_others_whole(tmp_path, minilm, chroma_url):
    main = Library(settings=Settings(store=str(tmp_path / "store"), chroma_url=chroma_url), embedder=minilm)
    main.ingest([BRIDGE])
    doomed = sibling(main, "old", create=True)
    doomed.ingest([BRIDGE, COFFEE])
    held = doomed.counts()
    assert held[0] == 2 and remove_library(main, "old") == held
    assert list(libraries(main)) == ["main"] and main.check() == []
    assert titles(main) == {"Council Approves the Harbor Bridge"}
    with pytest.raises(DossierError, match="has no library 'old'"):
        remove_library(main, "old")


def test_the_cli_makes_lists_asks_across_and_removes_libraries(tmp_path):
    store = ["--store", tmp_path / "store"]
    assert run("ingest", BRIDGE, *store).returncode == 0
    assert run("ingest", GLACIER, *store, "--library", "science").returncode == 0
    listed = run("ingest", "libraries", *store)
    assert listed.returncode == 0 and [line.split()[:3] for line in listed.stdout.splitlines()] == [
        ["main", "1", "article,"],
        ["science", "1", "article,"],
    ]
    asked = run("rag", "ask", "How many glaciers did the researchers measure?", *store, "--library", "main,science")
    assert asked.returncode == 0 and "176" in asked.stdout and "library science)" in asked.stdout
    refused = run("ingest", "list", *store, "--library", "sport")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "has no library 'sport'" in refused.stderr
    assert run("ingest", "remove-library", "science", *store).returncode == 1  # without --yes: says what it would do
    removed = run("ingest", "remove-library", "science", *store, "--yes")
    assert removed.returncode == 0 and "removed library science (1 article" in removed.stdout
    assert "science" not in run("ingest", "libraries", *store).stdout


def test_the_http_api_takes_a_library(tmp_path, minilm):
    assistant = Assistant(tmp_path / "store", embedder=minilm)
    api = TestClient(create_app(assistant, ()), base_url="http://127.0.0.1", raise_server_exceptions=False)
    shutil.copy(GLACIER, tmp_path / "glacier.txt")
    with (tmp_path / "glacier.txt").open("rb") as f:
        added = api.post("/v1/articles", params={"library": "science"}, files={"file": ("glacier.txt", f)})
    assert added.status_code == 200 and added.json()["results"][0]["status"] == "added"
    assert api.get("/v1/articles").json()["total"] == 0
    assert api.get("/v1/articles", params={"library": "science"}).json()["total"] == 1
    query = {"query": "How many glaciers were measured?", "filters": {"libraries": ["science"]}}
    found = api.post("/v1/search", json=query).json()["passages"]
    assert found and found[0]["library"] == "science"
    missing = api.get("/v1/articles", params={"library": "sport"})
    assert missing.status_code == 404 and "has no library 'sport'" in missing.json()["error"]["message"]
    assert api.get("/v1/articles", params={"library": "Bad Name"}).status_code == 400


def test_the_chat_page_switches_libraries_asks_across_and_makes_one(monkeypatch, two):
    from tests.test_app import start

    monkeypatch.delenv("DOSSIER_LIBRARY", raising=False)
    at = start(monkeypatch, two.path)
    assert at.selectbox(key="library").options == ["main", "science"] and at.selectbox(key="library").value == "main"
    assert "**2** articles" in at.sidebar.markdown[0].value
    at.selectbox(key="library").set_value("science").run()
    assert not at.exception and "**1** articles" in at.sidebar.markdown[0].value
    at.chat_input[0].set_value("What will the Harbor Bridge cost?").run()
    assert "don&#x27;t mention Harbor Bridge" in at.chat_message[1].html[0].value  # main's article is not in science
    at.multiselect(key="also_ask").set_value(["main"]).run()
    at.chat_input[0].set_value("What will the Harbor Bridge cost?").run()
    answer, cards = (h.value for h in at.chat_message[3].html)
    assert "48 million" in answer and "library main" in cards
    at.text_input(key="new_library").set_value("Sport Desk")
    next(b for b in at.sidebar.button if b.label == "Create").click().run()
    assert not at.exception and "not a library name" in at.error[0].value and len(at.error) == 1
    at.text_input(key="new_library").set_value("sport")
    next(b for b in at.sidebar.button if b.label == "Create").click().run()
    assert not at.exception and at.selectbox(key="library").value == "sport"
    assert "**0** articles" in at.sidebar.markdown[0].value and at.multiselect(key="also_ask").value == []


def test_a_library_removed_elsewhere_is_not_made_again_by_a_read_and_main_stays(tmp_path, minilm):
    main = Library(tmp_path / "store", embedder=minilm)
    main.ingest([BRIDGE])
    sibling(main, "old", create=True).ingest([GLACIER])
    reader = Assistant(settings=Settings(store=str(main.path), library="main,old"), embedder=minilm)
    assert reader.retrieve("glaciers measured", 3)
    subprocess = run("ingest", "remove-library", "old", "--store", main.path, "--yes")  # another process
    assert subprocess.returncode == 0, subprocess.stderr
    with pytest.raises(DossierError, match=r"has no library 'old' \(it holds: main\)"):
        reader.retrieve("glaciers measured", 3)
    assert list(libraries(main)) == ["main"]
    with pytest.raises(DossierError, match="every store has it"):
        remove_library(main, "main")
    with pytest.raises(DossierError, match="not a library name"):
        Settings(library="news-")  # Chroma's names end in a letter or digit


def test_asked_across_libraries_each_keeps_its_own_ranking(two, minilm):
    """Passages of two libraries are ranked together by the same fusion and rerank as one library's: the order
    of one library's passages is the same alone and together."""
    for mode in ("hybrid", "lexical"):
        settings = Settings(store=str(two.path), retrieval=mode)
        alone = Assistant(settings=settings, embedder=minilm)
        query = "construction three years bridge coffee harvest"
        own = [h.chunk_id for h in alone.retrieve(query, 4)]
        both = alone.retrieve(query, 8, Filters(libraries="main,science"))
        assert [h.chunk_id for h in both if h.library == "main"][: len(own)] == own
