"""Settings from the environment: one pydantic-settings class per service, one prefix each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def service_config(prefix: str) -> SettingsConfigDict:
    """`service_config("EVIDENCE")` reads `MOSAIC_EVIDENCE_*` variables (and a local .env)."""
    return SettingsConfigDict(env_prefix=f"MOSAIC_{prefix.upper()}_", env_file=".env", extra="ignore")


def _default_data_dir() -> Path:
    return Path(os.environ.get("MOSAIC_DATA_DIR", "data"))


DISTRICT_WIDE = ("oidc_issuer", "oidc_audience", "oidc_jwks_url", "oidc_jwks_file", "environment")
DEVELOPMENT = "development"
DEV_SECRET_PREFIX = "dev-only-"
MIN_SECRET_LENGTH = 16


class InsecureSettings(RuntimeError):
    """Outside development, a service refuses to start with a default or missing secret."""


class ServiceSettings(BaseSettings):
    """What every service needs to run; subclasses add their own fields and set the prefix."""

    model_config = service_config("SERVICE")

    service_name: str = "mosaic"
    environment: str = Field(
        default=DEVELOPMENT,
        description="anything but 'development' refuses default or missing secrets at start (MOSAIC_ENVIRONMENT)",
    )
    service_version: str = "0.1.0"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("kafka_bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_enabled: bool = True
    # Each service has its own Kafka user (ACLs: it writes only its own topics); TLS trusts the cluster CA.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias=AliasChoices("kafka_security_protocol", "KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(
        default=None, validation_alias=AliasChoices("kafka_ssl_cafile", "KAFKA_SSL_CAFILE")
    )
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    consumer_group: str = ""
    database_url: str = ""
    log_level: str = "INFO"
    # The district's identity provider is the same for every service: MOSAIC_OIDC_* sets it once,
    # MOSAIC_<SERVICE>_OIDC_* overrides it for one service.
    oidc_issuer: str = "https://idp.mosaic.local"
    oidc_audience: str = "mosaic"
    oidc_jwks_url: str | None = None
    oidc_jwks_file: Path | None = None
    oidc_jwks_json: str | None = Field(default=None, description="the JWKS itself, inline (tests, dev)")
    migrate_at_start: bool = Field(
        default=True, description="run Alembic migrations at start; turn off where a migration Job runs them"
    )
    outbox_poll_seconds: float = 0.2
    publish_timeout_seconds: float = Field(
        default=10.0,
        description="how long an acknowledged write waits for the broker's next acknowledgement before answering 503",
    )
    consumer_max_records: int = 500
    consumer_turn_seconds: float = Field(
        default=1.0,
        ge=0,
        description="a consumed batch is applied in transactions of about this long, so the API's writes never "
        "wait behind a whole batch; 0 applies each batch in one",
    )
    consumer_max_record_bytes: int = Field(
        default=256 * 1024, description="a larger record is dead-lettered as rejected (rosters and frameworks: more)"
    )
    topic_overrides: dict[str, str] = Field(
        default_factory=dict, description="catalog topic name → the name to read instead (isolated tests only)"
    )
    consumer_session_timeout_ms: int = Field(
        default=45_000, description="how long a silent consumer keeps its partitions; tests that kill one lower it"
    )
    shutdown_grace_seconds: float = 25.0
    audit_enabled: bool = Field(default=True, description="record reads and writes of students' data (off: benchmarks)")
    audit_retention_days: int = Field(
        default=365, description="days audit entries are kept where a district chose none (PUT …/audit/retention)"
    )
    audit_purge_every_seconds: float = 3600.0
    max_request_bytes: int = Field(
        default=1024 * 1024, gt=0, description="largest JSON (or other non-upload) request body; larger is 413"
    )
    max_in_flight_requests: int = Field(
        default=64,
        gt=0,
        description="requests one process answers at once; one more is answered 503 with Retry-After (load shedding)",
    )
    shed_retry_after_seconds: int = Field(default=1, ge=1, description="the Retry-After of a shed request's 503")
    shed_wait_seconds: float = Field(
        default=0.5,
        ge=0,
        description="a request that would wait longer than this behind those in flight (at the recent pace) is "
        "answered 503 at once; 0 turns this off and only the in-flight limit sheds",
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="largest upload (multipart, zip, CSV) body; larger is 413"
    )

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> ServiceSettings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL") and not (self.kafka_sasl_username and self.kafka_sasl_password):
            prefix = self.model_config.get("env_prefix", "MOSAIC_<SERVICE>_")
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs {prefix}KAFKA_SASL_USERNAME "
                f"and {prefix}KAFKA_SASL_PASSWORD (the service's Kafka user)"
            )
        return self

    def model_post_init(self, __context: object) -> None:
        for name in DISTRICT_WIDE:
            shared = os.environ.get(f"MOSAIC_{name.upper()}")
            if shared and name not in self.model_fields_set:
                setattr(self, name, Path(shared) if name == "oidc_jwks_file" else shared)
        if not self.database_url:
            data_dir = _default_data_dir()
            data_dir.mkdir(parents=True, exist_ok=True)
            self.database_url = f"sqlite+aiosqlite:///{data_dir / self.service_name}.db"
        if not self.consumer_group:
            self.consumer_group = f"mosaic-{self.service_name}"
        if self.environment != DEVELOPMENT:
            problems = self.secret_problems()
            if problems:
                raise InsecureSettings(
                    f"{self.service_name} will not start in {self.environment!r}: " + "; ".join(problems)
                )

    def secret_problems(self) -> list[str]:
        """What is default or missing among the secrets; subclasses add theirs."""
        if not (self.oidc_jwks_url or self.oidc_jwks_file or self.oidc_jwks_json):
            return ["no identity-provider keys: set MOSAIC_OIDC_JWKS_URL (or _JWKS_FILE)"]
        return []


def weak_secret(name: str, value: str | None) -> list[str]:
    """A secret that is missing, a published development default, or too short to resist guessing."""
    env = f"MOSAIC_*_{name.upper()}"
    if not value:
        return [f"{name} is not set ({env})"]
    if value.startswith(DEV_SECRET_PREFIX):
        return [f"{name} is the public development default; set {env} from your vault"]
    if len(value) < MIN_SECRET_LENGTH:
        return [f"{name} has fewer than {MIN_SECRET_LENGTH} characters"]
    return []
