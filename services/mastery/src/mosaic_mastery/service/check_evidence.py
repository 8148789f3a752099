"""Refuse evidence about a student or competency the district does not have (ADR 0004), never one merely early."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.facts import EvidenceFact, Fact, ReferenceFact
from mosaic_mastery.domain.reference import DistrictReference, unknown_referent


async def refusal_of(
    session: AsyncSession,
    store: ProjectionStore,
    fact: EvidenceFact,
    earlier_in_batch: Sequence[Fact],
    reference_complete: Callable[[], Awaitable[bool]],
    seen: dict[str, DistrictReference],
) -> str | None:
    """The reason to dead-letter new evidence, or None to fold it.

    The reference and evidence topics are read concurrently, so a roster may arrive after evidence about its
    new student: evidence is refused only when nothing of the district's reference is pending in this batch
    and every reference record on the log now has been folded (`reference_complete`). `seen` keeps the
    districts' stored references for the batch (the fold changes them only at its end)."""
    if fact.action != "recorded":
        return None  # corrections and retractions name evidence already folded, or are dropped by the fold
    reference = seen.get(fact.district_id)
    if reference is None:
        reference = seen[fact.district_id] = (await store.references(session, [fact.district_id]))[fact.district_id]
    reason = unknown_referent(reference, fact.student_id, fact.competency_ids)
    if reason is None:
        return None
    if any(isinstance(f, ReferenceFact) and f.district_id == fact.district_id for f in earlier_in_batch):
        return None
    if not await reference_complete():
        return None
    return f"{reason} (district {fact.district_id!r}; its roster and frameworks are read to the end)"
