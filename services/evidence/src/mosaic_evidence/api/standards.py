"""xAPI statements and Caliper events, and the district's mapping from their activities to competencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from mosaic_evidence.api.deps import IdempotencyKey, answer, recorder, respond, write
from mosaic_evidence.domain.standards import StandardsMapping
from mosaic_evidence.service import standards, standards_mapping
from mosaic_evidence.service.results import Decision
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, ServiceContext, Session
from mosaic_runtime.auth import DistrictPrincipal, Principal

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["xAPI and Caliper"])
OUTCOMES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "one outcome per statement/event: evidence, duplicate, refused (with problems), "
        "unmapped_activity, unknown_actor, no_score, not_evidence, voided or invalid"
    },
    400: {
        "description": "some input is not valid xAPI 1.0.3 / Caliper; nothing was recorded; every problem "
        "listed with the statement's index, the field and what to do"
    },
    409: {"description": "a statement or event id was received before with other content; nothing was recorded"},
    413: {"description": "the body is larger than the service accepts; split it"},
    415: {"description": "the body was not sent as application/json"},
    503: {"description": "Kafka did not acknowledge; nothing was recorded, retry"},
}


@router.put(
    "/standards-mapping",
    response_model=StandardsMapping,
    summary="Set the district's activity → competency and actor → student mapping",
    dependencies=[Depends(allow(Rule.IMPORT))],
)
async def put_mapping(district_id: str, mapping: StandardsMapping, session: Session):
    bad = await standards_mapping.set_mapping(session, district_id, mapping)
    if bad:
        return answer(422, {"detail": f"activities with an unknown evidence kind: {', '.join(bad)}"})
    return mapping


@router.get(
    "/standards-mapping",
    response_model=StandardsMapping,
    summary="The district's xAPI / Caliper mapping",
    dependencies=[Depends(allow(Rule.IMPORT))],
)
async def get_mapping(district_id: str, session: Session):
    return await standards_mapping.read_mapping(session, district_id)


@router.post(
    "/xapi/statements",
    responses=OUTCOMES,
    summary="xAPI statements (one or a list) → evidence",
    dependencies=[Depends(allow(Rule.RECORD_EVIDENCE))],
)
async def post_statements(
    district_id: str,
    principal: DistrictPrincipal,
    ctx: Context,
    body: Annotated[Any, Body(description="an xAPI statement or an array of statements")],
    idempotency_key: IdempotencyKey = None,
):
    return await _ingest(ctx, district_id, principal, body, idempotency_key, "xapi", standards.ingest_xapi)


@router.post(
    "/caliper/events",
    responses=OUTCOMES,
    summary="Caliper events (an envelope, one event or a list) → evidence from GradeEvents",
    dependencies=[Depends(allow(Rule.RECORD_EVIDENCE))],
)
async def post_caliper(
    district_id: str,
    principal: DistrictPrincipal,
    ctx: Context,
    body: Annotated[Any, Body(description="a Caliper envelope or event")],
    idempotency_key: IdempotencyKey = None,
):
    return await _ingest(ctx, district_id, principal, body, idempotency_key, "caliper", standards.ingest_caliper)


async def _ingest(
    ctx: ServiceContext,
    district_id: str,
    principal: Principal,
    body: Any,
    key: str | None,
    path: str,
    ingest: Callable[..., Awaitable[Decision]],
) -> JSONResponse:
    caller = recorder(principal)
    if refusal := standards.unreadable(body):
        return respond(refusal.result)
    try:
        return await write(
            ctx,
            district_id,
            lambda s: ingest(s, district_id, body, caller),
            key=key,
            request={"path": path, "body": body},
        )
    except IntegrityError:  # another request recorded the same statement id a moment before
        return answer(
            409,
            {
                "detail": "a statement of this request was being recorded by another request at the "
                "same time; nothing was recorded: send it again to learn its outcome"
            },
        )
