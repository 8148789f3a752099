"""Who is calling is answered before what they sent: a route that takes a bearer token and a body checks the
token before FastAPI parses the body, so a malformed body without a valid token is a 401, not a 422 or 400."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from mosaic_runtime.auth import current_principal

_bearer = HTTPBearer(auto_error=False)


def authenticate_before_parsing(routes: Iterable[Any]) -> None:
    """Wrap every route that has a body and a bearer-token dependency; idempotent."""
    for route in routes:
        if not isinstance(route, APIRoute) or route.body_field is None or getattr(route, "_auth_first", False):
            continue
        if _takes_bearer(route.dependant):
            route.app = _authenticated_first(route.app)
            route._auth_first = True  # type: ignore[attr-defined]


def _takes_bearer(dependant: Dependant) -> bool:
    return isinstance(dependant.call, HTTPBearer) or any(_takes_bearer(d) for d in dependant.dependencies)


def _authenticated_first(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        try:
            await current_principal(request, await _bearer(request))
        except HTTPException as refused:
            response = JSONResponse({"detail": refused.detail}, refused.status_code, headers=refused.headers)
            await response(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded
