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
from mosaic_mastery.domain.facts import EvidenceFact, from_envelope
from mosaic_mastery.service.check_evidence import refusal_of
from mosaic_mastery.service.fold_facts import fold_facts
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import HandlerMap, RejectEvent, UnitOfWork, subscribe
from mosaic_runtime.publishing import publisher_of

PENDING = "mastery.facts"
REFERENCES = "mastery.references"  # the districts' stored references, read once per batch


async def collect_fact(uow: UnitOfWork, _event: EventData, envelope: Envelope) -> None:
    """Keep the fact for the batch's fold (below); evidence about a student or competency the district does not
    have is dead-lettered as `rejected` instead (ADR 0004)."""
    fact = from_envelope(envelope)
    if fact is None:
        return
    pending = uow.cache.setdefault(PENDING, [])
    if isinstance(fact, EvidenceFact):
        reason = await refusal_of(
            uow.session,
            uow.deps,
            fact,
            [f for _, f in pending],
            lambda: uow.has_read_all_of(RosterChanged.topic()),
            uow.cache.setdefault(REFERENCES, {}),
        )
        if reason is not None:
            raise RejectEvent(reason)
    pending.append((envelope, fact))


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
