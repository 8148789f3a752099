"""Evidence, mastery changes and group assignments flow through the real services into mosaic.analytics.v1,
pseudonymized: no roster name, e-mail, phone or real id in any field; a rotated key shows as a new key version;
`mosaic-analytics export` reads the stream into Parquet files whose row counts match the topic.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from mosaic_dev.district_generator import District, generate_district
from mosaic_dev.district_generator.writers import write_oneroster
from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.kafka import free_port
from mosaic_dev.scenario import DistrictClient, FlexBlockPlan, StackUrls, skill_group_sessions
from mosaic_dev.stack import RunningService, ServiceSpec, service_env, start_service, stop_service, wait_until_ready

ANALYTICS = "mosaic.analytics.v1"
BLOCK = "analytics-flex"
KEY_1 = "district-key-version-one-" + "a" * 16
KEY_2 = "district-key-version-two-" + "b" * 16


def _read_topic(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    """Every record of the topic up to its current end: (key, value, headers)."""

    async def read() -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            (description,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        partitions = [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
        assert partitions, f"{topic} has no partitions on {bootstrap}"
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            out = []
            remaining = {tp for tp in partitions if ends[tp] > 0}
            while remaining:
                for tp, records in (await consumer.getmany(*remaining, timeout_ms=500)).items():
                    out += [(r.key, r.value or b"", list(r.headers)) for r in records if r.offset < ends[tp]]
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
            return out
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _envelopes(bootstrap: str, district_id: str) -> list[dict[str, Any]]:
    """The district's records: other tests' districts share the broker, and analytics reads them too."""
    every = (json.loads(value) for _key, value, _headers in _read_topic(bootstrap, ANALYTICS))
    return [e for e in every if e["district_id"] == district_id]


def _settled(bootstrap: str, district_id: str, quiet_seconds: float = 3.0) -> None:
    """Wait until no new record of the district arrives for a while (a retraction's level change comes after it)."""
    seen = -1
    while (count := len(_envelopes(bootstrap, district_id))) != seen:
        seen = count
        time.sleep(quiet_seconds)


def _wait(predicate, what: str, timeout: float = 300.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}")


def _pseudonym(key: str, district_id: str, person_id: str) -> str:
    return hmac.new(key.encode(), f"{district_id}\x1f{person_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _personal_values(district: District) -> set[str]:
    """What the seeded roster says about people: names, usernames, e-mails, phones, and their real ids."""
    values: set[str] = set()
    for user in district.roster.users:
        values |= {
            user.given_name,
            user.family_name,
            f"{user.given_name} {user.family_name}",
            user.username,
            user.email,
            user.phone,
            user.sms,
            user.id,
            user.identifier,
        }
    return {v for v in values if v and v.strip()}


def _hits(text: str, values: set[str]) -> list[str]:
    """Personal values found in one string: as whole words (a name inside a hex pseudonym is chance, not a leak)."""
    return [v for v in values if re.search(rf"(?<![\w]){re.escape(v)}(?![\w])", text, flags=re.IGNORECASE)]


class Stack:
    def __init__(self, bootstrap: str, tmp_path: Path) -> None:
        self.bootstrap, self.tmp = bootstrap, tmp_path
        self.idp = DevIdentityProvider(tmp_path)
        self.running: dict[str, RunningService] = {}
        self.specs = {
            name: ServiceSpec(name, free_port()) for name in ("evidence", "mastery", "scheduling", "analytics")
        }
        self.run_id = secrets.token_hex(3)

    def start(self, name: str, extra: dict[str, str] | None = None) -> None:
        spec = self.specs[name]
        env = service_env(
            spec,
            data_dir=self.tmp,
            bootstrap=self.bootstrap,
            jwks_file=self.idp.jwks_file,
            extra={
                f"{spec.prefix}OUTBOX_POLL_SECONDS": "0.1",
                f"{spec.prefix}CONSUMER_GROUP": f"analytics-test-{name}-{self.run_id}",
                **(extra or {}),
            },
        )
        self.running[name] = start_service(spec, env, self.tmp / "logs")

    def stop(self, name: str) -> None:
        stop_service(self.running.pop(name))

    def urls(self) -> StackUrls:
        return StackUrls(**{n: s.url for n, s in self.specs.items() if n != "analytics"}, notify="http://127.0.0.1:9")


def _keys(*versions: str) -> dict[str, str]:
    return {
        "MOSAIC_ANALYTICS_PSEUDONYM_KEYS": json.dumps({"*": {str(i + 1): k for i, k in enumerate(versions)}}),
        "MOSAIC_ENVIRONMENT": "production",
    }


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(kafka_bootstrap, tmp_path)
    try:
        for name in ("evidence", "mastery", "scheduling"):
            stack.start(name)
        stack.start("analytics", _keys(KEY_1))
        for service in stack.running.values():
            wait_until_ready(service, timeout=240)
        yield stack
    finally:
        for name in list(stack.running):
            stack.stop(name)


def _evidence(
    student_id: str, competency_id: str, teacher_id: str, section_id: str, value: int, comment: str
) -> dict[str, Any]:
    return {
        "student_id": student_id,
        "competency_ids": [competency_id],
        "kind": "rubric_rating",
        "observed_on": time.strftime("%Y-%m-%d"),
        "recorded_by": teacher_id,
        "section_id": section_id,
        "score": {"value": value, "minimum": 1, "maximum": 4},
        "comment": comment,
    }


@pytest.mark.integration
def test_the_analytics_stream_is_pseudonymized_rotates_keys_and_exports_to_parquet(stack: Stack) -> None:
    district = generate_district(20261126, schools=1, students_per_school=6, weeks=1)
    d = district.district_id
    admin = stack.idp.token(district_id=d, user_id="analytics-admin", roles=("districtAdministrator",))
    client = DistrictClient(stack.urls(), d, admin, patience=300)
    client.import_framework(district.case_package())
    write_oneroster(stack.tmp / "roster", district.roster)
    client.import_roster(stack.tmp / "roster")

    ana = district.roster.placements[0]
    competency = next(i for i in district.framework.items if i.assessable and not i.is_disposition)
    classmates = [p for p in district.roster.placements if p.math_section_id == ana.math_section_id]
    teacher = next(u for u in district.roster.users if u.id == ana.math_teacher_id)
    client.eventually(
        lambda: client.change_mastery_settings(
            method={"name": "latest"}, regroup_threshold=0.01, regroup_debounce_minutes=0
        ),
        "mastery settings",
    )
    client.follow_competencies(ana.math_section_id, [competency.id])
    sessions = skill_group_sessions(
        [(competency.id, competency.code)],
        len(classmates),
        [(teacher.id, f"{teacher.given_name} {teacher.family_name}")],
    )
    client.eventually(
        lambda: client.define_flex_block(
            FlexBlockPlan(BLOCK, ana.school_id, "Thursday WIN", (ana.math_section_id,), sessions)
        ),
        "the flex block",
    )

    # Comments name the student and carry a guardian's contacts: the stream must drop them.
    users = {u.id: u for u in district.roster.users}
    guardian = next(
        u for u in district.roster.users if u.role in ("guardian", "parent") and ana.student_id in u.agent_ids
    )
    comments = []
    for index, placement in enumerate(classmates):
        student = users[placement.student_id]
        comments.append(
            f"{student.given_name} {student.family_name} needs help; call {guardian.phone} or write {guardian.email}"
        )
        client.record_evidence(
            [
                _evidence(
                    placement.student_id,
                    competency.id,
                    teacher.id,
                    placement.math_section_id,
                    1 + index % 2,
                    comments[-1],
                )
            ]
        )

    def by_type() -> Counter[str]:
        return Counter(e["type"] for e in _envelopes(stack.bootstrap, d))

    _wait(
        lambda: (
            (c := by_type())["LearningObserved"] >= len(classmates)
            and c["LevelChanged"] >= len(classmates)
            and c["GroupAssigned"] >= 1
        ),
        "evidence, mastery changes and group assignments in the analytics stream",
    )

    # Rotation: the district's key gets a version 2; what analytics publishes from now on carries it.
    stack.stop("analytics")
    stack.start("analytics", _keys(KEY_1, KEY_2))
    wait_until_ready(stack.running["analytics"], timeout=240)
    written = client.record_evidence(
        [_evidence(ana.student_id, competency.id, teacher.id, ana.math_section_id, 4, "Ana!")]
    )
    withdrawn_id = written["recorded"][0]["evidence_id"]
    _wait(
        lambda: any(
            e["data"]["key_version"] == 2 for e in _envelopes(stack.bootstrap, d) if e["type"] == "LearningObserved"
        ),
        "a record under key version 2",
    )
    _wait(
        lambda: any(
            e["data"]["key_version"] == 2 for e in _envelopes(stack.bootstrap, d) if e["type"] == "LevelChanged"
        ),
        "Ana's level change under key version 2",
    )
    # That evidence is withdrawn, with a reason naming her: the stream keeps only that it was withdrawn.
    ana_user = users[ana.student_id]
    comments.append(f"{ana_user.given_name} {ana_user.family_name} handed in a sibling's work")
    client.call("POST", "evidence", f"/evidence/{withdrawn_id}/retraction", json={"reason": comments[-1]})
    _wait(lambda: any(e["type"] == "LearningRetracted" for e in _envelopes(stack.bootstrap, d)), "the retraction")

    _settled(stack.bootstrap, d)
    records = _read_topic(stack.bootstrap, ANALYTICS)
    envelopes = [e for e in (json.loads(value) for _k, value, _h in records) if e["district_id"] == d]

    # No field of any record (nor its key or headers) holds a roster name, username, e-mail, phone or real id,
    # nor any comment text.
    personal = _personal_values(district) | set(comments)
    scanned = 0
    for key, value, headers in records:
        for text in [
            *(_strings(json.loads(value))),
            (key or b"").decode(),
            *(h.decode(errors="replace") for _n, h in headers),
        ]:
            scanned += 1
            assert not _hits(text, personal), f"personal data {_hits(text, personal)} in analytics record {value!r}"
    assert records and scanned > len(records)

    # The pseudonym is stable for a person within a key version, and a new version gives a new one.
    ana_v1, ana_v2 = _pseudonym(KEY_1, d, ana.student_id), _pseudonym(KEY_2, d, ana.student_id)
    learners = {(e["data"]["key_version"], e["data"]["learner"]) for e in envelopes}
    assert (1, ana_v1) in learners and (2, ana_v2) in learners and ana_v1 != ana_v2
    by_version_of_ana = {e["data"]["key_version"] for e in envelopes if e["data"]["learner"] in (ana_v1, ana_v2)}
    assert by_version_of_ana == {1, 2}
    v1_learners = {learner for version, learner in learners if version == 1}
    assert v1_learners <= {_pseudonym(KEY_1, d, p.student_id) for p in classmates}
    [retracted] = [e["data"] for e in envelopes if e["type"] == "LearningRetracted"]
    withdrawn = _pseudonym(KEY_2, d, f"evidence\x1f{withdrawn_id}")
    assert retracted["evidence"] == withdrawn and retracted["learner"] == ana_v2 and retracted["key_version"] == 2
    assert [e["data"]["evidence"] for e in envelopes if e["type"] == "LearningObserved"].count(withdrawn) == 1
    assert all(e["subject"] is None and e["causation_id"] is None and e["producer"] == "analytics" for e in envelopes)

    # The export reads the stream into Parquet, and again to the same files: row counts match the topic.
    import pyarrow.parquet as pq

    distinct = Counter(t for t, _id in {(e["type"], e["id"]) for e in envelopes})
    out = stack.tmp / "export"
    for _run in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "mosaic_analytics.cli", "export", str(out), "--bootstrap", stack.bootstrap],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        tables = {
            "learning_observed": "LearningObserved",
            "learning_corrected": "LearningCorrected",
            "learning_retracted": "LearningRetracted",
            "level_changed": "LevelChanged",
            "group_assigned": "GroupAssigned",
        }
        counts = {
            name: sum(row.get("district_id") == d for row in pq.read_table(out / f"{name}.parquet").to_pylist())
            for name in tables
        }
        assert counts == {name: distinct[event_type] for name, event_type in tables.items()}
    table = pq.read_table(out / "learning_observed.parquet").to_pylist()
    assert {row["learner"] for row in table} >= {ana_v1, ana_v2}
    print(f"analytics records: {len(records)} ({dict(distinct)}); strings scanned: {scanned}; exported: {counts}")
