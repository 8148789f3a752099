"""What the mastery routes share: the projection store, and a read's answer or 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.service.read_district import Missing


def projection_store(request: Request) -> ProjectionStore:
    return request.app.state.ctx.state.setdefault("store", ProjectionStore())


Store = Annotated[ProjectionStore, Depends(projection_store)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=what)


def found(result: dict[str, Any] | Missing) -> dict[str, Any]:
    """A read's answer, or 404 with what the roster lacks."""
    if isinstance(result, Missing):
        raise not_found(result.detail)
    return result
