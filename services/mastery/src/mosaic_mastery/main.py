"""The mastery service: `uvicorn mosaic_mastery.main:app` (settings from MOSAIC_MASTERY_* variables)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.relationships import ReferenceRelationships
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.adapters.tables import metadata
from mosaic_mastery.api import groups, settings, students
from mosaic_mastery.consumers import setup_consumers
from mosaic_mastery.settings import MasterySettings
from mosaic_runtime import audit
from mosaic_runtime.app import create_service

MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = (
    "Per-student mastery of every competency, folded from the evidence log: jagged profiles, section "
    "heatmaps, next learning targets, class and school summaries. Publishes MasteryChanged and "
    "RegroupNeeded; the projection can be rebuilt from the log at any time (`mosaic-mastery rebuild`)."
)


def build_app(config: MasterySettings | None = None) -> FastAPI:
    config = config or MasterySettings()
    app = create_service(
        config,
        title="Mosaic mastery",
        description=DESCRIPTION,
        migrations=MIGRATIONS,
        metadata=metadata,
        routers=[students.router, groups.router, settings.router],
        setup_consumers=setup_consumers,
        on_startup=[audit.start],
    )
    audit.install(app)

    def relationships(session: AsyncSession, district_id: str) -> ReferenceRelationships:
        return ReferenceRelationships(session, district_id, app.state.ctx.state.setdefault("store", ProjectionStore()))

    app.state.relationships = relationships
    return app


app = build_app()
