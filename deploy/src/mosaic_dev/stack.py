"""The local stack: the four services as processes on their own ports, SQLite files under the data folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    app_module: str = ""

    @property
    def module(self) -> str:
        return self.app_module or f"mosaic_{self.name}.main:app"

    @property
    def prefix(self) -> str:
        return f"MOSAIC_{self.name.upper()}_"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES = (
    ServiceSpec("evidence", 8081),
    ServiceSpec("mastery", 8082),
    ServiceSpec("scheduling", 8083),
    ServiceSpec("notify", 8084),
)


IDP = ServiceSpec("idp", 8079, "mosaic_dev.idp_main:app")
PORTAL = ServiceSpec("portal", 8080)
PORTAL_CLIENT_SECRET = "mosaic-portal-dev-client-secret"


def front_envs(
    data_dir: Path,
    *,
    idp: ServiceSpec = IDP,
    portal: ServiceSpec = PORTAL,
    services: tuple[ServiceSpec, ...] = SERVICES,
    lti_config_file: Path | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Environments for the dev identity provider (OIDC with PKCE) and the portal that signs people in with it."""
    shared = {
        "MOSAIC_DATA_DIR": str(data_dir.resolve()),
        "MOSAIC_DEV_IDP_URL": idp.url,
        "MOSAIC_PORTAL_PUBLIC_URL": portal.url,
        "MOSAIC_PORTAL_OIDC_CLIENT_SECRET": PORTAL_CLIENT_SECRET,
    }
    portal_env = {
        **dict(os.environ),
        **shared,
        "MOSAIC_PORTAL_ENVIRONMENT": "development",
        "MOSAIC_PORTAL_OIDC_AUTHORIZE_URL": f"{idp.url}/authorize",
        "MOSAIC_PORTAL_OIDC_TOKEN_URL": f"{idp.url}/token",
        **{f"MOSAIC_PORTAL_{s.name.upper()}_URL": s.url for s in services},
    }
    seeded = data_dir / "seeded"
    if seeded.exists():
        portal_env["MOSAIC_PORTAL_LTI_DISTRICT_ID"] = seeded.read_text().strip()
    if lti_config_file is not None:
        portal_env["MOSAIC_PORTAL_LTI_CONFIG_FILE"] = str(lti_config_file)
    return {**dict(os.environ), **shared}, portal_env


@dataclass
class RunningService:
    spec: ServiceSpec
    process: subprocess.Popen[bytes]
    log_file: Path


def service_env(
    spec: ServiceSpec,
    *,
    data_dir: Path,
    bootstrap: str,
    jwks_file: Path,
    smtp_port: int | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env = dict(os.environ)
    p = spec.prefix
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MOSAIC_DATA_DIR": str(data_dir.resolve()),
            f"{p}DATABASE_URL": f"sqlite+aiosqlite:///{(data_dir / f'{spec.name}.db').resolve()}",
            f"{p}HTTP_PORT": str(spec.port),
            f"{p}OIDC_JWKS_FILE": str(jwks_file.resolve()),
        }
    )
    if spec.name == "notify" and smtp_port is not None:
        env.update(
            {f"{p}SMTP_HOST": "127.0.0.1", f"{p}SMTP_PORT": str(smtp_port), f"{p}UNSUBSCRIBE_BASE_URL": f"{spec.url}"}
        )
    env.update(extra or {})
    return env


def start_service(spec: ServiceSpec, env: dict[str, str], logs: Path) -> RunningService:
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"{spec.name}.log"
    out = log_file.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            spec.module,
            "--host",
            "127.0.0.1",
            "--port",
            str(spec.port),
            "--timeout-graceful-shutdown",
            "30",
            "--no-access-log",
        ],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    return RunningService(spec, process, log_file)


def wait_until_ready(service: RunningService, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"{service.spec.name} exited ({service.process.returncode}); see {service.log_file}:\n"
                + _tail(service.log_file)
            )
        try:
            with urllib.request.urlopen(f"{service.spec.url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{service.spec.name} was not ready within {timeout:.0f}s; see {service.log_file}")


def stop_service(service: RunningService, timeout: float = 35.0) -> None:
    if service.process.poll() is None:
        service.process.terminate()
        try:
            service.process.wait(timeout)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def tracing_env(endpoint: str, spec: ServiceSpec) -> dict[str, str]:
    """Standard OTEL_* variables that send a service's spans to an OTLP/HTTP receiver, quickly."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_SERVICE_NAME": f"mosaic-{spec.name}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
