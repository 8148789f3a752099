"""Bulk import: rows are checked with reasons, every valid row lands once, and an interrupted import resumes."""

from __future__ import annotations

import csv
import itertools
import json
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from mosaic_dev.district_generator import EVIDENCE_COLUMNS, generate_district, write_district
from mosaic_events import decode, derived_event_id
from mosaic_events.topics import FOREVER, Topic
from mosaic_evidence.bulk import parsing
from mosaic_evidence.bulk.checkpoint import Checkpoint
from mosaic_evidence.bulk.envelope import EnvelopeEncoder
from mosaic_evidence.bulk.importer import ImportFailed, ImportOptions, ImportProgress, import_evidence
from mosaic_evidence.bulk.parsing import ParseJob, parse_rows
from mosaic_evidence.bulk.producer import import_producer_config
from mosaic_evidence.bulk.reference_files import reference_view_from_files
from mosaic_evidence.bulk.rows import HeaderError, RowChecker
from mosaic_evidence.bulk.topic import topic_partitions
from mosaic_evidence.domain.recording import evidence_id_for
from mosaic_runtime.topics_admin import ensure_topics

HEADER = list(EVIDENCE_COLUMNS)


@pytest.fixture(scope="module")
def district_files(tmp_path_factory: pytest.TempPathFactory):
    district = generate_district(21, schools=1, students_per_school=60, weeks=6)
    out = tmp_path_factory.mktemp("district")
    write_district(district, out)
    return district, out


@pytest.fixture(scope="module")
def view(district_files):
    district, out = district_files
    return reference_view_from_files(district.district_id, out / "case.json", out / "oneroster")


def _topic(bootstrap: str) -> str:
    name = f"test.evidence-import.{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, [Topic(name, "student", 3, FOREVER, "bulk import test")])
    return name


async def _read_topic(bootstrap: str, topic: str) -> list:
    partitions = await topic_partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                records += batch
                if batch[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def _evidence_rows(out: Path) -> list[list[str]]:
    with (out / "evidence.csv").open(newline="", encoding="utf-8") as data:
        return list(csv.reader(data))[1:]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _bad_rows(good: list[str], view) -> dict[str, list[str]]:
    """One row per way a row can be wrong, from a good row."""
    col = {name: i for i, name in enumerate(HEADER)}

    def changed(**values: str) -> list[str]:
        row = list(good)
        for name, value in values.items():
            row[col[name]] = value
        return row

    teacher = next(
        pid
        for pid, role in view.roles.items()
        if role == "teacher" and not view.sections_taught_by(pid) & view.sections_of_student(good[1])
    )
    return {
        "score": changed(score="5", scale_min="1", scale_max="4"),
        "observed_on": changed(observed_on="14/09/2026"),
        "kind": changed(kind="portfolio_artifact"),
        "student_id": changed(student_id="no-such-student"),
        "competency_id": changed(competency_id="9.ZZ.Z.9"),
        "recorded_by": changed(recorded_by=teacher, section_id=""),
        "scale_max": changed(scale_max="abc"),
    }


def test_a_header_without_required_columns_is_refused_by_name() -> None:
    with pytest.raises(HeaderError, match="observed_on"):
        RowChecker(["student_id", "competency_id", "kind", "recorded_by", "score", "scale_max"], import_id="x")


def test_each_bad_row_gets_a_reason_naming_its_column(district_files, view) -> None:
    _, out = district_files
    good = _evidence_rows(out)[0]
    checker = RowChecker(HEADER, import_id="x", view=view, today=date(2027, 6, 1))
    assert not isinstance(checker.check(1, good), list)
    for column, row in _bad_rows(good, view).items():
        reasons = checker.check(2, row)
        assert isinstance(reasons, list) and any(f"column {column!r}" in r for r in reasons), (column, reasons)
    assert checker.check(3, good[:-1]) == [f"row has {len(HEADER) - 1} fields but the header has {len(HEADER)}"]


def test_codes_resolve_to_competency_ids(district_files, view) -> None:
    district, out = district_files
    good = _evidence_rows(out)[0]
    code = next(i.code for i in district.framework.items if i.id == good[2])
    checked = RowChecker(HEADER, import_id="x", view=view).check(1, [*good[:2], code, *good[3:]])
    assert checked.competency_ids == (good[2],)


def test_the_fast_ids_equal_the_catalogs_derived_ids() -> None:
    encoder = EnvelopeEncoder(district_id="d-1", producer="test")
    for ref in ("row-1", "Ünïcode|ref", str(uuid.uuid4())):
        evidence_id = encoder.evidence_id(ref)
        assert evidence_id == evidence_id_for("d-1", "import", ref)
        assert encoder.event_id(evidence_id) == str(derived_event_id(evidence_id, "EvidenceRecorded"))


def test_the_fast_envelope_is_what_the_catalog_decodes() -> None:
    district = generate_district(4, schools=1, students_per_school=10, weeks=1)
    encoder = EnvelopeEncoder(district_id=district.district_id, producer="test")
    for row in district.evidence():
        envelope = decode(encoder.encode_row(row, school_id=None, recorded_at="2026-09-01T10:00:00Z"))
        assert envelope.data.source_ref == row.evidence_id and envelope.subject == row.student_id
        assert envelope.data.score.value == row.score and envelope.data.competency_ids == (row.competency_id,)


@pytest.mark.integration
async def test_an_import_sends_each_valid_row_once_and_writes_every_reject(
    kafka_bootstrap, district_files, view, tmp_path
) -> None:
    district, out = district_files
    rows = _evidence_rows(out)
    bad = _bad_rows(rows[0], view)
    mixed = rows[:300] + list(bad.values()) + rows[300:600]
    path = _write_csv(tmp_path / "evidence.csv", mixed)
    topic = _topic(kafka_bootstrap)
    options = ImportOptions(
        path=path,
        district_id=district.district_id,
        topic=topic,
        view=view,
        producer_config=import_producer_config(kafka_bootstrap),
    )
    summary = await import_evidence(options)
    assert (summary.rows, summary.accepted, summary.rejected) == (len(mixed), 600, len(bad))
    records = await _read_topic(kafka_bootstrap, topic)
    envelopes = [decode(r.value) for r in records]
    assert sorted(e.data.source_ref for e in envelopes) == sorted(r[0] for r in rows[:600])
    assert all(r.key.decode() == e.subject for r, e in zip(records, envelopes, strict=True))
    assert {e.school_id for e in envelopes} == {district.roster.schools[0].id}
    with options.rejects_file.open(newline="", encoding="utf-8") as rejects:
        header, *rejected = list(csv.reader(rejects))
    assert header == ["row", "line", "evidence_id", "student_id", "reasons"]
    assert [int(r[0]) for r in rejected] == list(range(301, 301 + len(bad)))
    assert all(f"column {column!r}" in r[4] for column, r in zip(bad, rejected, strict=True))
    with pytest.raises(ImportFailed, match="--resume"):
        await import_evidence(options)


@pytest.mark.integration
async def test_an_import_killed_midway_resumes_and_the_topic_holds_each_row_once(kafka_bootstrap, tmp_path) -> None:
    district = generate_district(22, schools=2, students_per_school=150, weeks=6, max_rows=8000)
    path = tmp_path / "evidence.csv"
    write_district(district, tmp_path)
    rows = _evidence_rows(tmp_path)
    assert len(rows) == 8000
    topic = _topic(kafka_bootstrap)
    options = ImportOptions(
        path=path,
        district_id=district.district_id,
        topic=topic,
        checkpoint_seconds=0,
        window=1000,
        producer_config=import_producer_config(kafka_bootstrap),
    )
    on_disk_at_row_6000: list[str] = []

    def kill_point(progress: ImportProgress) -> None:
        """What a process killed here leaves behind: the checkpoint as saved so far; the run itself goes on,
        as the producer's buffered batches do after a kill, putting later rows on the topic."""
        if progress.rows >= 6000 and not on_disk_at_row_6000:
            on_disk_at_row_6000.append(options.checkpoint_file.read_text())

    await import_evidence(options, kill_point)
    options.checkpoint_file.write_text(on_disk_at_row_6000[0])
    interrupted = Checkpoint.load(options.checkpoint_file)
    on_topic_before = len(await _read_topic(kafka_bootstrap, topic))
    assert 0 < interrupted.last_row < on_topic_before == 8000, "rows past the checkpoint are on the topic"
    summary = await import_evidence(replace(options, resume=True))
    assert summary.already_on_topic == on_topic_before - interrupted.last_row
    records = await _read_topic(kafka_bootstrap, topic)
    ids = [json.loads(r.value)["id"] for r in records]
    assert len(records) == len(set(ids)) == len(rows) == summary.accepted


def _merged(job, workers: int) -> list:
    """Rows as the importer takes them: chunk k from worker k % workers."""
    streams = [iter(parse_rows(replace(job, workers=workers), worker)) for worker in range(workers)]
    merged = []
    for number in itertools.count():
        chunk = next(streams[number % workers], None)
        if chunk is None:
            return merged
        merged += [(row, event_id, key, value) for row, event_id, key, value in chunk.valid_rows()]
        merged += [(row, None, tags, line[4]) for row, tags, line in chunk.rejected]


def test_parser_workers_together_yield_every_row_once_in_order(district_files, view, tmp_path, monkeypatch) -> None:
    district, out = district_files
    rows = _evidence_rows(out)[:200]
    bad = list(_bad_rows(rows[0], view).values())
    mixed = [
        row for index, good in enumerate(rows) for row in ([good, bad[index % len(bad)]] if index % 9 == 0 else [good])
    ]
    path = _write_csv(tmp_path / "evidence.csv", mixed)
    monkeypatch.setattr(parsing, "CHUNK_ROWS", 7)
    job = ParseJob(path, 30, "import-1", district.district_id, "test", "2026-09-01T00:00:00Z", view, None)
    single = sorted(_merged(job, 1), key=lambda r: r[0])
    assert [r[0] for r in single] == list(range(31, len(mixed) + 1))
    bad_positions = [number for number, row in enumerate(mixed, start=1) if number > 30 and row in bad]
    assert [r[0] for r in single if r[1] is None] == bad_positions
    for workers in (2, 3):
        merged = _merged(job, workers)
        assert sorted(merged, key=lambda r: r[0]) == single
        valid = [r[0] for r in merged if r[1] is not None]
        assert valid == sorted(valid)
