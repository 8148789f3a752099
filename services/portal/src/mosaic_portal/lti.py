"""LTI 1.3 tool: a district's portal (LMS or SIS) opens Mosaic for its signed-in person.

PyLTI1p3 does the protocol (OIDC login initiation, the launch id_token verified against the platform's
JWKS, state, nonce, deployment, message checks); this module adapts it to FastAPI, keeps its state
server-side with nonces used once, maps LTI roles to Mosaic's and matches the person to the roster.
The person then signs in at the district's IdP (login_hint, prompt=none) so the services get their
own token; the sign-in must name the same person.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request as LtiRequest
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfDict, ToolConfJsonFile

from mosaic_portal.services import ServiceRefused
from mosaic_portal.settings import PortalSettings

router = APIRouter(prefix="/lti")
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
ROLE_MAP = {
    f"{LIS}membership#Learner": "student",
    f"{LIS}institution/person#Student": "student",
    f"{LIS}institution/person#Learner": "student",
    f"{LIS}membership#Instructor": "teacher",
    f"{LIS}institution/person#Instructor": "teacher",
    f"{LIS}institution/person#Faculty": "teacher",
    f"{LIS}membership#ContentDeveloper": "teacher",
    f"{LIS}membership#Mentor": "guardian",
    f"{LIS}institution/person#Mentor": "guardian",
    f"{LIS}institution/person#Administrator": "administrator",
    f"{LIS}system/person#Administrator": "administrator",
    f"{LIS}membership#Administrator": "administrator",
}
ROSTER_FAMILY = {
    "student": {"student"},
    "teacher": {"teacher", "aide"},
    "guardian": {"parent", "guardian", "relative"},
    "administrator": {"administrator", "districtAdministrator", "siteAdministrator"},
}


def mosaic_roles(lti_roles: list[str]) -> set[str]:
    """LTI role URIs (full or the short context names) → Mosaic's roles; unknown roles map to nothing."""
    out = set()
    for role in lti_roles:
        full = role if role.startswith("http") else f"{LIS}membership#{role}"
        if full in ROLE_MAP:
            out.add(ROLE_MAP[full])
    return out


class MemoryStorage(LaunchDataStorage[Any]):
    """State, nonces and launches kept server-side (one process); a nonce is consumed when checked."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_session_cookie_name(self) -> str | None:
        return None

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        with self._lock:
            self._values[self._prepare_key(key)] = (value, time.time() + (exp or 3600))

    def get_value(self, key: str) -> Any:
        with self._lock:
            value, until = self._values.get(self._prepare_key(key), (None, 0.0))
        return value if until > time.time() else None

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def take(self, key: str) -> bool:
        with self._lock:
            value, until = self._values.pop(self._prepare_key(key), (None, 0.0))
        return value is not None and until > time.time()


class OneTimeNonces(SessionService):
    """PyLTI1p3's session service, but a nonce verifies one launch only: a replay is refused."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.data_storage = storage
        self._store = storage

    def check_nonce(self, nonce: str) -> bool:
        return self._store.take(self._get_key("nonce", nonce))


class FastApiLtiRequest(LtiRequest):
    def __init__(self, params: dict[str, str], cookies: dict[str, str], secure: bool) -> None:
        self._params, self._cookies, self._secure = params, cookies, secure

    @property
    def session(self) -> None:
        return None

    def get_param(self, key: str) -> str | None:
        return self._params.get(key)

    def get_cookie(self, key: str) -> str | None:
        return self._cookies.get(key)

    def is_secure(self) -> bool:
        return self._secure


class Cookies(CookieService):
    def __init__(self, request: FastApiLtiRequest) -> None:
        self._request = request
        self._to_set: dict[str, tuple[str, int]] = {}

    def _get_key(self, key: str) -> str:
        return f"{self._cookie_prefix}-{key}"

    def get_cookie(self, name: str) -> str | None:
        return self._request.get_cookie(self._get_key(name))

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self._to_set[self._get_key(name)] = (str(value), exp or 3600)

    def apply(self, response: Response) -> Response:
        secure = self._request.is_secure()
        for key, (value, exp) in self._to_set.items():
            response.set_cookie(
                key, value, max_age=exp, path="/", httponly=True, secure=secure, samesite="none" if secure else "lax"
            )
        return response


class FastApiRedirect(Redirect[Response]):
    def __init__(self, location: str, cookies: Cookies) -> None:
        self._location, self._cookies = location, cookies

    def do_redirect(self) -> Response:
        return self._cookies.apply(RedirectResponse(self._location, status_code=302))

    def do_js_redirect(self) -> Response:
        return self.do_redirect()

    def set_redirect_url(self, location: str) -> None:
        self._location = location

    def get_redirect_url(self) -> str:
        return self._location


class Login(OIDCLogin):
    def get_redirect(self, url: str) -> FastApiRedirect:
        return FastApiRedirect(url, self._cookie_service)

    def get_response(self, html: str) -> Response:
        return self._cookie_service.apply(HTMLResponse(html))


class Launch(MessageLaunch):
    def _get_request_param(self, key: str) -> str | None:
        return self._request.get_param(key)


class LtiTool:
    """The tool's trusted platforms and its server-side state."""

    def __init__(self, settings: PortalSettings, config: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.storage = MemoryStorage()
        self.config: Any = (
            ToolConfDict(config)
            if config is not None
            else (ToolConfJsonFile(str(settings.lti_config_file)) if settings.lti_config_file else None)
        )

    def configure(self, config: dict[str, Any]) -> None:
        self.config = ToolConfDict(config)

    def parts(self, params: dict[str, str], request: Request) -> tuple[FastApiLtiRequest, Cookies, OneTimeNonces]:
        lti_request = FastApiLtiRequest(params, dict(request.cookies), request.url.scheme == "https")
        return lti_request, Cookies(lti_request), OneTimeNonces(self.storage)

    def person_of(self, claims: dict[str, Any]) -> str | None:
        claim, _, field = self.settings.lti_person_claim.partition("#")
        value = claims.get(claim)
        if field:
            value = value.get(field) if isinstance(value, dict) else None
        return str(value) if value else None


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        params |= {k: str(v) for k, v in (await request.form()).items()}
    return params


def _refuse(request: Request, status: int, why: str) -> Response:
    from mosaic_portal.pages.common import problem_page

    return problem_page(request, status, why)


@router.api_route("/login", methods=["GET", "POST"])
async def login_initiation(request: Request) -> Response:
    tool: LtiTool = request.app.state.lti
    if tool.config is None:
        return _refuse(request, 404, "This portal has no LTI platforms configured (MOSAIC_PORTAL_LTI_CONFIG_FILE).")
    params = await _params(request)
    lti_request, cookies, sessions = tool.parts(params, request)
    target = params.get("target_link_uri") or f"{tool.settings.public_url.rstrip('/')}/lti/launch"
    try:
        login = Login(lti_request, tool.config, session_service=sessions, cookie_service=cookies)
        return login.disable_check_cookies().redirect(target)
    except LtiException as exc:
        return _refuse(request, 400, f"The LTI login initiation was refused: {exc}")


@router.post("/launch")
async def launch(request: Request) -> Response:
    tool: LtiTool = request.app.state.lti
    if tool.config is None:
        return _refuse(request, 404, "This portal has no LTI platforms configured.")
    lti_request, cookies, sessions = tool.parts(await _params(request), request)
    try:
        claims = Launch(lti_request, tool.config, session_service=sessions, cookie_service=cookies).get_launch_data()
    except LtiException as exc:
        return _refuse(request, 401, f"The LTI launch was refused: {exc}")
    roles = mosaic_roles(claims.get("https://purl.imsglobal.org/spec/lti/claim/roles") or [])
    person_id = tool.person_of(claims)
    district = tool.settings.lti_district_id
    if not person_id or not district:
        return _refuse(
            request,
            403,
            f"The launch names no roster person ({tool.settings.lti_person_claim}); "
            "ask the portal's administrator to send lis.person_sourcedid.",
        )
    roster = await request.app.state.credential.roster(district)
    try:
        person = await roster.get("evidence", f"/people/{person_id}")
    except ServiceRefused:
        return _refuse(request, 403, f"Person {person_id!r} from the launch is not on the district's roster.")
    roster_role = str(person.get("role", ""))
    if not roles or not any(roster_role in ROSTER_FAMILY[r] for r in roles):
        return _refuse(
            request,
            403,
            f"The launch says {sorted(roles) or 'no known role'}, the roster says "
            f"{roster_role!r}; Mosaic opens only when they agree.",
        )
    request.session["lti"] = {"person": person_id, "roles": sorted(roles)}
    from mosaic_portal.auth import begin_sign_in

    return begin_sign_in(request, login_hint=person_id, expect_person=person_id)
