"""The scheduling service: `uvicorn mosaic_scheduling.main:app` (settings from MOSAIC_SCHEDULING_* variables)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mosaic_runtime import audit
from mosaic_runtime.app import ServiceContext, create_service
from mosaic_runtime.consumer import subscribe
from mosaic_scheduling.adapters.relationships import ScheduleRelationships
from mosaic_scheduling.adapters.tables import metadata
from mosaic_scheduling.api import calendars, definitions, placements, schedules
from mosaic_scheduling.consumers import handlers
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.settings import SchedulingSettings

MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = (
    "Flexible schedules: flex blocks, sessions, rooms and teachers; regrouping students by their latest "
    "mastery with CP-SAT (fast heuristic fallback), keeping pins, support plans and requests, with as "
    "little churn as the data allows. Publishes SchedulePublished, GroupAssignmentChanged and "
    "AttendanceTaken; iCalendar feeds per student and teacher."
)


def setup_consumers(ctx: ServiceContext) -> None:
    """Mastery and roster views, and RegroupNeeded → rebuild: one effectively-once batch consumer."""
    settings: SchedulingSettings = ctx.settings  # type: ignore[assignment]
    solver = SolverSettings(time_limit_seconds=settings.solver_time_limit_seconds, workers=settings.solver_workers)
    subscribe(
        ctx.broker,
        settings.source_topics,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        group=settings.consumer_group,
        handlers=handlers(solver),
        session_factory=ctx.sessions,
        on_committed=ctx.relay.wake,
        max_records=settings.consumer_max_records,
        max_record_bytes=settings.consumer_max_record_bytes,
    )


def build_app(config: SchedulingSettings | None = None) -> FastAPI:
    config = config or SchedulingSettings()
    app = create_service(
        config,
        title="Mosaic scheduling",
        description=DESCRIPTION,
        migrations=MIGRATIONS,
        metadata=metadata,
        setup_consumers=setup_consumers,
        routers=[definitions.router, placements.router, schedules.router, calendars.router, calendars.feed_router],
        on_startup=[audit.start],
    )
    audit.install(app)
    app.state.relationships = ScheduleRelationships
    return app


app = build_app()
