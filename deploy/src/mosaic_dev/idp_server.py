"""The dev identity provider over HTTP: OIDC authorization code with PKCE, a page to choose a demo
person from the seeded district, client credentials for the portal, and the JWKS.

Development only: there are no passwords; choosing a person (or a login_hint with prompt=none,
standing in for the district's single sign-on session) signs them in.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from mosaic_dev.idp import AUDIENCE, ISSUER, DevIdentityProvider

CODE_SECONDS = 120
TOKEN_SECONDS = 8 * 3600
DEMO_ROLES = {"student": "student", "teacher": "teacher", "parent": "guardian", "guardian": "guardian"}


@dataclass(frozen=True)
class Client:
    secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class DemoPerson:
    id: str
    name: str
    role: str
    language: str
    related: tuple[str, ...] = ()


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    person: DemoPerson
    expires: float = field(default_factory=lambda: time.time() + CODE_SECONDS)


def demo_people(data_dir: Path) -> dict[str, DemoPerson]:
    """Everyone on the seeded district's roster (users.csv of the demo bundle)."""
    users = data_dir / "demo" / "oneroster" / "users.csv"
    if not users.exists():
        return {}
    with users.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        r["sourcedId"]: DemoPerson(
            r["sourcedId"],
            f"{r['givenName']} {r['familyName']}",
            r["role"],
            (r.get("metadata.preferredLanguage") or "en")[:2],
            tuple(a for a in (r.get("agentSourcedIds") or "").split(",") if a),
        )
        for r in rows
    }


def choosable(people: dict[str, DemoPerson], per_role: int = 4) -> list[DemoPerson]:
    """A few of each: teachers, students, and guardians (Spanish speakers first) of those students."""
    teachers = [p for p in people.values() if p.role == "teacher"][:per_role]
    students = [p for p in people.values() if p.role == "student"][:per_role]
    guardians = [people[g] for s in students for g in s.related if g in people]
    guardians.sort(key=lambda g: g.language != "es")
    return teachers + students + guardians[:per_role]


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def create_idp_app(idp: DevIdentityProvider, data_dir: Path, clients: dict[str, Client], public_url: str) -> FastAPI:
    app = FastAPI(title="Mosaic dev identity provider", docs_url=None, redoc_url=None)
    grants: dict[str, Grant] = {}

    def district_id() -> str:
        seeded = data_dir / "seeded"
        return seeded.read_text().strip() if seeded.exists() else "unseeded"

    def issue_code(
        client_id: str, redirect_uri: str, challenge: str, nonce: str | None, state: str, person: DemoPerson
    ) -> RedirectResponse:
        code = secrets.token_urlsafe(24)
        grants[code] = Grant(client_id, redirect_uri, challenge, nonce, person)
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=303)

    def check_client(client_id: str, redirect_uri: str | None = None) -> str | None:
        client = clients.get(client_id)
        if client is None:
            return f"unknown client_id {client_id!r}"
        if redirect_uri is not None and redirect_uri not in client.redirect_uris:
            return f"redirect_uri {redirect_uri!r} is not registered for {client_id!r}"
        return None

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{public_url}/authorize",
            "token_endpoint": f"{public_url}/token",
            "jwks_uri": f"{public_url}/jwks.json",
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "response_types_supported": ["code"],
        }

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/jwks.json")
    async def jwks() -> dict[str, Any]:
        return idp.key.jwks

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize(
        request: Request,
        client_id: str = "",
        redirect_uri: str = "",
        state: str = "",
        code_challenge: str = "",
        code_challenge_method: str = "",
        nonce: str | None = None,
        response_type: str = "",
        login_hint: str | None = None,
        prompt: str | None = None,
    ) -> Any:
        problem = check_client(client_id, redirect_uri)
        if problem is None and (response_type != "code" or code_challenge_method != "S256" or not code_challenge):
            problem = "this provider needs response_type=code with a PKCE code_challenge (S256)"
        if problem:
            return HTMLResponse(f"<p>{escape(problem)}</p>", status_code=400)
        people = demo_people(data_dir)
        if login_hint and prompt == "none":
            if login_hint not in people:
                return RedirectResponse(
                    f"{redirect_uri}?{urlencode({'error': 'login_required', 'state': state})}", status_code=303
                )
            return issue_code(client_id, redirect_uri, code_challenge, nonce, state, people[login_hint])
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{escape(v or "")}">'
            for k, v in {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "nonce": nonce,
            }.items()
        )
        groups = {"teacher": "Teachers", "student": "Students", "guardian": "Guardians"}
        chosen = choosable(people)
        sections = "".join(
            f"<h2>{title}</h2><ul>"
            + "".join(
                f'<li><button type="submit" name="person_id" value="{escape(p.id)}">{escape(p.name)}</button> '
                f'<span lang="{escape(p.language)}">{"español" if p.language == "es" else "English"}</span></li>'
                for p in chosen
                if DEMO_ROLES.get(p.role, p.role) == role
            )
            + "</ul>"
            for role, title in groups.items()
        )
        choices = sections if chosen else "<p>Seed the demo district first.</p>"
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"><title>Sign in · Mosaic dev IdP</title><style>'
            "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f0;color:#1b1b1b}"
            "main{max-width:560px;margin:0 auto;padding:16px}h1{font-size:1.5rem}ul{list-style:none;padding:0}"
            "li{margin:6px 0}button{font:inherit;min-height:44px;padding:8px 14px;border-radius:6px;"
            "border:1px solid #1d3557;background:#fff;color:#1d3557;cursor:pointer}span{margin-left:8px;color:#444}"
            "</style></head><body><main><h1>Sign in as a demo person</h1><p>The development identity provider has "
            f'no passwords: choose who you are.</p><form method="post" action="/authorize">{hidden}{choices}'
            "</form></main></body></html>"
        )

    @app.post("/authorize")
    async def choose(
        client_id: str = Form(),
        redirect_uri: str = Form(),
        state: str = Form(""),
        code_challenge: str = Form(),
        nonce: str = Form(""),
        person_id: str = Form(),
    ) -> Any:
        problem = check_client(client_id, redirect_uri)
        person = demo_people(data_dir).get(person_id)
        if problem or person is None:
            return HTMLResponse(
                f"<p>{escape(problem or f'no person {person_id!r} on the roster')}</p>", status_code=400
            )
        return issue_code(client_id, redirect_uri, code_challenge, nonce or None, state, person)

    @app.post("/token")
    async def token(
        grant_type: str = Form(),
        client_id: str = Form(""),
        client_secret: str = Form(""),
        code: str = Form(""),
        redirect_uri: str = Form(""),
        code_verifier: str = Form(""),
    ) -> Any:
        client = clients.get(client_id)
        if client is None or not secrets.compare_digest(client.secret, client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if grant_type == "client_credentials":
            access = idp.token(
                district_id=district_id(), user_id=client_id, roles=("portal",), ttl_seconds=TOKEN_SECONDS
            )
            return {"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}
        if grant_type != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        grant = grants.pop(code, None)
        if grant is None or grant.expires < time.time() or grant.client_id != client_id:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "unknown, used or expired code"}, status_code=400
            )
        if grant.redirect_uri != redirect_uri or not secrets.compare_digest(_challenge(code_verifier), grant.challenge):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "PKCE verifier or redirect_uri does not match"},
                status_code=400,
            )
        person, district = grant.person, district_id()
        roles = (DEMO_ROLES.get(person.role, person.role),) if person.role != "parent" else ("parent",)
        access = idp.token(district_id=district, user_id=person.id, roles=roles, ttl_seconds=TOKEN_SECONDS)
        now = int(time.time())
        id_token = jwt.encode(
            {
                "iss": ISSUER,
                "aud": client_id,
                "sub": person.id,
                "sourced_id": person.id,
                "district_id": district,
                "roles": list(roles),
                "name": person.name,
                "locale": person.language,
                "nonce": grant.nonce,
                "iat": now,
                "exp": now + TOKEN_SECONDS,
            },
            idp.key.private_pem,
            algorithm="RS256",
            headers={"kid": idp.key.kid},
        )
        return {
            "access_token": access,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "audience": AUDIENCE,
        }

    return app
