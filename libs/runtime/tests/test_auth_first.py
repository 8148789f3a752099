"""A caller without a valid token hears 401 whatever they sent; only an authenticated caller hears about the body."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from mosaic_runtime.auth import CurrentPrincipal, TokenVerifier, generate_signing_key, mint_token
from mosaic_runtime.auth_first import authenticate_before_parsing
from mosaic_runtime.settings import ServiceSettings

MALFORMED_JSON = b'{"score": '
NOT_UTF8 = b'{"score": "\xff\xfe"}'


class Score(BaseModel):
    score: int


def _app() -> FastAPI:
    app = FastAPI()
    key = generate_signing_key()
    app.state.token_verifier = TokenVerifier(ServiceSettings(oidc_jwks_json=key.jwks_json))

    router = APIRouter()  # as the services do: routes on a router the app includes

    @router.post("/scores")
    async def record(body: Score, principal: CurrentPrincipal) -> dict[str, int]:
        return {"score": body.score}

    app.include_router(router)

    @app.post("/open")
    async def open_route(body: Score) -> dict[str, int]:
        return {"score": body.score}

    authenticate_before_parsing(app.routes)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as http:
        yield http


def _token() -> str:
    return mint_token(generate_signing_key(), district_id="d1", user_id="t1")


@pytest.mark.parametrize("body", [MALFORMED_JSON, NOT_UTF8, b'{"score": "ten"}'])
async def test_a_bad_body_without_a_token_is_refused_as_unauthenticated(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/scores", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401, response.text
    assert "bearer token" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_bad_body_with_a_forged_token_is_refused_as_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/scores",
        content=MALFORMED_JSON,
        headers={"Content-Type": "application/json", "Authorization": "Bearer forged"},
    )
    assert response.status_code == 401, response.text


async def test_an_authenticated_caller_hears_what_is_wrong_with_the_body(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {_token()}"}
    assert (await client.post("/scores", content=MALFORMED_JSON, headers=headers)).status_code == 422
    assert (await client.post("/scores", json={"score": 3}, headers=headers)).json() == {"score": 3}


async def test_a_route_without_a_token_is_left_alone(client: httpx.AsyncClient) -> None:
    response = await client.post("/open", content=MALFORMED_JSON, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
