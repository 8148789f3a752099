"""The alert rules ship valid and do what their runbooks say: promtool checks and unit-tests them, and the
compose stack's Prometheus and Grafana load exactly these files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "prometheus" / "mosaic.rules.yml"
SERVICES = ("evidence", "mastery", "scheduling", "notify")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: `apt-get install prometheus` (Debian's package ships it; .ci/run does this)"
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=RULES.parent, timeout=120)


def test_promtool_accepts_the_rules() -> None:
    done = promtool("check", "rules", RULES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 16 rules found" in done.stdout, done.stdout


def test_every_alert_fires_on_its_case_and_not_on_its_look_alike() -> None:
    done = promtool("test", "rules", "mosaic.rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_is_unit_tested_and_has_a_runbook_section() -> None:
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((RULES.parent / "mosaic.rules.test.yml").read_text())["tests"]
    tested = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case.get("exp_alerts")}
    assert alerts == tested
    headings = {
        line[3:].strip() for line in (MONITORING / "RUNBOOK.md").read_text().splitlines() if line.startswith("## ")
    }
    assert alerts <= headings


def test_compose_prometheus_scrapes_every_service_and_grafana_gets_the_dashboards() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    config = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    jobs = {c["job_name"]: c["static_configs"][0]["targets"] for c in config["scrape_configs"]}
    assert jobs == {s: [f"{s}:8080"] for s in SERVICES}
    mounts = compose["prometheus"]["volumes"]
    assert "./deploy/monitoring/prometheus/mosaic.rules.yml:/etc/prometheus/mosaic.rules.yml:ro" in mounts
    assert config["rule_files"] == ["/etc/prometheus/mosaic.rules.yml"]
    provider = yaml.safe_load((MONITORING / "grafana/provisioning/dashboards/mosaic.yml").read_text())
    dashboards_dir = provider["providers"][0]["options"]["path"]
    assert f"./deploy/monitoring/grafana/dashboards:{dashboards_dir}:ro" in compose["grafana"]["volumes"]
    datasource = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for path in (MONITORING / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["datasource"]["uid"] == uid, (path.name, panel["title"])
