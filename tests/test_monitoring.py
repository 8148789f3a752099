"""The dashboards and alerts answer with data from the stack running for real.

The four services run as processes on the session's broker; a real Prometheus (Debian's binary) scrapes
them every second with Mosaic's rules loaded. A district goes through the whole flow (evidence in, mastery,
regroup, a family email) and a few unreadable records reach a DLQ; then every dashboard panel's query,
every recorded signal and every alert condition answers, and every metric they name is exported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from mosaic_dev.district_generator import generate_district
from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.kafka import free_port
from mosaic_dev.mailsink import MailSink
from mosaic_dev.scenario import DistrictClient, FlexBlockPlan, StackUrls, skill_group_sessions
from mosaic_dev.stack import (
    SERVICES,
    RunningService,
    ServiceSpec,
    service_env,
    start_service,
    stop_service,
    wait_until_ready,
)

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "prometheus" / "mosaic.rules.yml"
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
PATIENCE = 420.0


@dataclass
class Monitored:
    urls: StackUrls
    idp: DevIdentityProvider
    mail: MailSink
    prometheus: str
    services: list[RunningService]
    bootstrap: str


def _start_prometheus(folder: Path, targets: dict[str, int]) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: `apt-get install prometheus` (Debian's package; .ci/run does this)"
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]} for job, port in targets.items()
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (folder / "prometheus.log").open("ab")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: process.poll() is None and _answers(f"{url}/-/ready"), "Prometheus ready", 60)
    return process, url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def monitored(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Monitored]:
    idp = DevIdentityProvider(tmp_path)
    mail = MailSink(tmp_path / "mail", smtp_port=free_port(), web_port=free_port()).start()
    specs = [ServiceSpec(s.name, free_port()) for s in SERVICES]
    running: list[RunningService] = []
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        for spec in specs:
            extra = {
                f"{spec.prefix}OUTBOX_POLL_SECONDS": "0.1",
                f"{spec.prefix}CONSUMER_GROUP": f"monitoring-{spec.name}-{secrets.token_hex(3)}",
            }
            env = service_env(
                spec,
                data_dir=tmp_path,
                bootstrap=kafka_bootstrap,
                jwks_file=idp.jwks_file,
                smtp_port=mail.smtp_port,
                extra=extra,
            )
            running.append(start_service(spec, env, tmp_path / "logs"))
        for service in running:
            wait_until_ready(service, timeout=180)
        prometheus, url = _start_prometheus(tmp_path / "prometheus", {s.name: s.port for s in specs})
        yield Monitored(StackUrls(**{s.name: s.url for s in specs}), idp, mail, url, running, kafka_bootstrap)
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(30)
        for service in running:
            stop_service(service)
        mail.stop()


def _wait(predicate: Callable[[], Any], what: str, timeout: float = PATIENCE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(1.0)
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


def _run_the_flow(stack: Monitored, roster_dir: Path) -> Callable[[int], None]:
    """A district's day: framework, roster, a flex block, evidence that regroups a student, a family email."""
    from mosaic_dev.district_generator.writers import write_oneroster

    district = generate_district(secrets.randbelow(10**9), schools=1, students_per_school=6, weeks=1)
    admin = stack.idp.token(district_id=district.district_id, user_id="ops-admin", roles=("districtAdministrator",))
    client = DistrictClient(stack.urls, district.district_id, admin, patience=PATIENCE)
    client.import_framework(district.case_package())
    write_oneroster(roster_dir, district.roster)
    client.import_roster(roster_dir)
    ana = district.roster.placements[0]
    competency = next(i for i in district.framework.items if i.assessable and not i.is_disposition)
    cohort = [p for p in district.roster.placements if p.math_section_id == ana.math_section_id]
    client.eventually(
        lambda: client.change_mastery_settings(
            method={"name": "latest"}, regroup_threshold=0.01, regroup_debounce_minutes=0
        ),
        "mastery settings",
    )
    client.follow_competencies(ana.math_section_id, [competency.id])
    sessions = skill_group_sessions(
        [(competency.id, competency.code)], len(cohort), [(ana.math_teacher_id, "Ana's math teacher")]
    )
    block = FlexBlockPlan("ops-flex", ana.school_id, "Thursday WIN", (ana.math_section_id,), sessions)
    client.eventually(lambda: client.define_flex_block(block), "the flex block")
    guardian = next(
        u.id for u in district.roster.users if u.role in ("guardian", "parent") and ana.student_id in u.agent_ids
    )
    client.set_guardian_preferences(guardian, quiet_hours=None)
    client.record_evidence([_evidence(ana.student_id, competency.id, ana.math_teacher_id, ana.math_section_id, 1)])
    _wait(lambda: client.session_of(block.block_id, ana.student_id) == "reteach-0", "Ana in the reteach group")
    client.record_evidence([_evidence(ana.student_id, competency.id, ana.math_teacher_id, ana.math_section_id, 4)])
    _wait(lambda: client.session_of(block.block_id, ana.student_id) == "extend-0", "Ana in the extend group")

    def score_the_cohort(value: int) -> None:
        client.record_evidence(
            [_evidence(p.student_id, competency.id, p.math_teacher_id, p.math_section_id, value) for p in cohort]
        )

    return score_the_cohort


def _a_busy_minute(score_the_cohort: Callable[[int], None], seconds: float) -> None:
    """Teachers keep scoring for a while, so the rates and latencies have a shape to draw."""
    deadline, value = time.monotonic() + seconds, 1
    while time.monotonic() < deadline:
        score_the_cohort(value)
        value = value % 4 + 1
        time.sleep(1.0)


def _send_unreadable_records(bootstrap: str) -> None:
    """Bad JSON and an unknown type on the evidence topic: mastery dead-letters both and carries on."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send("mosaic.evidence.v1", key=b"ops-student", value=b"{not json")
        unknown = {"type": "EvidenceTeleported", "version": 1, "data": {}}
        producer.send("mosaic.evidence.v1", key=b"ops-student", value=json.dumps(unknown).encode())
        producer.flush(30)
    finally:
        producer.close()


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=30)
    assert response.status_code == 200, f"Prometheus refused {expr!r}: {response.text}"
    return response.json()["data"]["result"]


def dashboard_queries() -> dict[str, str]:
    """Every panel query of every dashboard, named by dashboard, panel and refId."""
    queries = {}
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                queries[f"{path.stem} / {panel['title']} / {target['refId']}"] = target["expr"]
    return queries


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def as_bool(expr: str) -> str:
    """An alert's condition with each comparison answering 0/1 for every series it watches (`> bool N`)."""
    return re.sub(r"(==|!=|>=|<=|>|<)\s*(-?[0-9.]+)", r"\1 bool \2", expr)


def named_metrics(expr: str) -> set[str]:
    """Raw metric names an expression reads (recorded `mosaic:` signals and Prometheus's own `up` aside)."""
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    return set(re.findall(r"\bmosaic_[a-z0-9_]+\b", without_labels))


def exported_samples(urls: StackUrls) -> set[str]:
    names: set[str] = set()
    for name in ("evidence", "mastery", "scheduling", "notify"):
        text = httpx.get(f"{getattr(urls, name)}/metrics", timeout=10).text
        names |= {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    return names


def _render_two_panels(prometheus: str, out: Path) -> int:
    spec = importlib.util.spec_from_file_location("render_panels", MONITORING / "render_panels.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render(prometheus, ["Evidence in", "Mastery latency (p95, recorded → applied)"], out, seconds=900)


@pytest.mark.integration
def test_every_panel_and_rule_answers_from_the_running_stack(monitored: Monitored, tmp_path: Path) -> None:
    score_the_cohort = _run_the_flow(monitored, tmp_path / "roster")
    _a_busy_minute(score_the_cohort, float(os.environ.get("MOSAIC_MONITORING_BUSY_SECONDS", "15")))
    # Prometheus holds the dead-letter counters at 0 before the letters: the first one is then an increase.
    _wait(
        lambda: _query(monitored.prometheus, 'mosaic_events_dead_lettered_total{job="mastery"} == 0'),
        "mastery's dead-letter counters scraped at 0",
        timeout=60,
    )
    _send_unreadable_records(monitored.bootstrap)

    # The flow's family email is a delivery on notify's /metrics.
    _wait(lambda: "mosaic_deliveries_total" in exported_samples(monitored.urls), "a delivery counted")

    queries = dashboard_queries()
    recorded = {r["record"]: r["expr"] for r in rules() if "record" in r}
    alerts = {r["alert"]: r["expr"] for r in rules() if "alert" in r}
    asked = {
        **{f"panel {k}": v for k, v in queries.items()},
        **{f"recorded {k}": k for k in recorded},
        **{f"recording rule {k}": v for k, v in recorded.items()},
        **{f"alert {k} (as bool)": as_bool(v) for k, v in alerts.items()},
    }

    def empty() -> list[str]:
        return [name for name, expr in asked.items() if not _query(monitored.prometheus, expr)]

    def all_answered() -> bool:
        return not empty()

    try:
        _wait(all_answered, "every query to answer", timeout=240)
    except AssertionError:
        pytest.fail(f"no data for: {empty()}")

    # The dead letters sent above fire the alert, with their reasons.
    try:
        firing = _wait(
            lambda: _query(monitored.prometheus, 'ALERTS{alertname="MosaicDeadLetter",alertstate="firing"}'),
            "MosaicDeadLetter firing",
            timeout=120,
        )
    except AssertionError:
        counted = _query(monitored.prometheus, "mosaic_events_dead_lettered_total > 0")
        log = next(s for s in monitored.services if s.spec.name == "mastery").log_file.read_text()[-3000:]
        pytest.fail(f"MosaicDeadLetter did not fire; dead letters counted: {counted}; mastery's log ends:\n{log}")
    assert {"malformed", "unknown-type"} <= {a["metric"]["reason"] for a in firing}, firing
    # A healthy stack pages for nothing else.
    others = _query(monitored.prometheus, 'ALERTS{alertname!="MosaicDeadLetter",alertstate="firing"}')
    assert not others, others
    ready = _query(monitored.prometheus, "mosaic_ready")
    assert sorted(r["metric"]["job"] for r in ready if r["value"][1] == "1") == sorted(s.name for s in SERVICES)

    # Every metric a dashboard or rule names is exported by a running service; every recorded signal a
    # dashboard reads is defined by a rule.
    exported = exported_samples(monitored.urls)
    exprs = [*queries.values(), *recorded.values(), *alerts.values()]
    named = set().union(*(named_metrics(e) for e in exprs))
    assert named - exported == set(), f"named but not exported: {sorted(named - exported)}"
    signals = set().union(*(re.findall(r"\bmosaic:[a-z0-9_:]+", e) for e in exprs))
    assert signals <= set(recorded), sorted(signals - set(recorded))

    report = {
        name: [(r["metric"], r["value"][1]) for r in _query(monitored.prometheus, expr)] for name, expr in asked.items()
    }
    (tmp_path / "answers.json").write_text(json.dumps(report, indent=1))
    if target := os.environ.get("MOSAIC_MONITORING_REPORT_DIR"):  # for a review: the answers and a chart
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "answers.json", Path(target) / "answers.json")
    chart = Path(os.environ.get("MOSAIC_MONITORING_REPORT_DIR", tmp_path)) / "panels.png"
    assert _render_two_panels(monitored.prometheus, chart) >= 2
    assert chart.stat().st_size > 10_000
