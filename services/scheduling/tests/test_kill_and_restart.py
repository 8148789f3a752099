"""Chaos on the real broker: the service process is killed (SIGKILL) right after it commits a schedule,
while RegroupNeeded events stream in, and restarted. Every trigger yields exactly one SchedulePublished id,
every moved student one change id."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mosaic_events import new_envelope, topics
from mosaic_runtime.db import make_engine, make_session_factory
from mosaic_runtime.outbox import outbox_table
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.main import build_app
from mosaic_scheduling.settings import SchedulingSettings

from .test_service_on_broker import (
    KEY,
    STUDENTS,
    define_school,
    end_offsets,
    facts,
    levels_known,
    people_topic,
    private_topics,
    produce,
    read_since,
    wait_for,
)

pytestmark = pytest.mark.integration
TRIGGERS = 4


class ServiceProcess:
    """`mosaic-scheduling serve` in its own process, so it can be killed mid-transaction."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log, self.process = env, log, None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mosaic_scheduling.cli", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


async def schedules_done(sessions, count: int) -> bool:
    async with sessions() as session:
        built = await session.scalar(select(func.count()).select_from(t.schedules))
        unsent = await session.scalar(
            select(func.count()).select_from(outbox_table()).where(outbox_table().c.sent.is_(False))
        )
    return built >= count and unsent == 0


async def schedules_built(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(t.schedules))


async def test_killed_mid_stream_every_trigger_is_published_once(kafka_bootstrap, tmp_path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'scheduling.db'}"
    mastery_topic, reference_topic, regroup_topic = await private_topics(kafka_bootstrap)
    district = f"d-{uuid.uuid4().hex[:8]}"
    settings = SchedulingSettings(database_url=database_url, kafka_enabled=False, oidc_jwks_json=KEY.jwks_json)
    setup = build_app(settings)
    async with setup.router.lifespan_context(setup):  # migrate and define the school, Kafka off
        await define_school(setup, district)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "MOSAIC_SCHEDULING_DATABASE_URL": database_url,
        "MOSAIC_SCHEDULING_TOPIC_OVERRIDES": json.dumps(
            {
                "mosaic.mastery.v1": mastery_topic,
                "mosaic.reference.v1": reference_topic,
                "mosaic.regroup.v1": regroup_topic,
                "mosaic.people.v1": people_topic(reference_topic),
            }
        ),
        "MOSAIC_SCHEDULING_CONSUMER_GROUP": f"scheduling-chaos-{district}",
        "MOSAIC_SCHEDULING_CONSUMER_SESSION_TIMEOUT_MS": "6000",  # a killed member's partitions come back soon
        "MOSAIC_SCHEDULING_OIDC_JWKS_JSON": KEY.jwks_json,
        "MOSAIC_SCHEDULING_HTTP_PORT": str(_free_port()),
        "MOSAIC_SCHEDULING_OUTBOX_POLL_SECONDS": "0.05",
        "MOSAIC_SCHEDULING_CONSUMER_MAX_RECORDS": "1",
        "MOSAIC_SCHEDULING_SOLVER_TIME_LIMIT_SECONDS": "5",
    }
    roster, levels, regroup = facts(district)
    triggers = [
        new_envelope(regroup.data, district_id=district, producer="test", school_id=regroup.school_id)
        for _ in range(TRIGGERS)
    ]
    schedule_starts = await end_offsets(kafka_bootstrap, topics.SCHEDULE.name)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    service = ServiceProcess(env, tmp_path / "service.log")
    try:
        service.start()
        await produce(kafka_bootstrap, reference_topic, roster)
        await produce(kafka_bootstrap, mastery_topic, levels)
        await wait_for(sessions, levels_known, timeout=180)
        await produce(kafka_bootstrap, regroup_topic, triggers)
        for kills in range(1, 2):  # kill as soon as a schedule is committed, then start again (one kill: each
            # costs the consumer group's session timeout before the restarted member gets the partitions)
            seen = await schedules_built(sessions)
            async with asyncio.timeout(180):
                while await schedules_built(sessions) <= seen:
                    await asyncio.sleep(0.02)
            service.kill()
            service.start()
            assert kills < TRIGGERS
        await wait_for(sessions, lambda s: schedules_done(s, TRIGGERS), timeout=240)
    finally:
        service.stop()
        await engine.dispose()

    out = await read_since(kafka_bootstrap, schedule_starts, district)
    published = {e.id: e for e in out if e.type == "SchedulePublished"}
    changes = {e.id: e for e in out if e.type == "GroupAssignmentChanged"}
    assert sorted(e.causation_id for e in published.values()) == sorted(e.id for e in triggers)
    assert sorted(e.data.schedule_version for e in published.values()) == list(range(1, TRIGGERS + 1))
    assert sorted(e.data.student_id for e in changes.values()) == sorted(STUDENTS), "only the first schedule moves"
    # A kill between the broker's ack and marking the row sent re-sends the same id; never a new one.
    assert all(e.id in published or e.id in changes for e in out)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
