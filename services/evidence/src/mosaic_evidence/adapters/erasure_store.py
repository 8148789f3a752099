"""Erasing one person from evidence's tables: their roster rows, free text about them, answers naming them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters.reference_cache import bump_version
from mosaic_evidence.adapters.tables import (
    enrollments,
    erased_people,
    evidence,
    evidence_history,
    idempotency_keys,
    learner_plans,
    people,
    person_schools,
    plan_goals,
    plan_notes,
    standards_mappings,
)

FREE_TEXT = ("comment", "reflection")


async def role_of(session: AsyncSession, district_id: str, person_id: str) -> str | None:
    return await session.scalar(
        select(people.c.role).where(people.c.district_id == district_id, people.c.id == person_id)
    )


async def remember_erasure(session: AsyncSession, district_id: str, person_id: str, erasure_id: str) -> None:
    """Keep the id (nothing else), so a roster that still lists the person does not bring them back."""
    known = await session.scalar(
        select(erased_people.c.person_id).where(
            erased_people.c.district_id == district_id, erased_people.c.person_id == person_id
        )
    )
    if known is None:
        await session.execute(
            insert(erased_people).values(
                district_id=district_id, person_id=person_id, erasure_id=erasure_id, erased_at=datetime.now(UTC)
            )
        )


async def erased_among(session: AsyncSession, district_id: str, person_ids: Iterable[str]) -> set[str]:
    """Those of `person_ids` the district erased."""
    wanted = sorted(set(person_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            await session.scalars(
                select(erased_people.c.person_id).where(
                    erased_people.c.district_id == district_id,
                    erased_people.c.person_id.in_(wanted[start : start + 500]),
                )
            )
        )
    return found


async def erase_roster_rows(session: AsyncSession, district_id: str, person_id: str) -> None:
    """The person's roster record (name, contacts), schools and enrolments."""
    await bump_version(session, district_id)
    await session.execute(delete(people).where(people.c.district_id == district_id, people.c.id == person_id))
    await session.execute(
        delete(person_schools).where(
            person_schools.c.district_id == district_id, person_schools.c.person_id == person_id
        )
    )
    await session.execute(
        delete(enrollments).where(enrollments.c.district_id == district_id, enrollments.c.user_id == person_id)
    )


async def erase_free_text(session: AsyncSession, district_id: str, student_id: str) -> int:
    """Comments and reflections about the student, in the view and in its history; returns the evidence count."""
    rows = (
        await session.execute(
            select(evidence.c.evidence_id, evidence.c.recorded).where(
                evidence.c.district_id == district_id, evidence.c.student_id == student_id
            )
        )
    ).all()
    for row in rows:
        await session.execute(
            update(evidence)
            .where(evidence.c.district_id == district_id, evidence.c.evidence_id == row.evidence_id)
            .values(comment=None, recorded=_blanked(row.recorded))
        )
    ids = [r.evidence_id for r in rows]
    if ids:
        history = (
            await session.execute(
                select(evidence_history.c.seq, evidence_history.c.envelope).where(
                    evidence_history.c.district_id == district_id, evidence_history.c.evidence_id.in_(ids)
                )
            )
        ).all()
        for entry in history:
            envelope = {**entry.envelope, "data": _blanked(entry.envelope["data"])}
            await session.execute(
                update(evidence_history).where(evidence_history.c.seq == entry.seq).values(envelope=envelope)
            )
    return len(ids)


async def erase_plans(session: AsyncSession, district_id: str, person_id: str) -> int:
    """The student's learner plan (interests, strengths, goals, reflections, notes on it) and the notes the
    person wrote on anyone's plan; returns the rows deleted."""
    deleted = 0
    for table, column in (
        (learner_plans, learner_plans.c.student_id),
        (plan_goals, plan_goals.c.student_id),
        (plan_notes, plan_notes.c.student_id),
        (plan_notes, plan_notes.c.author_id),
    ):
        result = await session.execute(delete(table).where(table.c.district_id == district_id, column == person_id))
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    return deleted


async def forget_answers_naming(session: AsyncSession, district_id: str, person_id: str) -> int:
    """Idempotency records whose remembered answer names the person (they would repeat it to a retry)."""
    rows = (
        await session.execute(
            select(idempotency_keys.c.key, idempotency_keys.c.response).where(
                idempotency_keys.c.district_id == district_id
            )
        )
    ).all()
    keys = [r.key for r in rows if person_id in str(r.response)]
    if keys:
        await session.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.district_id == district_id, idempotency_keys.c.key.in_(keys)
            )
        )
    return len(keys)


async def forget_actor_keys(session: AsyncSession, district_id: str, student_id: str) -> None:
    """xAPI/Caliper actor keys (often an e-mail address) that map to the student."""
    row = (
        await session.execute(
            select(standards_mappings.c.mapping).where(standards_mappings.c.district_id == district_id)
        )
    ).first()
    if row is None or not row.mapping.get("actors"):
        return
    actors = {k: v for k, v in row.mapping["actors"].items() if v != student_id}
    if len(actors) != len(row.mapping["actors"]):
        await session.execute(
            update(standards_mappings)
            .where(standards_mappings.c.district_id == district_id)
            .values(mapping={**row.mapping, "actors": actors})
        )


def _blanked(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if k in FREE_TEXT else v) for k, v in data.items()}
