"""What happens when an event arrives: evidence (and its corrections and retractions), mastery changes and
group assignments each become one pseudonymized record in the outbox (the relay publishes it to
mosaic.analytics.v1)."""

from __future__ import annotations

from typing import Any

from mosaic_analytics.service.publish_record import analytics_record
from mosaic_analytics.settings import AnalyticsSettings
from mosaic_events import Envelope
from mosaic_events.catalog import (
    AttendanceTaken,
    EvidenceCorrected,
    EvidenceRecorded,
    EvidenceRetracted,
    GroupAssignmentChanged,
    MasteryChanged,
    SchedulePublished,
)
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import HandlerMap, UnitOfWork, subscribe


async def on_source_event(uow: UnitOfWork, _data: Any, envelope: Envelope) -> None:
    settings: AnalyticsSettings = uow.deps
    await uow.emit(analytics_record(envelope, settings.current_key))


HANDLERS = HandlerMap(
    {
        EvidenceRecorded: on_source_event,
        EvidenceCorrected: on_source_event,
        EvidenceRetracted: on_source_event,
        MasteryChanged: on_source_event,
        GroupAssignmentChanged: on_source_event,
    },
    # whole schedules and attendance are not part of the stream's contract (yet)
    ignored=(SchedulePublished, AttendanceTaken),
)


def setup_consumers(ctx: ServiceContext) -> None:
    """Evidence, mastery and schedule topics: one effectively-once consumer writing the outbox."""
    subscribe(ctx, HANDLERS, deps=ctx.settings)
