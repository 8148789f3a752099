"""Evidence in the database: the current view and its history, written by one fold for API and replay alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_events.catalog import EvidenceCorrected, EvidenceRecorded, EvidenceRetracted, Score
from mosaic_evidence.adapters.tables import (
    evidence,
    evidence_competencies,
    evidence_history,
    idempotency_keys,
    standards_mappings,
)
from mosaic_evidence.domain.corrections import EvidenceState, apply
from mosaic_evidence.domain.standards import StandardsMapping

# The idempotency table keeps the status code the first answer had (201 created, 200 otherwise).
CREATED, OK = 201, 200


async def load_state(session: AsyncSession, district_id: str, evidence_id: str) -> EvidenceState | None:
    row = (
        await session.execute(
            select(evidence).where(evidence.c.district_id == district_id, evidence.c.evidence_id == evidence_id)
        )
    ).first()
    return None if row is None else _state(row)


def _state(row: Any) -> EvidenceState:
    return EvidenceState(
        recorded=EvidenceRecorded.model_validate(row.recorded),
        competency_ids=tuple(row.competency_ids),
        observed_on=row.observed_on,
        comment=row.comment,
        retracted=row.retracted,
        revision=row.revision,
        score=Score(value=row.score_value, minimum=row.score_minimum, maximum=row.score_maximum),
    )


async def existing_ids(session: AsyncSession, district_id: str, evidence_ids: list[str]) -> set[str]:
    if not evidence_ids:
        return set()
    return set(
        (
            await session.execute(
                select(evidence.c.evidence_id).where(
                    evidence.c.district_id == district_id, evidence.c.evidence_id.in_(evidence_ids)
                )
            )
        ).scalars()
    )


async def projected_event_ids(session: AsyncSession, event_ids: list[str]) -> set[str]:
    """Which of these events are already in the history (written by the API or projected from the topic)."""
    if not event_ids:
        return set()
    return set(
        (
            await session.execute(select(evidence_history.c.event_id).where(evidence_history.c.event_id.in_(event_ids)))
        ).scalars()
    )


async def apply_envelope(session: AsyncSession, envelope: Envelope) -> bool:
    """Fold one evidence event into the view and append it to the history; False if already applied.

    The history row is claimed first (insert, ignoring a duplicate): when the API's acknowledged write and this
    service's own consumer apply the same event at once, the second waits for the first and then does nothing,
    instead of failing on a duplicate key."""
    fact = envelope.data
    if not isinstance(fact, EvidenceRecorded | EvidenceCorrected | EvidenceRetracted):
        return False
    district = envelope.district_id
    claimed = await session.execute(
        _insert_ignoring_duplicates(session, evidence_history).values(
            district_id=district,
            event_id=str(envelope.id),
            evidence_id=fact.evidence_id,
            type=envelope.type,
            occurred_at=envelope.occurred_at,
            envelope=envelope.model_dump(mode="json"),
        )
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    before = await load_state(session, district, fact.evidence_id)
    after = apply(before, fact)
    if after is None:
        await session.execute(delete(evidence_history).where(evidence_history.c.event_id == str(envelope.id)))
        return False
    if before is None:
        await session.execute(
            evidence.insert().values(
                district_id=district,
                evidence_id=after.evidence_id,
                student_id=after.student_id,
                kind=after.recorded.kind,
                recorded=after.recorded.model_dump(mode="json"),
                source_ref=after.recorded.source_ref,
                **_current(after),
            )
        )
    else:
        await session.execute(
            update(evidence)
            .where(evidence.c.district_id == district, evidence.c.evidence_id == after.evidence_id)
            .values(**_current(after))
        )
        await session.execute(
            delete(evidence_competencies).where(
                evidence_competencies.c.district_id == district,
                evidence_competencies.c.evidence_id == after.evidence_id,
            )
        )
    await session.execute(
        evidence_competencies.insert(),
        [{"district_id": district, "evidence_id": after.evidence_id, "competency_id": c} for c in after.competency_ids],
    )
    return True


def _insert_ignoring_duplicates(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).on_conflict_do_nothing()


async def apply_recorded(session: AsyncSession, envelopes: list[Envelope]) -> list[Envelope]:
    """Bulk `apply_envelope` for EvidenceRecorded: one statement per table; returns the envelopes not yet applied."""
    if not envelopes:
        return []
    seen = set(
        (
            await session.execute(
                select(evidence_history.c.event_id).where(
                    evidence_history.c.event_id.in_([str(e.id) for e in envelopes])
                )
            )
        ).scalars()
    )
    fresh = [e for e in envelopes if str(e.id) not in seen]
    present = await existing_ids(session, envelopes[0].district_id, [e.data.evidence_id for e in fresh])  # type: ignore[attr-defined]
    fresh = [e for e in fresh if e.data.evidence_id not in present]  # type: ignore[attr-defined]
    if not fresh:
        return []
    states = [(e, apply(None, e.data)) for e in fresh]  # type: ignore[arg-type]
    await session.execute(
        evidence.insert(),
        [
            {
                "district_id": e.district_id,
                "evidence_id": st.evidence_id,
                "student_id": st.student_id,
                "kind": st.recorded.kind,
                "recorded": st.recorded.model_dump(mode="json"),
                "source_ref": st.recorded.source_ref,
                **_current(st),
            }
            for e, st in states
            if st
        ],
    )
    await session.execute(
        evidence_competencies.insert(),
        [
            {"district_id": e.district_id, "evidence_id": st.evidence_id, "competency_id": c}
            for e, st in states
            if st
            for c in st.competency_ids
        ],
    )
    await session.execute(
        evidence_history.insert(),
        [
            {
                "district_id": e.district_id,
                "event_id": str(e.id),
                "evidence_id": e.data.evidence_id,  # type: ignore[attr-defined]
                "type": e.type,
                "occurred_at": e.occurred_at,
                "envelope": e.model_dump(mode="json"),
            }
            for e in fresh
        ],
    )
    return fresh


def _current(state: EvidenceState) -> dict[str, Any]:
    return {
        "observed_on": state.observed_on,
        "score_value": state.score.value,
        "score_minimum": state.score.minimum,
        "score_maximum": state.score.maximum,
        "comment": state.comment,
        "competency_ids": list(state.competency_ids),
        "retracted": state.retracted,
        "revision": state.revision,
    }


@dataclass(frozen=True)
class HistoryFilter:
    competency_id: str | None = None
    kind: str | None = None
    observed_from: date | None = None
    observed_to: date | None = None
    include_retracted: bool = False


async def student_evidence(
    session: AsyncSession, district_id: str, student_id: str, filters: HistoryFilter, *, limit: int, offset: int
) -> tuple[int, list[dict]]:
    """One page of a student's evidence (newest first), each with its history, and the total count."""
    query = select(evidence).where(evidence.c.district_id == district_id, evidence.c.student_id == student_id)
    if filters.competency_id:
        query = query.where(
            evidence.c.evidence_id.in_(
                select(evidence_competencies.c.evidence_id).where(
                    evidence_competencies.c.district_id == district_id,
                    evidence_competencies.c.competency_id == filters.competency_id,
                )
            )
        )
    if filters.kind:
        query = query.where(evidence.c.kind == filters.kind)
    if filters.observed_from:
        query = query.where(evidence.c.observed_on >= filters.observed_from)
    if filters.observed_to:
        query = query.where(evidence.c.observed_on <= filters.observed_to)
    if not filters.include_retracted:
        query = query.where(evidence.c.retracted.is_(False))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (
        await session.execute(
            query.order_by(evidence.c.observed_on.desc(), evidence.c.evidence_id).limit(limit).offset(offset)
        )
    ).all()
    histories = await _histories(session, district_id, [r.evidence_id for r in rows])
    return int(total or 0), [evidence_view(r, histories.get(r.evidence_id, [])) for r in rows]


async def one_evidence(session: AsyncSession, district_id: str, evidence_id: str) -> dict | None:
    row = (
        await session.execute(
            select(evidence).where(evidence.c.district_id == district_id, evidence.c.evidence_id == evidence_id)
        )
    ).first()
    if row is None:
        return None
    return evidence_view(row, (await _histories(session, district_id, [evidence_id])).get(evidence_id, []))


async def _histories(session: AsyncSession, district_id: str, evidence_ids: list[str]) -> dict[str, list[dict]]:
    if not evidence_ids:
        return {}
    rows = (
        await session.execute(
            select(evidence_history)
            .where(evidence_history.c.district_id == district_id, evidence_history.c.evidence_id.in_(evidence_ids))
            .order_by(evidence_history.c.seq)
        )
    ).all()
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row.evidence_id, []).append(
            {
                "event_id": row.event_id,
                "type": row.type,
                "occurred_at": row.envelope["occurred_at"],
                "data": row.envelope["data"],
            }
        )
    return out


def evidence_view(row: Any, history: list[dict]) -> dict:
    """The current view of one piece of evidence, and every fact that made it so."""
    recorded = row.recorded
    return {
        "evidence_id": row.evidence_id,
        "student_id": row.student_id,
        "kind": row.kind,
        "competency_ids": list(row.competency_ids),
        "observed_on": row.observed_on.isoformat(),
        "score": {"value": row.score_value, "minimum": row.score_minimum, "maximum": row.score_maximum},
        "comment": row.comment,
        "retracted": row.retracted,
        "revision": row.revision,
        "recorded_by": recorded.get("recorded_by"),
        "section_id": recorded.get("section_id"),
        "artifact_url": recorded.get("artifact_url"),
        "reflection": recorded.get("reflection"),
        "source": recorded.get("source"),
        "source_ref": recorded.get("source_ref"),
        "verified_by": recorded.get("verified_by"),
        "history": history,
    }


@dataclass(frozen=True)
class Remembered:
    """The first answer given under an Idempotency-Key."""

    request_hash: str
    body: Any
    created: bool


async def remembered_response(session: AsyncSession, district_id: str, key: str) -> Remembered | None:
    row = (
        await session.execute(
            select(idempotency_keys).where(idempotency_keys.c.district_id == district_id, idempotency_keys.c.key == key)
        )
    ).first()
    return None if row is None else Remembered(row.request_hash, row.response, row.status_code == CREATED)


async def remembered_responses(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Remembered]:
    """The first answers given under these (district, Idempotency-Key) pairs, in one query."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await session.execute(
        select(idempotency_keys).where(tuple_(idempotency_keys.c.district_id, idempotency_keys.c.key).in_(wanted))
    )
    return {(r.district_id, r.key): Remembered(r.request_hash, r.response, r.status_code == CREATED) for r in rows}


async def remember_responses(session: AsyncSession, rows: list[tuple[str, str, str, Any, bool]]) -> None:
    """Many first answers at once: (district, key, request hash, body, created) each."""
    if rows:
        now = datetime.now(UTC)
        await session.execute(
            idempotency_keys.insert(),
            [
                {
                    "district_id": district_id,
                    "key": key,
                    "request_hash": request_hash,
                    "status_code": CREATED if created else OK,
                    "response": body,
                    "created_at": now,
                }
                for district_id, key, request_hash, body, created in rows
            ],
        )


async def remember_response(
    session: AsyncSession, district_id: str, key: str, request_hash: str, body: Any, *, created: bool
) -> None:
    await session.execute(
        idempotency_keys.insert().values(
            district_id=district_id,
            key=key,
            request_hash=request_hash,
            status_code=CREATED if created else OK,
            response=body,
            created_at=datetime.now(UTC),
        )
    )


async def load_mapping(session: AsyncSession, district_id: str) -> StandardsMapping:
    raw = await session.scalar(
        select(standards_mappings.c.mapping).where(standards_mappings.c.district_id == district_id)
    )
    return StandardsMapping.model_validate(raw) if raw else StandardsMapping()


async def save_mapping(session: AsyncSession, district_id: str, mapping: StandardsMapping) -> None:
    await session.execute(delete(standards_mappings).where(standards_mappings.c.district_id == district_id))
    await session.execute(
        standards_mappings.insert().values(
            district_id=district_id, mapping=mapping.model_dump(mode="json"), updated_at=datetime.now(UTC)
        )
    )
