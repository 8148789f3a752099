"""Standalone sign-in over real HTTP: authorization code with PKCE at the dev IdP, the session cookie's
flags, refusals (wrong verifier, stale state), and pages showing only what the services allow."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from pydantic import ValidationError

from mosaic_dev.stack import PORTAL_CLIENT_SECRET
from mosaic_portal.settings import PortalSettings

from .conftest import Stack

pytestmark = pytest.mark.integration


def _to_callback(stack: Stack, client: httpx.Client, person_id: str) -> tuple[str, str]:
    """Start at the portal, choose the person at the IdP; returns (the callback URL, the authorize URL)."""
    start = client.get(f"{stack.portal}/auth/login", follow_redirects=False)
    assert start.status_code == 303
    authorize = start.headers["location"]
    query = parse_qs(urlparse(authorize).query)
    chosen = client.post(
        f"{stack.idp}/authorize",
        follow_redirects=False,
        data={
            "client_id": query["client_id"][0],
            "redirect_uri": query["redirect_uri"][0],
            "state": query["state"][0],
            "code_challenge": query["code_challenge"][0],
            "nonce": query["nonce"][0],
            "person_id": person_id,
        },
    )
    assert chosen.status_code == 303, chosen.text
    return chosen.headers["location"], authorize


def test_the_portal_has_no_cookie_secret_by_default_outside_development() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY is required"):
        PortalSettings(environment="production", secret_key=None)
    assert PortalSettings(environment="development").secret_key


def test_sign_in_uses_pkce_and_a_signed_httponly_samesite_cookie(stack: Stack) -> None:
    student = stack.first("student")
    with httpx.Client(timeout=60) as client:
        callback, authorize = _to_callback(stack, client, student.id)
        query = parse_qs(urlparse(authorize).query)
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        signed_in = client.get(callback, follow_redirects=False)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/student"
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = client.get(f"{stack.portal}/student")
        assert page.status_code == 200 and "My competencies" in page.text
        tampered = httpx.Cookies({"mosaic_portal": client.cookies["mosaic_portal"][:-4] + "AAAA"})
        with httpx.Client(timeout=60, cookies=tampered) as stranger:
            assert stranger.get(f"{stack.portal}/student", follow_redirects=False).status_code == 303


def test_the_idp_refuses_a_code_without_the_right_verifier(stack: Stack) -> None:
    with httpx.Client(timeout=60) as client:
        callback, _ = _to_callback(stack, client, stack.first("teacher").id)
        code = parse_qs(urlparse(callback).query)["code"][0]
        refused = httpx.post(
            f"{stack.idp}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback.split("?")[0],
                "client_id": "mosaic-portal",
                "client_secret": PORTAL_CLIENT_SECRET,
                "code_verifier": "x" * 50,
            },
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        # the code was spent by the failed attempt: the portal's own exchange is refused too
        assert client.get(callback, follow_redirects=False).status_code == 401


def test_a_callback_with_a_state_the_portal_did_not_issue_is_refused(stack: Stack) -> None:
    with httpx.Client(timeout=60) as client:
        callback, _ = _to_callback(stack, client, stack.first("teacher").id)
        forged = re.sub(r"state=[^&]+", "state=forged", callback)
        refused = client.get(forged, follow_redirects=False)
        assert refused.status_code == 400 and "stale" in refused.text


def test_a_student_sees_only_what_the_services_allow(stack: Stack) -> None:
    student, other = [p for p in stack.demo if p.role == "student"][:2]
    with httpx.Client(timeout=60) as client:
        callback, _ = _to_callback(stack, client, student.id)
        client.get(callback)
        refused = client.get(f"{stack.portal}/student", params={"student": other.id})
        assert refused.status_code == 404  # the access policy: as if that student did not exist
        assert "that you may see" in refused.text
        assert client.get(f"{stack.portal}/teacher/sections/anything").status_code == 403
