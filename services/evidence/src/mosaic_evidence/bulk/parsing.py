"""Reading, checking and encoding rows in processes of their own, so it overlaps with producing.

The parent sends. Each of `workers` child processes reads the whole CSV but checks and encodes only
its own chunks (chunk k of CHUNK_ROWS rows belongs to worker k % workers), and hands them over
through a bounded queue (the bound is the backpressure); the parent takes chunk 0, 1, 2... from
the workers in turn, so rows reach the producer in file order. A worker exits when its parent is
gone, even after a SIGKILL.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import queue
import signal
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mosaic_evidence.bulk.envelope import EnvelopeEncoder, ValidEvidence
from mosaic_evidence.bulk.rows import HeaderError, RowChecker
from mosaic_evidence.domain.reference import ReferenceView

CHUNK_ROWS = 2000
QUEUE_CHUNKS = 16
PARENT_CHECK_SECONDS = 1.0

# A rejected row: (row, short reasons for the summary, the line for the rejects file).
RejectedRow = tuple[int, tuple[str, ...], list[str]]
EVENT_ID_LENGTH = 36


@dataclass(frozen=True)
class ParseJob:
    path: Path
    after_row: int
    import_id: str
    district_id: str
    producer: str
    recorded_at: str
    view: ReferenceView | None
    today: date | None
    workers: int = 1


@dataclass
class Chunk:
    """Up to CHUNK_ROWS consecutive rows, packed so the hand-over pickles a few buffers, not 10,000 objects."""

    rows: array = field(default_factory=lambda: array("q"))  # row numbers of the valid rows
    event_ids: bytearray = field(default_factory=bytearray)  # EVENT_ID_LENGTH ASCII bytes per valid row
    keys: bytearray = field(default_factory=bytearray)
    key_ends: array = field(default_factory=lambda: array("q"))
    values: bytearray = field(default_factory=bytearray)
    value_ends: array = field(default_factory=lambda: array("q"))
    rejected: list[RejectedRow] = field(default_factory=list)
    bytes_read: int = 0

    def add(self, row: int, event_id: str, key: bytes, value: bytes) -> None:
        self.rows.append(row)
        self.event_ids += event_id.encode()
        self.keys += key
        self.key_ends.append(len(self.keys))
        self.values += value
        self.value_ends.append(len(self.values))

    def valid_rows(self):
        """(row, event id, key, value) for each valid row, in order."""
        keys, values, ids = bytes(self.keys), bytes(self.values), self.event_ids.decode()
        key_start = value_start = 0
        for index, (row, key_end, value_end) in enumerate(zip(self.rows, self.key_ends, self.value_ends, strict=True)):
            yield (
                row,
                ids[index * EVENT_ID_LENGTH : (index + 1) * EVENT_ID_LENGTH],
                keys[key_start:key_end],
                values[value_start:value_end],
            )
            key_start, value_start = key_end, value_end

    def __len__(self) -> int:
        return len(self.rows) + len(self.rejected)


@dataclass(frozen=True)
class ParseFailed:
    kind: str  # "header" or "other"
    message: str


def parse_rows(job: ParseJob, worker: int = 0) -> Iterator[Chunk]:
    """This worker's chunks of the file, checked and encoded; rows up to `job.after_row` come out empty."""
    encoder = EnvelopeEncoder(district_id=job.district_id, producer=job.producer)
    schools: dict[str, str | None] = {}
    with job.path.open("rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        header = next(reader, None)
        if header is None:
            raise HeaderError(f"{job.path} is empty: it needs a header row")
        checker = RowChecker(header, import_id=job.import_id, view=job.view, today=job.today)
        evidence_at, student_at = checker.index.get("evidence_id"), checker.index["student_id"]
        rows = Chunk()
        current = -1
        for row_number, values in enumerate(reader, start=1):
            chunk = (row_number - 1) // CHUNK_ROWS
            if chunk != current:
                if current >= 0 and current % job.workers == worker:
                    rows.bytes_read = raw.tell()
                    yield rows
                current, rows = chunk, Chunk()
            if chunk % job.workers != worker or row_number <= job.after_row:
                continue
            checked = checker.check(row_number, values)
            if isinstance(checked, ValidEvidence):
                school = schools.get(checked.student_id, "")
                if school == "":
                    school = schools[checked.student_id] = _school(job.view, checked.student_id)
                event_id, value = encoder.envelope(checked, school_id=school, recorded_at=job.recorded_at)
                rows.add(row_number, event_id, checked.student_id.encode(), value)
            else:
                line = [
                    str(row_number),
                    str(reader.line_num),
                    _at(values, evidence_at),
                    _at(values, student_at),
                    "; ".join(checked),
                ]
                rows.rejected.append((row_number, tuple(reason.split(":")[0] for reason in checked), line))
        if current >= 0 and current % job.workers == worker:
            rows.bytes_read = raw.tell()
            yield rows


def _school(view: ReferenceView | None, student_id: str) -> str | None:
    return view.school_of_student(student_id) if view is not None else None


def _at(values: list[str], index: int | None) -> str:
    return values[index] if index is not None and index < len(values) else ""


Parser = tuple[multiprocessing.Process, multiprocessing.Queue]


def start_parsers(job: ParseJob) -> list[Parser]:
    """`job.workers` child processes, each filling its bounded queue with chunks, then None (or a ParseFailed)."""
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    parsers = []
    for worker in range(job.workers):
        chunks: multiprocessing.Queue = context.Queue(maxsize=QUEUE_CHUNKS)
        process = context.Process(
            target=_parse_into,
            args=(job, worker, chunks, os.getpid()),
            daemon=True,
            name=f"mosaic-evidence-parser-{worker}",
        )
        process.start()
        parsers.append((process, chunks))
    return parsers


def _parse_into(job: ParseJob, worker: int, chunks: multiprocessing.Queue, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the workers
    try:
        for chunk in parse_rows(job, worker):
            _put(chunks, chunk, parent)
        _put(chunks, None, parent)
    except HeaderError as exc:
        _put(chunks, ParseFailed("header", str(exc)), parent)
    except _ParentGone:
        return
    except Exception as exc:
        _put(chunks, ParseFailed("other", f"{type(exc).__name__}: {exc}"), parent)


class _ParentGone(Exception):
    pass


def _put(chunks: multiprocessing.Queue, item: object, parent: int) -> None:
    while True:
        try:
            chunks.put(item, timeout=PARENT_CHECK_SECONDS)
            return
        except queue.Full:
            if os.getppid() != parent:
                raise _ParentGone from None
