"""Effectively once, and rebuildable: the service killed with SIGKILL in the middle of the evidence stream
resumes to the projection a single clean pass gives, with no MasteryChanged emitted twice under different
ids; then `mosaic-mastery rebuild` into another database gives the same checksum as the live one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mosaic_dev import synthetic_events as synthetic
from mosaic_events import topics
from mosaic_mastery.adapters.emissions import caused_by_event
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.projection import LevelChanged, ProjectionState, apply
from mosaic_mastery.main import MIGRATIONS
from mosaic_runtime.auth import generate_signing_key
from mosaic_runtime.db import POSITIONS, RUNTIME_METADATA, make_engine, make_session_factory, run_migrations
from mosaic_runtime.db import runtime_tables as chassis_tables

from .kafka_helpers import end_offsets, people_topic, private_topics, produce, read_since
from .test_service_on_broker import caught_up

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "mosaic_mastery.main:app",
            "--port",
            free_port().__str__(),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def consumed(sessions, group: str, topic: str) -> int:
    positions = chassis_tables(RUNTIME_METADATA)[POSITIONS]
    async with sessions() as session:
        return await session.scalar(
            select(func.coalesce(func.sum(positions.c.next_offset), 0)).where(
                positions.c.consumer_group == group, positions.c.topic == topic
            )
        )


async def wait_for(condition, timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mosaic_mastery.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_killed_mid_stream_it_resumes_to_the_same_projection_and_a_rebuild_matches(
    kafka_bootstrap, database_url, tmp_path
):
    evidence_topic, reference_topic = await private_topics(kafka_bootstrap)
    district, group = f"d-{uuid.uuid4().hex[:8]}", f"mastery-crash-{uuid.uuid4().hex[:8]}"
    reference, stream = synthetic.district(district, students=60, events=1500, section_size=20)
    evidence = list(stream)
    settings = DistrictSettings(
        regroup_threshold=0.3,
        grouping_competencies={
            f"{district}-sec0000": ("math-6.S0.T0", "math-6.S0.T1"),
            f"{district}-sec0001": ("math-6.S1.T0",),
        },
    )
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "MOSAIC_MASTERY_DATABASE_URL": database_url,
        "MOSAIC_MASTERY_TOPIC_OVERRIDES": json.dumps(
            {
                "mosaic.evidence.v1": evidence_topic,
                "mosaic.reference.v1": reference_topic,
                "mosaic.people.v1": people_topic(reference_topic),
            }
        ),
        "MOSAIC_MASTERY_CONSUMER_GROUP": group,
        "MOSAIC_MASTERY_CONSUMER_MAX_RECORDS": "200",
        "MOSAIC_MASTERY_CONSUMER_SESSION_TIMEOUT_MS": "6000",  # the killed member leaves the group soon
        "MOSAIC_MASTERY_OIDC_JWKS_JSON": generate_signing_key().jwks_json,
    }
    await run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        await ProjectionStore().save_settings(session, district, settings)
    mastery_starts = await end_offsets(kafka_bootstrap, topics.MASTERY.name)
    log = tmp_path / "service.log"
    service = start_service(env, log)
    try:
        await produce(kafka_bootstrap, reference_topic, reference)
        await wait_for(lambda: _at_least(sessions, group, reference_topic, len(reference)), 120, "the roster")
        await produce(kafka_bootstrap, evidence_topic, evidence)
        await wait_for(lambda: _at_least(sessions, group, evidence_topic, 300), 120, "the first batches")
        service.send_signal(signal.SIGKILL)
        service.wait()
        killed_at = await consumed(sessions, group, evidence_topic)
        assert killed_at < len(evidence), "the service finished before it could be killed; send more evidence"
        service = start_service(env, log)
        await caught_up(sessions, group, len(reference) + len(evidence), timeout=240)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=60)
        await engine.dispose()

    state = ProjectionState(configs={district: DistrictConfig(settings)})
    expected = {
        caused_by_event(emission, envelope).id
        for envelope in reference + evidence
        for emission in apply(state, from_envelope(envelope))
        if isinstance(emission, LevelChanged)
    }
    emitted = await read_since(kafka_bootstrap, mastery_starts, district)
    assert {e.id for e in emitted} == expected  # same changes, same ids: a re-sent one is recognisable

    live = cli(env, "checksum")
    rebuilt_env = {**env, "MOSAIC_MASTERY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}"}
    cli(rebuilt_env, "rebuild", "--no-progress", "--batch", "1000")
    assert cli(rebuilt_env, "checksum") == live
    assert int(live.split()[1]) > 1000


async def _at_least(sessions, group: str, topic: str, n: int) -> bool:
    return await consumed(sessions, group, topic) >= n
