"""A district under a school day's load: the whole stack, with replicas, on PostgreSQL and a real broker.

    uv run python bench/district_load.py --postgres-url postgresql://postgres@127.0.0.1:5432/postgres
    uv run python bench/district_load.py --students 2000 --schools 4 --rates 50,200 --duration 30

A generated district (`mosaic_dev.district_generator`) is loaded through the APIs; then, per rate, teachers post
single evidence and batches over HTTP, open-loop (Poisson arrivals at the chosen evidence/s, whatever the answers),
for the chosen time, and the stack is drained before the next rate. Mastery uses the "latest" method and each
student×competency alternates between the scale's ends, so every accepted evidence changes a level: its
MasteryChanged is found on mosaic.mastery.v1 by causation id, its family e-mail through FamilyNotified's causes and
the SMTP server's own accept time (aiosmtpd, a process of its own). Lag is the broker's end offset minus each
group's stored positions (the chassis' position table), sampled every second; CPU is psutil's user + system time of
every child process. Results: a table, bench/results/district_load-<when>.json and a PNG of latency and lag.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVICES = ("evidence", "mastery", "scheduling", "notify")
DEFAULT_REPLICAS = {"evidence": 1, "mastery": 3, "scheduling": 2, "notify": 2}
REFUSED = (429, 503)
LAG_EVERY_SECONDS = 1.0
ANSWER_TIMEOUT_SECONDS = 600.0


@dataclass
class Options:
    students: int = 20_000
    schools: int = 40
    rates: tuple[float, ...] = (50.0, 200.0, 500.0)
    duration: float = 60.0
    batch_share: float = 0.3  # of the evidence, how much arrives in batches
    batch_size: int = 10
    replicas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_REPLICAS))
    postgres_url: str = ""
    bootstrap: str = ""
    out: Path = HERE / "results"
    seed: int = 2026
    drain_timeout: float = 600.0
    max_in_flight: int = 1000
    flex_blocks: bool = True
    quiet: bool = False


@dataclass
class Request:
    rate: float
    at: float  # seconds after the rate's start
    teacher_id: str
    items: list[dict[str, Any]]
    sent_at: float = 0.0
    answered_at: float = 0.0
    status: int = 0  # 0: never sent (the harness's own in-flight bound), -1: no answer
    event_ids: list[str] = field(default_factory=list)


# --- the district ----------------------------------------------------------------------------------------------


@dataclass
class Classroom:
    teacher_id: str
    section_id: str
    students: list[str]


def classrooms(district: Any) -> list[Classroom]:
    by_section: dict[str, Classroom] = {}
    for p in district.roster.placements:
        room = by_section.setdefault(p.math_section_id, Classroom(p.math_teacher_id, p.math_section_id, []))
        room.students.append(p.student_id)
    return sorted(by_section.values(), key=lambda c: c.section_id)


class EvidenceMaker:
    """Evidence a teacher would post, each flipping the student's level on the competency between the scale's ends,
    so with the "latest" method every accepted piece of evidence makes one MasteryChanged."""

    def __init__(self, rooms: list[Classroom], competencies: list[str], rng: random.Random) -> None:
        self.rooms, self.competencies, self.rng = rooms, competencies, rng
        self.weights = [len(r.students) for r in rooms]
        self.last: dict[tuple[str, str], int] = {}
        self.today = datetime.now(UTC).date().isoformat()

    def item(self, room: Classroom, student: str) -> dict[str, Any]:
        competency = self.rng.choice(self.competencies)
        previous = self.last.get((student, competency))
        score = self.rng.choice((1, 4)) if previous is None else 5 - previous
        self.last[(student, competency)] = score
        return {
            "student_id": student,
            "competency_ids": [competency],
            "kind": "rubric_rating",
            "observed_on": self.today,
            "recorded_by": room.teacher_id,
            "section_id": room.section_id,
            "score": {"value": score, "minimum": 1, "maximum": 4},
        }

    def request(self, rate: float, at: float, batch: int) -> Request:
        room = self.rng.choices(self.rooms, self.weights)[0]
        students = self.rng.sample(room.students, min(batch, len(room.students)))
        return Request(rate, at, room.teacher_id, [self.item(room, s) for s in students])


def schedule(maker: EvidenceMaker, rate: float, duration: float, batch_share: float, batch_size: int) -> list[Request]:
    """Open-loop arrivals: a Poisson process of requests whose items add up to `rate` evidence a second."""
    singles = rate * (1.0 - batch_share)
    batches = rate * batch_share / batch_size
    requests: list[Request] = []
    for per_second, size in ((singles, 1), (batches, batch_size)):
        if per_second <= 0:
            continue
        at = maker.rng.expovariate(per_second)
        while at < duration:
            requests.append(maker.request(rate, at, size))
            at += maker.rng.expovariate(per_second)
    return sorted(requests, key=lambda r: r.at)


# --- the stack ---------------------------------------------------------------------------------------------------


@dataclass
class Replica:
    service: str
    index: int
    running: Any  # mosaic_dev.stack.RunningService


class Stack:
    """The four services as replicas on PostgreSQL, a broker, an SMTP sink; everything stopped on exit."""

    def __init__(self, options: Options, work: Path) -> None:
        self.options, self.work = options, work
        self.uid = uuid.uuid4().hex[:8]
        self.replicas: list[Replica] = []
        self.urls: dict[str, str] = {}
        self.database_urls: dict[str, str] = {}
        self.kafka: Any = None
        self.bootstrap = options.bootstrap
        self.smtp_file = work / "smtp-accepted.txt"
        self.smtp: subprocess.Popen[bytes] | None = None

    def group(self, service: str) -> str:
        return f"load-{self.uid}-{service}"

    @contextlib.contextmanager
    def running(self) -> Iterator[Stack]:
        from mosaic_dev.idp import DevIdentityProvider
        from mosaic_dev.kafka import LocalKafka, free_port
        from mosaic_dev.postgres import temporary_database
        from mosaic_dev.stack import ServiceSpec, service_env, start_service, stop_service, wait_until_ready
        from mosaic_runtime.db import run_migrations
        from mosaic_runtime.topics_admin import ensure_topics

        with contextlib.ExitStack() as stack:
            if not self.bootstrap:
                self.kafka = LocalKafka(self.work / "kafka").start()
                stack.callback(self.kafka.stop)
                self.bootstrap = self.kafka.bootstrap
            ensure_topics(self.bootstrap)
            for service in SERVICES:
                self.database_urls[service] = stack.enter_context(
                    temporary_database(self.options.postgres_url, prefix=f"load_{service}")
                )
                module = importlib.import_module(f"mosaic_{service}.main")
                asyncio.run(run_migrations(self.database_urls[service], module.MIGRATIONS))
            smtp_port = free_port()
            with (self.work / "smtp.log").open("ab") as log:
                self.smtp = subprocess.Popen(
                    [sys.executable, __file__, "--smtp-sink", str(smtp_port), str(self.smtp_file)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            stack.callback(self._stop_smtp)
            self.idp = DevIdentityProvider(self.work)
            for service in SERVICES:
                for index in range(self.options.replicas.get(service, 1)):
                    spec = ServiceSpec(service, free_port())
                    env = service_env(
                        spec,
                        data_dir=self.work,
                        bootstrap=self.bootstrap,
                        jwks_file=self.idp.jwks_file,
                        smtp_port=smtp_port,
                        extra=self._extra(spec.prefix, service),
                    )
                    running = start_service(spec, env, self.work / "logs" / f"{service}-{index}")
                    self.replicas.append(Replica(service, index, running))
                    stack.callback(stop_service, running)
                    if index == 0:
                        self.urls[service] = spec.url
            for replica in self.replicas:
                wait_until_ready(replica.running, timeout=300)
            yield self

    def _extra(self, prefix: str, service: str) -> dict[str, str]:
        extra = {
            f"{prefix}DATABASE_URL": self.database_urls[service],
            f"{prefix}CONSUMER_GROUP": self.group(service),
            f"{prefix}MIGRATE_AT_START": "false",
            f"{prefix}LOG_LEVEL": "WARNING",
            f"{prefix}OUTBOX_POLL_SECONDS": "0.1",
        }
        if service == "notify":
            extra[f"{prefix}DEFAULT_QUIET_HOURS"] = ""  # the bench may run at night in New York
        if service == "scheduling":
            extra[f"{prefix}SOLVER_TIME_LIMIT_SECONDS"] = "2"
        return extra

    def evidence_urls(self) -> list[str]:
        return [r.running.spec.url for r in self.replicas if r.service == "evidence"]

    def pids(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = defaultdict(list)
        for r in self.replicas:
            found[r.service].append(r.running.process.pid)
        if self.kafka is not None and self.kafka.pid:
            found["kafka"].append(self.kafka.pid)
        if self.smtp is not None:
            found["smtp"].append(self.smtp.pid)
        return found

    def _stop_smtp(self) -> None:
        if self.smtp is not None and self.smtp.poll() is None:
            self.smtp.terminate()
            self.smtp.wait(10)


# --- measuring: lag, CPU, what reached the topics and the SMTP server ---------------------------------------------


class Meter:
    """Consumer lag per group (end offsets minus stored positions), outboxes and open notifications."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.topics = {
            s: [t.name for t in importlib.import_module(f"mosaic_{s}.consumers").HANDLERS.topics()] for s in SERVICES
        }
        self.samples: list[dict[str, Any]] = []

    async def __aenter__(self) -> Meter:
        from aiokafka import AIOKafkaConsumer

        from mosaic_runtime.db import make_engine

        self.engines = {s: make_engine(u, pool_size=2) for s, u in self.stack.database_urls.items()}
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.stack.bootstrap, group_id=None)
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        for engine in self.engines.values():
            await engine.dispose()

    async def lag(self) -> dict[str, int]:
        from aiokafka import TopicPartition
        from sqlalchemy import text

        names = sorted({t for ts in self.topics.values() for t in ts})
        partitions = []
        await self.consumer._client.force_metadata_update()
        for name in names:
            ids = self.consumer.partitions_for_topic(name) or set()
            partitions += [TopicPartition(name, p) for p in ids]
        ends = await self.consumer.end_offsets(partitions)
        lag: dict[str, int] = {}
        for service, topics in self.topics.items():
            async with self.engines[service].connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT topic, partition, next_offset FROM mosaic_consumer_positions WHERE consumer_group = :g"
                    ),
                    {"g": self.stack.group(service)},
                )
                stored = {(r.topic, r.partition): r.next_offset for r in rows}
            lag[service] = sum(
                max(0, end - stored.get((tp.topic, tp.partition), 0)) for tp, end in ends.items() if tp.topic in topics
            )
        return lag

    async def unfinished(self) -> int:
        """Outbox rows not yet published plus notifications due and not yet sent."""
        from sqlalchemy import text

        total = 0
        for service, engine in self.engines.items():
            async with engine.connect() as connection:
                total += await connection.scalar(text("SELECT count(*) FROM mosaic_outbox WHERE NOT sent")) or 0
                if service == "notify":
                    total += (
                        await connection.scalar(
                            text(
                                "SELECT count(*) FROM notify_notifications WHERE status IN ('pending', 'sending') "
                                "AND due_at <= now()"
                            )
                        )
                        or 0
                    )
        return total

    async def sample(self, phase: str, rate: float) -> dict[str, int]:
        lag = await self.lag()
        self.samples.append({"t": time.time(), "phase": phase, "rate": rate, "lag": lag})
        return lag


class CpuClock:
    """CPU seconds (user + system) per service, summed over its processes, between two readings; "postgres" is
    the server's backends serving the run's databases, when the server runs on this machine (a lower bound: a
    backend that exits between two readings takes its last stretch with it)."""

    def __init__(self, pids: dict[str, list[int]], databases: list[str]) -> None:
        import psutil

        self.processes = {s: [psutil.Process(p) for p in ps] for s, ps in pids.items()}
        self.processes["harness"] = [psutil.Process()]
        self.databases = [d.rsplit("/", 1)[-1] for d in databases]
        self.postgres_seen = {p.pid: self._seconds(p) for p in self._backends()}
        self.postgres_total = 0.0

    def _backends(self) -> list[Any]:
        import psutil

        found = []
        for p in psutil.process_iter(["name", "cmdline"]):
            line = " ".join(p.info["cmdline"] or ())
            if p.info["name"] == "postgres" and any(f" {d} " in f" {line} " for d in self.databases):
                found.append(p)
        return found

    def read(self) -> dict[str, float]:
        """Seconds so far per service; for PostgreSQL, what its backends used since the previous reading (a
        pool closes and opens connections, so backends come and go between readings)."""
        totals: dict[str, float] = {}
        for service, processes in self.processes.items():
            totals[service] = sum(self._seconds(p) for p in processes)
        now = {p.pid: self._seconds(p) for p in self._backends()}  # a backend new since then counts whole
        self.postgres_total += sum(max(0.0, s - self.postgres_seen.get(pid, 0.0)) for pid, s in now.items())
        self.postgres_seen = now
        totals["postgres"] = self.postgres_total
        return totals

    @staticmethod
    def _seconds(p: Any) -> float:
        with contextlib.suppress(Exception):
            t = p.cpu_times()
            return float(t.user + t.system + t.children_user + t.children_system)
        return 0.0


async def read_district(bootstrap: str, topic: str, district: str) -> list[tuple[dict[str, Any], float]]:
    """Every record of `district` on `topic`, as JSON, with the record's timestamp (when its producer sent it)."""
    import orjson

    from mosaic_dev.topic_io import read_to_end

    found: list[tuple[dict[str, Any], float]] = []
    needle = district.encode()
    for r in await read_to_end(bootstrap, topic, timeout=900.0):
        if r.value and needle in r.value:  # JSON only for the district's records: the topics are large
            envelope = orjson.loads(r.value)
            if envelope.get("district_id") == district:
                found.append((envelope, r.timestamp / 1000.0))
    return found


def read_smtp(path: Path) -> dict[str, float]:
    accepted: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            at, _, notification = line.partition(" ")
            accepted.setdefault(notification, float(at))
    return accepted


def run_smtp_sink(port: int, out: Path) -> None:
    """aiosmtpd in this process; each accepted message's time and X-Mosaic-Notification-Id, one per line."""
    from aiosmtpd.controller import Controller

    handle = out.open("a", buffering=1)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            at = time.time()
            content: bytes = envelope.content
            start = content.find(b"X-Mosaic-Notification-Id: ")
            notification = content[start + 26 : content.find(b"\r\n", start)].decode() if start >= 0 else "?"
            handle.write(f"{at:.6f} {notification}\n")
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


# --- seeding -----------------------------------------------------------------------------------------------------


def seed(stack: Stack, district: Any, say: Any) -> list[str]:
    """Framework, roster, the "latest" method, sections following two standards and a flex block per school,
    through the APIs as a district's portals would; returns the standards evidence is recorded against."""
    from mosaic_dev.district_generator.writers import write_oneroster
    from mosaic_dev.scenario import DistrictClient, FlexBlockPlan, StackUrls, skill_group_sessions

    urls = StackUrls(**stack.urls)
    admin = stack.idp.token(district_id=district.district_id, user_id="load-admin", roles=("districtAdministrator",))
    client = DistrictClient(urls, district.district_id, admin, timeout=600, patience=900)
    try:
        say(f"seeding {district.district_id}: framework")
        client.import_framework(district.case_package())
        client.eventually(
            lambda: client.change_mastery_settings(method={"name": "latest"}),
            "mastery settings",
        )
        for n, school in enumerate(school_rosters(district.roster)):  # a district's SIS sends a school at a time
            say(f"seeding: roster of {school.schools[0].name}, {len(school.placements)} students")
            folder = write_oneroster(stack.work / "oneroster" / str(n), school)
            client.eventually(lambda f=folder: client.import_roster(f), f"the roster of {school.schools[0].name}")
        weeks = district.intro_weeks()
        standards = sorted(
            (i for i in district.framework.items if i.assessable and not i.is_disposition and i.id in weeks),
            key=lambda i: (weeks[i.id], i.sequence),
        )
        focus = [(i.id, i.code) for i in standards[:2]]
        if stack.options.flex_blocks:
            rooms = classrooms(district)
            say(f"seeding: {len(rooms)} sections follow {[c for _, c in focus]}; a flex block per school")
            for room in rooms:
                client.follow_competencies(room.section_id, [c for c, _ in focus])
            for school in district.roster.schools:
                teachers = [
                    (u.id, f"{u.given_name} {u.family_name}")
                    for u in district.roster.users_with_role("teacher")
                    if school.id in u.school_ids
                ]
                sections = tuple(r.section_id for r in rooms if r.section_id in _sections_of(district, school.id))
                size = sum(1 for p in district.roster.placements if p.school_id == school.id)
                block = FlexBlockPlan(
                    f"flex-{school.identifier}", school.id, "Thursday WIN", sections,
                    skill_group_sessions(focus, size, teachers),
                )  # fmt: skip
                client.eventually(lambda b=block: client.define_flex_block(b), f"the flex block of {school.name}")
        return [i.id for i in standards[: max(8, len(standards) // 2)]]
    finally:
        client.close()


def school_rosters(roster: Any) -> list[Any]:
    """The district's roster as one bundle per school (a full import replaces only the schools it lists)."""
    from dataclasses import replace

    return [
        replace(
            roster,
            schools=[school],
            courses=[c for c in roster.courses if c.school_id == school.id],
            sections=[s for s in roster.sections if s.school_id == school.id],
            users=[u for u in roster.users if school.id in u.school_ids],
            enrollments=[e for e in roster.enrollments if e.school_id == school.id],
            placements=[p for p in roster.placements if p.school_id == school.id],
        )
        for school in roster.schools
    ]


def _sections_of(district: Any, school_id: str) -> set[str]:
    return {p.math_section_id for p in district.roster.placements if p.school_id == school_id}


async def settle(meter: Meter, timeout: float, phase: str, rate: float, progress: Any = None) -> bool:
    """Until every group has read to the end of its topics and nothing waits in an outbox or to be sent."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        lag = await meter.sample(phase, rate)
        unfinished = await meter.unfinished()
        if progress is not None:
            progress(lag, unfinished)
        quiet = quiet + 1 if sum(lag.values()) == 0 and unfinished == 0 else 0
        if quiet >= 3:
            return True
        await asyncio.sleep(LAG_EVERY_SECONDS)
    return False


# --- the load ----------------------------------------------------------------------------------------------------


async def drive(requests: list[Request], urls: list[str], tokens: dict[str, str], district: str, limit: int) -> None:
    """Send each request at its time, whatever became of the earlier ones (up to `limit` in flight)."""
    import httpx

    in_flight = 0
    # A connection per request in flight and a patient timeout: the wait measured is the service's, not the
    # client pool's, and a request the service queues for minutes still counts once it is answered.
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    async with httpx.AsyncClient(timeout=ANSWER_TIMEOUT_SECONDS, limits=limits) as http:

        async def send(request: Request, url: str) -> None:
            nonlocal in_flight
            in_flight += 1
            single = len(request.items) == 1
            path = f"{url}/v1/districts/{district}/evidence" + ("" if single else "/batch")
            body = request.items[0] if single else request.items
            request.sent_at = time.time()
            try:
                response = await http.post(
                    path, json=body, headers={"Authorization": f"Bearer {tokens[request.teacher_id]}"}
                )
                request.status = response.status_code
                if response.status_code == 201:
                    request.event_ids = [r["event_id"] for r in response.json()["recorded"]]
            except httpx.HTTPError:
                request.status = -1
            finally:
                request.answered_at = time.time()
                in_flight -= 1

        start = time.monotonic()
        tasks = []
        for n, request in enumerate(requests):
            delay = request.at - (time.monotonic() - start)
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight >= limit:
                continue  # status 0: the harness could not offer it
            tasks.append(asyncio.create_task(send(request, urls[n % len(urls)])))
        await asyncio.gather(*tasks)


def percentiles(values: list[float], *qs: float) -> dict[str, float | None]:
    ordered = sorted(values)
    out: dict[str, float | None] = {}
    for q in qs:
        key = f"p{q:g}"
        if not ordered:
            out[key] = None
            continue
        rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
        out[key] = round(ordered[rank] * 1000, 1)  # ms
    return out


def summarize(
    rate: float,
    duration: float,
    requests: list[Request],
    changed: dict[str, list[tuple[str, float]]],
    emails: dict[str, float],
    cpu: dict[str, float],
    lag_samples: list[dict[str, Any]],
    drained: bool,
) -> dict[str, Any]:
    offered = sum(len(r.items) for r in requests)
    accepted = [r for r in requests if r.status == 201]
    refused = [r for r in requests if r.status in REFUSED]
    failed = [r for r in requests if r.status not in (201, 0, *REFUSED)]
    unsent = [r for r in requests if r.status == 0]
    accepted_items = sum(len(r.items) for r in accepted)
    to_mastery: list[float] = []
    reached = mastery_changes = 0
    email_latency: list[float] = []
    for r in accepted:
        for event_id in r.event_ids:
            if event_id in changed:
                reached += 1
                mastery_changes += len(changed[event_id])
                to_mastery.append(min(at for _, at in changed[event_id]) - r.sent_at)
                email_latency += [emails[m] - at for m, at in changed[event_id] if m in emails]
    highest_lag: dict[str, int] = defaultdict(int)
    for s in lag_samples:
        for group, value in s["lag"].items():
            highest_lag[group] = max(highest_lag[group], value)
    return {
        "rate": rate,
        "duration_s": duration,
        "offered_evidence": offered,
        "accepted_evidence": accepted_items,
        "refused_evidence": sum(len(r.items) for r in refused),
        "failed_evidence": sum(len(r.items) for r in failed),
        "unsent_evidence": sum(len(r.items) for r in unsent),
        "requests": len(requests),
        "accepted_requests": len(accepted),
        "refused_requests": len(refused),
        "failed_statuses": dict(sorted(_count(r.status for r in failed).items())),
        "accepted_per_s": round(accepted_items / duration, 1),
        "refused_per_s": round(sum(len(r.items) for r in refused) / duration, 1),
        "post_to_201_ms": percentiles([r.answered_at - r.sent_at for r in accepted], 50, 95, 99),
        "single_post_to_201_ms": percentiles(
            [r.answered_at - r.sent_at for r in accepted if len(r.items) == 1], 50, 99
        ),
        "evidence_reached_mastery": reached,
        "mastery_changed_events": mastery_changes,  # roll-ups to parent competencies add to one per evidence
        "post_to_mastery_changed_ms": percentiles(to_mastery, 50, 95, 99),
        "emails": len(email_latency),
        "mastery_changed_to_email_ms": percentiles(email_latency, 50, 99),
        "highest_lag": dict(highest_lag),
        "cpu_seconds": {s: round(v, 2) for s, v in cpu.items()},
        "cpu_seconds_per_1000_evidence": {
            s: round(v / accepted_items * 1000, 2) if accepted_items else None for s, v in cpu.items()
        },
        "drained": drained,
    }


def _count(values: Any) -> dict[Any, int]:
    counts: dict[Any, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return counts


# --- output ------------------------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    t = Table(title="district load: per rate (evidence/s offered)")
    for column in (
        "rate", "accepted/s", "refused/s", "POST→201 p50/p95/p99 ms", "POST→MasteryChanged p50/p95/p99 ms",
        "MC→e-mail p50/p99 ms", "highest lag", "CPU s / 1,000 evidence",
    ):  # fmt: skip
        t.add_column(column)
    for r in results:
        ms = lambda d: "/".join("–" if v is None else f"{v:,.0f}" for v in d.values())  # noqa: E731
        t.add_row(
            f"{r['rate']:g}",
            f"{r['accepted_per_s']:g}",
            f"{r['refused_per_s']:g}",
            ms(r["post_to_201_ms"]),
            ms(r["post_to_mastery_changed_ms"]),
            ms(r["mastery_changed_to_email_ms"]),
            " ".join(f"{g} {v:,}" for g, v in r["highest_lag"].items()),
            " ".join(f"{s} {v}" for s, v in r["cpu_seconds_per_1000_evidence"].items() if v is not None),
        )
    return t


def chart(
    path: Path,
    requests: list[Request],
    changed: dict[str, list[tuple[str, float]]],
    samples: list[dict[str, Any]],
    windows: list[tuple[float, float, float]],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = windows[0][1]
    samples = [s for s in samples if s["t"] >= t0]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    accepted = [r for r in requests if r.status == 201]
    to_201 = [(r.sent_at, r.answered_at - r.sent_at) for r in accepted]
    to_mastery = [
        (r.sent_at, min(at for _, at in changed[e]) - r.sent_at) for r in accepted for e in r.event_ids if e in changed
    ]
    for label, pairs in (("POST→201", to_201), ("POST→MasteryChanged", to_mastery)):
        bins: dict[int, list[float]] = defaultdict(list)
        for at, latency in pairs:
            bins[int(at - t0)].append(latency)
        xs = sorted(bins)
        for q, style in ((50, "-"), (99, ":")):
            ys = [sorted(bins[x])[max(0, math.ceil(q / 100 * len(bins[x])) - 1)] * 1000 for x in xs]
            top.plot(*_gaps(xs, ys), style, label=f"{label} p{q} (per second sent)")
    top.set_yscale("log")
    top.set_ylabel("latency, ms (log)")
    top.legend(loc="upper left", fontsize=8)
    groups = sorted({g for s in samples for g in s["lag"]})
    for group in groups:
        bottom.plot([s["t"] - t0 for s in samples], [s["lag"].get(group, 0) for s in samples], label=f"{group} lag")
    bottom.set_ylabel("consumer lag, records")
    bottom.set_xlabel("seconds since the first rate began")
    bottom.legend(loc="upper left", fontsize=8)
    for rate, start, end in windows:
        for axis in (top, bottom):
            axis.axvspan(start - t0, end - t0, alpha=0.08)
        top.text(start - t0, top.get_ylim()[1], f" {rate:g}/s", va="top", fontsize=9)
    fig.suptitle("District load: latency (top) and consumer lag (bottom); shaded: evidence being posted")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _gaps(xs: list[int], ys: list[float], wider_than: int = 5) -> tuple[list[float], list[float]]:
    """The points with a NaN between two seconds far apart, so a line does not bridge the pause between rates."""
    out_x: list[float] = []
    out_y: list[float] = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if i and x - xs[i - 1] > wider_than:
            out_x.append(math.nan)
            out_y.append(math.nan)
        out_x.append(x)
        out_y.append(y)
    return out_x, out_y


# --- the run -----------------------------------------------------------------------------------------------------


async def one_rate(
    stack: Stack,
    meter: Meter,
    requests: list[Request],
    tokens: dict[str, str],
    district_id: str,
    options: Options,
    console: Any,
) -> bool:
    """Post one rate's requests with a progress display, then wait for the stack to drain; True if it did."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    rate, started = requests[0].rate if requests else 0.0, time.time()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), TextColumn("{task.fields[status]}"), console=console, disable=options.quiet,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"{rate:g} evidence/s", total=options.duration, status="")

        def show(lag: dict[str, int], waiting: int | None = None) -> None:
            sent = [r for r in requests if r.sent_at]
            ok = sum(len(r.items) for r in sent if r.status == 201)
            refused = sum(len(r.items) for r in sent if r.status in REFUSED)
            status = f"accepted {ok:,} refused {refused:,} lag " + " ".join(f"{g} {v:,}" for g, v in lag.items())
            if waiting is not None:
                status += f" waiting to be sent {waiting:,}"
            progress.update(task, completed=min(options.duration, time.time() - started), status=status)

        async def watch() -> None:
            while True:
                show(await meter.sample("load", rate))
                await asyncio.sleep(LAG_EVERY_SECONDS)

        watcher = asyncio.create_task(watch())
        await drive(requests, stack.evidence_urls(), tokens, district_id, options.max_in_flight)
        watcher.cancel()
        progress.update(task, description=f"{rate:g} evidence/s: draining")
        return await settle(meter, options.drain_timeout, "drain", rate, show)


async def measure(
    stack: Stack, district: Any, competencies: list[str], options: Options, console: Any
) -> dict[str, Any]:
    rng = random.Random(options.seed)
    rooms = classrooms(district)
    maker = EvidenceMaker(rooms, competencies, rng)
    tokens = {
        r.teacher_id: stack.idp.token(district_id=district.district_id, user_id=r.teacher_id, roles=("teacher",))
        for r in rooms
    }
    results, everything, windows = [], [], []
    async with Meter(stack) as meter:
        if not await settle(meter, options.drain_timeout, "seed", 0.0):
            console.print("[yellow]the seed did not settle in time; measuring anyway")
        clock = CpuClock(stack.pids(), list(stack.database_urls.values()))
        for rate in options.rates:
            requests = schedule(maker, rate, options.duration, options.batch_share, options.batch_size)
            before = clock.read()
            started = time.time()
            drained = await one_rate(stack, meter, requests, tokens, district.district_id, options, console)
            after = clock.read()
            windows.append((rate, started, started + options.duration))
            everything += requests
            results.append(
                {
                    "rate": rate,
                    "requests": requests,
                    "cpu": {s: after[s] - before[s] for s in after},
                    "samples": [s for s in meter.samples if s["rate"] == rate],
                    "drained": drained,
                }
            )
        samples = meter.samples
    console.print("reading mosaic.mastery.v1 and mosaic.notify.v1 for the district")
    changed: dict[str, list[tuple[str, float]]] = defaultdict(list)  # evidence event id -> its MasteryChanged
    for envelope, at in await read_district(stack.bootstrap, "mosaic.mastery.v1", district.district_id):
        if envelope["type"] == "MasteryChanged" and envelope.get("causation_id"):
            changed[envelope["causation_id"]].append((envelope["id"], at))
    accepted_mail = read_smtp(stack.smtp_file)
    emails: dict[str, float] = {}  # MasteryChanged id -> when its e-mail was accepted
    for envelope, _ in await read_district(stack.bootstrap, "mosaic.notify.v1", district.district_id):
        data = envelope["data"]
        if envelope["type"] == "FamilyNotified" and data["channel"] == "email" and not data.get("digest"):
            at = accepted_mail.get(data["notification_id"])
            if at is not None:
                for cause in data["cause_event_ids"]:
                    emails[cause] = min(at, emails.get(cause, at))
    summaries = [
        summarize(r["rate"], options.duration, r["requests"], changed, emails, r["cpu"], r["samples"], r["drained"])
        for r in results
    ]
    return {"summaries": summaries, "requests": everything, "changed": changed, "samples": samples, "windows": windows}


def parse_replicas(text: str) -> dict[str, int]:
    replicas = dict(DEFAULT_REPLICAS)
    for part in filter(None, text.split(",")):
        name, _, count = part.partition("=")
        if name not in SERVICES or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"--replicas takes service=count pairs of {SERVICES}, got {part!r}")
        replicas[name] = int(count)
    return replicas


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Options()
    p.add_argument("--students", type=int, default=d.students)
    p.add_argument("--schools", type=int, default=d.schools)
    p.add_argument("--rates", default="50,200,500", help="evidence a second, one run each, comma-separated")
    p.add_argument("--duration", type=float, default=d.duration, help="seconds of load per rate")
    p.add_argument("--batch-share", type=float, default=d.batch_share, help="share of evidence posted in batches")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--replicas", type=parse_replicas, default=d.replicas, help="e.g. mastery=3,scheduling=2,notify=2")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("MOSAIC_TEST_POSTGRES_URL", ""),
        help="a PostgreSQL server to create temporary databases on (default: $MOSAIC_TEST_POSTGRES_URL)",
    )
    p.add_argument("--bootstrap", default="", help="a running broker (default: a local KRaft broker for the run)")
    p.add_argument("--out", type=Path, default=d.out, help="folder for the JSON and the PNG")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--drain-timeout", type=float, default=d.drain_timeout)
    p.add_argument("--max-in-flight", type=int, default=d.max_in_flight)
    p.add_argument("--no-flex-blocks", action="store_true", help="no sections followed, no flex blocks")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    a = p.parse_args(argv)
    if not a.postgres_url:
        p.error("give --postgres-url (or set MOSAIC_TEST_POSTGRES_URL): the replicas share one PostgreSQL")
    if a.students < a.schools or a.schools < 1:
        p.error("--students must be at least --schools, and --schools at least 1")
    return Options(
        a.students, a.schools, tuple(float(r) for r in a.rates.split(",")), a.duration, a.batch_share, a.batch_size,
        a.replicas, a.postgres_url, a.bootstrap, a.out, a.seed, a.drain_timeout, a.max_in_flight,
        not a.no_flex_blocks, a.quiet,
    )  # fmt: skip


def main(argv: list[str]) -> int:
    if argv[:1] == ["--smtp-sink"]:
        run_smtp_sink(int(argv[1]), Path(argv[2]))
        return 0
    from rich.console import Console

    from mosaic_dev.district_generator import generate_district

    options = parse_args(argv)
    console = Console(quiet=False)
    began = datetime.now(UTC)
    district = generate_district(
        options.seed, schools=options.schools, students_per_school=options.students // options.schools, weeks=1
    )
    with tempfile.TemporaryDirectory(prefix="district-load-") as folder:
        stack = Stack(options, Path(folder))
        t = time.monotonic()
        with stack.running():
            started_in = time.monotonic() - t
            console.print(f"stack up in {started_in:.0f}s: {options.replicas} on PostgreSQL, broker {stack.bootstrap}")
            t = time.monotonic()
            competencies = seed(stack, district, console.print)
            seeded_in = time.monotonic() - t
            run = asyncio.run(measure(stack, district, competencies, options, console))
    console.print(table(run["summaries"]))
    options.out.mkdir(parents=True, exist_ok=True)
    stem = options.out / f"district_load-{began:%Y%m%dT%H%M}"
    report = {
        "when": began.isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "options": {**asdict(options), "out": str(options.out), "postgres_url": "(given)"},
        "district": {
            "id": district.district_id,
            "students": len(district.roster.placements),
            "schools": len(district.roster.schools),
            "sections": len(classrooms(district)),
            "users": len(district.roster.users),
        },
        "stack_start_s": round(started_in, 1),
        "seed_s": round(seeded_in, 1),
        "rates": run["summaries"],
        "lag_samples": [{**s, "t": round(s["t"], 2)} for s in run["samples"]],
    }
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    chart(stem.with_suffix(".png"), run["requests"], run["changed"], run["samples"], run["windows"])
    console.print(f"wrote {stem}.json and {stem}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
