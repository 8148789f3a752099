"""The whole stack for the portal's tests: a real broker, the four services, the seeded demo district,
the dev identity provider and the portal as processes on free ports, and a real LTI platform."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import MessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration

from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.idp_server import DemoPerson, choosable, demo_people
from mosaic_dev.kafka import free_port
from mosaic_dev.scenario import StackUrls
from mosaic_dev.seed import seed_demo_district
from mosaic_dev.stack import (
    SERVICES,
    RunningService,
    ServiceSpec,
    front_envs,
    service_env,
    start_service,
    stop_service,
    wait_until_ready,
)

PLATFORM_ISS = "https://lms.example.edu"
CLIENT_ID = "mosaic-tool"
DEPLOYMENT = "district-deployment-1"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


def rsa_pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class Platform(LTI1P3PlatformConfAbstract):
    """An LMS that has registered Mosaic as an LTI 1.3 tool."""

    def init_platform_config(self, **kwargs: Any) -> None:
        private, public = kwargs["keys"]
        self._registration = (
            Registration()
            .set_iss(PLATFORM_ISS)
            .set_client_id(CLIENT_ID)
            .set_deployment_id(DEPLOYMENT)
            .set_oidc_login_url(kwargs["login_url"])
            .set_launch_url(kwargs["launch_url"])
            .set_platform_public_key(public)
            .set_platform_private_key(private)
        )

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class OidcLogin(OIDCLoginAbstract):
    """The platform's side of login initiation (its FastAPI adapter needs pkg_resources, so ours is two lines)."""

    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=302)


class SignedLaunch(MessageLaunchAbstract):
    """The platform's launch: the tool's authentication request in, an auto-posting form with the id_token out."""

    def get_preflight_response(self) -> dict[str, Any]:
        return dict(self._request.query_params)

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> HTMLResponse:
        fields = "".join(
            f'<input type="hidden" name="{k}" value="{escape(str(launch_data[k]))}">' for k in ("id_token", "state")
        )
        return HTMLResponse(
            f'<form id="launch" method="post" action="{escape(launch_data["launch_url"])}">'
            f'{fields}</form><script>document.getElementById("launch").submit()</script>'
        )


@dataclass
class LmsUser:
    person_id: str
    roles: list[str]
    expires_in: int = 300


def platform_app(platform: Platform, users: dict[str, LmsUser]) -> FastAPI:
    app = FastAPI()

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": platform.get_registration().get_jwks()}

    @app.get("/start")
    async def start(request: Request, user: str) -> Any:
        """The LMS user clicks Mosaic: OIDC login initiation at the tool."""
        login = OidcLogin(request, platform)
        login.set_lti_message_hint(hint=f"resource-1:{user}")
        return login.initiate_login(user)

    @app.get("/authorize")
    async def authorize(request: Request) -> Any:
        """The tool's authentication request: answer with a signed launch (an auto-posting form)."""
        user = users[request.query_params["login_hint"]]
        launch = SignedLaunch(request, platform)
        launch.set_user_data(f"lms-{user.person_id}", user.roles, full_name=user.person_id)
        launch.set_resource_link_claim("resource-1")
        launch.set_extra_claims({"https://purl.imsglobal.org/spec/lti/claim/lis": {"person_sourcedid": user.person_id}})
        launch.set_id_token_expiration(user.expires_in)
        return launch.lti_launch()

    @app.exception_handler(KeyError)
    async def unknown(request: Request, exc: KeyError) -> JSONResponse:
        return JSONResponse({"error": f"unknown {exc}"}, status_code=400)

    return app


class ThreadedServer:
    def __init__(self, app: FastAPI, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Stack:
    urls: StackUrls
    portal: str
    idp: str
    platform: str
    data_dir: Path
    district_id: str
    people: dict[str, DemoPerson]
    demo: list[DemoPerson]
    lms_users: dict[str, LmsUser]
    platform_keys: tuple[str, str]

    def first(self, role: str, language: str | None = None) -> DemoPerson:
        return next(
            p
            for p in self.demo
            if p.role in ({role} if role != "guardian" else {"parent", "guardian"})
            and (language is None or p.language == language)
        )


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from mosaic_runtime.topics_admin import ensure_topics

    data_dir = tmp_path_factory.mktemp("portal-stack")
    ensure_topics(kafka_bootstrap)
    idp = DevIdentityProvider(data_dir)
    specs = [ServiceSpec(s.name, free_port()) for s in SERVICES]
    idp_spec = ServiceSpec("idp", free_port(), "mosaic_dev.idp_main:app")
    portal_spec = ServiceSpec("portal", free_port())
    platform_port = free_port()
    platform_url = f"http://127.0.0.1:{platform_port}"
    keys = rsa_pem_pair()
    tool_private, tool_public = rsa_pem_pair()
    (data_dir / "tool-private.key").write_text(tool_private)
    (data_dir / "tool-public.key").write_text(tool_public)
    lti_file = data_dir / "lti.json"
    lti_file.write_text(
        json.dumps(
            {
                PLATFORM_ISS: [
                    {
                        "default": True,
                        "client_id": CLIENT_ID,
                        "auth_login_url": f"{platform_url}/authorize",
                        "auth_token_url": f"{platform_url}/token",
                        "key_set_url": f"{platform_url}/jwks",
                        "key_set": None,
                        "private_key_file": "tool-private.key",
                        "public_key_file": "tool-public.key",
                        "deployment_ids": [DEPLOYMENT],
                    }
                ]
            }
        )
    )
    running: list[RunningService] = []
    try:
        for spec in specs:
            env = service_env(
                spec,
                data_dir=data_dir,
                bootstrap=kafka_bootstrap,
                jwks_file=idp.jwks_file,
                extra={
                    f"{spec.prefix}OUTBOX_POLL_SECONDS": "0.1",
                    f"{spec.prefix}CONSUMER_GROUP": f"portal-{spec.name}-{secrets.token_hex(3)}",
                },
            )
            running.append(start_service(spec, env, data_dir / "logs"))
        for service in running:
            wait_until_ready(service, timeout=180)
        urls = StackUrls(**{s.name: s.url for s in specs})
        loaded = seed_demo_district(idp, data_dir, urls, echo=lambda *_: None)
        (data_dir / "seeded").write_text(f"{loaded['district_id']}\n")
        idp_env, portal_env = front_envs(
            data_dir, idp=idp_spec, portal=portal_spec, services=tuple(specs), lti_config_file=lti_file
        )
        front = [
            start_service(idp_spec, idp_env, data_dir / "logs"),
            start_service(portal_spec, portal_env, data_dir / "logs"),
        ]
        running += front
        for service in front:
            wait_until_ready(service, timeout=90)
        people = demo_people(data_dir)
        lms_users: dict[str, LmsUser] = {}
        platform = Platform(
            keys=keys, login_url=f"{portal_spec.url}/lti/login", launch_url=f"{portal_spec.url}/lti/launch"
        )
        with ThreadedServer(platform_app(platform, lms_users), platform_port):
            yield Stack(
                urls,
                portal_spec.url,
                idp_spec.url,
                platform_url,
                data_dir,
                str(loaded["district_id"]),
                people,
                choosable(people),
                lms_users,
                keys,
            )
    finally:
        for service in reversed(running):
            stop_service(service)
