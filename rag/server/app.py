"""The HTTP server: an OpenAI-compatible chat API and the library API over one Assistant (FastAPI).

Answers run on worker threads of their own (at most ANSWERS_AT_ONCE at a time), so that neither the event
loop nor the threads that serve searches and article reads wait on a slow language model. Every error
reaches the client as OpenAI's JSON error body, never as a traceback.
"""

import itertools
import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Literal
from urllib.parse import urlsplit

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from dossier_core.errors import DossierError, InputError, NotFound
from rag.answer import Answer, Citation
from rag.assistant import Assistant
from rag.library import MAX_BYTES
from rag.server import openai_compat as oai
from rag.server.auth import READ, KeyRequired, is_loopback, parse_keys, require
from rag.server.library_api import FiltersIn, library_router
from rag.server.mcp_server import http_endpoint, mcp_server

log = logging.getLogger(__name__)
ANSWERS_AT_ONCE = 16  # answers being written at once; more wait their turn
MAX_K = 50  # passages one answer may draw on
KINDS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    503: "service_unavailable",
}
FAILED = "the server failed on this request; its log says why"


class DossierOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently ignored
    filters: FiltersIn | None = None
    k: int | None = Field(None, ge=1, le=MAX_K, description="passages retrieved (default: the server's top_k)")
    strict: bool | None = Field(None, description="drop sentences no cited passage supports (default: the server's)")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat-completion request. Its other options (temperature, max_tokens, …) are accepted and
    unused: the answer is Dossier's, written as the server is configured."""

    model_config = ConfigDict(extra="allow")
    model: str = oai.MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    dossier: DossierOptions | None = Field(None, description="Dossier's own options")


def create_app(assistant: Assistant, keys: Iterable[str] = ()) -> FastAPI:
    """The app over `assistant`; `keys` as `Settings.api_keys` has them ("KEY" or "KEY:read"; none: open)."""
    granted, answering = parse_keys(tuple(keys)), anyio.CapacityLimiter(ANSWERS_AT_ONCE)
    mcp = mcp_server(assistant, answering)
    mcp_endpoint = KeyRequired(http_endpoint(mcp), granted)
    app = FastAPI(
        title="Dossier",
        summary="Cited answers from a library of articles: an OpenAI-compatible chat API, a library API, "
        "and an MCP server at /mcp.",
        # The MCP endpoint's requests run in its session manager's task group, which the SDK lets run once:
        # an app is served once (a second `with TestClient(app)` would need a new app).
        lifespan=lambda app: mcp.session_manager.run(),
    )
    app.state.assistant = assistant
    app.state.keys = granted
    app.state.answering = answering
    app.state.started = int(time.time())
    app.add_middleware(BodyLimit, limit=MAX_BYTES)
    if not granted:
        app.add_middleware(LoopbackOnly)
    for kind, handler in (
        (StarletteHTTPException, _http_error),
        (RequestValidationError, _invalid),
        (DossierError, _dossier_error),
        (Exception, _failed),
    ):
        app.add_exception_handler(kind, handler)
    reading = [Depends(require(READ))]
    app.add_api_route("/health", health, methods=["GET"], tags=["server"])
    app.add_api_route("/v1/models", models, methods=["GET"], dependencies=reading, tags=["chat"])
    app.add_api_route("/v1/models/{model}", model, methods=["GET"], dependencies=reading, tags=["chat"])
    app.add_api_route("/v1/chat/completions", chat_completions, methods=["POST"], dependencies=reading, tags=["chat"])
    app.include_router(library_router())
    # MCP over streamable HTTP. POST only: a stateless server has nothing to send on a GET stream (405 says so).
    app.add_route("/mcp", mcp_endpoint, methods=["POST"], include_in_schema=False)
    return app


async def health() -> dict:
    """Whether the server is up (needs no key)."""
    return {"status": "ok"}


async def models(request: Request) -> dict:
    """The one model served: `dossier`, the answer backend this server was started with."""
    return oai.models(request.app.state.started)


async def model(model: str, request: Request) -> dict:
    _served(model)
    return oai.model(request.app.state.started)


async def chat_completions(body: ChatRequest, request: Request):
    """A cited answer to the last user message, the earlier turns as the conversation. The text keeps its
    [n] markers; citations are in `choices[0].message.annotations`, `citations` and `dossier` (streaming:
    each passage once in a `dossier_source` chunk, the rest on the final chunk)."""
    _served(body.model)
    options = body.dossier or DossierOptions()
    question, history = oai.conversation([m.model_dump() for m in body.messages])  # an InputError: 400
    filters = options.filters.filters("dossier.filters") if options.filters else None
    state = request.app.state
    ask = (question, history, filters, options.k, options.strict)
    reply_id, created, base_url = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), str(request.base_url)
    if not body.stream:
        answer = await anyio.to_thread.run_sync(_ask, state.assistant, ask, limiter=state.answering)
        return oai.completion(answer, base_url, reply_id, created)
    # The first piece is made before the response starts, so that a failure up to then gets its own status.
    pieces = await anyio.to_thread.run_sync(_opened, state.assistant, ask, limiter=state.answering)
    events = _events(oai.chunks(pieces, base_url, reply_id, created))
    return StreamingResponse(
        _on_threads(events, state.answering),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _served(name: str) -> None:
    if name != oai.MODEL:
        raise HTTPException(404, f"model '{name}' is not served here; use '{oai.MODEL}' (GET /v1/models)")


def _ask(assistant: Assistant, ask: tuple) -> Answer:
    return assistant.ask(*ask)


def _opened(assistant: Assistant, ask: tuple) -> Iterator[str | Citation | Answer]:
    stream = assistant.stream(*ask, sources=True)
    return itertools.chain([next(stream)], stream)  # a stream always yields something before its Answer


def _events(chunks: Iterator[dict]) -> Iterator[str]:
    """Server-sent events; a failure once the stream has begun is an error event (OpenAI's clients raise it)."""
    try:
        for chunk in chunks:
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    except DossierError as e:
        yield f"data: {json.dumps(oai.error(str(e), KINDS[_status_of(e)]), ensure_ascii=False)}\n\n"
    except Exception:
        log.exception("an answer failed while streaming")
        yield f"data: {json.dumps(oai.error(FAILED, 'server_error'))}\n\n"
    yield "data: [DONE]\n\n"


async def _on_threads(events: Iterator[str], limiter: anyio.CapacityLimiter):
    """Each next event made on an answering thread, never on the event loop. A client that goes away
    closes the answer, and with it the model's stream, rather than leaving a model writing for nobody."""
    try:
        while (event := await anyio.to_thread.run_sync(next, events, None, limiter=limiter)) is not None:
            yield event
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(events.close, limiter=limiter)


class BodyLimit:
    """Request bodies over the upload limit end in 413, by their Content-Length or as they arrive."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit
        size = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"
        self.message = f"the request body is over the upload limit of {size}; send fewer or smaller files at once"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            return await JSONResponse(oai.error(self.message, KINDS[413]), 413)(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # FastAPI passes an HTTPException raised while it reads the body on
                raise HTTPException(413, self.message)
            return message

        await self.app(scope, counted, send)


class LoopbackOnly:
    """A server without keys answers requests addressed to a loopback host name, from no web page but one on
    this machine. Else a page could point a name of its own at 127.0.0.1 (DNS rebinding), or simply post a
    form to 127.0.0.1 from the user's browser, and add or remove articles."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            host, origin = headers.get("host", ""), headers.get("origin")
            if not is_loopback(urlsplit(f"//{host}").hostname or ""):
                message = f"this server has no API keys, so it answers only to 127.0.0.1 or localhost, not {host!r}"
                return await JSONResponse(oai.error(message, KINDS[400]), 400)(scope, receive, send)
            if origin is not None and not is_loopback(urlsplit(origin).hostname or ""):
                message = f"this server has no API keys, so it answers no web page but this machine's, not {origin!r}"
                return await JSONResponse(oai.error(message, KINDS[403]), 403)(scope, receive, send)
        await self.app(scope, receive, send)


def _reply(status: int, message: str, param: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(oai.error(message, KINDS.get(status, "invalid_request_error"), param), status, headers)


async def _http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
    message = e.detail if isinstance(e.detail, str) else json.dumps(e.detail)
    if e.status_code == 404 and message == "Not Found":  # no such route: say which, and where the list is
        message = f"no route {request.method} {request.url.path}; see /docs"
    elif e.status_code == 405:
        # Starlette's Allow names the methods of the first route on the path only (GET, not also POST).
        where = "see /docs for the methods each route takes (MCP clients POST to /mcp)"
        message = f"{request.method} is not allowed on {request.url.path}; {where}"
    return _reply(e.status_code, message, headers=getattr(e, "headers", None))


async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
    """400 naming the first field at fault (or where the JSON breaks)."""
    errors = e.errors()
    first = errors[0]
    if first["type"] == "json_invalid":
        return _reply(400, f"malformed JSON at character {first['loc'][-1]}: {first['ctx']['error']}")
    where, *path = first["loc"]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    if where == "body" and not field:
        message = "the request body must be a JSON object, sent with Content-Type: application/json"
    else:
        place = {"body": "", "query": "query parameter ", "path": "path parameter ", "header": "header "}[where]
        message = f"{place}{field}: {first['msg']}"
    more = len(errors) - 1
    return _reply(400, message + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""), field or None)


async def _dossier_error(request: Request, e: DossierError) -> JSONResponse:
    """The one-line message the CLI prints: the caller's to fix (400, or 404 when nothing in the library
    matches), else a store or backend failure (503)."""
    return _reply(_status_of(e), str(e))


def _status_of(e: DossierError) -> int:
    return 404 if isinstance(e, NotFound) else 400 if isinstance(e, InputError) else 503


async def _failed(request: Request, e: Exception) -> JSONResponse:
    # Starlette logs the traceback after this reply is sent; the client gets only this line.
    return JSONResponse(oai.error(FAILED, "server_error"), 500)
