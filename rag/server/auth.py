"""Who may call the server: API keys sent as `Authorization: Bearer KEY`, each allowed to read or to write.

A key written `KEY:read` may ask and search (scope "read"); a plain `KEY` may also add and remove articles
(scope "write"). With no keys at all every call is allowed: the server then listens on loopback only.
"""

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from dossier_core.errors import DossierError

READ, WRITE = "read", "write"
# Declared as the OpenAPI security scheme, so that /docs has an "Authorize" button; the check is ours.
_bearer = HTTPBearer(auto_error=False, description="an API key given to `python -m rag serve`")


def parse_keys(specs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """{key: scope} from "KEY" and "KEY:read" specs. A key's text is never put in an error message."""
    keys = {}
    for n, spec in enumerate(specs, 1):
        key, _, scope = spec.strip().rpartition(":") if ":" in spec else (spec.strip(), "", WRITE)
        if scope not in (READ, WRITE):
            raise DossierError(f"API key {n} ends in an unknown scope ':{scope}'; write KEY, or KEY:read for reading")
        if not key or any(c.isspace() for c in key):
            raise DossierError(f"API key {n} is empty or holds a space; a key is one word")
        keys[key] = scope
    return keys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: only "localhost" is known to stay on this machine
        return False


def _scope_of(keys: dict[str, str], given: str) -> str | None:
    """The scope of the key sent, compared with every key in constant time (no timing hint of a near miss)."""
    found = None
    for key, scope in keys.items():
        if hmac.compare_digest(key.encode(), given.encode()):
            found = scope
    return found


def require(scope: str):
    """The dependency a route declares for what it does: `dependencies=[Depends(require("read"))]`, or
    "write" for a route that adds or removes."""
    if scope not in (READ, WRITE):
        raise ValueError(f"scope must be {READ!r} or {WRITE!r}, not {scope!r}")

    # async: a check this cheap runs on the event loop, not waiting for a worker thread behind busy searches
    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> None:
        _allow(request.app.state.keys, credentials, scope)

    return check


class KeyRequired:
    """An ASGI app let through only with a key that may read, as `require(READ)` does for a route: for an app
    the server routes to whole (the MCP endpoint), which FastAPI's dependencies do not reach. A refusal is
    raised as the routes' own, so the app's handler answers it with the same JSON error."""

    def __init__(self, app: ASGIApp, keys: dict[str, str]):
        self.app, self.keys = app, keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _allow(self.keys, await _bearer(Request(scope)), READ)
        await self.app(scope, receive, send)


def _allow(keys: dict[str, str], credentials: HTTPAuthorizationCredentials | None, scope: str) -> None:
    """Nothing when the key sent grants `scope` (or the server has no keys); else 401 or 403."""
    if not keys:
        return
    if credentials is None:
        raise HTTPException(
            401, "this server needs an API key: send the header Authorization: Bearer KEY",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    granted = _scope_of(keys, credentials.credentials)
    if granted is None:
        raise HTTPException(401, "the API key sent is not one of this server's", headers={"WWW-Authenticate": "Bearer"})
    if scope == WRITE and granted == READ:
        raise HTTPException(403, "this API key may only read (ask and search), not add or remove articles")
