"""Standalone sign-in with the district's OIDC provider: authorization code with PKCE (RFC 7636).

The session (a signed, HttpOnly, SameSite=Lax cookie) keeps the person's access token, which the
portal forwards to the services; it never mints tokens of its own.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from mosaic_portal.settings import PortalSettings

router = APIRouter(prefix="/auth")
FAMILY_ROLES = frozenset({"parent", "guardian", "relative"})
TEACHER_ROLES = frozenset({"teacher", "aide", "administrator", "siteAdministrator", "districtAdministrator"})


@dataclass(frozen=True)
class Person:
    """Who is signed in, from the identity provider's id_token, and the access token the services take."""

    id: str
    district_id: str
    roles: frozenset[str]
    name: str
    language: str | None
    token: str
    expires_at: int

    @property
    def home(self) -> str:
        if self.roles & TEACHER_ROLES:
            return "/teacher"
        if self.roles & FAMILY_ROLES:
            return "/family"
        return "/student"

    def as_session(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "district_id": self.district_id,
            "roles": sorted(self.roles),
            "name": self.name,
            "language": self.language,
            "token": self.token,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> Person:
        return cls(
            data["id"],
            data["district_id"],
            frozenset(data["roles"]),
            data["name"],
            data.get("language"),
            data["token"],
            int(data["expires_at"]),
        )


class SignInNeeded(Exception):
    """Raised by pages when nobody (or an expired session) is signed in; answered with a redirect to sign-in."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def signed_in(request: Request) -> Person:
    data = request.session.get("person")
    if not data or int(data.get("expires_at", 0)) < time.time() + 30:
        request.session.pop("person", None)
        raise SignInNeeded(str(request.url.path))
    return Person.from_session(data)


CurrentPerson = Annotated[Person, Depends(signed_in)]


def _settings(request: Request) -> PortalSettings:
    return request.app.state.settings


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def begin_sign_in(
    request: Request, *, next_url: str = "/", login_hint: str | None = None, expect_person: str | None = None
) -> RedirectResponse:
    """Redirect to the provider's authorization endpoint, keeping state, nonce and the PKCE verifier."""
    settings = _settings(request)
    pending = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "next": next_url if next_url.startswith("/") else "/",
        "expect": expect_person,
    }
    request.session["oidc"] = pending
    params = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": settings.redirect_uri,
        "scope": "openid profile",
        "state": pending["state"],
        "nonce": pending["nonce"],
        "code_challenge": _challenge(pending["verifier"]),
        "code_challenge_method": "S256",
    }
    if login_hint:
        params |= {"login_hint": login_hint, "prompt": "none"}
    return RedirectResponse(f"{settings.oidc_authorize_url}?{urlencode(params)}", status_code=303)


@router.get("/login")
async def login(request: Request, next: str = "/") -> RedirectResponse:
    return begin_sign_in(request, next_url=next)


@router.get("/callback")
async def callback(request: Request, state: str = "", code: str = "", error: str = "") -> Any:
    from mosaic_portal.pages.common import problem_page

    pending = request.session.pop("oidc", None)
    if error:
        return problem_page(request, 401, f"The sign-in was not completed: {error}.")
    if not pending or not secrets.compare_digest(state, pending["state"]):
        return problem_page(request, 400, "This sign-in link is stale or was not started here; sign in again.")
    settings = _settings(request)
    response = await request.app.state.http.post(
        settings.oidc_token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.redirect_uri,
            "client_id": settings.oidc_client_id,
            "client_secret": settings.oidc_client_secret,
            "code_verifier": pending["verifier"],
        },
    )
    if response.status_code != 200:
        return problem_page(request, 401, f"The identity provider refused the sign-in: {response.text[:200]}")
    tokens = response.json()
    try:
        # Received straight from the token endpoint over TLS: OIDC Core 3.1.3.7 lets TLS stand for the signature.
        claims = jwt.decode(
            tokens["id_token"],
            options={"verify_signature": False, "require": ["exp", "sub"]},
            audience=settings.oidc_client_id,
            issuer=settings.oidc_issuer,
        )
    except (KeyError, jwt.PyJWTError) as exc:
        return problem_page(request, 401, f"The identity provider's id_token is not valid: {exc}")
    if claims.get("nonce") != pending["nonce"]:
        return problem_page(request, 401, "The id_token's nonce does not match this sign-in; sign in again.")
    person_id = str(claims.get("sourced_id") or claims["sub"])
    if pending.get("expect") and pending["expect"] != person_id:
        return problem_page(
            request,
            403,
            "The portal that opened Mosaic named another person than the one "
            "signed in at the district; sign out of one of them and try again.",
        )
    roles = claims.get("roles") or []
    person = Person(
        person_id,
        str(claims["district_id"]),
        frozenset(roles.split() if isinstance(roles, str) else roles),
        str(claims.get("name") or person_id),
        claims.get("locale"),
        tokens["access_token"],
        int(time.time()) + int(tokens.get("expires_in", 3600)),
    )
    request.session["person"] = person.as_session()
    return RedirectResponse(pending["next"] if pending["next"] != "/" else person.home, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/", status_code=303)
