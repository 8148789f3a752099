"""What every evidence route needs: the caller as a recorder, the Idempotency-Key, and the answer as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import JSONResponse

from mosaic_evidence.domain.recording import Recorder
from mosaic_runtime.auth import Principal

IMPORT_ROLES = ("administrator", "districtAdministrator", "integration", "system")
# Roster views carry contact details: staff and portals only, not students or families.
ROSTER_READ_ROLES = (*IMPORT_ROLES, "siteAdministrator", "principal", "counselor", "teacher", "aide", "portal")

# A page starts at most this far in: far beyond any district's rows, well inside a 64-bit database integer.
MAX_OFFSET = 10_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255,
    description="makes a retry safe: the same key and body return the first answer; another body is a 409")]


def recorder(principal: Principal) -> Recorder:
    return Recorder(principal.user_id, principal.roles)


def answer(status: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)
