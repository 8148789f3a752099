"""`mosaic-scheduling`: run the service, migrate its database, or regroup a synthetic block to try the engine."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from mosaic_runtime.db import run_migrations
from mosaic_scheduling.settings import SchedulingSettings

app = typer.Typer(help="Mosaic scheduling service tools.", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def serve() -> None:
    """Run the service (HTTP API, consumers, outbox relay)."""
    import uvicorn

    settings = SchedulingSettings()
    uvicorn.run("mosaic_scheduling.main:app", host=settings.http_host, port=settings.http_port)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest version."""
    from mosaic_scheduling.main import MIGRATIONS

    settings = SchedulingSettings()
    asyncio.run(run_migrations(settings.database_url, MIGRATIONS))
    console.print(f"migrated {settings.database_url.split('@')[-1]}")


@app.command()
def demo(students: Annotated[int, typer.Option(min=1)] = 300,
         sessions: Annotated[int, typer.Option(min=1)] = 15,
         time_limit: Annotated[float, typer.Option(help="CP-SAT seconds")] = 10.0) -> None:
    """Regroup a synthetic block and print a few explained assignments (no database, no Kafka)."""
    from mosaic_scheduling.domain.regroup import SolverSettings, regroup
    from mosaic_scheduling.synthetic import synthetic_block

    block = synthetic_block(seed=1, students=students, sessions=sessions)
    result = regroup(block.school, block.block_id, block.students, block.placements,
                     SolverSettings(time_limit_seconds=time_limit))
    console.print(f"{result.status} by {result.method}: cost {result.cost}, bound {result.bound}, "
                  f"{result.solve_seconds:.2f}s")
    for decision in result.decisions[:10]:
        typer.echo(f"{decision.student_id} → {decision.session_id}: {decision.reason} {' '.join(decision.notes)}")


if __name__ == "__main__":
    app()
