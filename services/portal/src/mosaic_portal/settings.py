"""The portal's settings: where the services and the district's identity provider are, and its cookie secret."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "mosaic-portal-development-secret-not-for-districts"


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOSAIC_PORTAL_", env_file=".env", extra="ignore")

    environment: str = Field("production", description="'development' allows the built-in cookie secret")
    secret_key: str | None = Field(None, description="signs the session cookie; required outside development")
    public_url: str = "http://127.0.0.1:8080"
    https_only_cookies: bool = Field(False, description="mark the session cookie Secure (set behind HTTPS)")
    evidence_url: str = "http://127.0.0.1:8081"
    mastery_url: str = "http://127.0.0.1:8082"
    scheduling_url: str = "http://127.0.0.1:8083"
    notify_url: str = "http://127.0.0.1:8084"
    oidc_issuer: str = "https://idp.mosaic.local"
    oidc_authorize_url: str = "http://127.0.0.1:8079/authorize"
    oidc_token_url: str = "http://127.0.0.1:8079/token"
    oidc_client_id: str = "mosaic-portal"
    oidc_client_secret: str = ""
    lti_config_file: Path | None = Field(None, description="PyLTI1p3 tool configuration (JSON): platforms we trust")
    lti_district_id: str | None = Field(None, description="the district LTI launches belong to")
    lti_person_claim: str = Field(
        "https://purl.imsglobal.org/spec/lti/claim/lis#person_sourcedid",
        description="claim naming the roster person: '<claim>#<field>' or '<claim>'",
    )
    request_timeout_seconds: float = 20.0
    shed_retry_max_seconds: float = Field(
        2.0, description="a request a service shed (503, not started) is sent once more if its Retry-After is no longer"
    )

    @model_validator(mode="after")
    def _secret_outside_development(self) -> PortalSettings:
        if not self.secret_key:
            if self.environment != "development":
                raise ValueError("MOSAIC_PORTAL_SECRET_KEY is required outside development: it signs sessions")
            self.secret_key = DEV_SECRET
        return self

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url.rstrip('/')}/auth/callback"
