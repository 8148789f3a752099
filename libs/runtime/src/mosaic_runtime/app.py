"""The service factory: FastAPI + a FastStream Kafka broker in one lifespan-managed process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosaic_runtime.auth import TokenVerifier
from mosaic_runtime.auth_first import authenticate_before_parsing
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations
from mosaic_runtime.kafka import make_broker
from mosaic_runtime.limits import install as install_limits
from mosaic_runtime.logging import setup_logging
from mosaic_runtime.metrics import HTTP_REQUESTS, HTTP_SECONDS, READY
from mosaic_runtime.outbox import OutboxRelay
from mosaic_runtime.responses import document_errors
from mosaic_runtime.settings import ServiceSettings
from mosaic_runtime.shedding import InFlightLimit
from mosaic_runtime.telemetry import setup_telemetry
from mosaic_runtime.unstorable import unstorable_value

log = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    """Everything a service's adapters share while it runs."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: KafkaBroker
    relay: OutboxRelay
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


Hook = Callable[[ServiceContext], Awaitable[None] | None]


def create_service(
    settings: ServiceSettings,
    *,
    title: str,
    migrations: Path | str,
    metadata: MetaData,
    routers: Sequence[APIRouter] = (),
    setup_consumers: Hook | None = None,
    on_startup: Sequence[Hook] = (),
    description: str = "",
) -> FastAPI:
    """A FastAPI app whose lifespan migrates the database, starts Kafka, consumers and the outbox relay."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _document_and_guard(app)  # again: services add routes after create_service (the audit routes)
        ctx = await _start(settings, migrations, setup_consumers, on_startup, app)
        app.state.ctx = ctx
        try:
            yield
        finally:
            await _stop(ctx)

    app = FastAPI(title=title, description=description, version=settings.service_version, lifespan=lifespan)
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    install_limits(app, json_bytes=settings.max_request_bytes, upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestMetrics)
    app.add_middleware(
        InFlightLimit,
        max_in_flight=settings.max_in_flight_requests,
        retry_after_seconds=settings.shed_retry_after_seconds,
        max_wait_seconds=settings.shed_wait_seconds,
    )
    app.include_router(probes_router())
    for router in routers:
        app.include_router(router)
    _document_and_guard(app)
    app.add_exception_handler(DBAPIError, unstorable_value)
    if setup_telemetry(settings.service_name, settings.service_version):
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app


def _document_and_guard(app: FastAPI) -> None:
    """Document the chassis' error answers on every route and check tokens before bodies (both idempotent)."""
    document_errors(app.routes)
    authenticate_before_parsing(app.routes)
    app.openapi_schema = None


async def _start(
    settings: ServiceSettings,
    migrations: Path | str,
    setup_consumers: Hook | None,
    on_startup: Sequence[Hook],
    app: FastAPI,
) -> ServiceContext:
    setup_logging(settings.service_name, settings.log_level)
    if settings.migrate_at_start:
        await run_migrations(settings.database_url, migrations)
    engine = make_engine(settings.database_url)
    if setup_telemetry(settings.service_name, settings.service_version):
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    sessions = make_session_factory(engine)
    broker = make_broker(settings)
    ctx = ServiceContext(
        settings, engine, sessions, broker, OutboxRelay(sessions, broker, poll_seconds=settings.outbox_poll_seconds)
    )
    if setup_consumers is not None:
        await _call(setup_consumers, ctx)
    if settings.kafka_enabled:
        await broker.start()
        ctx.relay.start()
    for hook in on_startup:
        await _call(hook, ctx)
    await _refresh_readiness(ctx)
    log.info("%s started", settings.service_name)
    return ctx


async def _stop(ctx: ServiceContext) -> None:
    if (readiness := ctx.state.get("readiness_task")) is not None:
        readiness.cancel()
    for task in ctx.tasks:
        task.cancel()
    await asyncio.gather(*ctx.tasks, return_exceptions=True)
    await ctx.relay.stop()
    if ctx.settings.kafka_enabled:
        await ctx.broker.stop()  # waits for in-flight batches (graceful_timeout) and commits them
    await ctx.engine.dispose()


async def _call(hook: Hook, ctx: ServiceContext) -> None:
    result = hook(ctx)
    if asyncio.iscoroutine(result):
        await result


class RequestMetrics:
    """Counts and times every answer by route template; pure ASGI, so a request costs no extra task or stream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)


def probes_router() -> APIRouter:
    router = APIRouter(tags=["probes"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(
        "/readyz",
        summary="The broker and the database are reachable",
        responses={503: {"description": "the broker or the database is unreachable; `checks` says which"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        checks = await _readiness_checks(request.app.state.ctx)
        ready = all(ok for ok in checks.values())
        _record_readiness(request.app.state.ctx, ready)
        body = {
            "status": "ready" if ready else "unready",
            "checks": {name: "ok" if ok else "unreachable" for name, ok in checks.items()},
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        _refresh_readiness_soon(request.app.state.ctx)  # in the background: a scrape never waits on the broker
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


READINESS_MAX_AGE_SECONDS = 5.0


def _record_readiness(ctx: ServiceContext, ready: bool) -> None:
    """mosaic_ready: what /readyz last said, so readiness flapping shows between probes as a series."""
    READY.set(1 if ready else 0)
    ctx.state["readiness_checked_at"] = time.monotonic()


async def _refresh_readiness(ctx: ServiceContext) -> None:
    _record_readiness(ctx, all((await _readiness_checks(ctx)).values()))


def _refresh_readiness_soon(ctx: ServiceContext) -> None:
    stale = time.monotonic() - ctx.state.get("readiness_checked_at", 0.0) >= READINESS_MAX_AGE_SECONDS
    running = ctx.state.get("readiness_task")
    if stale and (running is None or running.done()):
        ctx.state["readiness_task"] = asyncio.create_task(_refresh_readiness(ctx), name="readiness")


async def _readiness_checks(ctx: ServiceContext) -> dict[str, bool]:
    return {"database": await _database_ok(ctx), "broker": await _broker_ok(ctx)}


async def _database_ok(ctx: ServiceContext) -> bool:
    try:
        async with asyncio.timeout(3):
            async with ctx.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _broker_ok(ctx: ServiceContext) -> bool:
    if not ctx.settings.kafka_enabled:
        return True
    try:
        return bool(await ctx.broker.ping(timeout=3))
    except Exception:
        return False


def service_context(request: Request) -> ServiceContext:
    return request.app.state.ctx


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request; routes commit explicitly."""
    async with request.app.state.ctx.sessions() as session:
        yield session


Context = Annotated[ServiceContext, Depends(service_context)]
Session = Annotated[AsyncSession, Depends(db_session)]
