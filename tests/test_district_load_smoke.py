"""The district load harness (bench/district_load.py) at its smallest: one school, one replica of each service on
PostgreSQL, a broker of its own, one rate for a few seconds. Its report must account for every piece of evidence
offered, every accepted piece must have reached MasteryChanged, and the chart must be written. Figures of time
are only checked to be present, never against a bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mosaic_dev.pytest_plugin import POSTGRES_URL_VARIABLE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"needs PostgreSQL ({POSTGRES_URL_VARIABLE})"),
]

HARNESS = Path(__file__).resolve().parents[1] / "bench" / "district_load.py"
SERVICES = {"evidence", "mastery", "scheduling", "notify"}


def test_the_harness_runs_a_tiny_district_end_to_end_and_accounts_for_every_evidence(
    local_kafka, tmp_path: Path
) -> None:
    command = [
        sys.executable, str(HARNESS), "--students", "60", "--schools", "1", "--rates", "15", "--duration", "6",
        "--batch-size", "5", "--replicas", "evidence=1,mastery=1,scheduling=1,notify=1",
        "--bootstrap", local_kafka.bootstrap, "--out", str(tmp_path / "results"), "--drain-timeout", "600", "--quiet",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=1100)
    assert run.returncode == 0, f"the harness failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"

    [report_file] = (tmp_path / "results").glob("district_load-*.json")
    report = json.loads(report_file.read_text())
    assert report["district"]["students"] == 60 and report["district"]["schools"] == 1
    [rate] = report["rates"]
    assert rate["rate"] == 15
    assert rate["drained"], "the stack never caught up after the load"

    # Every offered piece of evidence is accounted for, once.
    assert rate["offered_evidence"] > 0 and rate["accepted_evidence"] > 0
    assert rate["offered_evidence"] == (
        rate["accepted_evidence"] + rate["refused_evidence"] + rate["failed_evidence"] + rate["unsent_evidence"]
    )
    assert rate["requests"] >= rate["accepted_requests"] + rate["refused_requests"]
    # Every accepted piece changed a level (the "latest" method, scores flipped), so each reached MasteryChanged.
    assert rate["evidence_reached_mastery"] == rate["accepted_evidence"]
    assert rate["post_to_201_ms"]["p50"] is not None and rate["post_to_mastery_changed_ms"]["p99"] is not None
    assert rate["post_to_201_ms"]["p50"] <= rate["post_to_201_ms"]["p95"] <= rate["post_to_201_ms"]["p99"]
    # Families heard of some of it, through the real SMTP server (each e-mail traced back to its MasteryChanged).
    assert rate["emails"] > 0 and rate["mastery_changed_to_email_ms"]["p50"] is not None

    assert set(rate["highest_lag"]) == SERVICES
    assert set(rate["cpu_seconds"]) >= SERVICES and rate["cpu_seconds"]["mastery"] > 0
    assert rate["cpu_seconds_per_1000_evidence"]["evidence"] > 0
    assert {s["phase"] for s in report["lag_samples"]} >= {"load", "drain"}

    chart = report_file.with_suffix(".png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
