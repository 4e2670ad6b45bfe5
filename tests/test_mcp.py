"""The MCP server as MCP clients use it: the official SDK's client over stdio (`python -m rag mcp`, a subprocess)
and over streamable HTTP (the `/mcp` route of a real `python -m rag serve`), on a real store."""

import subprocess
import sys
import tempfile

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from rag.server.library_api import NOT_FOUND
from tests.test_cli import ROOT, env
from tests.test_server import FULL, QUESTION, READER, keyed, server, store  # noqa: F401 — the fixtures

pytestmark = [pytest.mark.slow, pytest.mark.model]
BRIDGE = "Council Approves the Harbor Bridge"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
}
# What a client sends with every POST (the transport requires both).
POSTING = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def call(client: Client, tool: str, **arguments) -> dict:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def failure(client: Client, tool: str, **arguments) -> str:
    """The message of a tool call that fails, as the model reads it."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error and len(result.content) == 1
    message = result.content[0].text
    assert "\n" not in message and "Traceback" not in message
    return message


async def tour(client: Client) -> None:
    """Every tool, the resources and the errors, in one client session."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"search_articles", "ask", "list_articles", "get_article"}
    for tool in tools.values():
        assert "library" in tool.description and tool.annotations.read_only_hint

    listed = await call(client, "list_articles")
    assert listed["total"] == 3 and len(listed["articles"]) == 3
    dates = [a["published_at"] for a in listed["articles"] if a["published_at"]]
    assert dates == sorted(dates, reverse=True)  # newest first
    glacier = await call(client, "list_articles", query="glaciers")
    assert [a["title"] for a in glacier["articles"]] == ["Alpine Glaciers Lost a Tenth of Their Ice in Two Years"]

    found = await call(client, "search_articles", query="what will the new bridge cost", k=2)
    first = found["passages"][0]
    assert len(found["passages"]) == 2 and first["title"] == BRIDGE and first["score"] > 0
    article = await call(client, "get_article", id=first["article_id"])
    assert article["title"] == BRIDGE and article["text"][first["start"] : first["end"]] == first["text"]
    coffee = await call(client, "search_articles", query="prices", filters={"source": "marketdaily"})
    assert coffee["passages"] and {p["outlet"] for p in coffee["passages"]} == {"marketdaily.example"}

    answer = await call(client, "ask", question=QUESTION)
    assert "48 million dollars" in answer["answer"] and "[1]" in answer["answer"] and not answer["abstained"]
    cited = answer["citations"][0]
    assert cited["n"] == 1 and cited["title"] == BRIDGE and "48 million" in cited["text"]
    assert answer["sentences"] and all(s["supported"] for s in answer["sentences"]) and "trace" not in answer

    assert (await failure(client, "get_article", id="no-such-id")).endswith(NOT_FOUND.format("no-such-id"))
    assert (await failure(client, "ask", question="   ")).endswith("the question is empty; type a question")
    bad_date = await failure(client, "search_articles", query="bridge", filters={"since": "last spring"})
    assert bad_date.endswith("is not a date; write it as YYYY-MM-DD")

    resources = (await client.list_resources()).resources
    assert sorted(str(r.uri) for r in resources) == sorted(f"dossier://articles/{a['id']}" for a in listed["articles"])
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["dossier://articles/{id}"]
    read = (await client.read_resource(f"dossier://articles/{first['article_id']}")).contents[0]
    assert read.mime_type == "text/markdown" and read.text.startswith(f"# {BRIDGE}\n")
    assert f"Article id: {first['article_id']}" in read.text and article["text"] in read.text
    with pytest.raises(MCPError, match="no-such-id: no article with this id"):
        await client.read_resource("dossier://articles/no-such-id")


async def test_over_stdio_every_tool_and_resource_works_and_stdout_carries_only_the_protocol(store):  # noqa: F811
    command = StdioServerParameters(
        command=sys.executable, args=["-m", "rag", "mcp", "--store", str(store)], env=env(), cwd=str(ROOT)
    )
    faults = []  # a line on stdout that is not a protocol message arrives here as an exception

    async def on_message(message):
        if isinstance(message, Exception):
            faults.append(message)

    with tempfile.TemporaryFile("w+") as errors:
        async with Client(stdio_client(command, errlog=errors), message_handler=on_message) as client:
            await tour(client)
        errors.seek(0)
        assert "Dossier's MCP server on stdio" in errors.read()  # the messages went to stderr
    assert faults == []


async def test_over_http_on_serve_every_tool_and_resource_works(server):  # noqa: F811
    async with Client(f"{server.url}/mcp") as client:  # the SDK's newest protocol
        await tour(client)
    async with Client(f"{server.url}/mcp", mode="legacy") as client:  # the initialize handshake of 2025
        assert (await call(client, "list_articles"))["total"] == 3


def test_without_keys_the_endpoint_refuses_a_page_posing_as_another_host(server):  # noqa: F811
    # The server without keys listens on loopback: a web page whose host name leads there (DNS rebinding)
    # sends its own Host and Origin, and is refused.
    where = f"{server.url}/mcp"
    assert httpx.post(where, json=INITIALIZE, headers=POSTING).status_code == 200
    assert httpx.post(where, json=INITIALIZE, headers={**POSTING, "Host": "attacker.example"}).status_code == 400
    origin = {**POSTING, "Origin": "http://attacker.example"}
    assert httpx.post(where, json=INITIALIZE, headers=origin).status_code == 403
    local = {**POSTING, "Origin": "http://localhost:3000"}  # a page served on this machine
    assert httpx.post(where, json=INITIALIZE, headers=local).status_code == 200
    assert httpx.get(where).status_code == 405  # stateless: no stream to open


async def test_with_keys_the_endpoint_needs_one_and_a_read_only_key_may_use_every_tool(keyed):  # noqa: F811
    where = f"{keyed.url}/mcp"
    for headers, message in (
        ({}, "this server needs an API key: send the header Authorization: Bearer KEY"),
        ({"Authorization": "Bearer not-a-key"}, "the API key sent is not one of this server's"),
    ):
        refused = httpx.post(where, json=INITIALIZE, headers={**POSTING, **headers})
        assert refused.status_code == 401 and refused.json()["error"]["message"] == message
    # A client on another machine names the server by its own address: with keys, any host name is served.
    port = keyed.url.rsplit(":", 1)[1]
    reader = {"Authorization": f"Bearer {READER}", "Host": f"dossier.example:{port}"}
    async with httpx2.AsyncClient(headers=reader) as http, Client(streamable_http_client(where, http_client=http)) as c:
        await tour(c)
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {FULL}"}) as http,
        Client(streamable_http_client(where, http_client=http), mode="legacy") as client,
    ):
        assert (await call(client, "search_articles", query="glaciers", k=1))["passages"]


def test_a_store_folder_that_does_not_exist_is_refused_not_served_empty(tmp_path):
    missing = tmp_path / "stroe"
    done = subprocess.run(
        [sys.executable, "-m", "rag", "mcp", "--store", str(missing)],
        cwd=ROOT, env=env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and str(missing) in done.stderr and done.stdout == "" and not missing.exists()
