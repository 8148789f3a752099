"""`mosaic-notify`: run the service, or upgrade its database."""

from __future__ import annotations

import typer

from mosaic_notify.settings import NotifySettings
from mosaic_runtime.cli import migrate_command, serve_command

app = typer.Typer(help="Mosaic notify: family notifications.", no_args_is_help=True)
app.command("serve", help="Run the API, the consumers and the delivery worker (settings from MOSAIC_NOTIFY_*).")(
    serve_command(NotifySettings, "mosaic_notify.main", log_level="warning")
)
app.command("migrate", help="Upgrade the database to the latest schema.")(
    migrate_command(NotifySettings, "mosaic_notify.main")
)


if __name__ == "__main__":
    app()
