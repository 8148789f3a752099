"""The evidence service's one event → handler map: it projects its own topic into the evidence view.

The API writes the view as it publishes; the bulk importer publishes straight to Kafka. This
consumer folds every evidence event into the same view (already-applied events are skipped),
so reads show imported evidence too and the view can be rebuilt by replaying the topic.
"""

from __future__ import annotations

from mosaic_events import Envelope
from mosaic_events.catalog import EvidenceCorrected, EvidenceRecorded, EvidenceRetracted
from mosaic_evidence.adapters import evidence_store
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import HandlerMap, UnitOfWork, subscribe


async def project_evidence(
    uow: UnitOfWork, _event: EvidenceRecorded | EvidenceCorrected | EvidenceRetracted, envelope: Envelope
) -> None:
    writes = uow.deps.state.get("write_groups") if uow.deps is not None else None
    if writes is not None and writes.committed_here(envelope.id):
        return  # this process wrote it with its request: no query needed to know it is applied
    await evidence_store.apply_envelope(uow.session, envelope)


HANDLERS = HandlerMap(
    {
        EvidenceRecorded: project_evidence,
        EvidenceCorrected: project_evidence,
        EvidenceRetracted: project_evidence,
    }
)


def setup_consumers(ctx: ServiceContext) -> None:
    if ctx.settings.project_evidence_topic:  # type: ignore[attr-defined]
        subscribe(ctx, HANDLERS, deps=ctx)
