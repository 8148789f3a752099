"""Notify's settings, from MOSAIC_NOTIFY_* variables (plus the chassis' common ones)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mosaic_runtime.settings import ServiceSettings, service_config, weak_secret


class NotifySettings(ServiceSettings):
    model_config = service_config("NOTIFY")

    service_name: str = "notify"
    http_port: int = 8084

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "Mosaic <no-reply@mosaic.local>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool | None = None  # None: use STARTTLS when the server offers it
    smtp_connections: int = Field(default=4, ge=1, le=64, description="SMTP connections kept open and reused")
    smtp_lookup_url: str | None = None  # provider's message search: GET ?message_id=... → {"found": bool}
    message_id_domain: str = "mosaic.local"

    webhook_secret: str = "dev-only-webhook-secret"  # signs what we send (portal, SMS, push)
    inbound_webhook_secret: str | None = None  # what the SMS provider signs STOP reports with; default: webhook_secret
    unsubscribe_secret: str = "dev-only-unsubscribe-secret"
    unsubscribe_base_url: str = "http://127.0.0.1:8084"
    sms_webhook_url: str | None = None
    push_webhook_url: str | None = None

    default_timezone: str = "America/New_York"
    default_quiet_hours: str = Field(
        default="21:00-07:00",
        pattern=r"^(\d{2}:\d{2}-\d{2}:\d{2})?$",
        description="quiet hours until a guardian chooses; empty for none",
    )
    default_repeat_window_hours: float = Field(
        default=7 * 24.0,
        ge=0,
        description=(
            "for districts whose rules set none: the same news about the same competency reaches a guardian once "
            "in this many hours"
        ),
    )
    default_daily_instant_cap: int = Field(
        default=3,
        ge=0,
        description=(
            "for districts whose rules set none: instant messages per guardian, channel and local day before news "
            "waits for the digest (urgent kinds excepted)"
        ),
    )
    max_news_age_hours: float = 72.0  # older news is recorded, not told (a replay must not re-tell the past)

    delivery_enabled: bool = True
    delivery_poll_seconds: float = 0.5
    delivery_batch: int = 50
    delivery_concurrency: int = 4
    send_timeout_seconds: float = 20.0
    lease_seconds: float = 60.0  # a 'sending' row older than this belongs to a dead worker
    max_attempts: int = 6
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    in_doubt_policy: Literal["hold", "resend"] = "hold"

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> NotifySettings:
        # A lease that expires while a live worker is still sending would let another worker second-guess it.
        if self.lease_seconds <= 2 * self.send_timeout_seconds:
            raise ValueError(
                f"MOSAIC_NOTIFY_LEASE_SECONDS ({self.lease_seconds}) must exceed twice "
                f"MOSAIC_NOTIFY_SEND_TIMEOUT_SECONDS ({self.send_timeout_seconds})"
            )
        return self

    def secret_problems(self) -> list[str]:
        problems = super().secret_problems() + weak_secret("webhook_secret", self.webhook_secret)
        problems += weak_secret("unsubscribe_secret", self.unsubscribe_secret)
        if self.inbound_webhook_secret is not None:
            problems += weak_secret("inbound_webhook_secret", self.inbound_webhook_secret)
        return problems

    @property
    def inbound_secret(self) -> str:
        return self.inbound_webhook_secret or self.webhook_secret
