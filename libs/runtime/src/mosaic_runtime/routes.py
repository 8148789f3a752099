"""What the chassis needs to know about a service's routes, whichever way FastAPI holds them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI ≥ 0.16x keeps them behind the router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def takes_bearer(dependant: Dependant) -> bool:
    """True when the route (or one of its dependencies) reads a bearer token."""
    return isinstance(dependant.call, HTTPBearer) or any(takes_bearer(d) for d in dependant.dependencies)
