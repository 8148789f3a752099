"""Who is calling is answered before what they sent: a route that takes a bearer token and a body checks the
token before FastAPI reads the body, so a malformed body without a valid token is a 401, not a 422 or 400."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import request_response, wrap_app_with_body_limit
from fastapi.security import HTTPBearer

from mosaic_runtime.auth import current_principal
from mosaic_runtime.routes import api_routes, takes_bearer

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_bearer = HTTPBearer(auto_error=False)


def authenticate_before_parsing(routes: Iterable[Any]) -> None:
    """Make every route with a body and a bearer-token dependency check the token first; idempotent.
    Call it before the app serves (FastAPI builds included routes' handlers on first use)."""
    for route in api_routes(routes):
        if route.body_field is None or not takes_bearer(route.dependant) or getattr(route, "_auth_first", False):
            continue
        route.get_route_handler = _authenticated_first(route.get_route_handler)  # type: ignore[method-assign]
        route.app = wrap_app_with_body_limit(request_response(route.get_route_handler()), route.max_body_size)
        route._auth_first = True  # type: ignore[attr-defined]


def _authenticated_first(build: Callable[[], Handler]) -> Callable[[], Handler]:
    def build_guarded() -> Handler:
        handler = build()

        async def guarded(request: Request) -> Response:
            try:
                await current_principal(request, await _bearer(request))
            except HTTPException as refused:
                return JSONResponse({"detail": refused.detail}, refused.status_code, headers=refused.headers)
            return await handler(request)

        return guarded

    return build_guarded
