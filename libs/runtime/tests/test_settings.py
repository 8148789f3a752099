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

