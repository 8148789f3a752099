"""`mosaic-notify`: run the service, or upgrade its database."""

from __future__ import annotations

import asyncio

import typer

from mosaic_notify.settings import NotifySettings

app = typer.Typer(help="Mosaic notify: family notifications.", no_args_is_help=True)


@app.command()
def serve() -> None:
    """Run the API, the consumers and the delivery worker (settings from MOSAIC_NOTIFY_*)."""
    import uvicorn

    settings = NotifySettings()
    uvicorn.run("mosaic_notify.main:app", host=settings.http_host, port=settings.http_port, log_level="warning")


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema."""
    from mosaic_notify.main import MIGRATIONS
    from mosaic_runtime.db import run_migrations

    asyncio.run(run_migrations(NotifySettings().database_url, MIGRATIONS))


@app.command()
def devservers(smtp_port: int = 2525, lookup_port: int = 2580, webhook_port: int = 2590) -> None:
    """Run a local SMTP server (with its message search) and a webhook receiver, and print what arrives."""
    import time

    from mosaic_notify.devservers import HttpReceiver, MailCatcher

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


if __name__ == "__main__":
    app()
