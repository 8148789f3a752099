"""What mastery does on each event: one map from event class to handler, one fold per batch.

Every type mastery reads is a fact for its projection. The handlers only collect the facts; the
map's `before_commit` (`fold_batch`) then folds the batch at once (`service/fold_facts.py`) and puts
what the fold decided to emit in the outbox — state, outbox and consumed positions in one transaction.
"""

from __future__ import annotations

from mosaic_events import Envelope, EventData
from mosaic_events.catalog import (
    EvidenceCorrected,
    EvidenceRecorded,
    EvidenceRetracted,
    FrameworkPublished,
    PersonDetailsChanged,
    PersonErased,
    RosterChanged,
)
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.service.fold_facts import fold_facts
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import HandlerMap, UnitOfWork, subscribe
from mosaic_runtime.publishing import publisher_of

PENDING = "mastery.facts"


async def collect_fact(uow: UnitOfWork, _event: EventData, envelope: Envelope) -> None:
    """Keep the fact for the batch's fold (below)."""
    fact = from_envelope(envelope)
    if fact is not None:
        uow.cache.setdefault(PENDING, []).append((envelope, fact))


async def fold_batch(uow: UnitOfWork) -> None:
    """Fold the batch's facts into the stored projection (`uow.deps` is the service's ProjectionStore)."""
    pending = uow.cache.pop(PENDING, [])
    if not pending:
        return
    await uow.emit_many(await fold_facts(uow.session, uow.deps, pending))  # each in its cause's trace


HANDLERS = HandlerMap(
    {
        EvidenceRecorded: collect_fact,
        EvidenceCorrected: collect_fact,
        EvidenceRetracted: collect_fact,
        RosterChanged: collect_fact,
        FrameworkPublished: collect_fact,
        PersonErased: collect_fact,
    },
    ignored=(PersonDetailsChanged,),  # mastery keeps no names (ADR 0019)
    before_commit=fold_batch,
)


def setup_consumers(ctx: ServiceContext) -> None:
    """The live projection: one effectively-once batch consumer sharing the API's projection store."""
    store = ctx.state.setdefault("store", ProjectionStore())
    subscribe(ctx, HANDLERS, deps=store, on_committed=publisher_of(ctx).committed)
