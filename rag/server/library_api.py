"""The library API: list, read, add and remove articles, and search passages, over HTTP.

Thin over `rag.Library` and `Assistant.retrieve` (the app keeps the Assistant in `app.state.assistant`).
A request names only what the library holds or what it sends: article ids to read or remove,
http(s) URLs or uploaded bytes to add — never a file on the server, so a client cannot make
the server read its own disk. Adding goes through the same parsers, size limit and safe
fetcher as `python -m ingest`, and answers with the status lines it prints.
"""

import json
from dataclasses import asdict
from functools import partial

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.datastructures import UploadFile

from dossier_core.errors import InputError, NotFound
from ingest.load import article_id, is_url
from rag.assistant import MAX_QUESTION, Assistant
from rag.filters import Filters
from rag.ingestion import IngestResult
from rag.libraries import sibling
from rag.library import Library, matching, regions_of
from rag.server.auth import require
from vectorstore.records import ArticleRecord, Hit

MAX_K = 100  # passages one search returns at most
LIBRARY = Query(None, description="the store's library (default: the server's --library)")
NOT_FOUND = "{}: no article with this id; the article list (GET /v1/articles, or MCP's list_articles) gives the ids"


class _Strict(BaseModel):
    # A misspelt field is named in a 400 rather than silently ignored.
    model_config = ConfigDict(extra="forbid")


class ArticleIn(_Strict):
    """An article to add, as one record of an article dump."""

    body: str = Field(description="the article's text")
    title: str | None = None
    author: str | None = None
    published_at: str | None = Field(None, description="YYYY-MM-DD or an ISO date-time")
    source: str | None = Field(None, description="the publisher, e.g. Reuters")
    url: str | None = Field(None, description="where it was published; adding the same URL again replaces the article")
    id: str | None = Field(
        None,
        description="your id for it; adding the same id again replaces the article (default: made from its content)",
    )


class AddURL(_Strict):
    """Fetch an article from the web (private and loopback addresses only when the server allows them)."""

    url: str = Field(description="an http(s) address")

    @field_validator("url")
    @classmethod
    def _web(cls, url: str) -> str:
        if not is_url(url):
            raise ValueError("give an http(s) address")
        return url


class AddArticles(_Strict):
    """Articles given as JSON, read as an article dump (`.jsonl`) is."""

    articles: list[ArticleIn] = Field(min_length=1)


class FiltersIn(_Strict):
    source: str | None = Field(None, description="part of the outlet or of the source path/URL")
    author: str | None = Field(None, description="part of the author line")
    since: str | None = Field(None, description="published on or after, YYYY-MM-DD")
    until: str | None = Field(None, description="published on or before, YYYY-MM-DD")
    articles: list[str] = Field([], description="only these article ids")
    include_undated: bool = Field(False, description="with dates (here or in the question), also undated articles")
    libraries: list[str] = Field([], description="the store's libraries to search (default: the server's --library)")

    def filters(self, field: str) -> Filters:
        """The engine's Filters; a date that is no date is the client's mistake (an InputError), named by `field`."""
        try:
            return Filters(
                self.source, self.author, self.since, self.until, tuple(self.articles), self.include_undated,
                tuple(self.libraries),
            )  # fmt: skip
        except InputError as e:
            raise InputError(f"{field}: {e}") from None


class SearchIn(_Strict):
    query: str = Field(min_length=1, max_length=MAX_QUESTION)
    k: int | None = Field(None, ge=1, le=MAX_K, description="passages to return (default: the server's top_k, 5)")
    filters: FiltersIn = Field(default_factory=FiltersIn)


class ArticleOut(BaseModel):
    id: str
    title: str | None
    author: str | None
    outlet: str | None
    published_at: str | None
    chunks: int
    source: str = Field(description="the path, URL or upload name it came from")
    url: str | None


class ArticlePage(BaseModel):
    articles: list[ArticleOut]
    total: int = Field(description="articles matching the query, on all pages")
    offset: int
    limit: int


class RegionOut(BaseModel):
    label: str = Field(description="body, caption, comments… (see ingest.regions)")
    text: str
    indexed: bool = Field(description="searchable; false for regions ingestion dropped from the index")


class ArticleDetail(ArticleOut):
    regions: list[RegionOut]
    text: str = Field(description="the cleaned text; passage offsets point into it")


class ResultOut(BaseModel):
    source: str
    status: str = Field(description="added, replaced, unchanged, duplicate, failed or skipped")
    chunks: int
    title: str | None
    error: str | None


class Added(BaseModel):
    results: list[ResultOut]
    lines: list[str] = Field(description="one line per article, as `python -m ingest` prints them")


class RemovedOut(BaseModel):
    id: str
    title: str | None
    chunks: int


class Removed(BaseModel):
    removed: list[RemovedOut]


class Passage(BaseModel):
    chunk_id: str
    article_id: str
    text: str
    start: int = Field(description="offset of the passage in the article's cleaned text")
    end: int
    score: float
    title: str | None
    author: str | None
    outlet: str | None
    published_at: str | None
    url: str | None
    source: str
    library: str = Field(description="the store's library the article is in")


class Passages(BaseModel):
    passages: list[Passage]


def summary(record: ArticleRecord) -> dict:
    """What a listing shows of an article."""
    url = record.source if is_url(record.source) else None
    fields = ("id", "title", "author", "outlet", "published_at", "chunks", "source")
    return {**{name: getattr(record, name) for name in fields}, "url": url}


def passage(hit: Hit) -> dict:
    return {name: getattr(hit, name) for name in Passage.model_fields}


def _inline(model: type[BaseModel]) -> dict:
    """A model's JSON schema with its nested models written in place: a route's own request body
    schema (openapi_extra) can refer to no component that FastAPI did not register."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            return (
                resolve(defs[node["$ref"].rsplit("/", 1)[1]])
                if "$ref" in node
                else {k: resolve(v) for k, v in node.items()}
            )
        return [resolve(v) for v in node] if isinstance(node, list) else node

    return resolve(schema)


# POST /v1/articles reads its body itself (JSON or multipart, within the size limit); /docs shows both forms.
_ADD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [_inline(AddURL), _inline(AddArticles)]}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            },
        },
    }
}


def library_router() -> APIRouter:
    router = APIRouter(tags=["library"])
    read, write = [Depends(require("read"))], [Depends(require("write"))]
    # Writes take the store's lock one at a time anyway: the others wait here, on the event loop,
    # not on threads that searches and reads need.
    ingesting = anyio.CapacityLimiter(1)

    @router.get("/v1/articles", dependencies=read, response_model=ArticlePage)
    def list_articles(
        request: Request,
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=1000),
        query: str | None = Query(None, max_length=MAX_QUESTION, description="words the title, author… must hold"),
        library: str | None = LIBRARY,
    ) -> dict:
        """The articles, newest first (undated ones last), a page at a time."""
        return listing(_library(request, library), query, offset, limit)

    # {article_id:path}: a dump's own ids may hold a slash.
    @router.get("/v1/articles/{article_id:path}", dependencies=read, response_model=ArticleDetail)
    def get_article(article_id: str, request: Request, library: str | None = LIBRARY) -> dict:
        """An article: its metadata, its regions (indexed or dropped) and its cleaned text."""
        return article(_library(request, library), article_id, regions=True)

    @router.post("/v1/articles", dependencies=write, response_model=Added, openapi_extra=_ADD_BODY)
    async def add_articles(request: Request, library: str | None = LIBRARY) -> dict:
        """Add articles: files in the multipart field `file` (repeat it for several), or JSON
        `{"url": …}` or `{"articles": [{"title", "body", …}]}`. One status line per article.
        A `library` the store does not hold yet is made."""
        library = await anyio.to_thread.run_sync(partial(_library, request, library, create=True))
        body = await request.body()  # the app's BodyLimit refuses one over the upload limit (413); kept for form()
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":  # curl -d, or a form without enctype
            raise HTTPException(400, "body: send files as multipart/form-data (curl -F file=@PATH), or JSON")
        if kind == "multipart/form-data":
            work = partial(_uploads, library, await _files(request))
        elif isinstance(wanted := _json_body(body), AddURL):
            work = partial(library.ingest, [wanted.url])
        else:
            work = partial(library.ingest_upload, "api.jsonl", _dump(wanted.articles))
        results = await anyio.to_thread.run_sync(work, limiter=ingesting)
        return {"results": [asdict(r) for r in results], "lines": [r.line for r in results]}

    @router.delete("/v1/articles/{article_id:path}", dependencies=write, response_model=Removed)
    def remove_article(article_id: str, request: Request, library: str | None = LIBRARY) -> dict:
        """Remove an article and its passages."""
        library = _library(request, library)
        removed = library.remove(_record(library, article_id))  # this id only, not a path or URL it may spell
        return {"removed": [{"id": r.id, "title": r.title, "chunks": r.chunks} for r in removed]}

    @router.post("/v1/search", dependencies=read, response_model=Passages)
    def search(wanted: SearchIn, request: Request) -> dict:
        """The passages that best match a query, with their scores, offsets and article metadata."""
        return search_passages(request.app.state.assistant, wanted.query, wanted.k, wanted.filters)

    return router


def _library(request: Request, name: str | None = None, create: bool = False) -> Library:
    """The store's library `name` (default: the server's first --library); made when `create`."""
    assistant = request.app.state.assistant
    if name and "," in name:
        raise InputError(f"library={name!r}: articles are listed, added and removed one library at a time")
    try:
        return assistant.libraries(Filters(libraries=name or assistant.library.name))[0]
    except NotFound:
        if not create:
            raise
        return sibling(assistant.library, name, create=True)  # the assistant opens it on its next use


def _record(library: Library, article_id: str) -> ArticleRecord:
    record = library.store.records.article(article_id)
    if record is None:
        raise NotFound(NOT_FOUND.format(article_id))
    return record


def article(library: Library, article_id: str, regions: bool = False) -> dict:
    """An article's listing fields and its cleaned text (the text passage offsets point into), and with
    `regions` what ingestion made of it, read from the one stored document."""
    record = _record(library, article_id)
    loaded, indexed = library.store.records.load_article(article_id)
    shown = summary(record)
    if isinstance(loaded.metadata.get("url"), str):  # a page's canonical address, when it named one
        shown["url"] = loaded.metadata["url"]
    if regions:
        shown["regions"] = [{"label": lab, "text": t, "indexed": kept} for lab, t, kept in regions_of(loaded, indexed)]
    return {**shown, "text": loaded.text}


def listing(library: Library, query: str | None, offset: int, limit: int) -> dict:
    """A page of the articles matching `query`, newest first."""
    return page(matching(library.articles(), query), offset, limit)


def search_passages(assistant: Assistant, query: str, k: int | None, filters: FiltersIn | None) -> dict:
    """The passages that best match `query`, each with its article's metadata."""
    wanted = filters.filters("filters") if filters else None
    return {"passages": [passage(h) for h in assistant.retrieve(query, k, wanted)]}


def page(records: list[ArticleRecord], offset: int, limit: int) -> dict:
    """One page of an article listing, with the total that matched."""
    return {
        "articles": [summary(r) for r in records[offset : offset + limit]],
        "total": len(records),
        "offset": offset,
        "limit": limit,
    }


async def _files(request: Request) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file in the multipart field `file` (Starlette parses the body it has read)."""
    async with request.form() as form:
        others = sorted({key for key in form if key != "file"})
        if others:
            raise HTTPException(400, f"{others[0]}: unknown field; send the files in the multipart field 'file'")
        files = form.getlist("file")
        if not files:
            raise HTTPException(400, "file: no files; send one or more in the multipart field 'file'")
        if not all(isinstance(f, UploadFile) for f in files):
            raise HTTPException(400, "file: holds text, not a file; send each file with a file name")
        return [(f.filename or "upload", await f.read()) for f in files]


def _json_body(body: bytes) -> AddURL | AddArticles:
    """What a JSON body asks to add; 400 naming what is wrong with it."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise HTTPException(400, f"malformed JSON at character {e.pos}: {e.msg}") from None
    except (UnicodeDecodeError, RecursionError):
        raise HTTPException(400, "malformed JSON: not UTF-8 text, or nested too deeply") from None
    if not isinstance(data, dict) or ("url" in data) == ("articles" in data):
        raise HTTPException(
            400, 'body: give {"url": …} or {"articles": [{"title", "body", …}]}, or files in the field \'file\''
        )
    try:
        return (AddURL if "url" in data else AddArticles).model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        # Named as the app names a field FastAPI finds at fault: articles[0].body
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".") or "body"
        raise HTTPException(400, f"{where}: {first['msg']}") from None


def _uploads(library: Library, files: list[tuple[str, bytes]]) -> list[IngestResult]:
    return [result for name, data in files for result in library.ingest_upload(name, data)]


def _dump(articles: list[ArticleIn]) -> bytes:
    """The articles as a JSONL dump. One without an id or a URL gets an id made from its content:
    the dump parser would otherwise number it by its line, and the next request's first article
    would replace this one's."""
    records = []
    for article in articles:
        record = article.model_dump(exclude_none=True)
        if "id" not in record and not is_url(record.get("url")):
            record["id"] = article_id(json.dumps(record, sort_keys=True))
        records.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(records).encode()
