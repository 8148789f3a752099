"""Who is calling: OIDC bearer tokens from the district's identity provider (invariant 9).

Claims give the district (`district_id`), the user's OneRoster `sourcedId` (`sourced_id`,
else `sub`) and `roles`. No token, a bad signature or an expired token is a 401 with the
reason; another district's data is a 403. What a caller may see inside their district is the
access policy's business (`mosaic_runtime.access`).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace

from mosaic_runtime.settings import ServiceSettings

ALGORITHMS = ["RS256", "ES256"]
DISTRICT_CLAIM = "district_id"
SOURCED_ID_CLAIM = "sourced_id"
ROLES_CLAIM = "roles"


@dataclass(frozen=True)
class Principal:
    district_id: str
    user_id: str
    roles: frozenset[str]


class TokenRejected(Exception):
    """A bearer token that does not verify; the message says why, for the 401."""


# What each kind of key may sign with: a token's `alg` must match its key, whatever its header claims.
KEY_ALGORITHMS = {"RSA": ("RS256",), "EC": ("ES256",)}


# A teacher's token comes with every request for hours: a verified one is kept for this long (never past its
# `exp`), so the RSA check runs once a minute per token instead of once per request.
VERIFIED_SECONDS = 60.0
VERIFIED_TOKENS = 10_000


class TokenVerifier:
    """Verifies bearer tokens against the issuer's keys (JWKS from a URL, a file or inline JSON)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self._jwks_client = jwt.PyJWKClient(settings.oidc_jwks_url) if settings.oidc_jwks_url else None
        jwks_text = settings.oidc_jwks_json
        if jwks_text is None and settings.oidc_jwks_file is not None and settings.oidc_jwks_file.exists():
            jwks_text = settings.oidc_jwks_file.read_text()
        self._jwks = jwt.PyJWKSet.from_dict(json.loads(jwks_text)) if jwks_text else None

    def _key_for(self, header: dict[str, Any], token: str) -> jwt.PyJWK:
        kid = header.get("kid")
        if self._jwks is not None:
            for key in self._jwks.keys:
                if kid is None or key.key_id == kid:
                    return key
            raise TokenRejected(f"the identity provider has no key with kid {kid!r}")
        if self._jwks_client is not None:
            return self._jwks_client.get_signing_key_from_jwt(token)
        raise TokenRejected("the service has no identity-provider keys configured (set MOSAIC_OIDC_JWKS_URL)")

    def verify(self, token: str) -> Principal:
        """The caller a token names, or TokenRejected with the reason; nothing else escapes."""
        now = time.time()
        kept = self._verified.get(token)
        if kept is not None and kept[0] > now:
            return kept[1]
        try:
            principal, expires = self._verify(token)
        except TokenRejected:
            raise
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired; get a new one from your identity provider") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the token's signature does not verify against the identity provider's keys") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the token is not valid: {exc}") from None
        except Exception as exc:  # a malformed token must never become a 500
            raise TokenRejected(f"the token cannot be read ({type(exc).__name__})") from None
        self._verified[token] = (min(expires, now + VERIFIED_SECONDS), principal)
        while len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        header = jwt.get_unverified_header(token)
        key = self._key_for(header, token)
        allowed = KEY_ALGORITHMS.get(str(key.key_type), ())
        if header.get("alg") not in allowed:
            raise TokenRejected(
                f"the token is signed with {header.get('alg')!r}, but its key "
                f"{key.key_id!r} signs with {', '.join(allowed) or 'nothing we accept'}"
            )
        claims = jwt.decode(
            token,
            key.key,
            algorithms=list(allowed),
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return principal_from_claims(claims), float(claims["exp"])


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """District, user and roles from verified claims; a claim of the wrong shape is a TokenRejected."""
    district = claims.get(DISTRICT_CLAIM)
    if not isinstance(district, str) or not district:
        raise TokenRejected(f"the token has no {DISTRICT_CLAIM!r} claim (a string naming your district)")
    user = claims.get(SOURCED_ID_CLAIM) or claims.get("sub")
    if not isinstance(user, str) or not user:
        raise TokenRejected(f"the token's {SOURCED_ID_CLAIM!r} or 'sub' claim must be a non-empty string")
    roles = claims.get(ROLES_CLAIM) or []
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise TokenRejected(f"the token's {ROLES_CLAIM!r} claim must be a list of role names")
    return Principal(district, user, frozenset(roles))


_bearer = HTTPBearer(auto_error=False)


def unauthorized(reason: str) -> HTTPException:
    """A 401 saying why; the header carries the reason in printable ASCII (RFC 6750)."""
    described = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in reason)
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{described}"'},
    )


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise unauthorized("no bearer token: send 'Authorization: Bearer <token>' from your identity provider")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(credentials.credentials)
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from None


async def district_principal(
    principal: Annotated[Principal, Depends(current_principal)],
    district_id: Annotated[str, Path(description="the district's id")],
) -> Principal:
    """The caller, checked to belong to the district named in the path."""
    trace.get_current_span().set_attribute("mosaic.district_id", district_id)
    if principal.district_id != district_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"your token is for district {principal.district_id!r}, not {district_id!r}",
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
DistrictPrincipal = Annotated[Principal, Depends(district_principal)]


# --- keys and tokens for tests and the dev runner -------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: bytes
    jwks: dict[str, Any]

    @property
    def jwks_json(self) -> str:
        return json.dumps(self.jwks)


@lru_cache(maxsize=4)
def generate_signing_key(kid: str = "mosaic-dev") -> SigningKey:
    """A fresh RSA key and its JWKS, standing in for the district's identity provider."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return SigningKey(kid, pem, {"keys": [jwk]})


def mint_token(
    key: SigningKey,
    *,
    district_id: str,
    user_id: str,
    roles: tuple[str, ...] = ("teacher",),
    issuer: str = "https://idp.mosaic.local",
    audience: str = "mosaic",
    ttl_seconds: int = 3600,
    **extra: Any,
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        SOURCED_ID_CLAIM: user_id,
        DISTRICT_CLAIM: district_id,
        ROLES_CLAIM: list(roles),
        "iat": now,
        "exp": now + ttl_seconds,
        **extra,
    }
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
