"""`mosaic-scheduling`: run the service or migrate its database."""

from __future__ import annotations

import typer

from mosaic_runtime.cli import migrate_command, serve_command
from mosaic_scheduling.settings import SchedulingSettings

app = typer.Typer(help="Mosaic scheduling service tools.", no_args_is_help=True)
app.command("serve", help="Run the service (HTTP API, consumers, outbox relay).")(
    serve_command(SchedulingSettings, "mosaic_scheduling.main")
)
app.command("migrate", help="Bring the database schema to the latest version.")(
    migrate_command(SchedulingSettings, "mosaic_scheduling.main")
)


if __name__ == "__main__":
    app()
