"""Every operation of the four services' OpenAPIs, fuzzed by schemathesis over real HTTP: never a 5xx, and every
answer matches its documented status codes and schema.

The services run as real processes (uvicorn) on a real broker with real SQLite, seeded with a small demo district;
requests carry a district administrator's token, and path parameters often name real rows so lookups hit data.
Deterministic: a fixed seed, derandomized. `MOSAIC_FUZZ_EXAMPLES` sets the examples per operation (default 20).
On SQLite, and on PostgreSQL as well when MOSAIC_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mosaic_dev.district_generator import District, generate_district
from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.kafka import free_port
from mosaic_dev.mailsink import MailSink
from mosaic_dev.pytest_plugin import DATABASE_KINDS, POSTGRES_URL_VARIABLE
from mosaic_dev.scenario import StackUrls
from mosaic_dev.seed import seed_demo_district
from mosaic_dev.stack import (
    SERVICES,
    RunningService,
    ServiceSpec,
    service_env,
    start_service,
    stop_service,
    wait_until_ready,
)
from mosaic_dev.topic_io import start_group_at_the_end
from mosaic_runtime.db import run_migrations

FUZZ_SEED = 13
EXAMPLES = int(os.environ.get("MOSAIC_FUZZ_EXAMPLES", "20"))
KNOWN_ROW_PROBABILITY = 0.5  # half the time a path id names a seeded row, half the time anything
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


@dataclass
class FuzzedStack:
    urls: StackUrls
    token: str
    district_id: str
    known: dict[str, list[str]]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


def _small_district() -> District:
    return generate_district(2026, schools=1, students_per_school=8, weeks=1, evidence_per_week=2.0)


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def fuzzed_stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[FuzzedStack]:
    """The four services on free ports, seeded with a small district; on SQLite files, and on PostgreSQL too
    when MOSAIC_TEST_POSTGRES_URL names a server (as CI does)."""
    data = tmp_path_factory.mktemp("fuzz")
    databases = ExitStack()
    idp = DevIdentityProvider(data)
    mail = MailSink(data / "mail", smtp_port=free_port(), web_port=free_port()).start()
    specs = [ServiceSpec(s.name, free_port()) for s in SERVICES]
    group = secrets.token_hex(3)
    quick = {
        f"{s.prefix}{name}": value
        for s in specs
        for name, value in (("OUTBOX_POLL_SECONDS", "0.1"), ("CONSUMER_GROUP", f"fuzz-{s.name}-{group}"))
    }
    quick["MOSAIC_SCHEDULING_SOLVER_TIME_LIMIT_SECONDS"] = "2"
    running: list[RunningService] = []
    try:
        if request.param == "postgres":
            from mosaic_dev.postgres import temporary_database

            for spec in specs:
                server = os.environ[POSTGRES_URL_VARIABLE]
                quick[f"{spec.prefix}DATABASE_URL"] = databases.enter_context(temporary_database(server, "fuzz"))
        for spec in specs:
            env = service_env(
                spec,
                data_dir=data,
                bootstrap=kafka_bootstrap,
                jwks_file=idp.jwks_file,
                smtp_port=mail.smtp_port,
                extra=quick,
            )
            database_url, consumer_group = env[f"{spec.prefix}DATABASE_URL"], f"fuzz-{spec.name}-{group}"
            asyncio.run(_from_now_on(spec.name, database_url, consumer_group, kafka_bootstrap))
            running.append(start_service(spec, env, data / "logs"))
        for service in running:
            wait_until_ready(service, timeout=180)
        urls = StackUrls(**{s.name: s.url for s in specs})
        district = _small_district()
        seed_demo_district(idp, data, urls, echo=lambda _: None, district=district)
        token = idp.token(district_id=district.district_id, user_id="fuzz-admin", roles=("districtAdministrator",))
        stack = FuzzedStack(urls, token, district.district_id, _known_rows(district, urls, token))
        yield stack
    finally:
        for service in running:
            stop_service(service)
        mail.stop()
        databases.close()


async def _from_now_on(service: str, database_url: str, group: str, bootstrap: str) -> None:
    """The service reads its topics from their current end: earlier tests' districts on the session's shared
    topics would otherwise be folded first (on SQLite, notify's long batches held the write lock past the
    fuzzer's 10 s timeout)."""
    main = importlib.import_module(f"mosaic_{service}.main")
    await run_migrations(database_url, main.MIGRATIONS)
    topics = [t.name for t in importlib.import_module(f"mosaic_{service}.consumers").HANDLERS.topics()]
    await start_group_at_the_end(database_url, group, topics, bootstrap)


def _known_rows(district: District, urls: StackUrls, token: str) -> dict[str, list[str]]:
    """Ids of seeded rows, by path parameter name: the roster's, the flex block's, and recorded evidence."""
    roster = district.roster
    school = roster.schools[0].id
    students = [p.student_id for p in roster.placements]
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        base = f"/v1/districts/{district.district_id}"
        definition = http.get(f"{urls.scheduling}{base}/schools/{school}/definition").json()
        history = http.get(f"{urls.evidence}{base}/students/{students[0]}/evidence").json()
    return {
        "student_id": students,
        "section_id": [s.id for s in roster.sections],
        "school_id": [s.id for s in roster.schools],
        "teacher_id": [u.id for u in roster.users_with_role("teacher")],
        "guardian_id": [u.id for u in roster.users if u.role in ("guardian", "parent")],
        "person_id": [u.id for u in roster.users],
        "framework_id": [district.framework.document_id],
        "competency_id": [i.id for i in district.framework.items][:20],
        "evidence_id": [item["evidence_id"] for item in history.get("items", [])],
        "block_id": [b["id"] for b in definition["blocks"]],
        "session_id": [s["id"] for s in definition["sessions"]],
        "room_id": [r["id"] for r in definition["rooms"]],
        "item_id": [r["id"] for r in definition["rooms"]] + [t["id"] for t in definition["teachers"]],
        "kind": ["blocks", "rooms", "teachers"],
    }


def _config_file(stack: FuzzedStack, folder: Path) -> Path:
    """A schemathesis.toml: the seed, the admin's token, and path parameters that often name seeded rows."""
    known = {name: ids for name, ids in stack.known.items() if ids}
    lines = [
        f"seed = {FUZZ_SEED}",
        f"headers = {{ Authorization = {json.dumps('Bearer ' + stack.token)} }}",
        "[generation]",
        "deterministic = true",
        f"max-examples = {EXAMPLES}",
        'database = "none"',
        "[parameters]",
        f'"path.district_id" = {json.dumps(stack.district_id)}',
        *(f'"path.{name}" = {{ dictionary = "{name}", probability = {KNOWN_ROW_PROBABILITY} }}' for name in known),
        *(f"[dictionaries.{name}]\nvalues = {json.dumps(ids)}" for name, ids in known.items()),
    ]
    path = folder / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.integration
@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    service: str, fuzzed_stack: FuzzedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(_config_file(fuzzed_stack, tmp_path)),
        "--no-color",
        "run",
        f"{getattr(fuzzed_stack.urls, service)}/openapi.json",
        "--checks",
        CHECKS,
        "--workers",
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert report.exists(), f"schemathesis did not run:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    summary = json.loads(report.read_text())
    fuzzed_stack.results[service] = summary
    with capsys.disabled():  # the counts belong in CI's log whether or not the run passes
        print(_counts_line(fuzzed_stack.results))
    assert summary["operations"]["tested"] == summary["operations"]["total"], summary["operations"]
    assert run.returncode == 0, f"schemathesis found problems in {service}:\n{_failures(run.stdout)}"


def _failures(output: str, limit: int = 20_000) -> str:
    """The CLI's failures section: each failing case with its check, the response and a curl to reproduce it."""
    start = output.find("FAILURES")
    return output[start if start >= 0 else 0 :][:limit]


def _counts_line(results: dict[str, dict[str, Any]]) -> str:
    """So far: operations and cases per service and in all, for CI's log."""
    operations = sum(r["operations"]["tested"] for r in results.values())
    cases = sum(r["test_cases"]["generated"] for r in results.values())
    each = ", ".join(
        f"{name} {r['operations']['tested']}/{r['test_cases']['generated']}" for name, r in results.items()
    )
    return (
        f"\nschemathesis: {operations} operations, {cases} cases ({each}; operations/cases), "
        f"{EXAMPLES} examples per operation, seed {FUZZ_SEED}, deterministic"
    )
