"""`mosaic-mastery`: run the service, migrate, rebuild the projection from the log, print its checksum."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mosaic_mastery.adapters.checksum import projection_checksum
from mosaic_mastery.adapters.rebuild import RebuildReport, rebuild
from mosaic_mastery.consumers import HANDLERS
from mosaic_mastery.models_cli import app as models_app
from mosaic_mastery.settings import MasterySettings
from mosaic_runtime.cli import migrate_command, serve_command
from mosaic_runtime.consumer import subscribed_topics
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations

app = typer.Typer(help="Mosaic mastery service tools.", no_args_is_help=True)
app.add_typer(models_app, name="models")  # fit-bkt writes {"bkt_params": ...}: PUT it into the district's settings
console = Console(stderr=True)


app.command("serve", help="Run the service (HTTP API, live consumer, outbox relay).")(
    serve_command(MasterySettings, "mosaic_mastery.main")
)
app.command("migrate", help="Bring the database schema to the latest version.")(
    migrate_command(MasterySettings, "mosaic_mastery.main")
)


@app.command("rebuild")
def rebuild_command(
    bootstrap: Annotated[
        str | None,
        typer.Option(
            help="Kafka bootstrap servers [MOSAIC_MASTERY_KAFKA_BOOTSTRAP_SERVERS or KAFKA_BOOTSTRAP_SERVERS]"
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=100, help="records per fetch")] = 20_000,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    workers: Annotated[
        int | None, typer.Option(min=1, help="processes, each replaying a share of the evidence partitions [cores]")
    ] = None,
) -> None:
    """Drop the projection and replay the evidence and reference topics from offset zero (stop the service first).

    The live consumer resumes right after what was replayed."""
    settings = MasterySettings()
    report = asyncio.run(_rebuild(settings, bootstrap or settings.kafka_bootstrap_servers, batch, progress, workers))
    console.print(
        f"replayed {report.events:,} records ({report.facts:,} folded) in {report.replay_seconds:.1f}s "
        f"= {report.replay_rate:,.0f} records/s; wrote {report.records:,} mastery records in "
        f"{report.write_seconds:.1f}s"
    )


async def _rebuild(
    settings: MasterySettings, bootstrap: str, batch: int, show: bool, workers: int | None = None
) -> RebuildReport:
    from mosaic_mastery.main import MIGRATIONS

    await run_migrations(settings.database_url, MIGRATIONS)
    engine = make_engine(settings.database_url)
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, disable=not show) as bar:
            task = bar.add_task("replay", total=None)
            return await rebuild(
                make_session_factory(engine),
                bootstrap,
                subscribed_topics(HANDLERS, settings),
                settings.consumer_group,
                max_records=batch,
                workers=workers,
                on_total=lambda n: bar.update(task, total=n),
                on_progress=lambda n: bar.advance(task, n),
            )
    finally:
        await engine.dispose()


@app.command()
def checksum(district: Annotated[str | None, typer.Option(help="only this district")] = None) -> None:
    """Print a deterministic hash of the projection (sorted rows), to compare a rebuild with the live state."""
    digest, rows = asyncio.run(_checksum(MasterySettings(), district))
    typer.echo(f"{digest}  {rows} rows")


async def _checksum(settings: MasterySettings, district: str | None) -> tuple[str, int]:
    engine = make_engine(settings.database_url)
    try:
        async with make_session_factory(engine)() as session:
            return await projection_checksum(session, district)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    app()
