"""The MCP server: the library and its cited answers as tools and resources for MCP clients (the official SDK).

One server object serves both transports: `python -m rag mcp` runs it on stdio, and `serve` routes `/mcp` to its
streamable-HTTP endpoint. Every engine call runs on a worker thread, never on the event loop; a DossierError
(an unknown article, an empty question, a store or backend failure) reaches the client as a tool error
carrying its one-line message.
"""

import inspect
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resources import ResourceSecurity
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, ToolAnnotations
from mcp_types import Resource as ListedResource
from pydantic import Field
from starlette.types import ASGIApp

from dossier_core.errors import DossierError, NotFound
from rag.assistant import MAX_QUESTION, Assistant
from rag.library import Library
from rag.server.library_api import MAX_K, FiltersIn, article, listing, search_passages

ARTICLE = "dossier://articles/{id}"
INSTRUCTIONS = (
    "Dossier answers from the user's own library of articles (news and documents they added), not from the web "
    "and not from general knowledge. Use `ask` for a checked answer whose every sentence cites a passage; "
    "`search_articles` for the passages themselves; `list_articles` and `get_article` (or the resources "
    "dossier://articles/{id}) to browse and read whole articles. When you pass on what Dossier found, keep its "
    "citations: name the article's title, outlet and date, and say when Dossier found nothing."
)
# Every tool only reads the library.
READING = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
T = TypeVar("T")


class LibraryServer(MCPServer):
    """MCPServer, listing each article as a resource: MCPServer itself lists fixed resources only, and an
    article template's instances change as articles are added and removed."""

    def __init__(self, library: Library, **options):
        super().__init__(**options)
        self.library = library

    async def list_resources(self) -> list[ListedResource]:
        try:
            records = await anyio.to_thread.run_sync(self.library.articles)
        except DossierError as e:
            raise MCPError(INTERNAL_ERROR, str(e)) from None
        return [
            ListedResource(
                uri=ARTICLE.format(id=quote(r.id, safe="")),
                name=r.id,
                title=r.title or r.source,
                description=", ".join(filter(None, (r.author, r.outlet, r.published_at))) or None,
                mime_type="text/markdown",
            )
            for r in records
        ]


def mcp_server(assistant: Assistant, answering: anyio.CapacityLimiter | None = None) -> LibraryServer:
    """The MCP server over `assistant`. Answers run on `answering`'s threads when given (the HTTP server's,
    so that answers asked over MCP wait their turn with the others), else on anyio's default threads."""
    library = assistant.library
    server = LibraryServer(library, name="dossier", title="Dossier", instructions=INSTRUCTIONS, log_level="WARNING")

    async def search_articles(
        query: Annotated[
            str, Field(min_length=1, max_length=MAX_QUESTION, description="what to look for, in plain words")
        ],
        k: Annotated[int, Field(ge=1, le=MAX_K, description="how many passages to return")] = 5,
        filters: Annotated[FiltersIn | None, Field(description="only articles that match all of these")] = None,
    ) -> dict[str, Any]:
        """Search the user's article library for the passages that best match a query, best first.

        Returns {"passages": [...]}: each passage's `text`, its `score` (higher is closer), the article it is
        from (`article_id`, `title`, `author`, `outlet`, `published_at`, `url`, `source`) and `start`/`end`,
        the passage's character offsets in that article's text (as get_article returns it). Only the user's
        library is searched, nothing else. Use it to see the evidence itself or to find articles on a topic;
        for an answer to a question use `ask`, which checks its sentences against the passages. Cite a
        passage by its article's title, outlet and date."""
        return await _off_loop(partial(search_passages, assistant, query, k, filters))

    async def ask(
        question: Annotated[str, Field(max_length=MAX_QUESTION, description="the question")],
    ) -> dict[str, Any]:
        """Answer a question from the user's article library only, with every sentence cited and checked.

        Returns the answer's `answer` text with [n] markers; [n] is the passage `citations[n-1]` (its field `n`
        is n): the passage `text`, its article (`article_id`, `title`, `author`, `outlet`, `published_at`,
        `url`, `source`) and `start`/`end`, its character offsets in the article's text. `sentences` gives each
        sentence with the citations it carries and whether a cited passage supports it (`supported`, `reason`);
        `unsupported` lists the sentences none does. `abstained` is true when the library does not cover the
        question: say so rather than answering from elsewhere. Keep the [n] markers, or name the cited articles,
        when you pass the answer on."""
        answer = await _off_loop(partial(assistant.ask, question), limiter=answering)
        # The trace (retrieval query, every passage weighed, timings) is for debugging the engine; a model
        # reading the answer has no use for it.
        return {key: value for key, value in answer.to_dict().items() if key != "trace"}

    async def list_articles(
        query: Annotated[
            str | None, Field(max_length=MAX_QUESTION, description="words the title, author, outlet or source hold")
        ] = None,
        offset: Annotated[int, Field(ge=0, description="articles to skip (the next page)")] = 0,
        limit: Annotated[int, Field(ge=1, le=1000, description="articles to return at most")] = 50,
    ) -> dict[str, Any]:
        """List the articles in the user's library, newest first (undated ones last), a page at a time.

        Returns {"articles": [...], "total", "offset", "limit"}: each article's `id` (for get_article and
        dossier://articles/{id}), `title`, `author`, `outlet`, `published_at`, `chunks` (its passages),
        `source` (the file or web address it came from) and `url`; `total` counts the articles that match.
        Use it to see what the library holds; to find what articles say, use `search_articles` or `ask`."""
        return await _off_loop(partial(listing, library, query, offset, limit))

    async def get_article(
        id: Annotated[str, Field(description="the article's id, from list_articles")],
    ) -> dict[str, Any]:
        """Read one whole article of the user's library: its metadata and its cleaned text.

        Returns `id`, `title`, `author`, `outlet`, `published_at`, `chunks`, `source`, `url` and `text`. The
        `start`/`end` offsets of a passage from search_articles or ask point into this `text`."""
        return await _off_loop(partial(article, library, id))

    for tool in (search_articles, ask, list_articles, get_article):
        server.add_tool(tool, description=inspect.getdoc(tool), annotations=READING)

    # Ids are looked up in the store, never used as paths: the SDK's path checks would only refuse ids
    # that an article dump may legitimately hold.
    @server.resource(
        ARTICLE,
        name="article",
        title="An article of the library",
        description="An article of the user's library: a short header (title, byline, source), then its text.",
        mime_type="text/markdown",
        security=ResourceSecurity(exempt_params={"id"}),
    )
    async def article_text(id: str) -> str:
        try:
            return await anyio.to_thread.run_sync(article_markdown, library, id)
        except NotFound as e:
            raise ResourceNotFoundError(str(e)) from None
        except DossierError as e:
            raise ResourceError(str(e)) from None

    return server


def http_endpoint(server: MCPServer) -> ASGIApp:
    """The streamable-HTTP endpoint of `server`, for a route of the HTTP server. Its session manager must run in
    the app's lifespan (`server.session_manager.run()`). The SDK's own host and origin checks are off: the
    server's keys, or without keys its loopback check (rag.server.app.LoopbackOnly), guard every route alike.

    Stateless, with JSON replies: every tool is one request and one reply, and the server never calls the
    client back, so a session would hold nothing but memory; each request stands alone, checked by its key."""
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return server.session_manager.handle_request


async def _off_loop(work: Callable[[], T], limiter: anyio.CapacityLimiter | None = None) -> T:
    """`work` on a worker thread; a DossierError becomes a tool error, its one line what the client is shown."""
    try:
        return await anyio.to_thread.run_sync(work, limiter=limiter)
    except DossierError as e:
        raise ToolError(str(e)) from None


def article_markdown(library: Library, article_id: str) -> str:
    """The article as a resource: a few header lines, then its text."""
    a = article(library, article_id)
    byline = " · ".join(filter(None, (a["author"], a["outlet"], a["published_at"])))
    header = [f"# {a['title'] or a['source']}", byline, f"Source: {a['url'] or a['source']}", f"Article id: {a['id']}"]
    return "\n".join(line for line in header if line) + "\n\n" + a["text"]
