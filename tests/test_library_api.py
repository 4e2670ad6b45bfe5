"""The library API (rag/server/library_api.py) through the real app, on the bundled model and a real store."""

import json
import shutil

import pytest
from fastapi.testclient import TestClient

from rag import Assistant
from rag.server.app import create_app
from rag.server.library_api import NOT_FOUND
from tests.conftest import LIBRARY

pytestmark = pytest.mark.model
WRITER, READER = "writer-key", "reader-key"
BEARER = {"Authorization": f"Bearer {WRITER}"}


def client(assistant: Assistant, keys=()) -> TestClient:
    # A server without keys answers loopback host names only (TestClient's own is "testserver").
    return TestClient(create_app(assistant, keys), base_url="http://127.0.0.1", raise_server_exceptions=False)


def error(response, status: int) -> str:
    """The one-line message of an error reply, checking its status and OpenAI's shape."""
    assert response.status_code == status, response.text
    return response.json()["error"]["message"]


@pytest.fixture(scope="module")
def filled(tmp_path_factory, minilm) -> Assistant:
    """The three fixture articles, read by the tests that change nothing."""
    root = tmp_path_factory.mktemp("library-api")
    assistant = Assistant(root / "store", embedder=minilm)
    assert [r.status for r in assistant.library.ingest([shutil.copytree(LIBRARY, root / "library")])] == ["added"] * 3
    return assistant


@pytest.fixture
def empty(tmp_path, minilm) -> Assistant:
    return Assistant(tmp_path / "store", embedder=minilm)


def ids(api: TestClient, **params) -> list[str]:
    return [a["title"] for a in api.get("/v1/articles", params=params).json()["articles"]]


def test_articles_are_listed_newest_first_a_page_at_a_time(filled):
    api = client(filled)
    page = api.get("/v1/articles").json()
    assert (page["total"], page["offset"], page["limit"]) == (3, 0, 50)
    harbor, coffee, glacier = page["articles"]
    assert harbor["title"] == "Council Approves the Harbor Bridge" and harbor["published_at"] > coffee["published_at"]
    assert coffee["author"] == "Luis Ortega" and coffee["outlet"] and coffee["chunks"] >= 1
    assert coffee["source"].endswith("coffee-prices.html") and coffee["url"] is None  # a file, not a page fetched
    assert glacier["title"].startswith("Alpine Glaciers")
    assert set(coffee) == {"id", "title", "author", "outlet", "published_at", "chunks", "source", "url"}
    assert ids(api, offset=1, limit=1) == [coffee["title"]]
    assert api.get("/v1/articles", params={"offset": 5}).json() == {
        "articles": [],
        "total": 3,
        "offset": 5,
        "limit": 50,
    }
    assert ids(api, query="ORTEGA coffee") == [coffee["title"]]
    assert api.get("/v1/articles", params={"query": "coffee bridge"}).json()["total"] == 0
    assert "limit" in error(api.get("/v1/articles", params={"limit": 0}), 400)


def test_an_article_shows_its_regions_and_cleaned_text(filled):
    api = client(filled)
    coffee = next(a for a in api.get("/v1/articles").json()["articles"] if a["author"] == "Luis Ortega")
    article = api.get(f"/v1/articles/{coffee['id']}").json()
    assert article["url"] == "https://marketdaily.example/coffee-record"  # the page's canonical address
    assert {k: article[k] for k in ("id", "title", "author", "chunks", "source")} == {
        k: coffee[k] for k in ("id", "title", "author", "chunks", "source")
    }
    assert "Arabica coffee futures rose to 3.20 dollars a pound" in article["text"]
    body = [r for r in article["regions"] if r["label"] == "body"]
    (footer,) = [r for r in article["regions"] if "Cookie settings" in r["text"]]
    assert not footer["indexed"]  # kept in the text, dropped from the index
    assert body and all(r["indexed"] for r in body) and all(r["text"] in article["text"] for r in article["regions"])
    assert error(api.get("/v1/articles/no-such-article"), 404) == NOT_FOUND.format("no-such-article")


def test_search_returns_passages_with_offsets_scores_and_article_metadata(filled):
    api = client(filled)
    found = api.post("/v1/search", json={"query": "How many glaciers did the researchers measure?", "k": 2})
    passages = found.json()["passages"]
    assert len(passages) == 2 and passages[0]["score"] >= passages[1]["score"]
    top = passages[0]
    assert "176 glaciers" in top["text"] and top["title"].startswith("Alpine Glaciers")
    text = api.get(f"/v1/articles/{top['article_id']}").json()["text"]
    assert text[top["start"] : top["end"]] == top["text"]
    assert set(top) == {
        *("chunk_id", "article_id", "text", "start", "end", "score", "title"),
        *("author", "outlet", "published_at", "url", "source", "library"),
    }
    assert top["library"] == "main"
    by_author = api.post("/v1/search", json={"query": "prices", "k": 5, "filters": {"author": "Ortega"}}).json()
    assert by_author["passages"] and {p["author"] for p in by_author["passages"]} == {"Luis Ortega"}
    since = api.post("/v1/search", json={"query": "the council vote", "filters": {"since": "2025-01-01"}}).json()
    assert {p["title"] for p in since["passages"]} == {"Council Approves the Harbor Bridge"}
    assert len(api.post("/v1/search", json={"query": "coffee"}).json()["passages"]) == 5  # the server's top_k


def test_search_refuses_bad_requests_naming_the_field(filled):
    api = client(filled)
    assert error(api.post("/v1/search", json={"query": "x", "filters": {"publisher": "AP"}}), 400).startswith(
        "filters.publisher:"
    )
    assert "since" in error(api.post("/v1/search", json={"query": "x", "filters": {"since": "last week"}}), 400)
    assert error(api.post("/v1/search", json={"query": "x", "k": 0}), 400).startswith("k:")
    assert error(api.post("/v1/search", json={"k": 3}), 400).startswith("query:")
    malformed = api.post("/v1/search", content=b'{"query": "x",', headers={"Content-Type": "application/json"})
    assert error(malformed, 400).startswith("malformed JSON")


def test_a_multipart_upload_reports_each_file(empty):
    api = client(empty)
    files = [
        ("file", ("tide-report.txt", b"Tide Report\n\nThe spring tide rose two metres above the harbour wall.")),
        ("file", ("slides.pptx", b"not an article")),
    ]
    added = api.post("/v1/articles", files=files)
    assert added.status_code == 200, added.text
    good, bad = added.json()["results"]
    assert (good["status"], good["source"], good["title"]) == ("added", "upload:tide-report.txt", "Tide report")
    assert bad["status"] == "failed" and "unsupported file type" in bad["error"]
    assert added.json()["lines"] == [
        f"added     upload:tide-report.txt ({good['chunks']} chunks)",
        f"failed    {bad['error']}",
    ]
    assert ids(api) == ["Tide report"]
    again = api.post("/v1/articles", files=files[:1]).json()
    assert [r["status"] for r in again["results"]] == ["unchanged"]
    assert error(api.post("/v1/articles", files=[("document", ("a.txt", b"text"))]), 400).startswith("document:")
    text_field = api.post("/v1/articles", data={"file": "text"}, files=[("file", ("a.txt", b"x"))])
    assert error(text_field, 400).startswith("file: holds text")
    assert error(api.post("/v1/articles", data={"file": "text"}), 400).startswith("body: send files as multipart")


def test_json_articles_are_read_as_an_article_dump(empty):
    api = client(empty)
    first = {
        "title": "Ferry Fares Rise",
        "body": "The ferry company raised fares by ten percent on Monday.",
        "author": "Ana Reyes",
        "published_at": "2025-02-03",
        "source": "Lakeport Ledger",
    }
    added = api.post("/v1/articles", json={"articles": [first, {"title": "Empty", "body": ""}]}).json()
    assert sorted(r["status"] for r in added["results"]) == ["added", "failed"]
    assert "failed    api.jsonl: article 2 has no 'body' text; every object needs a non-empty 'body'" in added["lines"]
    (listed,) = api.get("/v1/articles").json()["articles"]
    assert (listed["title"], listed["author"], listed["outlet"], listed["published_at"]) == (
        "Ferry Fares Rise", "Ana Reyes", "Lakeport Ledger", "2025-02-03",
    )  # fmt: skip
    # Another request's first article is another article, not a new version of this one.
    second = {"title": "Bridge Opens", "body": "The new bridge opened to traffic.", "url": "https://ledger.example/b"}
    assert api.post("/v1/articles", json={"articles": [second]}).json()["lines"] == [
        "added     https://ledger.example/b (1 chunks)"
    ]
    assert [r["status"] for r in api.post("/v1/articles", json={"articles": [first]}).json()["results"]] == [
        "unchanged"
    ]
    page = api.get("/v1/articles").json()
    assert page["total"] == 2 and {a["url"] for a in page["articles"]} == {None, "https://ledger.example/b"}
    # An id of the client's own: sending it again replaces the article.
    mine = {"id": "fares-2025", "title": "Fares", "body": "Fares rose."}
    api.post("/v1/articles", json={"articles": [mine]})
    replaced = api.post("/v1/articles", json={"articles": [{**mine, "body": "Fares rose again."}]}).json()
    assert [r["status"] for r in replaced["results"]] == ["replaced"]
    assert api.get("/v1/articles/fares-2025").json()["text"] == "Fares rose again."


def test_bad_json_bodies_are_400_naming_the_field(empty):
    api = client(empty)
    no_body = api.post("/v1/articles", json={"articles": [{"title": "No body"}]})
    assert error(no_body, 400) == "articles[0].body: Field required"
    assert error(api.post("/v1/articles", json={"articles": [{"body": "x", "text": "y"}]}), 400).startswith(
        "articles[0].text:"
    )
    assert error(api.post("/v1/articles", json={"articles": []}), 400).startswith("articles:")
    assert error(api.post("/v1/articles", json={"urls": ["https://a.example"]}), 400).startswith("body: give")
    assert error(api.post("/v1/articles", json=["https://a.example"]), 400).startswith("body: give")
    broken = api.post("/v1/articles", content=b'{"url": ', headers={"Content-Type": "application/json"})
    assert error(broken, 400).startswith("malformed JSON at character 8")
    # Only web addresses: a path or '-' would make the server read its own files or its input.
    for address in ("/etc/passwd", "-", "file:///etc/passwd"):
        assert (
            error(api.post("/v1/articles", json={"url": address}), 400) == "url: Value error, give an http(s) address"
        )


def test_a_url_on_a_private_address_is_refused_unless_the_server_allows_it(empty):
    added = client(empty).post("/v1/articles", json={"url": "http://127.0.0.1:9/article"})
    (result,) = added.json()["results"]
    assert result["status"] == "failed" and "127.0.0.1, a private or local address" in result["error"]
    assert added.json()["lines"] == [f"failed    {result['error']}"]


def test_a_body_over_the_upload_limit_is_413(empty, monkeypatch):
    monkeypatch.setattr("rag.server.app.MAX_BYTES", 1000)  # the app's limit on every request body
    api = client(empty)
    big = error(api.post("/v1/articles", files=[("file", ("big.txt", b"word " * 400))]), 413)
    assert big.startswith("the request body is over the upload limit of 1000 bytes")
    article = {"title": "Long", "body": "word " * 400}
    assert error(api.post("/v1/articles", json={"articles": [article]}), 413) == big
    assert api.post("/v1/articles", files=[("file", ("small.txt", b"A short note about tides."))]).status_code == 200
    assert api.get("/v1/articles").json()["total"] == 1


def test_removing_an_article(empty):
    api = client(empty)
    api.post("/v1/articles", json={"articles": [{"id": "gone", "title": "Soon Gone", "body": "Short-lived news."}]})
    assert api.delete("/v1/articles/gone").json() == {"removed": [{"id": "gone", "title": "Soon Gone", "chunks": 1}]}
    assert error(api.get("/v1/articles/gone"), 404).startswith("gone: no article")
    assert error(api.delete("/v1/articles/gone"), 404).startswith("gone: no article")
    assert api.get("/v1/articles").json()["total"] == 0


def test_a_read_only_key_reads_but_does_not_add_or_remove(empty):
    keys = (WRITER, f"{READER}:read")
    api = client(empty, keys)
    as_writer, as_reader = {"Authorization": f"Bearer {WRITER}"}, {"Authorization": f"Bearer {READER}"}
    body = {"articles": [{"id": "kept", "title": "Kept", "body": "A reader cannot remove this."}]}
    assert error(api.post("/v1/articles", json=body, headers=as_reader), 403).startswith("this API key may only read")
    assert error(api.post("/v1/articles", files=[("file", ("a.txt", b"x"))], headers=as_reader), 403)
    assert api.post("/v1/articles", json=body, headers=as_writer).status_code == 200
    assert error(api.delete("/v1/articles/kept", headers=as_reader), 403)
    assert api.get("/v1/articles", headers=as_reader).json()["total"] == 1
    assert api.get("/v1/articles/kept", headers=as_reader).status_code == 200
    assert api.post("/v1/search", json={"query": "remove"}, headers=as_reader).json()["passages"]
    assert error(api.get("/v1/articles"), 401)
    assert error(api.post("/v1/search", json={"query": "x"}), 401)
    assert api.delete("/v1/articles/kept", headers=as_writer).status_code == 200


def test_the_docs_show_the_request_bodies(empty):
    spec = client(empty).get("/openapi.json").json()
    add = spec["paths"]["/v1/articles"]["post"]["requestBody"]["content"]
    url, articles = add["application/json"]["schema"]["oneOf"]
    assert url["required"] == ["url"] and articles["properties"]["articles"]["items"]["required"] == ["body"]
    assert add["multipart/form-data"]["schema"]["properties"]["file"]["type"] == "array"
    assert "$defs" not in json.dumps(add)
    search = spec["paths"]["/v1/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert search == {"$ref": "#/components/schemas/SearchIn"}
    assert set(spec["components"]["schemas"]["FiltersIn"]["properties"]) == {
        "source", "author", "since", "until", "articles", "include_undated", "libraries",
    }  # fmt: skip


def test_the_docs_stay_open_when_keys_are_set_and_hold_no_library_data(filled):
    api = client(filled, (WRITER,))
    assert api.get("/docs").status_code == 200 and api.get("/openapi.json").status_code == 200
    assert "Harbor" not in api.get("/openapi.json").text  # the API's shape, none of its articles
    assert error(api.get("/v1/articles"), 401)


def test_an_unexpected_failure_is_a_500_with_one_line_and_no_detail(empty, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail at /home/someone/store")

    monkeypatch.setattr(empty, "retrieve", broken)
    reply = client(empty).post("/v1/search", json={"query": "anything"})
    assert error(reply, 500) == "the server failed on this request; its log says why"
    assert "secret" not in reply.text and "Traceback" not in reply.text


def test_a_method_a_route_does_not_take_is_405_saying_where_its_methods_are(filled):
    message = error(client(filled).put("/v1/articles"), 405)
    assert message.startswith("PUT is not allowed on /v1/articles; see /docs for the methods each route takes")


def test_without_keys_a_request_for_another_host_name_is_refused(filled):
    rebound = client(filled).get("/v1/articles", headers={"Host": "news-site.example:8000"})
    assert error(rebound, 400).startswith("this server has no API keys, so it answers only to 127.0.0.1")
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert client(filled).get("/v1/articles", headers={"Host": host}).status_code == 200
    posted = client(filled).post("/v1/search", json={"query": "x"}, headers={"Origin": "https://news-site.example"})
    assert error(posted, 403).endswith("answers no web page but this machine's, not 'https://news-site.example'")
    keyed = client(filled, (WRITER,)).get("/v1/articles", headers={"Host": "news-site.example", **BEARER})
    assert keyed.status_code == 200  # with keys the key is the guard, whatever the name
