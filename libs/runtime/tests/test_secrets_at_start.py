"""Outside development a service refuses to start with a default or missing secret."""

from __future__ import annotations

import pytest

from mosaic_runtime.settings import InsecureSettings, ServiceSettings

JWKS = '{"keys": []}'


def test_development_starts_with_the_defaults() -> None:
    assert ServiceSettings(database_url="sqlite+aiosqlite://").environment == "development"


def test_production_refuses_to_start_without_identity_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSAIC_ENVIRONMENT", "production")
    with pytest.raises(InsecureSettings, match="no identity-provider keys"):
        ServiceSettings(database_url="sqlite+aiosqlite://")
    assert ServiceSettings(database_url="sqlite+aiosqlite://", oidc_jwks_json=JWKS).environment == "production"


def test_notify_refuses_its_public_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from mosaic_notify.settings import NotifySettings

    monkeypatch.setenv("MOSAIC_ENVIRONMENT", "production")
    with pytest.raises(InsecureSettings) as refused:
        NotifySettings(database_url="sqlite+aiosqlite://", oidc_jwks_json=JWKS)
    assert "webhook_secret is the public development default" in str(refused.value)
    assert "unsubscribe_secret is the public development default" in str(refused.value)
    with pytest.raises(InsecureSettings, match="unsubscribe_secret has fewer than 16"):
        NotifySettings(
            database_url="sqlite+aiosqlite://",
            oidc_jwks_json=JWKS,
            webhook_secret="a-long-random-secret-from-the-vault",
            unsubscribe_secret="short",
        )
    monkeypatch.setenv("MOSAIC_NOTIFY_WEBHOOK_SECRET", "w" * 32)
    monkeypatch.setenv("MOSAIC_NOTIFY_UNSUBSCRIBE_SECRET", "u" * 32)
    assert NotifySettings(database_url="sqlite+aiosqlite://", oidc_jwks_json=JWKS).webhook_secret == "w" * 32


def test_the_service_process_exits_rather_than_serve_with_default_secrets(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "MOSAIC_ENVIRONMENT": "production",
        "MOSAIC_DATA_DIR": str(tmp_path),
        "MOSAIC_NOTIFY_OIDC_JWKS_JSON": JWKS,
    }
    started = subprocess.run(
        [sys.executable, "-c", "import mosaic_notify.main"], env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode != 0 and "InsecureSettings" in started.stderr
    assert "webhook_secret is the public development default" in started.stderr
