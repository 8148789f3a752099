"""Settings come from the environment: one prefix per service, the identity provider once per district."""

from mosaic_runtime.settings import ServiceSettings, service_config


class EvidenceLikeSettings(ServiceSettings):
    model_config = service_config("EVIDENCE")
    service_name: str = "evidence"


def test_the_service_prefix_wins_over_the_district_wide_value(monkeypatch, tmp_path):
    monkeypatch.setenv("MOSAIC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOSAIC_OIDC_ISSUER", "https://idp.district.example")
    monkeypatch.setenv("MOSAIC_OIDC_AUDIENCE", "mosaic-district")
    monkeypatch.setenv("MOSAIC_EVIDENCE_OIDC_AUDIENCE", "evidence-only")
    settings = EvidenceLikeSettings()
    assert settings.oidc_issuer == "https://idp.district.example"
    assert settings.oidc_audience == "evidence-only"


def test_kafka_and_database_have_working_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("MOSAIC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9092")
    settings = EvidenceLikeSettings()
    assert settings.kafka_bootstrap_servers == "broker-1:9092"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/evidence.db"
    assert settings.consumer_group == "mosaic-evidence"


def test_request_limits_are_set_per_service_and_default_to_1_mib_and_50_mib(monkeypatch, tmp_path):
    monkeypatch.setenv("MOSAIC_DATA_DIR", str(tmp_path))
    assert (EvidenceLikeSettings().max_request_bytes, EvidenceLikeSettings().max_upload_bytes) == (
        1024 * 1024,
        50 * 1024 * 1024,
    )
    monkeypatch.setenv("MOSAIC_EVIDENCE_MAX_REQUEST_BYTES", "4096")
    monkeypatch.setenv("MOSAIC_EVIDENCE_MAX_UPLOAD_BYTES", "8192")
    settings = EvidenceLikeSettings()
    assert (settings.max_request_bytes, settings.max_upload_bytes) == (4096, 8192)
