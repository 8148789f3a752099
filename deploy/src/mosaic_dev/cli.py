"""`mosaic-dev`: run a local Kafka broker or the local stack, generate demo data, try the engines."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Mosaic developer tools: local Kafka, the local stack, demo data.", no_args_is_help=True)

DEFAULT_DATA_DIR = Path("data")
DEFAULT_KAFKA_PORT = 9092


def _wait_for_signal() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _pick_port(port: int) -> int:
    from mosaic_dev.kafka import free_port, port_is_free

    if port and port_is_free(port):
        return port
    chosen = free_port()
    if port:
        typer.echo(f"port {port} is taken; using {chosen}", err=True)
    return chosen


def start_local_kafka(data_dir: Path, port: int):
    """Start (or resume, when `data_dir` holds an earlier broker's data) the local broker; exits 1 if it cannot."""
    from mosaic_dev.kafka import KafkaUnavailable, LocalKafka

    try:
        return LocalKafka(data_dir, port=_pick_port(port)).start()
    except KafkaUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


@app.command()
def kafka(
    port: int = typer.Option(DEFAULT_KAFKA_PORT, help="Loopback port for clients; 0 picks a free one."),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR / "kafka", help="Broker data; kept between runs."),
    fetch_only: bool = typer.Option(False, "--fetch-only", help="Only resolve the broker's jars into the cache."),
    topics: bool = typer.Option(True, help="Create the catalog's topics."),
) -> None:
    """Run a single-node Apache Kafka (KRaft) broker in the foreground until Ctrl-C."""
    from mosaic_dev.kafka import KafkaUnavailable, fetch_jars

    if fetch_only:
        try:
            typer.echo(f"Kafka jars in {fetch_jars(quiet=False)}")
        except KafkaUnavailable as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        return
    broker = start_local_kafka(data_dir, port)
    try:
        if topics:
            from mosaic_runtime.topics_admin import ensure_topics

            ensure_topics(broker.bootstrap)
        typer.echo(f"KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap}")
        typer.echo(f"Kafka is running (data in {data_dir}, pid {broker.pid}); Ctrl-C stops it.", err=True)
        _wait_for_signal()
    finally:
        broker.stop()


@app.command()
def up(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Folder for the broker's data and the services' databases."),
    kafka_port: int = typer.Option(DEFAULT_KAFKA_PORT, help="Loopback port for the local broker; 0 picks a free one."),
    seed: bool = typer.Option(True, help="Seed the demo district on the first run (once per data folder)."),
    bootstrap: str = typer.Option("", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Use this broker instead of a local one."),
) -> None:
    """Bring up the whole stack: Kafka, the four services, a mail sink, and the demo district."""
    from mosaic_dev.idp import DevIdentityProvider
    from mosaic_dev.mailsink import MailSink
    from mosaic_dev.stack import (
        IDP,
        PORTAL,
        SERVICES,
        front_envs,
        service_env,
        start_service,
        stop_service,
        tracing_env,
        wait_until_ready,
    )
    from mosaic_dev.tracesink import TraceSink
    from mosaic_runtime.topics_admin import ensure_topics

    data_dir.mkdir(parents=True, exist_ok=True)
    broker = None if bootstrap else start_local_kafka(data_dir / "kafka", kafka_port)
    bootstrap = bootstrap or broker.bootstrap
    idp = DevIdentityProvider(data_dir)
    sink = MailSink(data_dir / "mail").start()
    traces = TraceSink(port=4318, log_file=data_dir / "traces.jsonl").start()
    running = []
    try:
        ensure_topics(bootstrap)
        for spec in SERVICES:
            env = service_env(
                spec,
                data_dir=data_dir,
                bootstrap=bootstrap,
                jwks_file=idp.jwks_file,
                smtp_port=sink.smtp_port,
                extra=tracing_env(traces.endpoint, spec),
            )
            running.append(start_service(spec, env, data_dir / "logs"))
        for service in running:
            wait_until_ready(service)
        if seed and not (data_dir / "seeded").exists():
            from mosaic_dev.seed import seed_demo_district

            loaded = seed_demo_district(idp, data_dir, echo=typer.echo)
            (data_dir / "seeded").write_text(f"{loaded['district_id']}\n")
        idp_env, portal_env = front_envs(data_dir)
        front = [start_service(IDP, idp_env, data_dir / "logs"), start_service(PORTAL, portal_env, data_dir / "logs")]
        running += front
        for service in front:
            wait_until_ready(service)
        _print_where_to_look(bootstrap, running, sink, data_dir)
        typer.echo(f"Traces       http://127.0.0.1:{traces.port}/   (one trace per recorded evidence)")
        _wait_for_signal()
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        for service in reversed(running):
            stop_service(service)
        sink.stop()
        traces.stop()
        if broker is not None:
            broker.stop()


def _print_where_to_look(bootstrap: str, running: list, sink: object, data_dir: Path) -> None:
    typer.echo(f"Kafka        KAFKA_BOOTSTRAP_SERVERS={bootstrap}")
    for service in running:
        docs = "" if service.spec.name in ("idp", "portal") else "/docs"
        typer.echo(f"{service.spec.name:<12} {service.spec.url}{docs}   (log: {service.log_file})")
    typer.echo("People       http://127.0.0.1:8080/   (sign in as a demo student, guardian or teacher)")
    typer.echo(f"Mail sink    http://127.0.0.1:{sink.web_port}/   (families' emails; files in {data_dir / 'mail'})")
    seeded = data_dir / "seeded"
    district = seeded.read_text().strip() if seeded.exists() else "(not seeded)"
    typer.echo(f"Demo district {district}; a token for its APIs: uv run mosaic-dev token --district {district}")
    typer.echo("Mosaic is up; Ctrl-C stops it.", err=True)


@app.command()
def token(
    district: str = typer.Option("demo-district", help="District claim."),
    user: str = typer.Option("demo-admin", help="The user's OneRoster sourcedId."),
    role: list[str] = typer.Option(["districtAdministrator"], help="Roles (repeat for several)."),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="The stack's data folder (holds the dev IdP key)."),
) -> None:
    """Print a bearer token from the development identity provider, for trying the APIs."""
    from mosaic_dev.idp import DevIdentityProvider

    typer.echo(DevIdentityProvider(data_dir).token(district_id=district, user_id=user, roles=tuple(role)))


@app.command()
def seed(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Dev identity provider key and demo files."),
) -> None:
    """Load the demo district into a running stack (service URLs from MOSAIC_<SERVICE>_URL, else local ports)."""
    from mosaic_dev.idp import DevIdentityProvider
    from mosaic_dev.scenario import ScenarioError
    from mosaic_dev.seed import seed_demo_district

    try:
        loaded = seed_demo_district(DevIdentityProvider(data_dir), data_dir, echo=typer.echo)
    except ScenarioError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    (data_dir / "seeded").write_text(f"{loaded['district_id']}\n")


@app.command()
def topics(
    bootstrap: str = typer.Option(..., envvar="KAFKA_BOOTSTRAP_SERVERS", help="The broker to create them on."),
    security_protocol: str = typer.Option(
        "PLAINTEXT", envvar="KAFKA_SECURITY_PROTOCOL", help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    ),
    sasl_username: str | None = typer.Option(None, envvar="KAFKA_SASL_USERNAME", help="SCRAM-SHA-512 user"),
    sasl_password: str | None = typer.Option(None, envvar="KAFKA_SASL_PASSWORD", help="its password"),
) -> None:
    """Create the catalog's topics and their DLQs (idempotent), as a SCRAM user when the broker asks for one."""
    from mosaic_runtime.kafka_security import kafka_python_security
    from mosaic_runtime.settings import ServiceSettings
    from mosaic_runtime.topics_admin import ensure_topics

    settings = ServiceSettings(
        service_name="topics",
        database_url="sqlite+aiosqlite:///:memory:",
        kafka_bootstrap_servers=bootstrap,
        kafka_security_protocol=security_protocol,
        kafka_sasl_username=sasl_username,
        kafka_sasl_password=sasl_password,
    )  # type: ignore[arg-type]
    created = ensure_topics(bootstrap, security=kafka_python_security(settings))
    typer.echo(f"topics ready ({len(created)} created)")


@app.command("generate-district")
def generate_district_command(
    out: Annotated[Path, typer.Option(help="folder to write case.json, oneroster/ and evidence.csv into")],
    seed: Annotated[int, typer.Option(help="same seed, same files, byte for byte")] = 7,
    schools: Annotated[int, typer.Option(min=1)] = 3,
    students_per_school: Annotated[int, typer.Option(min=1)] = 300,
    weeks: Annotated[int, typer.Option(min=1, help="weeks of evidence from the first day of school")] = 12,
    evidence_per_week: Annotated[float, typer.Option(min=0.1, help="average pieces of evidence per student")] = 5.0,
    rows: Annotated[int | None, typer.Option(min=1, help="stop evidence.csv after this many rows")] = None,
    start: Annotated[str | None, typer.Option(help="first day of school (ISO date) [2026-08-17]")] = None,
    envelopes: Annotated[bool, typer.Option(help="also write envelopes.jsonl (EvidenceRecorded)")] = False,
) -> None:
    """Write a realistic synthetic district: a CASE framework, a OneRoster bundle and months of evidence."""
    import time
    from datetime import date

    from mosaic_dev.district_generator import DEFAULT_START, generate_district, write_district

    started = time.monotonic()
    district = generate_district(
        seed,
        schools=schools,
        students_per_school=students_per_school,
        weeks=weeks,
        evidence_per_week=evidence_per_week,
        start=date.fromisoformat(start) if start else DEFAULT_START,
        max_rows=rows,
    )
    counts = write_district(district, out, envelopes=envelopes)
    typer.echo(
        f"district {district.district_id} ({district.roster.district.name}) written to {out} "
        f"in {time.monotonic() - started:.1f}s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()),
        err=True,
    )


@app.command()
def devservers(smtp_port: int = 2525, lookup_port: int = 2580, webhook_port: int = 2590) -> None:
    """Run a local SMTP server (with its message search) and a webhook receiver for notify, and print what arrives."""
    import time

    from mosaic_dev.devservers import HttpReceiver, MailCatcher

    mail = MailCatcher(smtp_port, lookup_port).start()
    hooks = HttpReceiver(webhook_port).start()
    typer.echo(f"SMTP 127.0.0.1:{mail.port}, search {mail.lookup_url}, webhooks {hooks.url}")
    seen_mail = seen_hooks = 0
    try:
        while True:
            time.sleep(1)
            for message in mail.mailbox.snapshot()[seen_mail:]:
                typer.echo(f"mail to {message['To']}: {message['Subject']}")
            for hook in hooks.received[seen_hooks:]:
                typer.echo(f"webhook {hook.path}: {hook.body[:200]!r}")
            seen_mail, seen_hooks = len(mail.mailbox.snapshot()), len(hooks.received)
    finally:
        mail.stop()
        hooks.stop()


@app.command("regroup-demo")
def regroup_demo(
    students: Annotated[int, typer.Option(min=1)] = 300,
    sessions: Annotated[int, typer.Option(min=1)] = 15,
    time_limit: Annotated[float, typer.Option(help="CP-SAT seconds")] = 10.0,
) -> None:
    """Regroup a synthetic flex block with scheduling's engine and print a few explained assignments."""
    from mosaic_dev.synthetic_block import synthetic_block
    from mosaic_scheduling.domain.regroup import SolverSettings, regroup

    block = synthetic_block(seed=1, students=students, sessions=sessions)
    result = regroup(
        block.school, block.block_id, block.students, block.placements, SolverSettings(time_limit_seconds=time_limit)
    )
    typer.echo(
        f"{result.status} by {result.method}: cost {result.cost}, bound {result.bound}, {result.solve_seconds:.2f}s"
    )
    for decision in result.decisions[:10]:
        typer.echo(f"{decision.student_id} → {decision.session_id}: {decision.reason} {' '.join(decision.notes)}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
