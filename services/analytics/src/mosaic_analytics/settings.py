"""Analytics' settings, from MOSAIC_ANALYTICS_* variables (plus the chassis' common ones)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator

from mosaic_runtime.settings import ServiceSettings, service_config

DEV_KEY = "dev-only-analytics-pseudonym-key"
DEFAULT_DISTRICT = "*"


class AnalyticsSettings(ServiceSettings):
    model_config = service_config("ANALYTICS")

    service_name: str = "analytics"
    http_port: int = 8085
    environment: str = Field(
        default="production", validation_alias=AliasChoices("environment", "MOSAIC_ENVIRONMENT"),
        description="'development' allows the built-in pseudonym key; anything else requires pseudonym_keys")
    pseudonym_keys: dict[str, dict[int, SecretStr]] = Field(
        default_factory=dict,
        description='district id (or "*" for every other district) → key version → secret, as JSON, e.g. '
                    '{"*": {"1": "..."}, "d-42": {"1": "...", "2": "..."}}; the highest version is current')

    @model_validator(mode="after")
    def _keys_outside_development(self) -> AnalyticsSettings:
        if not self.pseudonym_keys:
            if self.environment != "development":
                raise ValueError("MOSAIC_ANALYTICS_PSEUDONYM_KEYS is not set: outside development (MOSAIC_ENVIRONMENT="
                                 f"{self.environment!r}) each district needs a secret, e.g. "
                                 '{"*": {"1": "<32+ random bytes>"}}; there is no default')
            self.pseudonym_keys = {DEFAULT_DISTRICT: {1: SecretStr(DEV_KEY)}}
        for district, versions in self.pseudonym_keys.items():
            if not versions:
                raise ValueError(f"MOSAIC_ANALYTICS_PSEUDONYM_KEYS[{district!r}] has no key versions")
            short = [v for v, secret in versions.items() if len(secret.get_secret_value()) < 16]
            if short and self.environment != "development":
                raise ValueError(f"MOSAIC_ANALYTICS_PSEUDONYM_KEYS[{district!r}] versions {short}: "
                                 "a secret must be at least 16 characters")
        return self

    def current_key(self, district_id: str) -> tuple[int, bytes]:
        """The district's current (highest) key version and its secret."""
        versions = self.pseudonym_keys.get(district_id) or self.pseudonym_keys.get(DEFAULT_DISTRICT)
        if not versions:
            raise KeyError(f"no pseudonym key for district {district_id!r} and no '*' default")
        version = max(versions)
        return version, versions[version].get_secret_value().encode()
