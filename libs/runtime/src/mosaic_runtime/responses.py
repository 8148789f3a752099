"""Error answers as the OpenAPI documents them: one shape, and on every route the statuses every route of its kind
can answer (401/403 for a token, 404 for a path naming a thing, 400/413/415/422 for a body, 422 for parameters),
beside the route's own (409, 503, a 404 with its own words)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from mosaic_runtime.routes import api_routes, takes_bearer
from mosaic_runtime.shedding import NEVER_SHED

DESCRIPTIONS = {
    400: "the body could not be read (not UTF-8, or not parseable)",
    401: "no bearer token, or one that is expired or does not verify",
    403: "the token is for another district, or lacks a role this needs",
    404: "nothing with that id in this district (or nothing this caller may see)",
    409: "conflicts with what is already recorded (an Idempotency-Key reused with another body, a stale state)",
    413: "the body is larger than this endpoint accepts",
    415: "the body was sent with a Content-Type this endpoint does not take",
    422: "the request is not valid: each problem names its field and reason",
    503: (
        "a dependency (Kafka, the database) did not answer, or the server was at capacity (`shed`: true); "
        "nothing was changed: retry after Retry-After seconds"
    ),
}


class ErrorBody(BaseModel):
    """Every error Mosaic answers: `detail` says what was wrong and what to do; some add `problems`."""

    model_config = ConfigDict(extra="allow")
    detail: Any = Field(description="what was wrong, which field, and what to do")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, in the one error shape."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses}


def described(status: int, description: str) -> dict[str, Any]:
    """One error status in the one error shape, in the route's own words."""
    return {"model": ErrorBody, "description": description}


def document_errors(routes: Iterable[Any]) -> None:
    """Add the statuses the chassis answers to each route's documented responses (the route's own win)."""
    for route in api_routes(routes):
        for status, response in errors(*chassis_statuses(route)).items():
            route.responses.setdefault(status, response)


def chassis_statuses(route: APIRoute) -> list[int]:
    statuses = []
    if takes_bearer(route.dependant):
        statuses += [401, 403]
    if set(route.param_convertors) - {"district_id"}:
        statuses.append(404)  # a path that names a thing: it may not exist, or not for this caller
    if _takes_idempotency_key(route.dependant):
        statuses.append(409)  # the key reused with another body
    if route.body_field is not None:
        statuses += [400, 413, 415, 422]
    elif _has_parameters(route.dependant):
        statuses.append(422)
    if route.path not in NEVER_SHED:
        statuses.append(503)  # the in-flight limit may shed any request but the probes'
    return statuses


def _takes_idempotency_key(dependant: Dependant) -> bool:
    own = any((p.alias or p.name).lower() == "idempotency-key" for p in dependant.header_params)
    return own or any(_takes_idempotency_key(d) for d in dependant.dependencies)


def _has_parameters(dependant: Dependant) -> bool:
    own = dependant.path_params or dependant.query_params or dependant.header_params or dependant.cookie_params
    return bool(own) or any(_has_parameters(d) for d in dependant.dependencies)
