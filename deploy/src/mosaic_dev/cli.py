"""`mosaic-dev`: run a local Kafka broker, or bring up the local stack."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

app = typer.Typer(help="Mosaic developer tools: a local Kafka broker and the local stack.", no_args_is_help=True)

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
) -> None:
    """Bring up the local stack: the local Kafka broker with the catalog's topics."""
    from mosaic_runtime.topics_admin import ensure_topics

    broker = start_local_kafka(data_dir / "kafka", kafka_port)
    try:
        ensure_topics(broker.bootstrap)
        typer.echo(f"Kafka: KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap}")
        typer.echo("Mosaic is up; Ctrl-C stops it.", err=True)
        _wait_for_signal()
    finally:
        broker.stop()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
