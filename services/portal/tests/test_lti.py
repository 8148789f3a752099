"""LTI 1.3 launches from a real platform (lti1p3platform) signing real id_tokens: a good launch opens the
person's page; forged, replayed, expired and role-mismatched launches are refused."""

from __future__ import annotations

import re
from html import unescape

import httpx
import jwt
import pytest

from mosaic_portal.lti import mosaic_roles

from .conftest import LIS, LmsUser, Stack, rsa_pem_pair

pytestmark = pytest.mark.integration


def _launch_form(stack: Stack, client: httpx.Client, person_id: str) -> dict[str, str]:
    """LMS login initiation → the tool's authentication request → the platform's signed launch form."""
    response = client.get(f"{stack.platform}/start", params={"user": person_id}, follow_redirects=False)
    assert response.status_code in (302, 307), response.text
    tool_login = client.get(response.headers["location"], follow_redirects=False)
    assert tool_login.status_code == 302, tool_login.text
    assert tool_login.headers["location"].startswith(f"{stack.platform}/authorize")
    form = client.get(tool_login.headers["location"], follow_redirects=False)
    assert form.status_code == 200, form.text
    fields = dict(re.findall(r'name="(\w+)"\s+value="([^"]*)"', form.text))
    action = re.search(r'action="([^"]+)"', form.text)
    assert action and fields.get("id_token") and fields.get("state"), form.text
    return {"action": unescape(action.group(1)), "id_token": fields["id_token"], "state": fields["state"]}


def _post_launch(client: httpx.Client, form: dict[str, str]) -> httpx.Response:
    return client.post(
        form["action"], data={"id_token": form["id_token"], "state": form["state"]}, follow_redirects=False
    )


def test_lti_roles_map_to_mosaic_roles() -> None:
    assert mosaic_roles([f"{LIS}membership#Learner"]) == {"student"}
    assert mosaic_roles(["Instructor", f"{LIS}institution/person#Faculty"]) == {"teacher"}
    assert mosaic_roles([f"{LIS}membership#Mentor"]) == {"guardian"}
    assert mosaic_roles(["http://purl.imsglobal.org/vocab/lis/v2/membership#Unheard"]) == set()


def test_a_launch_opens_the_students_page_signed_in_at_the_district(stack: Stack) -> None:
    student = stack.first("student")
    stack.lms_users[student.id] = LmsUser(student.id, [f"{LIS}membership#Learner"])
    with httpx.Client(timeout=60) as client:
        launched = _post_launch(client, _launch_form(stack, client, student.id))
        assert launched.status_code == 303, launched.text
        authorize = launched.headers["location"]
        assert authorize.startswith(f"{stack.idp}/authorize") and "prompt=none" in authorize
        page = client.get(authorize, follow_redirects=True)
        assert page.status_code == 200, page.text
        assert str(page.url).endswith("/student")
        assert "My competencies" in page.text or "Mis competencias" in page.text


def test_a_replayed_launch_is_refused(stack: Stack) -> None:
    student = stack.first("student")
    stack.lms_users[student.id] = LmsUser(student.id, [f"{LIS}membership#Learner"])
    with httpx.Client(timeout=60) as client:
        form = _launch_form(stack, client, student.id)
        assert _post_launch(client, form).status_code == 303
        replay = _post_launch(client, form)
        assert replay.status_code == 401
        assert "Invalid Nonce" in replay.text


def test_a_forged_launch_is_refused(stack: Stack) -> None:
    student = stack.first("student")
    stack.lms_users[student.id] = LmsUser(student.id, [f"{LIS}membership#Learner"])
    with httpx.Client(timeout=60) as client:
        form = _launch_form(stack, client, student.id)
        header = jwt.get_unverified_header(form["id_token"])
        claims = jwt.decode(form["id_token"], options={"verify_signature": False})
        claims["https://purl.imsglobal.org/spec/lti/claim/lis"] = {"person_sourcedid": stack.first("teacher").id}
        forger_key, _ = rsa_pem_pair()
        forged = jwt.encode(claims, forger_key, algorithm="RS256", headers={"kid": header["kid"]})
        refused = _post_launch(client, {**form, "id_token": forged})
        assert refused.status_code == 401
        assert "Signature verification failed" in refused.text


def test_an_expired_launch_is_refused(stack: Stack) -> None:
    student = stack.first("student")
    stack.lms_users[student.id] = LmsUser(student.id, [f"{LIS}membership#Learner"], expires_in=-120)
    with httpx.Client(timeout=60) as client:
        refused = _post_launch(client, _launch_form(stack, client, student.id))
        assert refused.status_code == 401
        assert "expired" in refused.text.lower()


def test_a_launch_without_the_state_cookie_is_refused(stack: Stack) -> None:
    student = stack.first("student")
    stack.lms_users[student.id] = LmsUser(student.id, [f"{LIS}membership#Learner"])
    with httpx.Client(timeout=60) as client:
        form = _launch_form(stack, client, student.id)
    with httpx.Client(timeout=60) as stranger:
        refused = _post_launch(stranger, form)
        assert refused.status_code == 401
        assert "State not found" in refused.text


def test_a_launch_whose_role_disagrees_with_the_roster_is_refused(stack: Stack) -> None:
    student = stack.first("student")
    stack.lms_users[student.id] = LmsUser(student.id, [f"{LIS}membership#Instructor"])
    with httpx.Client(timeout=60) as client:
        refused = _post_launch(client, _launch_form(stack, client, student.id))
        assert refused.status_code == 403
        assert "the roster says" in refused.text
