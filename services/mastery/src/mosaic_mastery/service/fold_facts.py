"""Fold a batch of facts into the stored projection: the live consumer's one command."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_mastery.adapters.emissions import caused_by_event
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.facts import Fact
from mosaic_mastery.domain.projection import apply


async def fold_facts(
    session: AsyncSession, store: ProjectionStore, facts: list[tuple[Envelope, Fact]]
) -> list[Envelope]:
    """Get the slice of the projection the facts touch, fold them in order, save it; returns what to emit.

    Runs in the consumer's transaction, which commits the rows, the outbox and the offsets together.
    """
    state = await store.load_slice(session, [fact for _, fact in facts])
    emitted = [caused_by_event(emission, envelope) for envelope, fact in facts for emission in apply(state, fact)]
    await store.save(session, state)
    return emitted
