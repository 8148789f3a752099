"""The scheduling service: `uvicorn mosaic_scheduling.main:app` (settings from MOSAIC_SCHEDULING_* variables)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mosaic_runtime import audit
from mosaic_runtime.app import create_service
from mosaic_scheduling.adapters.relationships import ScheduleRelationships
from mosaic_scheduling.adapters.tables import metadata
from mosaic_scheduling.api import calendars, definitions, placements, schedules
from mosaic_scheduling.consumers import setup_consumers
from mosaic_scheduling.settings import SchedulingSettings

MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = (
    "Flexible schedules: flex blocks, sessions, rooms and teachers; regrouping students by their latest "
    "mastery with CP-SAT (fast heuristic fallback), keeping pins, support plans and requests, with as "
    "little churn as the data allows. Publishes SchedulePublished, GroupAssignmentChanged and "
    "AttendanceTaken; iCalendar feeds per student and teacher."
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
