"""Recording, correcting and retracting evidence, and reading a student's history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import Field, RootModel

from mosaic_evidence.adapters import evidence_store
from mosaic_evidence.api.deps import IdempotencyKey, Offset, found, recorder, respond, write
from mosaic_evidence.api.schemas import EvidenceChanged, EvidencePage, EvidenceView, RecordedBatch, RecordedOne
from mosaic_evidence.domain.corrections import CorrectionRequest, RetractionRequest
from mosaic_evidence.domain.recording import EVIDENCE_KINDS, EvidenceItem
from mosaic_evidence.service import read_evidence
from mosaic_evidence.service.acknowledged_write import request_hash, run_write
from mosaic_evidence.service.change_evidence import correct_evidence, retract_evidence
from mosaic_evidence.service.record_evidence import record_evidence
from mosaic_evidence.service.results import Done
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal
from mosaic_runtime.responses import errors

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["evidence"])
RECORDING = [Depends(allow(Rule.RECORD_EVIDENCE))]
READING = [Depends(allow(Rule.STUDENT_DATA))]

REFUSAL: dict[str, Any] = {
    "description": "refused: each problem names its code, field and reason; nothing was recorded"
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    403: REFUSAL,
    409: {"description": "Idempotency-Key reused with another body"},
    422: REFUSAL,
    503: {"description": "Kafka did not acknowledge the event; nothing was recorded, retry"},
}


class EvidenceBatch(RootModel[list[EvidenceItem]]):
    root: list[EvidenceItem] = Field(min_length=1)


@router.post(
    "/evidence",
    status_code=201,
    response_model=RecordedOne,
    responses=RESPONSES,
    summary="Record one piece of evidence",
    dependencies=RECORDING,
)
async def record_one(
    district_id: str,
    item: EvidenceItem,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    return await _record(ctx, district_id, [item], principal, idempotency_key)


@router.post(
    "/evidence/batch",
    status_code=201,
    response_model=RecordedBatch,
    responses=RESPONSES | errors(413),
    summary="Record a batch of evidence: all of it, or none with every problem named",
    dependencies=RECORDING,
)
async def record_batch(
    district_id: str,
    items: EvidenceBatch,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    if len(items.root) > ctx.settings.max_batch_items:  # type: ignore[attr-defined]
        raise HTTPException(413, f"at most {ctx.settings.max_batch_items} items per batch")  # type: ignore[attr-defined]
    return await _record(ctx, district_id, items.root, principal, idempotency_key)


async def _record(ctx, district_id, items, principal, key):
    caller = recorder(principal)
    payload = [i.model_dump(mode="json") for i in items]
    result = await run_write(
        ctx,
        district_id,
        lambda s: record_evidence(s, district_id, items, caller, key, ctx.state.get("reference_cache")),
        key=key,
        payload_hash=request_hash({"path": "evidence", "items": payload}),
        reads_only=True,  # record_evidence decides; the group writes its rows
    )
    if isinstance(result, Done) and len(items) == 1 and "recorded" in result.body:
        result = Done({**result.body["recorded"][0], "recorded": result.body["recorded"]}, created=True)
    return respond(result)


@router.post(
    "/evidence/{evidence_id}/corrections",
    status_code=201,
    response_model=EvidenceChanged,
    responses=RESPONSES,
    summary="Correct evidence: a new EvidenceCorrected fact, the original is kept",
    dependencies=RECORDING,
)
async def correct(
    district_id: str,
    evidence_id: str,
    correction: CorrectionRequest,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    caller = recorder(principal)
    return await write(
        ctx,
        district_id,
        lambda s: correct_evidence(s, district_id, evidence_id, correction, caller, idempotency_key),
        key=idempotency_key,
        request={"path": f"correct/{evidence_id}", "body": correction.model_dump(mode="json")},
    )


@router.post(
    "/evidence/{evidence_id}/retraction",
    status_code=201,
    response_model=EvidenceChanged,
    responses=RESPONSES,
    summary="Retract evidence: it no longer counts; the history keeps it",
    dependencies=RECORDING,
)
async def retract(
    district_id: str,
    evidence_id: str,
    retraction: RetractionRequest,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    caller = recorder(principal)
    return await write(
        ctx,
        district_id,
        lambda s: retract_evidence(s, district_id, evidence_id, retraction, caller, idempotency_key),
        key=idempotency_key,
        request={"path": f"retract/{evidence_id}", "body": retraction.model_dump(mode="json")},
    )


@router.get(
    "/evidence/{evidence_id}",
    response_model=EvidenceView,
    summary="One piece of evidence: its current view and its history",
    dependencies=READING,
)
async def get_evidence(district_id: str, evidence_id: str, principal: DistrictPrincipal, session: Session):
    return found(await read_evidence.one_evidence(session, district_id, evidence_id, recorder(principal)))


@router.get(
    "/students/{student_id}/evidence",
    response_model=EvidencePage,
    summary="A student's evidence, newest first, with each history",
    dependencies=READING,
)
async def student_history(
    district_id: str,
    student_id: str,
    principal: DistrictPrincipal,
    session: Session,
    competency_id: str | None = None,
    kind: Annotated[str | None, Query(description=f"one of {', '.join(EVIDENCE_KINDS)}")] = None,
    observed_from: Annotated[date | None, Query(alias="from")] = None,
    observed_to: Annotated[date | None, Query(alias="to")] = None,
    include_retracted: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
):
    if kind is not None and kind not in EVIDENCE_KINDS:
        raise HTTPException(422, f"kind {kind!r} is not one of {', '.join(EVIDENCE_KINDS)}")
    filters = evidence_store.HistoryFilter(competency_id, kind, observed_from, observed_to, include_retracted)
    return found(
        await read_evidence.student_history(
            session, district_id, student_id, recorder(principal), filters, limit=limit, offset=offset
        )
    )
