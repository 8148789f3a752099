"""`mosaic-analytics`: run the service, upgrade its database, or export the stream for analysts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from mosaic_runtime.cli import migrate_command, serve_command
from mosaic_runtime.settings import ServiceSettings

app = typer.Typer(help="Mosaic analytics: the pseudonymized stream and its export.", no_args_is_help=True)


def _settings() -> ServiceSettings:
    from mosaic_analytics.settings import AnalyticsSettings

    return AnalyticsSettings()


app.command("serve", help="Run the consumers and the outbox relay (settings from MOSAIC_ANALYTICS_*).")(
    serve_command(_settings, "mosaic_analytics.main", log_level="warning")
)
app.command("migrate", help="Upgrade the database to the latest schema.")(
    migrate_command(_settings, "mosaic_analytics.main")
)


@app.command()
def export(
    out_dir: Path = typer.Argument(..., help="folder for <table>.parquet and manifest.json (files are replaced)"),
    bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers"),
    topic: str = typer.Option("mosaic.analytics.v1", help="the analytics topic (another name only for tests)"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Read the whole stream into Parquet files (one per record type); running it again gives the same files."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mosaic_analytics.adapters.stream_reader import read_to_end
    from mosaic_analytics.service.export import export_stream
    from mosaic_runtime.kafka_security import aiokafka_security
    from mosaic_runtime.settings import ServiceSettings, service_config

    class ReaderSettings(ServiceSettings):
        """SASL/TLS for the reader: MOSAIC_ANALYTICS_KAFKA_SASL_* and KAFKA_SECURITY_PROTOCOL, as the service."""

        model_config = service_config("ANALYTICS")

    security = aiokafka_security(
        ReaderSettings(
            service_name="analytics-export",
            kafka_bootstrap_servers=bootstrap,
            database_url="sqlite+aiosqlite:///:memory:",
        )
    )

    console = Console(stderr=True)
    with Progress(
        TextColumn("reading {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
    ) as bar:
        task = bar.add_task(topic, total=None)
        records = read_to_end(bootstrap, topic, on_total=lambda n: bar.update(task, total=n), **security)
        result = asyncio.run(export_stream(records, out_dir, advance=lambda n: bar.advance(task, n)))
    for table, count in result.rows.items():
        console.print(f"{out_dir / (table + '.parquet')}: {count} rows")
    if result.duplicates or result.unreadable:
        console.print(f"skipped {result.duplicates} repeated and {result.unreadable} unreadable records")


if __name__ == "__main__":
    app()
