"""The analytics service: reads evidence, mastery and schedule topics, publishes mosaic.analytics.v1.

Run: `mosaic-analytics serve`, or `uvicorn mosaic_analytics.main:app`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mosaic_analytics.adapters.tables import metadata
from mosaic_analytics.consumers import setup_consumers
from mosaic_analytics.settings import AnalyticsSettings
from mosaic_runtime.app import create_service

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def build_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    return create_service(
        settings or AnalyticsSettings(),
        title="Mosaic analytics",
        description="A pseudonymized stream of learning for analysts: no names, contacts or comments.",
        migrations=MIGRATIONS,
        metadata=metadata,
        routers=[],
        setup_consumers=setup_consumers,
    )


# What the image runs: `uvicorn mosaic_analytics.main:app` (settings from MOSAIC_ANALYTICS_*).
app = build_app()
