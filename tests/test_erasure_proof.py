"""The proof of ADR 0019: after a district erases a student and their guardian, nothing readable is left.

The four services run as real processes on a broker of their own. A student gets evidence with a
comment, mastery, a place in a flex block and e-mails to their guardian; a district administrator
erases both. Then every topic is read from offset 0 (dead-letter topics too), every table of every
service's database and every line of the services' logs, and none holds the student's or the
guardian's name, e-mail address, phone number or the comment. A mastery rebuild then equals the live
projection.

Compaction is what removes a person's details from mosaic.people.v1. In production a segment rolls
after a day; here the topic rolls after a second, and one record per partition after the erasures
makes the segments holding them inactive, so the cleaner (every 15 s) compacts them.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mosaic_dev.district_generator import generate_district
from mosaic_dev.district_generator.writers import write_oneroster
from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.kafka import free_port
from mosaic_dev.mailsink import MailSink
from mosaic_dev.privacy_scan import needles as needles_for
from mosaic_dev.privacy_scan import scan_databases, scan_logs, scan_topics
from mosaic_dev.scenario import DistrictClient, FlexBlockPlan, StackUrls, skill_group_sessions
from mosaic_dev.stack import SERVICES, ServiceSpec, service_env, start_service, stop_service, wait_until_ready

BLOCK = "erasure-flex"
COMMENT = "Zephyrine hesitated over the ratio table but explained her doubling strategy aloud"


@pytest.fixture
def stack(local_kafka, tmp_path: Path) -> Iterator[tuple[StackUrls, DevIdentityProvider, MailSink, str, Path]]:
    from kafka.admin import ConfigResource, ConfigResourceType

    from mosaic_runtime.topics_admin import admin_client, ensure_topics

    bootstrap = local_kafka.bootstrap
    ensure_topics(bootstrap)
    with admin_client(bootstrap) as admin:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    "mosaic.people.v1",
                    configs={"segment.ms": "1000", "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "0"},
                )
            ]
        )
    idp = DevIdentityProvider(tmp_path)
    mail = MailSink(tmp_path / "mail", smtp_port=free_port(), web_port=free_port()).start()
    specs = [ServiceSpec(s.name, free_port()) for s in SERVICES]
    quick = {f"MOSAIC_{s.upper()}_OUTBOX_POLL_SECONDS": "0.1" for s in ("evidence", "mastery", "scheduling", "notify")}
    running = []
    try:
        for spec in specs:
            group = f"erase-{spec.name}-{secrets.token_hex(3)}"
            env = service_env(
                spec,
                data_dir=tmp_path,
                bootstrap=bootstrap,
                jwks_file=idp.jwks_file,
                smtp_port=mail.smtp_port,
                extra={**quick, f"{spec.prefix}CONSUMER_GROUP": group},
            )
            running.append(start_service(spec, env, tmp_path / "logs"))
        for service in running:
            wait_until_ready(service, timeout=180)
        yield StackUrls(**{s.name: s.url for s in specs}), idp, mail, bootstrap, tmp_path
    finally:
        for service in running:
            stop_service(service)
        mail.stop()


def _wait(predicate, what: str, timeout: float = 600.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def roll_people_segments(bootstrap: str) -> None:
    """One record per partition of mosaic.people.v1, so the segments with the erasures are no longer active."""
    from kafka import KafkaProducer

    from mosaic_events import encode, new_envelope
    from mosaic_events.catalog import PersonErased

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for partition in sorted(producer.partitions_for("mosaic.people.v1")):
            event = PersonErased(person_id=f"segment-roll-{partition}", erasure_id=f"segment-roll-{partition}")
            envelope = new_envelope(event, district_id="segment-roll", producer="erasure-proof")
            producer.send("mosaic.people.v1", encode(envelope), key=envelope.kafka_key, partition=partition).get(30)
    finally:
        producer.close()


def mastery_checksum(database: Path, district: str) -> str:
    env = {**os.environ, "MOSAIC_MASTERY_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    done = subprocess.run(
        [sys.executable, "-m", "mosaic_mastery.cli", "checksum", "--district", district],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.integration
def test_after_erasure_no_topic_table_or_log_line_holds_the_student_or_the_guardian(stack) -> None:
    urls, idp, mail, bootstrap, folder = stack
    district = generate_district(secrets.randbelow(10**9), schools=1, students_per_school=6, weeks=1)
    admin = idp.token(district_id=district.district_id, user_id="erasure-admin", roles=("districtAdministrator",))
    client = DistrictClient(urls, district.district_id, admin, patience=600)
    client.import_framework(district.case_package())
    write_oneroster(folder / "roster", district.roster)
    client.import_roster(folder / "roster")

    ana = district.roster.placements[0]
    guardian_id = next(
        u.id for u in district.roster.users if u.role in ("guardian", "parent") and ana.student_id in u.agent_ids
    )
    guardian = next(u for u in district.roster.users if u.id == guardian_id)
    competency = next(i for i in district.framework.items if i.assessable and not i.is_disposition)
    classmates = [p for p in district.roster.placements if p.math_section_id == ana.math_section_id]
    client.eventually(
        lambda: client.change_mastery_settings(
            method={"name": "latest"}, regroup_threshold=0.01, regroup_debounce_minutes=0
        ),
        "mastery settings",
    )
    client.follow_competencies(ana.math_section_id, [competency.id])
    sessions = skill_group_sessions(
        [(competency.id, competency.code)], len(classmates), [(ana.math_teacher_id, "Ana's math teacher")]
    )
    client.eventually(
        lambda: client.define_flex_block(
            FlexBlockPlan(BLOCK, ana.school_id, "Thursday WIN", (ana.math_section_id,), sessions)
        ),
        "the flex block",
    )
    client.eventually(lambda: client.set_guardian_preferences(guardian_id, quiet_hours=None), "the guardian")

    for score in (1, 4):
        client.record_evidence(
            [
                {
                    "student_id": ana.student_id,
                    "competency_ids": [competency.id],
                    "kind": "rubric_rating",
                    "observed_on": time.strftime("%Y-%m-%d"),
                    "recorded_by": ana.math_teacher_id,
                    "section_id": ana.math_section_id,
                    "score": {"value": score, "minimum": 1, "maximum": 4},
                    "comment": COMMENT,
                }
            ]
        )
    _wait(lambda: client.session_of(BLOCK, ana.student_id), "Ana placed in the flex block")
    _wait(
        lambda: any(guardian.email in p.read_text("utf-8", "replace") for p in mail.folder.glob("*.eml")),
        "an e-mail to Ana's guardian",
    )

    needles = needles_for(district.roster.users, {ana.student_id, guardian_id}, texts={"comment": COMMENT})
    assert any("email" in label for label in needles) and "comment" in needles
    # The scan finds them before the erasure: the guardian's address and the comment are where the design keeps them.
    before = [*scan_topics(bootstrap, needles)[1], *scan_databases(folder, needles)[2]]
    assert any(h.startswith("mosaic.people.v1") and "email" in h for h in before), before[:10]
    assert any(h.startswith("notify.db") and "email" in h for h in before), before[:10]
    assert any(h.startswith("evidence.db:evidence") and h.endswith("comment") for h in before), before[:10]
    assert not any(h.startswith(("mosaic.evidence.v1", "mosaic.reference.v1")) for h in before), before[:10]
    print(f"\nbefore the erasure: {len(before)} hits, e.g. {before[:3]}")

    for person in (ana.student_id, guardian_id):
        erased = client.http.post(client.url("evidence", f"/people/{person}/erasure"))
        assert erased.status_code == 201, erased.text
    time.sleep(1.5)  # past segment.ms, so the next record on each partition rolls the segment
    roll_people_segments(bootstrap)

    def clean() -> tuple | None:
        records, topic_hits = scan_topics(bootstrap, needles)
        tables, rows, row_hits = scan_databases(folder, needles)
        lines, log_hits = scan_logs(folder / "logs", needles)
        scan = (records, tables, rows, lines, topic_hits + row_hits + log_hits)
        clean.last = scan  # type: ignore[attr-defined]
        return scan if not scan[-1] else None

    try:
        records, tables, rows, lines, hits = _wait(clean, "no trace of the erased people", timeout=240)
    except AssertionError:
        pytest.fail(f"still readable after 240 s: {clean.last[-1][:20]}")  # type: ignore[attr-defined]
    print(
        f"\nerasure scan: {records} records on every topic, {rows} rows in {tables} tables, "
        f"{lines} log lines; needles {len(needles)}; hits {len(hits)}"
    )

    live = folder / "mastery.db"
    rebuilt = folder / "mastery-rebuilt.db"
    with sqlite3.connect(live) as source, sqlite3.connect(rebuilt) as target:
        source.backup(target)
    env = {
        **os.environ,
        "MOSAIC_MASTERY_DATABASE_URL": f"sqlite+aiosqlite:///{rebuilt}",
        "MOSAIC_MASTERY_CONSUMER_GROUP": "erasure-proof-rebuild",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
    }
    subprocess.run(
        [sys.executable, "-m", "mosaic_mastery.cli", "rebuild", "--no-progress"],
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    assert mastery_checksum(rebuilt, district.district_id) == mastery_checksum(live, district.district_id)
