"""What the audit trail adds to a request: p50/p99 latency of a student-profile read, with and without it.

Two mastery apps over their own SQLite databases, seeded alike (a framework, a section of 30 students
with evidence); a teacher of the section reads profiles. Requests alternate between the two apps in
blocks of 50 so the shared machine's drift hits both alike. In process (httpx's ASGI transport), so what
is measured is the service's own work, the access policy included in both.

    uv run python bench/audit_overhead.py                # 1,000 requests each
    uv run python bench/audit_overhead.py --requests 5000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI
from sqlalchemy import func, select

from mosaic_events import Envelope, encode
from mosaic_events.roles import groups_of
from mosaic_mastery import synthetic
from mosaic_mastery.consumers import HANDLERS
from mosaic_mastery.main import build_app
from mosaic_mastery.settings import MasterySettings
from mosaic_runtime.access import CallerLinks, Decision, Rule, Target
from mosaic_runtime.audit import AuditTrail, audit_log, entry_for
from mosaic_runtime.auth import Principal, generate_signing_key, mint_token
from mosaic_runtime.consumer import BatchApplier

DISTRICT, SCHOOL, SECTION = "d-bench", "school-1", "sec-1"
STUDENTS = [f"s{n:02d}" for n in range(30)]
KEY = generate_signing_key()


def records(envelopes: list[Envelope]) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(
            e.topic,
            0,
            n,
            0,
            0,
            e.kafka_key,
            value := encode(e),
            None,
            len(e.kafka_key),
            len(value),
            [("type", e.type.encode())],
        )
        for n, e in enumerate(envelopes)
    ]


async def seeded(app: FastAPI) -> None:
    envelopes = [
        synthetic.framework(DISTRICT, strands=2, per_strand=5),
        synthetic.roster(DISTRICT, SCHOOL, {SECTION: STUDENTS}),
    ]
    envelopes += [
        synthetic.evidence(
            DISTRICT,
            s,
            (f"math-6.S{n % 2}.T{n % 5}",),
            n % 5,
            evidence_id=f"e-{s}-{n}",
            observed_on=date(2026, 9, 1) + timedelta(n),
        )
        for s in STUDENTS
        for n in range(8)
    ]
    applier = BatchApplier("bench", HANDLERS, app.state.ctx.sessions, deps=app.state.ctx.state["store"])
    await applier.apply(records(envelopes))


async def timed(client: httpx.AsyncClient, n: int, token: dict[str, str], into: list[float]) -> None:
    for i in range(n):
        url = f"/v1/districts/{DISTRICT}/students/{STUDENTS[i % len(STUDENTS)]}/profile"
        started = time.perf_counter()
        answer = await client.get(url, headers=token)
        into.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text


def in_request_microseconds(trail: AuditTrail, n: int = 20_000) -> float:
    """What the audit does on the request path, alone: build the entry and enqueue it."""
    principal = Principal(DISTRICT, "teacher-1", frozenset({"teacher"}))
    target = Target("student", "s01", people=frozenset({"s01"}), sections=frozenset({SECTION}))
    decision = Decision(Rule.STUDENT_DATA, principal, groups_of(principal.roles), CallerLinks(), target, True)
    started = time.perf_counter()
    for _ in range(n):
        trail.record(
            entry_for(decision, "GET", "/v1/districts/{district_id}/students/{student_id}/profile", 200, DISTRICT)
        )  # type: ignore[arg-type]
    spent = (time.perf_counter() - started) / n * 1e6
    trail._drain()
    return spent


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main(requests: int, block: int) -> None:
    token = {"Authorization": f"Bearer {mint_token(KEY, district_id=DISTRICT, user_id='teacher-1')}"}
    with tempfile.TemporaryDirectory() as folder:
        apps = {}
        for name, audited in (("with audit", True), ("without audit", False)):
            settings = MasterySettings(
                database_url=f"sqlite+aiosqlite:///{Path(folder) / name.replace(' ', '-')}.db",
                kafka_enabled=False,
                oidc_jwks_json=KEY.jwks_json,
                audit_enabled=audited,
                log_level="WARNING",
            )
            apps[name] = build_app(settings)
        contexts = [app.router.lifespan_context(app) for app in apps.values()]
        for context in contexts:
            await context.__aenter__()
        try:
            clients = {}
            for name, app in apps.items():
                await seeded(app)
                clients[name] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            latencies: dict[str, list[float]] = {name: [] for name in apps}
            for client in clients.values():  # warm up: caches, connections, first queries
                await timed(client, 100, token, [])
            for round_ in range(requests // block):  # alternate who goes first, so drift favours neither
                for name in sorted(clients, reverse=bool(round_ % 2)):
                    await timed(clients[name], block, token, latencies[name])
            trail = apps["with audit"].state.ctx.state["audit"]
            await asyncio.sleep(trail.flush_seconds * 2)
            await trail.flush()
            async with apps["with audit"].state.ctx.sessions() as session:
                written = await session.scalar(select(func.count()).select_from(audit_log))
            print(f"{requests} profile reads per app, blocks of {block}, interleaved; audit rows written: {written}")
            for name, values in latencies.items():
                print(
                    f"  {name:>14}: p50 {percentile(values, 50):6.2f} ms   p99 {percentile(values, 99):6.2f} ms   "
                    f"mean {statistics.fmean(values):6.2f} ms"
                )
            with_, without = latencies["with audit"], latencies["without audit"]
            print(
                f"  {'added':>14}: p50 {percentile(with_, 50) - percentile(without, 50):+6.2f} ms   "
                f"p99 {percentile(with_, 99) - percentile(without, 99):+6.2f} ms"
            )
            print(f"  in-request work of the audit (entry + enqueue): {in_request_microseconds(trail):.1f} µs")
            for client in clients.values():
                await client.aclose()
        finally:
            for context in contexts:
                await context.__aexit__(None, None, None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--block", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.block))
