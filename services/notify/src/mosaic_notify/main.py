"""The notify service: consumers, the delivery worker and the REST API in one process.

Run: `mosaic-notify serve`, or `uvicorn mosaic_notify.main:app`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from mosaic_notify.adapters.channels import Sender
from mosaic_notify.adapters.email import EmailSender
from mosaic_notify.adapters.relationships import ContactRelationships
from mosaic_notify.adapters.tables import metadata
from mosaic_notify.adapters.webhooks import WebhookSender, portal_payload, push_payload, sms_payload
from mosaic_notify.api import preferences, providers, unsubscribe
from mosaic_notify.consumers import setup_consumers
from mosaic_notify.domain.messages import MessageRenderer
from mosaic_notify.service.delivery import DeliveryWorker
from mosaic_notify.settings import NotifySettings
from mosaic_runtime import audit
from mosaic_runtime.app import ServiceContext, create_service
from mosaic_runtime.publishing import publisher_of

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def senders(settings: NotifySettings) -> dict[str, Sender]:
    secret = settings.webhook_secret
    return {
        "email": EmailSender(settings),
        "sms": WebhookSender(secret, lambda _o: settings.sms_webhook_url, sms_payload),
        "push": WebhookSender(secret, lambda _o: settings.push_webhook_url, push_payload),
        "portal": WebhookSender(secret, lambda o: o.rules.portal_webhook_url, portal_payload),
    }


def build_app(settings: NotifySettings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or NotifySettings()
    renderer = MessageRenderer()

    def start_delivery(ctx: ServiceContext) -> None:
        worker = DeliveryWorker(
            ctx.sessions, settings, senders(settings), renderer, clock, after_commit=publisher_of(ctx).committed
        )
        ctx.state["worker"] = worker
        if settings.delivery_enabled:
            ctx.tasks.append(asyncio.create_task(worker.run_forever(), name="notify-delivery"))

    app = create_service(
        settings,
        title="Mosaic notify",
        description="Families hear what changed: once, in their language.",
        migrations=MIGRATIONS,
        metadata=metadata,
        routers=[preferences.router, unsubscribe.router, providers.router],
        setup_consumers=lambda ctx: setup_consumers(ctx, clock),
        on_startup=[start_delivery, audit.start],
    )
    app.state.clock = clock
    audit.install(app)
    app.state.relationships = ContactRelationships
    return app


# What the image runs: `uvicorn mosaic_notify.main:app` (settings from MOSAIC_NOTIFY_*).
app = build_app()
