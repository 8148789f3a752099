"""The audit trail: who read or changed which student's data, when, through which route, with what outcome.

Every request the access policy decided on a rule that touches students is recorded by a person's
identity (no bodies) in the service's own database, written in batches off the request path, kept for a
district-configurable number of days, and readable by district administrators at
`GET /v1/districts/{d}/audit`. See docs/decisions/0014-privacy-audit-trail-per-service.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from alembic import op
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosaic_events.roles import Group
from mosaic_runtime.access import Decision, Rule, allow

log = logging.getLogger(__name__)

AUDIT_LOG, AUDIT_RETENTION = "audit_log", "audit_retention"
# Rules whose data is about students (or a family): a request decided on one of these is recorded.
AUDITED_RULES = frozenset(
    {
        Rule.STUDENT_DATA,
        Rule.STUDENT_REQUEST,
        Rule.STUDENT_PLAN,
        Rule.LEARNER_PLAN,
        Rule.PLAN_WRITING,
        Rule.PLAN_COMMENT,
        Rule.PLAN_REVIEW,
        Rule.SECTION_DATA,
        Rule.BLOCK_DATA,
        Rule.BLOCK_WORK,
        Rule.PLACEMENT,
        Rule.RECORD_EVIDENCE,
        Rule.DIRECTORY,
        Rule.GUARDIAN_DATA,
        Rule.TEACHER_SCHEDULE,
        Rule.ERASURE,
    }
)
NOT_STUDENTS = frozenset({"guardian", "teacher"})  # targets whose one person is not a student


def audit_tables(metadata: MetaData) -> dict[str, Table]:
    """Add the audit tables to a service's metadata (once, in its tables module)."""
    if AUDIT_LOG in metadata.tables:
        return {name: metadata.tables[name] for name in (AUDIT_LOG, AUDIT_RETENTION)}
    log_table = Table(
        AUDIT_LOG,
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("district_id", String(255), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor_id", String(255), nullable=False),
        Column("actor_roles", String(255), nullable=False),
        Column("method", String(8), nullable=False),
        Column("route", String(255), nullable=False, doc="the route's template, never the URL with its query"),
        Column("rule", String(32), nullable=False),
        Column("target_kind", String(32), nullable=False),
        Column("target_id", String(255)),
        Column("student_id", String(255)),
        Column("outcome", Integer, nullable=False, doc="the HTTP status answered"),
        Index("ix_audit_log_student", "district_id", "student_id", "at"),
        Index("ix_audit_log_actor", "district_id", "actor_id", "at"),
        Index("ix_audit_log_at", "district_id", "at"),
    )
    retention = Table(
        AUDIT_RETENTION,
        metadata,
        Column("district_id", String(255), primary_key=True),
        Column("days", Integer, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    return {AUDIT_LOG: log_table, AUDIT_RETENTION: retention}


def create_audit_tables() -> None:
    """In a service's migration: the audit tables, from the one definition above."""
    metadata = MetaData()
    audit_tables(metadata)
    metadata.create_all(op.get_bind())


def drop_audit_tables() -> None:
    metadata = MetaData()
    audit_tables(metadata)
    metadata.drop_all(op.get_bind())


_TABLES = audit_tables(MetaData())
audit_log, audit_retention = _TABLES[AUDIT_LOG], _TABLES[AUDIT_RETENTION]


@dataclass(frozen=True)
class AuditEntry:
    district_id: str
    at: datetime
    actor_id: str
    actor_roles: str
    method: str
    route: str
    rule: str
    target_kind: str
    target_id: str | None
    student_id: str | None
    outcome: int


def entry_for(decision: Decision, method: str, route: str, outcome: int, district_id: str) -> AuditEntry | None:
    """The row a decided request leaves, or None when it touched no student or a service account made it."""
    if decision.rule not in AUDITED_RULES or decision.groups == {Group.SERVICE}:
        return None
    target = decision.target
    student = next(iter(target.people)) if len(target.people) == 1 and target.kind not in NOT_STUDENTS else None
    return AuditEntry(
        district_id,
        datetime.now(UTC),
        decision.principal.user_id,
        " ".join(sorted(decision.principal.roles))[:255],
        method,
        route[:255],
        decision.rule.name,
        target.kind,
        target.id,
        student,
        outcome,
    )


class AuditTrail:
    """Entries queue in memory and are written in batches; a stop flushes what is queued."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, batch_size: int = 500, flush_seconds: float = 0.2
    ) -> None:
        self.sessions = sessions
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.queue: asyncio.Queue[AuditEntry] = asyncio.Queue()

    def record(self, entry: AuditEntry) -> None:
        self.queue.put_nowait(entry)

    async def run(self) -> None:
        try:
            while True:
                first = await self.queue.get()
                await asyncio.sleep(self.flush_seconds)
                await self._write([first, *self._drain()])
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())

    async def flush(self) -> None:
        """Write everything queued now (tests, shutdown)."""
        pending = self._drain()
        if pending:
            await self._write(pending)

    def _drain(self) -> list[AuditEntry]:
        taken: list[AuditEntry] = []
        while not self.queue.empty() and len(taken) < 100_000:
            taken.append(self.queue.get_nowait())
        return taken

    async def _write(self, entries: list[AuditEntry]) -> None:
        for start in range(0, len(entries), self.batch_size):
            chunk = entries[start : start + self.batch_size]
            try:
                async with self.sessions() as session, session.begin():
                    await session.execute(audit_log.insert(), [asdict(e) for e in chunk])
            except Exception:
                log.exception("could not write %d audit entries; they are kept for the next attempt", len(chunk))
                for entry in chunk:
                    self.queue.put_nowait(entry)
                raise


class AuditMiddleware:
    """Records each request the access policy decided, with the status it answered (pure ASGI: cheap)."""

    def __init__(self, app: ASGIApp, service: Any) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            self._record(scope, status)

    def _record(self, scope: Scope, status: int) -> None:
        decision = scope.get("state", {}).get("access")
        ctx = getattr(self.service.state, "ctx", None)
        trail = ctx.state.get("audit") if ctx is not None else None
        if decision is None or trail is None:
            return
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        district = str(scope.get("path_params", {}).get("district_id", decision.principal.district_id))
        entry = entry_for(decision, scope["method"], route, status, district)
        if entry is not None:
            trail.record(entry)


def install(app: Any) -> None:
    """Wire the audit trail into a service: the middleware and the audit routes."""
    app.add_middleware(AuditMiddleware, service=app)
    app.include_router(router)


async def start(ctx: Any) -> None:
    """Startup hook: the batch writer and the retention purge run beside the service."""
    if not getattr(ctx.settings, "audit_enabled", True):
        return
    trail = ctx.state["audit"] = AuditTrail(ctx.sessions)
    ctx.tasks.append(asyncio.create_task(trail.run(), name="audit-writer"))
    ctx.tasks.append(asyncio.create_task(_purge_forever(ctx), name="audit-purge"))


async def _purge_forever(ctx: Any) -> None:
    while True:
        try:
            removed = await purge_expired(ctx.sessions, default_days=ctx.settings.audit_retention_days)
            if removed:
                log.info("audit purge removed %d entries past their district's retention", removed)
        except Exception:
            log.exception("audit purge failed; it runs again later")
        await asyncio.sleep(ctx.settings.audit_purge_every_seconds)


async def purge_expired(
    sessions: async_sessionmaker[AsyncSession], *, default_days: int, now: datetime | None = None
) -> int:
    """Delete entries older than their district's retention (the default where a district set none)."""
    now = now or datetime.now(UTC)
    async with sessions() as session, session.begin():
        rows = (await session.execute(select(audit_retention.c.district_id, audit_retention.c.days))).all()
        chosen: dict[str, int] = {row.district_id: row.days for row in rows}
        removed = 0
        for district, days in chosen.items():
            result = await session.execute(
                delete(audit_log).where(
                    audit_log.c.district_id == district, audit_log.c.at < now - timedelta(days=days)
                )
            )
            removed += getattr(result, "rowcount", 0) or 0  # a DML result (CursorResult) counts its rows
        others = delete(audit_log).where(audit_log.c.at < now - timedelta(days=default_days))
        if chosen:
            others = others.where(audit_log.c.district_id.not_in(list(chosen)))
        removed += getattr(await session.execute(others), "rowcount", 0) or 0
    return removed


# --- reading it --------------------------------------------------------------------------------------------------

router = APIRouter(
    prefix="/v1/districts/{district_id}/audit", tags=["audit"], dependencies=[Depends(allow(Rule.AUDIT))]
)


class Retention(BaseModel):
    days: int = Field(ge=1, le=3650, description="how long this service keeps the district's audit entries")


@router.get("", summary="Who read or changed which student's data, newest first (district administrators)")
async def read_audit(
    request: Request,
    district_id: str,
    student_id: Annotated[str | None, Query(max_length=255)] = None,
    actor_id: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    query = select(audit_log).where(audit_log.c.district_id == district_id)
    if student_id:
        query = query.where(audit_log.c.student_id == student_id)
    if actor_id:
        query = query.where(audit_log.c.actor_id == actor_id)
    if since:
        query = query.where(audit_log.c.at >= _utc(since))
    if until:
        query = query.where(audit_log.c.at < _utc(until))
    async with request.app.state.ctx.sessions() as session:
        rows = (
            await session.execute(
                query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit + 1).offset(offset)
            )
        ).all()
    items = [
        {
            "at": _utc(r.at).isoformat(),
            "actor_id": r.actor_id,
            "actor_roles": r.actor_roles.split(),
            "method": r.method,
            "route": r.route,
            "rule": r.rule,
            "target_kind": r.target_kind,
            "target_id": r.target_id,
            "student_id": r.student_id,
            "outcome": r.outcome,
        }
        for r in rows[:limit]
    ]
    return {
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(rows) > limit else None,
        "items": items,
    }


@router.get("/retention", summary="How long this service keeps the district's audit entries")
async def read_retention(request: Request, district_id: str) -> Retention:
    async with request.app.state.ctx.sessions() as session:
        days = await session.scalar(select(audit_retention.c.days).where(audit_retention.c.district_id == district_id))
    return Retention(days=days or request.app.state.settings.audit_retention_days)


@router.put("/retention", summary="Set how long this service keeps the district's audit entries")
async def write_retention(request: Request, district_id: str, body: Retention) -> Retention:
    async with request.app.state.ctx.sessions() as session, session.begin():
        await session.execute(delete(audit_retention).where(audit_retention.c.district_id == district_id))
        await session.execute(
            audit_retention.insert().values(district_id=district_id, days=body.days, updated_at=datetime.now(UTC))
        )
    return body


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
