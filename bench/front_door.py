"""Benchmark: how many single-item `POST /evidence` one evidence process answers 201 (on the log, ADR 0006).

    uv run python bench/front_door.py                              # 50, 150, 300, 500/s, 15 s each, SQLite
    uv run python bench/front_door.py --rates 100 300 --seconds 20
    uv run python bench/front_door.py --postgres postgresql://postgres@127.0.0.1/postgres
    uv run python bench/front_door.py --profile 300                # py-spy (--gil, raw stacks) at 300/s
    uv run python bench/front_door.py --against /tmp/before        # `git archive <commit> libs services | tar
                                                                   #  -x -C /tmp/before`: before and after

A real broker (KAFKA_BOOTSTRAP_SERVERS, --bootstrap, or a local one started for the run), one evidence process
(uvicorn, its own SQLite file unless --postgres), a generated district's framework and roster loaded through the
API, then each rate driven open-loop (a request is sent at its scheduled time whether or not earlier ones were
answered) by teachers recording their own students' evidence, each with an Idempotency-Key. Per rate it prints
accepted/s, shed/s (503 at once), other answers, POST→201 p50/p95/p99, and the evidence process' CPU seconds
per 1,000 requests sent and accepted (from /proc, so Linux only). bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mosaic_dev.district_generator import District, generate_district, write_district
from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.scenario import DistrictClient, StackUrls

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class RateResult:
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    shed: int = 0
    late_sends: int = 0
    cpu_seconds: float = 0.0
    elapsed: float = 0.0  # from the first send to the last answer

    def row(self) -> str:
        sent = sum(self.statuses.values())
        other = sent - self.statuses[201] - self.shed
        others = (
            ", ".join(
                f"{status or 'no answer'}: {count}"
                for status, count in sorted(self.statuses.items())
                if status not in (201, 503)
            )
            or "none"
        )
        cut = quantiles(self.latencies)
        cpu_per_k = 1000 * self.cpu_seconds / max(sent, 1)
        cpu_per_accepted = 1000 * self.cpu_seconds / max(self.statuses[201], 1)
        span = max(self.elapsed, self.seconds)
        return (
            f"{self.rate:>6.0f}/s  accepted {self.statuses[201] / span:>6.1f}/s  "
            f"shed {self.shed / span:>6.1f}/s  other {other:>4} ({others})  "
            f"POST→201 p50 {cut[0]:>6.1f} p95 {cut[1]:>6.1f} p99 {cut[2]:>7.1f} ms  "
            f"CPU {cpu_per_k:>5.1f} s/1000 req, {cpu_per_accepted:>5.1f} s/1000 accepted  "
            f"(sent {sent} in {self.seconds:g} s, answered in {self.elapsed:.0f} s, client late {self.late_sends})"
        )

    @property
    def saturated(self) -> bool:
        return quantiles(self.latencies)[0] > 5000 or self.elapsed > 3 * self.seconds


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    ordered = sorted(values)

    def at(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return at(0.50), at(0.95), at(0.99)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def broker(bootstrap: str | None):
    if bootstrap:
        yield bootstrap
        return
    from mosaic_dev.kafka import LocalKafka

    with LocalKafka() as local:
        yield local.bootstrap


@contextlib.contextmanager
def database(postgres: str | None, folder: Path):
    if not postgres:
        yield f"sqlite+aiosqlite:///{folder}/evidence.db"
        return
    from mosaic_dev.postgres import temporary_database

    with temporary_database(postgres, prefix="bench_front_door") as url:
        yield url


@contextlib.contextmanager
def evidence_process(bootstrap: str, database_url: str, idp: DevIdentityProvider, folder: Path, extra_env: dict):
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MOSAIC_EVIDENCE_DATABASE_URL": database_url,
        "MOSAIC_OIDC_JWKS_FILE": str(idp.jwks_file),
        "MOSAIC_DATA_DIR": str(folder),
        "MOSAIC_EVIDENCE_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    command = [sys.executable, "-m", "uvicorn", "mosaic_evidence.main:app", "--port", str(port)]
    process = subprocess.Popen([*command, "--log-level", "warning", "--no-access-log"], env=env, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the evidence process did not become ready (exit code {process.poll()})")
            time.sleep(0.3)
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass(frozen=True)
class Teacher:
    token: str
    items: list[dict]


def teachers_with_items(district: District, idp: DevIdentityProvider) -> list[Teacher]:
    """Each teacher's own students' evidence, as that teacher records it (a teacher token, no recorded_by)."""
    by_teacher: dict[str, list[dict]] = {}
    for row in district.evidence():
        by_teacher.setdefault(row.recorded_by, []).append(
            {
                "student_id": row.student_id,
                "competency_ids": [row.competency_id],
                "kind": row.kind,
                "observed_on": row.observed_on.isoformat(),
                "score": {"value": row.score, "minimum": row.scale_min, "maximum": row.scale_max},
                "section_id": row.section_id or None,
            }
        )
    return [
        Teacher(idp.token(district_id=district.district_id, user_id=teacher, roles=("teacher",)), items)
        for teacher, items in sorted(by_teacher.items())
    ]


class KeepAliveClient:
    """A minimal HTTP/1.1 keep-alive client: request bytes in, status and body out. httpx costs about a
    millisecond of CPU per request, which on this shared machine made the client, not the server, set the pace."""

    def __init__(self, url: str) -> None:
        address = url.removeprefix("http://")
        self.host, port = address.split(":")
        self.port = int(port)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, raw: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
        async with asyncio.timeout(timeout):  # a browser would not wait longer
            while self.idle:  # the server closes a connection idle for 5 s: then it answers nothing, try the next
                reader, writer = self.idle.pop()
                answer = await self._exchange(reader, writer, raw)
                if answer is not None:
                    return answer
            reader, writer = await asyncio.open_connection(self.host, self.port)
            answer = await self._exchange(reader, writer, raw)
            if answer is None:
                raise ConnectionResetError("the server closed a new connection without answering")
            return answer

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> tuple[int, bytes] | None:
        try:
            writer.write(raw)
            status_line = await reader.readline()
            if not status_line:
                writer.close()
                return None
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            body = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status, body

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def post_bytes(host: str, path: str, token: str, item: dict) -> bytes:
    body = json.dumps(item).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def drive(server: Server, rate: float, seconds: float) -> RateResult:
    """Open loop: request n leaves at start + n/rate; its latency runs from when it actually left."""
    result = RateResult(rate, seconds)
    rng = random.Random(int(rate))
    teachers, pid = server.teachers, server.pid
    path = f"/v1/districts/{server.district.district_id}/evidence"
    client = KeepAliveClient(server.url)

    async def one() -> None:
        teacher = rng.choice(teachers)
        raw = post_bytes(client.host, path, teacher.token, rng.choice(teacher.items))
        started = time.perf_counter()
        try:
            status, body = await client.request(raw)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            result.statuses[0] += 1
            return
        elapsed = time.perf_counter() - started
        result.statuses[status] += 1
        if status == 201:
            result.latencies.append(elapsed)
        elif status == 503 and b'"shed":true' in body.replace(b" ", b""):
            result.shed += 1

    total = int(rate * seconds)
    cpu_before = cpu_seconds(pid)
    start = time.perf_counter()
    tasks = []
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            result.late_sends += 1
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    result.cpu_seconds = cpu_seconds(pid) - cpu_before
    client.close()
    return result


def seed(url: str, district: District, idp: DevIdentityProvider, folder: Path) -> None:
    write_district(district, folder / "district")
    admin = idp.token(district_id=district.district_id, user_id="bench-admin", roles=("districtAdministrator",))
    client = DistrictClient(StackUrls(evidence=url), district.district_id, admin)
    try:
        client.import_framework(district.case_package())
        client.import_roster(folder / "district" / "oneroster")
    finally:
        client.close()


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not on PATH (pip install py-spy); no profile taken")
        return None
    # --gil: only the thread holding the GIL is sampled, so the profile shows where CPU goes, not who waits
    command = ["record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "100", "--gil", "-f", "raw"]
    return subprocess.Popen(
        [spy, *command, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Server:
    label: str
    url: str
    pid: int
    district: District
    teachers: list[Teacher]


def code_from(checkout: Path) -> dict[str, str]:
    """PYTHONPATH that runs another checkout's evidence, runtime and events code (ahead of this one's)."""
    code = [checkout / p for p in ("services/evidence/src", "libs/runtime/src", "libs/events/src")]
    return {"PYTHONPATH": os.pathsep.join(str(p.resolve()) for p in code)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 150, 300, 500])
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per rate")
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--postgres", help="a PostgreSQL server URL; the bench creates and drops its own database")
    parser.add_argument("--profile", type=float, help="record a py-spy profile of the server(s) at this rate")
    parser.add_argument("--profile-out", type=Path, default=Path("front_door_profile"), help="prefix of .txt files")
    parser.add_argument("--env", nargs="*", default=[], help="extra NAME=value settings for the evidence process")
    parser.add_argument(
        "--against",
        type=Path,
        help="a checkout of the code before a change (`git archive <commit> libs services | tar -x -C DIR`): its "
        "server runs beside this one's, and each rate drives one, then the other (before and after in one run)",
    )
    args = parser.parse_args()
    extra_env = dict(pair.split("=", 1) for pair in args.env)
    wanted = [("before", code_from(args.against)), ("after", {})] if args.against else [("this code", {})]
    with (
        tempfile.TemporaryDirectory(prefix="bench-front-door-") as tmp,
        broker(args.bootstrap) as bootstrap,
        contextlib.ExitStack() as stack,
    ):
        servers = []
        for n, (label, code) in enumerate(wanted):
            folder = Path(tmp) / f"server-{n}"
            folder.mkdir()
            database_url = stack.enter_context(database(args.postgres, folder))
            idp = DevIdentityProvider(folder / "idp")
            # each server its own district and consumer group; each still projects the other's events (one topic)
            env = {**extra_env, **code, "MOSAIC_EVIDENCE_CONSUMER_GROUP": f"bench-front-door-{n}"}
            process, url = stack.enter_context(evidence_process(bootstrap, database_url, idp, folder, env))
            district = generate_district(
                11 + n, schools=1, students_per_school=args.students, weeks=8, evidence_per_week=3.0
            )
            seed(url, district, idp, folder)
            servers.append(Server(label, url, process.pid, district, teachers_with_items(district, idp)))
            print(f"{label}: evidence at {url} on {'PostgreSQL' if args.postgres else 'SQLite'}", flush=True)
        for server in servers:
            asyncio.run(drive(server, 20, 5))  # warm up
        saturated: set[str] = set()
        for rate in args.rates:
            for server in servers:
                if server.label in saturated:
                    print(f"{server.label:>9}: {rate:>6.0f}/s  not run: saturated at a lower rate")
                    continue
                out = args.profile_out.with_name(f"{args.profile_out.name}-{server.label.replace(' ', '-')}.txt")
                spy = profile(server.pid, args.seconds, out) if rate == args.profile else None
                result = asyncio.run(drive(server, rate, args.seconds))
                print(f"{server.label:>9}: {result.row()}", flush=True)
                if result.saturated:
                    saturated.add(server.label)
                if spy is not None:
                    spy.wait()
                    print(f"profile of the server at {rate:g}/s: {out}")
                time.sleep(3)  # let a backlog (if any) drain before the next run


if __name__ == "__main__":
    main()
