"""What every evidence route needs: the caller as a recorder, the Idempotency-Key, and results as HTTP answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, HTTPException, Query
from fastapi.responses import JSONResponse

from mosaic_evidence.domain.recording import Recorder
from mosaic_evidence.service.acknowledged_write import Decide, request_hash, run_write
from mosaic_evidence.service.results import Done, Refused
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.auth import Principal

# A page starts at most this far in: far beyond any district's rows, well inside a 64-bit database integer.
MAX_OFFSET = 10_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="makes a retry safe: the same key and body return the first answer; another body is a 409",
    ),
]


def recorder(principal: Principal) -> Recorder:
    return Recorder(principal.user_id, principal.roles)


STATUS_OF_REFUSAL = {"malformed": 400, "invalid": 422, "not_permitted": 403, "not_found": 404, "conflict": 409}


def answer(status: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def respond(result: Done | Refused) -> JSONResponse:
    """A write's answer: 201 when it created something (its events are on the log), 200 otherwise, 4xx refused."""
    if isinstance(result, Refused):
        return answer(STATUS_OF_REFUSAL[result.why], result.body)
    return answer(201 if result.created else 200, result.body)


async def write(
    ctx: ServiceContext, district_id: str, decide: Decide, *, key: str | None, request: Any
) -> JSONResponse:
    """Run a write under its Idempotency-Key; `request` is what a retry must repeat exactly (a dict or bytes)."""
    return respond(await run_write(ctx, district_id, decide, key=key, payload_hash=request_hash(request)))


def found(result: Done | Refused) -> Any:
    """A read's answer: what was found, or the refusal as an HTTP error."""
    if isinstance(result, Refused):
        raise HTTPException(STATUS_OF_REFUSAL[result.why], result.body["detail"])
    return result.body
