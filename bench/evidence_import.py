"""Benchmark: the bulk evidence import CLI against a bare aiokafka producer, same rows, same broker, same run.

    uv run python bench/evidence_import.py                 # 1,000,000 rows
    uv run python bench/evidence_import.py --rows 100000   # smaller

The broker is KAFKA_BOOTSTRAP_SERVERS (or --bootstrap), else a local one started for the run.
Both sides send EvidenceRecorded envelopes with the same producer settings (acks=all, idempotent,
linger and batch size from mosaic_runtime.kafka.producer_config) to fresh topics of 12 partitions.
The import runs as the real CLI (`mosaic-evidence import-evidence`, a separate process): it reads
the CSV, checks every row against the district's roster and framework, encodes and sends. The bare
producer only sends envelopes encoded before its clock starts, in per-partition batches (create_batch /
send_batch: the fastest way aiokafka offers, and what the import does); it runs before and after the
import, and the ratio compares the import with their mean. `--also-send-each` adds a bare producer
awaiting send() per record.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from mosaic_dev.district_generator import generate_district, write_district
from mosaic_events.topics import FOREVER, Topic
from mosaic_evidence.bulk.envelope import EnvelopeEncoder
from mosaic_evidence.bulk.importer import HEADERS
from mosaic_evidence.bulk.producer import import_producer_config
from mosaic_evidence.bulk.rows import RowChecker
from mosaic_runtime.topics_admin import ensure_topics

PARTITIONS = 12
WEEKS = 36
EVIDENCE_PER_WEEK = 5.0
LAST_SCHOOL_YEAR = date(2025, 8, 18)  # historical evidence: the whole year lies before today


def district_for(rows: int, seed: int):
    """A district big enough to give `rows` rows of evidence over a school year."""
    students = math.ceil(rows / (WEEKS * EVIDENCE_PER_WEEK) * 1.1)
    schools = max(1, min(12, students // 400))
    return generate_district(
        seed,
        schools=schools,
        students_per_school=math.ceil(students / schools),
        weeks=WEEKS,
        evidence_per_week=EVIDENCE_PER_WEEK,
        start=LAST_SCHOOL_YEAR,
        max_rows=rows,
    )


def fresh_topic(bootstrap: str, label: str) -> str:
    name = f"bench.evidence-{label}.{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [Topic(name, "student", PARTITIONS, FOREVER, "benchmark")])
    return name


def encoded_rows(csv_path: Path, district_id: str) -> list[tuple[bytes, bytes]]:
    """(key, envelope) for every row, encoded the way the import encodes them; done before the clock starts."""
    encoder = EnvelopeEncoder(district_id=district_id, producer="bench/bare")
    out = []
    with csv_path.open(newline="", encoding="utf-8") as data:
        reader = csv.reader(data)
        checker = RowChecker(next(reader), import_id="bench")
        for number, values in enumerate(reader, start=1):
            item = checker.check(number, values)
            _, value = encoder.envelope(item, school_id=None, recorded_at="2027-01-01T00:00:00Z")
            out.append((item.student_id.encode(), value))
    return out


async def bare_send_each(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Seconds for a bare idempotent acks=all producer, one send() per record, batched by linger."""
    producer = AIOKafkaProducer(**import_producer_config(bootstrap, client_id="bench-bare"))
    await producer.start()
    try:
        started = time.perf_counter()
        futures = []
        for key, value in records:
            futures.append(await producer.send(topic, value=value, key=key, headers=HEADERS))
            if len(futures) >= 50_000:
                await asyncio.gather(*futures)
                futures.clear()
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def bare_send_batches(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Seconds for the same producer filling per-partition batches itself (create_batch / send_batch)."""
    producer = AIOKafkaProducer(**import_producer_config(bootstrap, client_id="bench-bare-batches"))
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        partitioner, partition_of = DefaultPartitioner(), {}
        started = time.perf_counter()
        batches, futures = {}, []
        for key, value in records:
            partition = partition_of.get(key)
            if partition is None:
                partition = partition_of[key] = partitioner(key, partitions, partitions)
            batch = batches.get(partition) or batches.setdefault(partition, producer.create_batch())
            if batch.append(timestamp=None, key=key, value=value, headers=HEADERS) is None:
                batch.close()
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                batch.append(timestamp=None, key=key, value=value, headers=HEADERS)
        for partition, batch in batches.items():
            batch.close()
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def cli_import(bootstrap: str, topic: str, out: Path, district_id: str) -> tuple[float, str]:
    """Seconds for the real CLI process, start to exit, and its summary."""
    command = [
        sys.executable,
        "-m",
        "mosaic_evidence.cli",
        "import-evidence",
        str(out / "evidence.csv"),
        "--district",
        district_id,
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--framework",
        str(out / "case.json"),
        "--roster",
        str(out / "oneroster"),
        "--no-progress",
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"the import failed ({result.returncode}): {result.stderr}{result.stdout}")
    return seconds, result.stdout


@contextlib.contextmanager
def broker(bootstrap: str | None):
    if bootstrap:
        yield bootstrap
        return
    from mosaic_dev.kafka import LocalKafka

    with LocalKafka() as local:
        yield local.bootstrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object too")
    parser.add_argument(
        "--also-send-each", action="store_true", help="also time a bare producer awaiting send() per record (slow)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as folder, broker(args.bootstrap) as bootstrap:
        out = Path(folder)
        started = time.perf_counter()
        district = district_for(args.rows, args.seed)
        counts = write_district(district, out)
        print(
            f"generated {counts['evidence']:,} rows ({len(district.roster.placements):,} students, "
            f"{(out / 'evidence.csv').stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        records = encoded_rows(out / "evidence.csv", district.district_id)
        each_seconds = None
        if args.also_send_each:
            each_seconds = asyncio.run(bare_send_each(bootstrap, fresh_topic(bootstrap, "bare-each"), records))
        # The machine is shared: the bare producer runs before and after the import, and the import is
        # compared with their mean.
        batch_before = asyncio.run(bare_send_batches(bootstrap, fresh_topic(bootstrap, "bare-batch"), records))
        import_seconds, summary = cli_import(bootstrap, fresh_topic(bootstrap, "import"), out, district.district_id)
        batch_after = asyncio.run(bare_send_batches(bootstrap, fresh_topic(bootstrap, "bare-batch"), records))
        del records
    rows = counts["evidence"]
    bare_rate = (rows / batch_before + rows / batch_after) / 2
    import_rate = rows / import_seconds
    figures = {
        "rows": rows,
        "bare_batch_rows_per_s_before": rows / batch_before,
        "bare_batch_rows_per_s_after": rows / batch_after,
        "import_rows_per_s": import_rate,
        "ratio": import_rate / bare_rate,
        "import_seconds": import_seconds,
    }
    print(summary)
    if each_seconds is not None:
        figures["bare_send_each_rows_per_s"] = rows / each_seconds
        print(f"bare aiokafka, send() per record      : {rows / each_seconds:>9,.0f} rows/s ({each_seconds:.1f} s)")
    print(f"bare aiokafka, batched sends (before) : {rows / batch_before:>9,.0f} rows/s ({batch_before:.1f} s)")
    print(
        f"mosaic-evidence import-evidence (CLI) : {import_rate:>9,.0f} rows/s ({import_seconds:.1f} s "
        "for the whole process: start-up, hashing, roster and framework parsing, checks, encoding, sending)"
    )
    print(f"bare aiokafka, batched sends (after)  : {rows / batch_after:>9,.0f} rows/s ({batch_after:.1f} s)")
    print(f"ratio import / mean bare              : {figures['ratio']:.2f} (target >= 0.5)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
