"""Import a CSV of historical evidence into the evidence topic: streaming, batched, resumable.

Parser processes read the file one row at a time, check each row and encode its EvidenceRecorded
envelope (see parsing.py); this process hands them to one idempotent producer (acks=all) in
per-partition batches without waiting for each. A window of unsettled rows is tracked in file
order, and the checkpoint moves past a row only once the broker acknowledged it (or it was
rejected and its reasons written). Event ids derive from each row's evidence id, and a resume first reads back what
the interrupted run got onto the topic past its checkpoint, so every row lands exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import itertools
import os
import queue
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from mosaic_evidence.bulk.checkpoint import Checkpoint
from mosaic_evidence.bulk.envelope import EVENT_TYPE, EVENT_VERSION
from mosaic_evidence.bulk.parsing import Chunk, ParseFailed, ParseJob, Parser, start_parsers
from mosaic_evidence.bulk.rows import HeaderError
from mosaic_evidence.bulk.sender import BatchSender, OpenBatch
from mosaic_evidence.bulk.topic import already_on_topic, end_offsets, topic_partitions
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_runtime.kafka_security import security_of

PRODUCER_NAME = "mosaic-evidence/import"
HEADERS = [("type", EVENT_TYPE.encode()), ("version", str(EVENT_VERSION).encode())]
REJECT_COLUMNS = ("row", "line", "evidence_id", "student_id", "reasons")
SEND_EVERY_ROWS = 5000  # partly filled batches are handed to the producer at least this often

ProgressCallback = Callable[["ImportProgress"], None]


class ImportFailed(RuntimeError):
    """The import stopped; its checkpoint is saved and `--resume` continues it."""


@dataclass
class ImportOptions:
    path: Path
    district_id: str
    producer_config: dict[str, Any]
    topic: str = "mosaic.evidence.v1"
    checkpoint_path: Path | None = None
    rejects_path: Path | None = None
    resume: bool = False
    view: ReferenceView | None = None
    today: date | None = None
    window: int = 50_000  # rows sent but not yet acknowledged
    # processes reading, checking and encoding rows while this one sends: one per spare core
    parsers: int = field(default_factory=lambda: max(1, min(4, (os.cpu_count() or 2) - 1)))
    checkpoint_seconds: float = 1.0

    @property
    def checkpoint_file(self) -> Path:
        return self.checkpoint_path or self.path.with_name(self.path.name + ".checkpoint.json")

    @property
    def rejects_file(self) -> Path:
        return self.rejects_path or self.path.with_name(self.path.name + ".rejects.csv")


@dataclass
class ImportProgress:
    bytes_read: int
    total_bytes: int
    rows: int
    accepted: int
    rejected: int


@dataclass
class ImportSummary:
    import_id: str
    rows: int
    accepted: int
    rejected: int
    already_on_topic: int
    resumed_from_row: int
    seconds: float
    rejects_file: Path
    reasons: Counter = field(default_factory=Counter)

    @property
    def rows_per_second(self) -> float:
        return (self.rows - self.resumed_from_row) / self.seconds if self.seconds > 0 else 0.0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def import_evidence(options: ImportOptions, on_progress: ProgressCallback | None = None) -> ImportSummary:
    """Import `options.path`; returns the summary once every accepted row is acknowledged."""
    started = time.monotonic()
    import_id = file_sha256(options.path)
    checkpoint = _open_checkpoint(options, import_id)
    if checkpoint is not None and checkpoint.done:
        return _summary(checkpoint, options, started, Counter(), 0, checkpoint.last_row)
    bootstrap = options.producer_config["bootstrap_servers"]
    security = security_of(options.producer_config)
    present: set[str] = set()
    if checkpoint is None:
        checkpoint = Checkpoint(
            import_id,
            options.district_id,
            options.topic,
            scan_from=await end_offsets(bootstrap, options.topic, **security),
        )
        _start_rejects_file(options.rejects_file)
        checkpoint.rejects_bytes = options.rejects_file.stat().st_size
        checkpoint.save(options.checkpoint_file)
    else:
        present = await already_on_topic(bootstrap, options.topic, checkpoint.scan_from, **security)
        _truncate(options.rejects_file, checkpoint.rejects_bytes)
    run = _ImportRun(options, checkpoint, present, on_progress)
    await run.execute()
    return _summary(checkpoint, options, started, run.reasons, run.skipped_present, run.resumed_from)


def _open_checkpoint(options: ImportOptions, import_id: str) -> Checkpoint | None:
    path = options.checkpoint_file
    if not path.exists():
        return None
    checkpoint = Checkpoint.load(path)
    if not options.resume:
        raise ImportFailed(
            f"{path} holds the checkpoint of an earlier import of this file (row "
            f"{checkpoint.last_row}{', finished' if checkpoint.done else ''}); pass --resume to "
            "continue it, or delete the checkpoint to import again from the first row"
        )
    checkpoint.check_matches(import_id=import_id, district_id=options.district_id, topic=options.topic)
    return checkpoint


def _start_rejects_file(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as rejects:
        csv.writer(rejects).writerow(REJECT_COLUMNS)


def _truncate(path: Path, size: int) -> None:
    """Rejects past the checkpoint were not settled; they are written again when their rows are re-read."""
    with path.open("ab") as rejects:
        rejects.truncate(size)


def _summary(
    checkpoint: Checkpoint, options: ImportOptions, started: float, reasons: Counter, present: int, resumed_from: int
) -> ImportSummary:
    return ImportSummary(
        checkpoint.import_id,
        checkpoint.last_row,
        checkpoint.accepted,
        checkpoint.rejected,
        present,
        resumed_from,
        time.monotonic() - started,
        options.rejects_file,
        reasons,
    )


class _ImportRun:
    """One pass over the file from the checkpoint to the end.

    Rows are settled a batch at a time: batches are created in row order (a batch is opened by its
    first row), so every row before the oldest unacknowledged batch is either acknowledged, rejected
    or already on the topic. That row is the checkpoint.
    """

    def __init__(
        self, options: ImportOptions, checkpoint: Checkpoint, present: set[str], on_progress: ProgressCallback | None
    ) -> None:
        self.options = options
        self.checkpoint = checkpoint
        self.present = present
        self.on_progress = on_progress
        self.recorded_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        self.unwritten_rejects: deque[tuple[int, list[str]]] = deque()
        self.acknowledged: dict[int, deque[OpenBatch]] = defaultdict(deque)  # per partition, until settled
        self.reasons: Counter = Counter()
        self.skipped_present = 0
        self.resumed_from = checkpoint.last_row
        self.current_row = checkpoint.last_row
        self.last_saved = time.monotonic()

    async def execute(self) -> None:
        """The parsers start first, so reading and checking overlap the producer's connecting."""
        options, checkpoint = self.options, self.checkpoint
        parsers = start_parsers(
            ParseJob(
                options.path,
                checkpoint.last_row,
                checkpoint.import_id[:16],
                options.district_id,
                PRODUCER_NAME,
                self.recorded_at,
                options.view,
                options.today,
                options.parsers,
            )
        )
        try:
            await self._execute(parsers)
        finally:
            for process, _ in parsers:
                if process.is_alive():
                    process.kill()
                process.join()

    async def _execute(self, parsers: list[Parser]) -> None:
        partitions = await topic_partitions(
            self.options.producer_config["bootstrap_servers"],
            self.options.topic,
            **security_of(self.options.producer_config),
        )
        producer = AIOKafkaProducer(**self.options.producer_config)
        await producer.start()
        self.sender = BatchSender(producer, self.options.topic, [tp.partition for tp in partitions], HEADERS)
        with self.options.rejects_file.open("a", newline="", encoding="utf-8") as rejects:
            self.rejects = csv.writer(rejects)
            self.rejects_stream = rejects
            try:
                await self._send_chunks(parsers)
                await self.sender.send_open()
                await self._settle(wait_all=True)
                self.checkpoint.done = True
                self._save()
            except BaseException:
                await self._save_on_the_way_out(producer)
                raise
        await producer.stop()

    async def _send_chunks(self, parsers: list[Parser]) -> None:
        total = self.options.path.stat().st_size
        unsent_rows = 0
        for number in itertools.count():
            chunk = await asyncio.to_thread(_next_chunk, *parsers[number % len(parsers)])
            if chunk is None:
                break
            if isinstance(chunk, ParseFailed):
                raise (HeaderError if chunk.kind == "header" else ImportFailed)(chunk.message)
            await self._take(chunk)
            unsent_rows += len(chunk)
            if unsent_rows >= SEND_EVERY_ROWS:
                await self.sender.send_open()
                unsent_rows = 0
            await self._settle(wait_all=False)
            self._report(chunk.bytes_read, total)

    async def _take(self, chunk: Chunk) -> None:
        """Add a chunk's rows to batches, and keep its rejects for the rejects file."""
        present, sender = self.present, self.sender
        for row_number, tags, line in chunk.rejected:
            self.reasons.update(tags)
            self.unwritten_rejects.append((row_number, line))
        for row_number, event_id, key, value in chunk.valid_rows():
            if present and event_id in present:
                self.skipped_present += 1
                continue
            full = sender.add(row_number, key, value)
            if full is not None:
                await sender.send(full)
        if len(chunk):
            self.current_row = max(chunk.rows[-1] if chunk.rows else 0, chunk.rejected[-1][0] if chunk.rejected else 0)

    async def _settle(self, *, wait_all: bool) -> None:
        """Move the checkpoint as far as acknowledgements allow; wait for them when the window is full."""
        batches = self.sender.in_order
        while batches and (wait_all or self.current_row - self.checkpoint.last_row > self.options.window):
            head = batches[0]
            if not head.done():
                if head.future is None:
                    await self.sender.send_open()
                await asyncio.wait([head.future])
            self._settle_acknowledged()
        self._settle_acknowledged()
        if time.monotonic() - self.last_saved >= self.options.checkpoint_seconds:
            self._save()

    def _settle_acknowledged(self) -> None:
        batches, checkpoint = self.sender.in_order, self.checkpoint
        while batches and batches[0].done():
            batch = batches.popleft()
            error = batch.future.exception()
            if error is not None:
                batches.appendleft(batch)
                raise ImportFailed(
                    f"Kafka did not acknowledge rows {batch.first_row}..{batch.last_row}: {error}; "
                    "run again with --resume once the broker is back"
                )
            self.acknowledged[batch.partition].append(batch)
        settled = batches[0].first_row - 1 if batches else self.current_row
        while self.unwritten_rejects and self.unwritten_rejects[0][0] <= settled:
            self.rejects.writerow(self.unwritten_rejects.popleft()[1])
            checkpoint.rejected += 1
        for partition, acknowledged in self.acknowledged.items():
            while acknowledged:
                batch = acknowledged[0]
                base = batch.future.result().offset
                # Records of rows past the checkpoint start after the batches wholly before it.
                checkpoint.scan_from[partition] = base + batch.count if batch.last_row <= settled else base
                if batch.last_row > settled:
                    break
                acknowledged.popleft()
        checkpoint.last_row = max(checkpoint.last_row, settled)
        checkpoint.accepted = checkpoint.last_row - checkpoint.rejected

    def _save(self) -> None:
        self.rejects_stream.flush()
        self.checkpoint.rejects_bytes = self.rejects_stream.tell()
        self.checkpoint.save(self.options.checkpoint_file)
        self.last_saved = time.monotonic()

    async def _save_on_the_way_out(self, producer: AIOKafkaProducer) -> None:
        """Interrupted (Ctrl-C, broker gone): deliver what can be, record exactly how far we got."""
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(producer.stop(), timeout=30)
        with contextlib.suppress(ImportFailed):
            self._settle_acknowledged()  # rows in batches never handed over stay unsettled: resume re-sends them
        self._save()

    def _report(self, bytes_read: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(
                ImportProgress(bytes_read, total, self.current_row, self.checkpoint.accepted, self.checkpoint.rejected)
            )


def _next_chunk(process, chunks):
    """The parser's next chunk; a ParseFailed if it died without saying why."""
    while True:
        try:
            return chunks.get(timeout=1.0)
        except queue.Empty:
            if not process.is_alive():
                return ParseFailed("other", f"the row parser process exited unexpectedly (code {process.exitcode})")
