"""One recorded evidence is one trace, from the teacher's HTTP request to the family's email.

The four services run as real processes on a real broker and export their spans over OTLP to a
receiver this test runs; the family's email lands in a real SMTP server.
"""

from __future__ import annotations

import email
import secrets
import time
from collections.abc import Iterator
from email.policy import default as default_policy
from pathlib import Path

import pytest

from mosaic_dev.district_generator import District, generate_district
from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.kafka import free_port
from mosaic_dev.mailsink import MailSink
from mosaic_dev.privacy_scan import needles as needles_for
from mosaic_dev.privacy_scan import scan_logs, scan_spans
from mosaic_dev.scenario import DistrictClient, FlexBlockPlan, StackUrls, skill_group_sessions
from mosaic_dev.stack import (
    SERVICES,
    RunningService,
    ServiceSpec,
    service_env,
    start_service,
    stop_service,
    tracing_env,
    wait_until_ready,
)
from mosaic_dev.tracesink import ReceivedSpan, TraceSink

BLOCK = "e2e-flex"


@pytest.fixture
def stack(local_kafka, tmp_path: Path) -> Iterator[tuple[StackUrls, DevIdentityProvider, TraceSink, MailSink]]:
    """The four services on a broker of their own, so they start from clean topics."""
    from mosaic_runtime.topics_admin import ensure_topics

    kafka_bootstrap = local_kafka.bootstrap
    ensure_topics(kafka_bootstrap)
    idp = DevIdentityProvider(tmp_path)
    traces = TraceSink(port=0).start()
    mail = MailSink(tmp_path / "mail", smtp_port=free_port(), web_port=free_port()).start()
    specs = [ServiceSpec(s.name, free_port()) for s in SERVICES]
    quick = {
        "MOSAIC_MASTERY_OUTBOX_POLL_SECONDS": "0.1",
        "MOSAIC_SCHEDULING_OUTBOX_POLL_SECONDS": "0.1",
        "MOSAIC_NOTIFY_OUTBOX_POLL_SECONDS": "0.1",
        "MOSAIC_EVIDENCE_OUTBOX_POLL_SECONDS": "0.1",
        "MOSAIC_NOTIFY_DEFAULT_DAILY_INSTANT_CAP": "100",
    }  # the traced email must go at once, not in a digest
    running: list[RunningService] = []
    try:
        for spec in specs:
            env = service_env(
                spec,
                data_dir=tmp_path,
                bootstrap=kafka_bootstrap,
                jwks_file=idp.jwks_file,
                smtp_port=mail.smtp_port,
                extra={
                    **tracing_env(traces.endpoint, spec),
                    **quick,
                    f"{spec.prefix}CONSUMER_GROUP": f"e2e-{spec.name}-" + secrets.token_hex(3),
                },
            )
            running.append(start_service(spec, env, tmp_path / "logs"))
        for service in running:
            wait_until_ready(service, timeout=180)
        urls = StackUrls(**{s.name: s.url for s in specs})
        yield urls, idp, traces, mail
    finally:
        for service in running:
            stop_service(service)
        mail.stop()
        traces.stop()


def _guardian_of(district: District, student_id: str) -> str:
    return next(u.id for u in district.roster.users if u.role in ("guardian", "parent") and student_id in u.agent_ids)


def _wait(predicate, what: str, timeout: float = 600.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _evidence(student_id: str, competency_id: str, teacher_id: str, section_id: str, value: int) -> dict:
    return {
        "student_id": student_id,
        "competency_ids": [competency_id],
        "kind": "rubric_rating",
        "observed_on": time.strftime("%Y-%m-%d"),
        "recorded_by": teacher_id,
        "section_id": section_id,
        "score": {"value": value, "minimum": 1, "maximum": 4},
    }


def _ancestry(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain = [span]
    while chain[-1].parent_span_id in by_id:
        chain.append(by_id[chain[-1].parent_span_id])
    return chain


@pytest.mark.integration
def test_one_trace_from_http_evidence_to_the_family_email(stack) -> None:
    urls, idp, traces, mail = stack
    district = generate_district(secrets.randbelow(10**9), schools=1, students_per_school=6, weeks=1)
    admin = idp.token(district_id=district.district_id, user_id="e2e-admin", roles=("districtAdministrator",))
    client = DistrictClient(urls, district.district_id, admin, patience=600)
    client.import_framework(district.case_package())
    roster_dir = Path(mail.folder).parent / "roster"
    from mosaic_dev.district_generator.writers import write_oneroster

    write_oneroster(roster_dir, district.roster)
    client.import_roster(roster_dir)

    ana = district.roster.placements[0]
    competency = next(i for i in district.framework.items if i.assessable and not i.is_disposition)
    school_students = [p for p in district.roster.placements if p.math_section_id == ana.math_section_id]
    client.eventually(
        lambda: client.change_mastery_settings(
            method={"name": "latest"}, regroup_threshold=0.01, regroup_debounce_minutes=0
        ),
        "mastery settings",
    )
    client.follow_competencies(ana.math_section_id, [competency.id])
    sessions = skill_group_sessions(
        [(competency.id, competency.code)], len(school_students), [(ana.math_teacher_id, "Ana's math teacher")]
    )
    block = FlexBlockPlan(BLOCK, ana.school_id, "Thursday WIN", (ana.math_section_id,), sessions)
    client.eventually(lambda: client.define_flex_block(block), "the flex block")
    guardian = _guardian_of(district, ana.student_id)
    client.set_guardian_preferences(guardian, quiet_hours=None)

    # Ana starts low: the reteach group.
    client.record_evidence([_evidence(ana.student_id, competency.id, ana.math_teacher_id, ana.math_section_id, 1)])
    _wait(lambda: client.session_of(BLOCK, ana.student_id) == "reteach-0", "Ana in the reteach group")

    # The traced moment: a top rubric score moves her up, regroups the section and tells her guardian.
    trace_id = secrets.token_hex(16)
    teacher = idp.token(district_id=district.district_id, user_id=ana.math_teacher_id, roles=("teacher",))
    response = client.http.post(
        client.url("evidence", "/evidence"),
        json=_evidence(ana.student_id, competency.id, ana.math_teacher_id, ana.math_section_id, 4),
        headers={"Authorization": f"Bearer {teacher}", "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
    )
    assert response.status_code == 201, response.text
    _wait(lambda: client.session_of(BLOCK, ana.student_id) == "extend-0", "Ana in the extend group")

    def complete_trace() -> list[ReceivedSpan]:
        """The trace once the email's span is in and every span's parent has arrived (children end, and are
        exported, before their parents)."""
        spans = traces.traces().get(trace_id, [])
        by_id = {s.span_id: s for s in spans}
        regroup_email = any(
            s.name == "notify deliver" and any(a.name == "RegroupNeeded process" for a in _ancestry(s, by_id))
            for s in spans
        )
        roots = [s for s in spans if s.parent_span_id not in by_id]
        return spans if regroup_email and len(roots) == 1 else []

    spans = _wait(complete_trace, "the regroup's email in the evidence's trace, every parent present")
    by_id = {s.span_id: s for s in spans}
    services = {s.service for s in spans}
    assert {"mosaic-evidence", "mosaic-mastery", "mosaic-scheduling", "mosaic-notify"} <= services
    names = {s.name for s in spans}
    for hop in (
        "EvidenceRecorded process",
        "outbox publish MasteryChanged",
        "outbox publish RegroupNeeded",
        "RegroupNeeded process",
        "outbox publish SchedulePublished",
    ):
        assert hop in names, f"{hop!r} missing from the trace: {sorted(names)}"

    # Parent/child links are intact: the one span without a parent in the trace is the teacher's request.
    [root] = [s for s in spans if s.parent_span_id not in by_id]
    assert root.service == "mosaic-evidence" and root.name.startswith("POST"), root

    # The schedule email descends, hop by hop, from the HTTP request.
    schedule_emails = [
        s
        for s in spans
        if s.name == "notify deliver" and any(a.name == "RegroupNeeded process" for a in _ancestry(s, by_id))
    ]
    assert schedule_emails, "no email sent in consequence of the regroup"
    chain = [s.name for s in reversed(_ancestry(schedule_emails[0], by_id))]
    order = ["EvidenceRecorded process", "RegroupNeeded process", "notify deliver"]
    positions = [chain.index(name) for name in order]
    assert positions == sorted(positions), chain

    # No roster name, e-mail, phone or bearer token in any service's JSON log or any exported span.
    needles = needles_for(district.roster.users, tokens=(admin, teacher))
    log_lines, log_hits = scan_logs(Path(mail.folder).parent / "logs", needles)
    span_count, span_hits = scan_spans([s for trace in traces.traces().values() for s in trace], needles)
    assert log_lines and span_count and len(needles) > 50, (log_lines, span_count, len(needles))
    assert not log_hits and not span_hits, (log_hits[:10], span_hits[:10])
    assert any(h.endswith(f"{guardian} email") for h in scan_logs(mail.folder, needles)[1])  # the scan can see
    print(f"\nprivacy scan: {log_lines} log lines, {span_count} spans, {len(needles)} needles; hits 0")
    guardian_user = next(u for u in district.roster.users if u.id == guardian)

    # The email itself reached the SMTP server, to the guardian.
    received = [email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in mail.folder.glob("*.eml")]
    assert any(guardian_user.email in str(m["To"]) for m in received)
