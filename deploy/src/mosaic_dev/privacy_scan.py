"""What must not be readable, and scans for it: every topic, table, log line and exported span.

The erasure proof looks for the erased people; the end-to-end test for every person on the roster and the
bearer tokens it used. A hit is a label and where it was found."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

Needles = dict[str, re.Pattern[str]]


class Person(Protocol):
    id: str
    given_name: str
    family_name: str
    email: str
    phone: str
    sms: str


def needles(
    users: Iterable[Person],
    wanted: set[str] | None = None,
    *,
    texts: dict[str, str] | None = None,
    tokens: Iterable[str] = (),
) -> Needles:
    """Contacts of the `wanted` people (default everyone) always; a name where no one left out shares it; each
    text as it is; each bearer token whole and by its signature (a token cut short still leaks it)."""
    users = list(users)
    wanted = {u.id for u in users} if wanted is None else wanted
    taken = {n for u in users if u.id not in wanted for n in (u.given_name, u.family_name)}
    found: Needles = {label: re.compile(re.escape(text)) for label, text in (texts or {}).items()}
    for user in (u for u in users if u.id in wanted):
        for label, value in (("email", user.email), ("phone", user.phone), ("sms", user.sms)):
            if value:
                found[f"{user.id} {label}"] = re.compile(re.escape(value))
                digits = re.sub(r"\D", "", value)
                if label != "email" and len(digits) >= 7:
                    found[f"{user.id} {label} digits"] = re.compile(rf"(?<!\d){digits}(?!\d)")
        for label, value in (("given name", user.given_name), ("family name", user.family_name)):
            if value and value not in taken:
                found[f"{user.id} {label}"] = re.compile(rf"\b{re.escape(value)}\b")
    for n, token in enumerate(tokens):
        found[f"bearer token {n}"] = re.compile(re.escape(token))
        found[f"bearer token {n} signature"] = re.compile(re.escape(token.rsplit(".", 1)[-1]))
    return found


def hits(text: str, needles: Needles) -> list[str]:
    return [label for label, pattern in needles.items() if pattern.search(text)]


def scan_topics(bootstrap: str, needles: Needles) -> tuple[int, list[str]]:
    """Every record of every topic (dead-letter topics too) from offset 0: key, value and headers."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [
            TopicPartition(t, p)
            for t in consumer.topics()
            if not t.startswith("__")
            for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records, found = 0, []
        pending = {tp for tp in partitions if ends[tp] > consumer.position(tp)}
        while pending:
            for tp, batch in consumer.poll(timeout_ms=1000, max_records=5000).items():
                for record in batch:
                    records += 1
                    text = b" ".join(
                        [record.key or b"", record.value or b"", *(v or b"" for _, v in record.headers)]
                    ).decode("utf-8", "replace")
                    found += [f"{tp.topic}[{tp.partition}]@{record.offset}: {h}" for h in hits(text, needles)]
                if consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return records, found
    finally:
        consumer.close()


def scan_databases(folder: Path, needles: Needles) -> tuple[int, int, list[str]]:
    """Every row of every table of every service's SQLite database."""
    tables = rows = 0
    found: list[str] = []
    for path in sorted(folder.glob("*.db")):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                tables += 1
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    rows += 1
                    found += [f"{path.name}:{table}: {h}" for h in hits(" ".join(map(str, row)), needles)]
    return tables, rows, found


def scan_logs(folder: Path, needles: Needles) -> tuple[int, list[str]]:
    """Every line of every file under `folder` (the services' JSON logs)."""
    lines, found = 0, []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), start=1):
                lines += 1
                found += [f"{path.name}:{number}: {h}" for h in hits(line, needles)]
    return lines, found


class Span(Protocol):
    service: str
    name: str
    attributes: dict[str, Any]


def scan_spans(spans: Iterable[Span], needles: Needles) -> tuple[int, list[str]]:
    """Every exported span's name and attribute values."""
    count, found = 0, []
    for span in spans:
        count += 1
        text = " ".join([span.name, *(f"{k}={v}" for k, v in span.attributes.items())])
        found += [f"{span.service} {span.name!r}: {h}" for h in hits(text, needles)]
    return count, found
