"""xAPI statements and Caliper events, and the district's mapping from their activities to competencies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from mosaic_evidence import commands, standards_commands
from mosaic_evidence.adapters import evidence_store
from mosaic_evidence.api.deps import IMPORT_ROLES, IdempotencyKey, answer, recorder
from mosaic_evidence.api.schemas import Outcomes
from mosaic_evidence.domain.standards import StandardsMapping
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal, Principal, require_roles
from mosaic_runtime.responses import errors

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["xAPI and Caliper"])
Importer = Annotated[Principal, require_roles(*IMPORT_ROLES)]
OUTCOMES: dict[int | str, dict[str, Any]] = errors(400, 409) | {
    200: {"model": Outcomes,
          "description": "one outcome per statement/event: evidence, duplicate, refused (with problems), "
                         "unmapped_activity, unknown_actor, no_score, not_evidence, voided or invalid"},
    503: {**errors(503)[503], "description": "Kafka did not acknowledge; nothing was recorded, retry"}}


@router.put("/standards-mapping", response_model=StandardsMapping,
            summary="Set the district's activity → competency and actor → student mapping")
async def put_mapping(district_id: str, mapping: StandardsMapping, principal: Importer, session: Session):
    bad = mapping.kinds_are_valid()
    if bad:
        return answer(422, {"detail": f"activities with an unknown evidence kind: {', '.join(bad)}"})
    await evidence_store.save_mapping(session, district_id, mapping)
    await session.commit()
    return mapping


@router.get("/standards-mapping", response_model=StandardsMapping, summary="The district's xAPI / Caliper mapping")
async def get_mapping(district_id: str, principal: DistrictPrincipal, session: Session):
    return await evidence_store.load_mapping(session, district_id)


@router.post("/xapi/statements", responses=OUTCOMES, summary="xAPI statements (one or a list) → evidence")
async def post_statements(district_id: str, principal: DistrictPrincipal, ctx: Context,
                          body: Annotated[Any, Body(description="an xAPI statement or an array of statements")],
                          idempotency_key: IdempotencyKey = None):
    caller = recorder(principal)
    status, answer_body = await commands.run_write(
        ctx, district_id, lambda s: standards_commands.ingest_xapi(s, district_id, body, caller),
        key=idempotency_key, payload_hash=commands.request_hash({"path": "xapi", "body": body}))
    return answer(status, answer_body)


@router.post("/caliper/events", responses=OUTCOMES,
             summary="Caliper events (an envelope, one event or a list) → evidence from GradeEvents")
async def post_caliper(district_id: str, principal: DistrictPrincipal, ctx: Context,
                       body: Annotated[Any, Body(description="a Caliper envelope or event")],
                       idempotency_key: IdempotencyKey = None):
    caller = recorder(principal)
    status, answer_body = await commands.run_write(
        ctx, district_id, lambda s: standards_commands.ingest_caliper(s, district_id, body, caller),
        key=idempotency_key, payload_hash=commands.request_hash({"path": "caliper", "body": body}))
    return answer(status, answer_body)
