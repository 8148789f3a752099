"""The evidence service: `uvicorn mosaic_evidence.main:app` (settings from MOSAIC_EVIDENCE_* variables)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mosaic_evidence.adapters.reference_cache import ReferenceCache
from mosaic_evidence.adapters.relationships import RosterRelationships
from mosaic_evidence.adapters.tables import metadata
from mosaic_evidence.api import evidence, plans, reference, standards
from mosaic_evidence.consumers import setup_consumers
from mosaic_evidence.service.results import IdempotencyConflict
from mosaic_evidence.settings import EvidenceSettings
from mosaic_runtime import audit
from mosaic_runtime.app import create_service
from mosaic_runtime.publishing import BrokerUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = (
    "The write side of Mosaic: evidence of learning against the district's CASE framework and "
    "OneRoster roster, from portals, xAPI and Caliper. A write is answered only after Kafka "
    "acknowledged its event."
)


def build_app(settings: EvidenceSettings | None = None) -> FastAPI:
    settings = settings or EvidenceSettings()
    reference_cache = ReferenceCache()
    app = create_service(
        settings,
        title="Mosaic evidence",
        description=DESCRIPTION,
        migrations=MIGRATIONS,
        metadata=metadata,
        routers=[evidence.router, reference.router, standards.router, plans.router],
        setup_consumers=setup_consumers,
        on_startup=[audit.start, lambda ctx: ctx.state.update(reference_cache=reference_cache)],
    )
    audit.install(app)
    app.state.relationships = partial(RosterRelationships, cache=reference_cache)
    app.add_exception_handler(BrokerUnavailable, _broker_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(IdempotencyConflict, _idempotency_conflict)  # type: ignore[arg-type]
    return app


async def _broker_unavailable(_request: Request, exc: BrokerUnavailable) -> JSONResponse:
    return JSONResponse(
        {"detail": f"nothing was recorded: {exc}; retry with the same Idempotency-Key"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _idempotency_conflict(_request: Request, exc: IdempotencyConflict) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


app = build_app()


def run() -> None:
    """`python -m mosaic_evidence.main`: serve on MOSAIC_EVIDENCE_HTTP_HOST:MOSAIC_EVIDENCE_HTTP_PORT (8081)."""
    import uvicorn

    settings = EvidenceSettings()
    uvicorn.run("mosaic_evidence.main:app", host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    run()
