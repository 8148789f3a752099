"""What mastery does on each event: one map from event type to handler, one fold per batch.

Handlers only collect facts; `fold_batch` runs before the chassis commits the batch: it loads the slice
of the projection the batch touches, folds every fact in order, writes the rows back and puts what the
fold decided to emit in the outbox — state, outbox and consumed positions in one transaction.
"""

from __future__ import annotations

from mosaic_events import Envelope
from mosaic_mastery.adapters.emissions import caused_by_event
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.projection import apply
from mosaic_runtime.consumer import UnitOfWork

PENDING = "mastery.facts"


async def collect(uow: UnitOfWork, envelope: Envelope) -> None:
    fact = from_envelope(envelope)
    if fact is not None:
        uow.cache.setdefault(PENDING, []).append((envelope, fact))


HANDLERS = {
    "EvidenceRecorded": collect,
    "EvidenceCorrected": collect,
    "EvidenceRetracted": collect,
    "FrameworkPublished": collect,
    "RosterChanged": collect,
}


class BatchFold:
    """The before-commit hook: fold the batch's facts into the stored projection."""

    def __init__(self, store: ProjectionStore | None = None) -> None:
        self.store = store or ProjectionStore()

    async def __call__(self, uow: UnitOfWork) -> None:
        pending = uow.cache.pop(PENDING, [])
        if not pending:
            return
        state = await self.store.load_slice(uow.session, [fact for _, fact in pending])
        emitted = [caused_by_event(emission, envelope) for envelope, fact in pending
                   for emission in apply(state, fact)]
        await self.store.save(uow.session, state)
        await uow.emit_many(emitted)  # in each cause's trace
