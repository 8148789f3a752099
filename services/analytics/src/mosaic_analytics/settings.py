"""Analytics' settings, from MOSAIC_ANALYTICS_* variables (plus the chassis' common ones)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from mosaic_runtime.settings import ServiceSettings, service_config, weak_secret

DEV_KEY = "dev-only-analytics-pseudonym-key"
DEFAULT_DISTRICT = "*"
PseudonymKeys = dict[str, dict[int, SecretStr]]


class AnalyticsSettings(ServiceSettings):
    model_config = service_config("ANALYTICS")

    service_name: str = "analytics"
    http_port: int = 8085
    pseudonym_keys: PseudonymKeys = Field(
        default_factory=dict,
        description='district id (or "*" for every other district) → key version → secret, as JSON, e.g. '
        '{"*": {"1": "..."}, "d-42": {"1": "...", "2": "..."}}; the highest version is current. '
        "Unset only in development (a public dev key)",
    )

    @field_validator("pseudonym_keys")
    @classmethod
    def _every_district_has_a_version(cls, keys: PseudonymKeys) -> PseudonymKeys:
        empty = [district for district, versions in keys.items() if not versions]
        if empty:
            raise ValueError(f"MOSAIC_ANALYTICS_PSEUDONYM_KEYS: no key versions for {empty}")
        return keys

    def secret_problems(self) -> list[str]:
        problems = super().secret_problems()
        if not self.pseudonym_keys:
            return [
                *problems,
                'pseudonym_keys is not set (MOSAIC_ANALYTICS_PSEUDONYM_KEYS, e.g. {"*": {"1": '
                '"<32+ random characters>"}}); outside development there is no default',
            ]
        for district, versions in self.pseudonym_keys.items():
            for version, secret in versions.items():
                problems += weak_secret(f"pseudonym_keys[{district}][{version}]", secret.get_secret_value())
        return problems

    def current_key(self, district_id: str) -> tuple[int, bytes]:
        """The district's current (highest) key version and its secret."""
        keys = self.pseudonym_keys or {DEFAULT_DISTRICT: {1: SecretStr(DEV_KEY)}}  # development only
        versions = keys.get(district_id) or keys.get(DEFAULT_DISTRICT)
        if not versions:
            raise KeyError(f"no pseudonym key for district {district_id!r} and no '*' default")
        version = max(versions)
        return version, versions[version].get_secret_value().encode()
