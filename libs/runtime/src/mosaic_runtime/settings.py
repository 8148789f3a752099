"""Settings from the environment: one pydantic-settings class per service, one prefix each."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def service_config(prefix: str) -> SettingsConfigDict:
    """`service_config("EVIDENCE")` reads `MOSAIC_EVIDENCE_*` variables (and a local .env)."""
    return SettingsConfigDict(env_prefix=f"MOSAIC_{prefix.upper()}_", env_file=".env", extra="ignore")


def _default_data_dir() -> Path:
    return Path(os.environ.get("MOSAIC_DATA_DIR", "data"))


class ServiceSettings(BaseSettings):
    """What every service needs to run; subclasses add their own fields and set the prefix."""

    model_config = service_config("SERVICE")

    service_name: str = "mosaic"
    service_version: str = "0.1.0"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("kafka_bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_enabled: bool = True
    consumer_group: str = ""
    database_url: str = ""
    log_level: str = "INFO"
    oidc_issuer: str = "https://idp.mosaic.local"
    oidc_audience: str = "mosaic"
    oidc_jwks_url: str | None = None
    oidc_jwks_file: Path | None = None
    oidc_jwks_json: str | None = Field(default=None, description="the JWKS itself, inline (tests, dev)")
    outbox_poll_seconds: float = 0.2
    consumer_max_records: int = 500
    shutdown_grace_seconds: float = 25.0

    def model_post_init(self, __context: object) -> None:
        if not self.database_url:
            data_dir = _default_data_dir()
            data_dir.mkdir(parents=True, exist_ok=True)
            self.database_url = f"sqlite+aiosqlite:///{data_dir / self.service_name}.db"
        if not self.consumer_group:
            self.consumer_group = f"mosaic-{self.service_name}"
