"""The district generator: reproducible, readable by the service's own importers, and realistic."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest

from mosaic_dev.district_generator import EVIDENCE_COLUMNS, generate_district, write_district
from mosaic_events import decode, encode
from mosaic_evidence.bulk.reference_files import reference_view_from_files
from mosaic_evidence.bulk.rows import RowChecker
from mosaic_evidence.domain.framework import parse_case_json
from mosaic_evidence.domain.oneroster import read_bundle
from mosaic_evidence.domain.roster import plan_roster


@pytest.fixture(scope="module")
def small_district(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    district = generate_district(11, schools=2, students_per_school=40, weeks=4)
    out = tmp_path_factory.mktemp("district")
    write_district(district, out, envelopes=True)
    return district, out


@pytest.fixture(scope="module")
def year_of_evidence() -> tuple[object, list]:
    """Enough students and weeks for the learning curves to show."""
    district = generate_district(3, schools=1, students_per_school=150, weeks=16, evidence_per_week=6)
    return district, list(district.evidence())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_seed_writes_byte_identical_files(small_district, tmp_path: Path) -> None:
    _, first = small_district
    write_district(generate_district(11, schools=2, students_per_school=40, weeks=4), tmp_path, envelopes=True)
    assert _files(tmp_path) == _files(first)
    other = tmp_path / "other"
    write_district(generate_district(12, schools=2, students_per_school=40, weeks=4), other)
    assert (other / "evidence.csv").read_bytes() != (first / "evidence.csv").read_bytes()


def test_the_framework_reads_as_one_tree_with_progressions_and_dispositions(small_district) -> None:
    district, out = small_district
    framework = parse_case_json((out / "case.json").read_bytes())
    assert len(framework.competencies) == len(district.framework.items)
    by_code = {c.code: c for c in framework.competencies}
    assert by_code["6.RP.A.1"].statement == "Use ratio language to describe how two quantities are related."
    assert by_code["6.RP.A.1"].parent_id == by_code["6.RP.A"].id
    assert by_code["6.RP.A.1.LT1"].parent_id == by_code["6.RP.A.1"].id
    assert {"disposition", "learning target", "standard"} <= set(framework.kinds())
    assert by_code["HS.COL.1"].parent_id == by_code["HS.COL"].id
    counts = framework.association_counts
    assert counts["isChildOf"] == len(framework.competencies)
    assert counts["precedes"] >= 15 and counts["isPrerequisiteOf"] == 7


def test_the_roster_reads_with_the_oneroster_importer(small_district) -> None:
    _district, out = small_district
    files = {p.name: p.read_bytes() for p in (out / "oneroster").glob("*.csv")}
    bundle, problems = read_bundle(files)
    assert problems == []
    people = plan_roster(bundle, import_id="test").all_people()
    roles = Counter(p.role for p in people.values())
    assert roles["student"] == 80
    assert roles["teacher"] >= 4
    assert 80 <= roles["parent"] + roles["guardian"] <= 160
    for person in people.values():
        if person.role in ("parent", "guardian"):
            assert person.related_ids and all(people[s].role == "student" for s in person.related_ids)
            assert person.email and person.phone
            assert person.id in people[person.related_ids[0]].related_ids
    languages = Counter(p.preferred_language for p in people.values() if p.role in ("parent", "guardian"))
    assert languages["en"] > languages["es"] > 0 and len(languages) >= 3
    student_sections = Counter(e.get("userSourcedId") for e in bundle.live("enrollments") if e.get("role") == "student")
    assert set(student_sections.values()) == {2}


def test_every_generated_row_passes_the_services_recording_checks(small_district) -> None:
    district, out = small_district
    view = reference_view_from_files(district.district_id, out / "case.json", out / "oneroster")
    with (out / "evidence.csv").open(newline="", encoding="utf-8") as data:
        reader = csv.reader(data)
        header = next(reader)
        assert tuple(header) == EVIDENCE_COLUMNS
        checker = RowChecker(header, import_id="test", view=view)
        rejected = [(n, checker.check(n, row)) for n, row in enumerate(reader, 1)]
    rejected = [(n, reasons) for n, reasons in rejected if isinstance(reasons, list)]
    assert rejected == []


def test_envelopes_are_exactly_what_the_catalog_encodes(small_district) -> None:
    district, out = small_district
    lines = (out / "envelopes.jsonl").read_bytes().splitlines()
    assert len(lines) == sum(1 for _ in district.evidence())
    for line in lines[:500]:
        envelope = decode(line)
        assert envelope.type == "EvidenceRecorded" and envelope.district_id == district.district_id
        assert orjson.loads(line) == json.loads(encode(envelope))


def test_scores_fit_their_scale_and_kinds_are_mixed(year_of_evidence) -> None:
    _, rows = year_of_evidence
    assert all(r.scale_min <= r.score <= r.scale_max for r in rows)
    kinds = Counter(r.kind for r in rows)
    assert set(kinds) == {"assessment_score", "rubric_rating", "observation", "self_assessment"}
    assert all(r.recorded_by == r.student_id for r in rows if r.kind == "self_assessment")
    assert [r.observed_on for r in rows] == sorted(r.observed_on for r in rows)


def _normalized(row) -> float:
    return (row.score - row.scale_min) / (row.scale_max - row.scale_min)


def test_students_improve_on_what_they_are_taught(year_of_evidence) -> None:
    district, rows = year_of_evidence
    intro = district.intro_weeks()
    early, late = [], []
    for row in rows:
        weeks_taught = (row.observed_on - district.start).days // 7 - intro[row.competency_id]
        (early if weeks_taught == 0 else late if weeks_taught >= 6 else []).append(_normalized(row))
    assert statistics.mean(late) > statistics.mean(early) + 0.1


def test_students_start_apart_grow_apart_and_have_jagged_profiles(year_of_evidence) -> None:
    district, rows = year_of_evidence
    domain_of = {item.id: item.domain for item in district.framework.items}
    first_weeks, by_domain = defaultdict(list), defaultdict(lambda: defaultdict(list))
    for row in rows:
        if (row.observed_on - district.start).days < 14:
            first_weeks[row.student_id].append(_normalized(row))
        by_domain[row.student_id][domain_of[row.competency_id]].append(_normalized(row))
    starting_levels = [statistics.mean(v) for v in first_weeks.values() if len(v) >= 5]
    assert statistics.pstdev(starting_levels) > 0.1
    spreads = [
        max(means) - min(means)
        for domains in by_domain.values()
        if len(means := [statistics.mean(v) for v in domains.values() if len(v) >= 8]) >= 3
    ]
    assert statistics.median(spreads) > 0.2


def test_evidence_replays_identically_and_stops_at_max_rows() -> None:
    district = generate_district(5, schools=1, students_per_school=30, weeks=3, max_rows=100)
    first = list(district.evidence())
    assert len(first) == 100
    assert first == list(district.evidence())


def test_the_generate_command_writes_a_district(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mosaic_dev.cli import app

    result = CliRunner().invoke(
        app,
        [
            "generate-district",
            "--out",
            str(tmp_path),
            "--seed",
            "9",
            "--schools",
            "1",
            "--students-per-school",
            "25",
            "--weeks",
            "2",
            "--rows",
            "100",
            "--envelopes",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.json", "envelopes.jsonl", "evidence.csv", "oneroster"]
    assert len((tmp_path / "evidence.csv").read_text().splitlines()) == 101
    assert len((tmp_path / "envelopes.jsonl").read_bytes().splitlines()) == 100
