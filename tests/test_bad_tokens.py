"""Any token that fails verification is a 401 with a reason, on every route of every service, never a 5xx.

An ES256 token reusing our RSA key id, `alg: none`, an HS256 token signed with our public key, garbage,
another issuer or audience, an expired token, missing or misshapen claims, an unknown key id, another key.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mosaic_runtime.auth import generate_signing_key, mint_token

from .test_access_matrix import DISTRICT, FIXED, KEY, OTHER, build, routes_of

OTHER_KEY = generate_signing_key("someone-else")


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "https://idp.mosaic.local",
        "aud": "mosaic",
        "sub": "t",
        "sourced_id": "t",
        "district_id": DISTRICT,
        "roles": ["teacher"],
        "iat": now,
        "exp": now + 600,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def rsa(payload: dict[str, Any], kid: str = KEY.kid) -> str:
    return jwt.encode(payload, KEY.private_pem, algorithm="RS256", headers={"kid": kid})


def es256_with_our_kid() -> str:
    private = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims(), private, algorithm="ES256", headers={"kid": KEY.kid})


def hs256_with_our_public_key() -> str:
    public = (
        serialization.load_pem_private_key(KEY.private_pem, None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in ({"alg": "HS256", "typ": "JWT", "kid": KEY.kid}, claims())
    ]
    import hashlib
    import hmac

    signature = hmac.new(public, ".".join(segments).encode(), hashlib.sha256).digest()
    return ".".join([*segments, base64.urlsafe_b64encode(signature).rstrip(b"=").decode()])


def unsigned() -> str:
    return jwt.encode(claims(), None, algorithm="none", headers={"kid": KEY.kid})


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


BAD_TOKENS: dict[str, str] = {
    "ES256 reusing our RSA key id": es256_with_our_kid(),
    "alg none": unsigned(),
    "HS256 signed with our public key": hs256_with_our_public_key(),
    "garbage": "not-a-token",
    "three garbage segments": "abc.def.ghi",
    "a header that is not an object": f"{b64([1, 2])}.{b64(claims())}.c2ln",
    "another issuer": rsa(claims(iss="https://evil.example")),
    "another audience": rsa(claims(aud="someone-else")),
    "expired": rsa(claims(exp=int(time.time()) - 60)),
    "no exp": rsa(claims(exp=None)),
    "no sub": rsa(claims(sub=None, sourced_id=None)),
    "no district": rsa(claims(district_id=None)),
    "district not a string": rsa(claims(district_id={"id": DISTRICT})),
    "roles not a list": rsa(claims(roles=7)),
    "roles not names": rsa(claims(roles=[{"role": "districtAdministrator"}])),
    "unknown key id": rsa(claims(), kid="nobody-knows"),
    "another key, our key id": jwt.encode(claims(), OTHER_KEY.private_pem, algorithm="RS256", headers={"kid": KEY.kid}),
}


def test_a_good_token_still_verifies() -> None:
    assert mint_token(KEY, district_id=DISTRICT, user_id="t") != BAD_TOKENS["expired"]


@pytest.mark.parametrize("service", ["evidence", "mastery", "scheduling", "notify"])
async def test_every_bad_token_is_a_401_with_a_reason_on_every_route(service: str, database_url: str) -> None:
    app = build(service, database_url)
    names = {**FIXED, **OTHER, "district_id": DISTRICT}
    checked, wrong = 0, []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bad") as client,
    ):
        for method, path, _ in routes_of(app):
            if not path.startswith("/v1/districts/"):
                continue
            for why, token in BAD_TOKENS.items():
                answer = await client.request(
                    method,
                    path.format(**names),
                    json={} if method != "GET" else None,
                    headers={"Authorization": f"Bearer {token}"},
                )
                checked += 1
                reason = answer.json().get("detail") if answer.status_code == 401 else None
                if not (
                    isinstance(reason, str) and reason and "invalid_token" in answer.headers.get("www-authenticate", "")
                ):
                    wrong.append(f"{method} {path} with {why}: {answer.status_code} {answer.text[:160]}")
    print(f"{service}: {checked} bad-token checks")
    assert not wrong, "\n".join(wrong[:30])
