"""Calls to the four services with the signed-in person's bearer token; the services decide what they see."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from mosaic_portal.settings import PortalSettings


class ServiceRefused(Exception):
    """A service said no; carries its status and its own explanation for the page."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass
class Services:
    """One person's view of the services for one request."""

    settings: PortalSettings
    http: httpx.AsyncClient
    token: str
    district_id: str

    def _url(self, service: str, path: str) -> str:
        base = getattr(self.settings, f"{service}_url").rstrip("/")
        return f"{base}/v1/districts/{self.district_id}{path}"

    async def call(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        """The service's answer; a request it shed (503, nothing done) is sent once more after its Retry-After,
        so a moment's peak shows the page a little later rather than a problem page."""
        headers = {"Authorization": f"Bearer {self.token}"}
        response = await self.http.request(method, self._url(service, path), headers=headers, **kwargs)
        wait = shed_retry_wait(response, self.settings.shed_retry_max_seconds)
        if wait is not None:
            await asyncio.sleep(wait)
            response = await self.http.request(method, self._url(service, path), headers=headers, **kwargs)
        if response.status_code >= 400:
            raise ServiceRefused(response.status_code, _detail(response))
        return response.json() if response.content else None

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.call("GET", service, path, params=params or None)


def shed_retry_wait(response: httpx.Response, longest: float) -> float | None:
    """Seconds to wait before asking again when the service shed the request (a 503 saying `"shed": true`: it did
    not start it, so asking again is safe whatever the method); None otherwise or when it asks for longer."""
    if response.status_code != 503:
        return None
    try:
        shed = response.json().get("shed") is True
        wait = float(response.headers.get("Retry-After", "1"))
    except (ValueError, AttributeError):
        return None
    return wait if shed and 0 <= wait <= longest else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    if isinstance(detail, dict):
        problems = detail.get("problems") or []
        return "; ".join([str(detail.get("message", ""))] + [str(p.get("message", p)) for p in problems]).strip("; ")
    return str(detail)


class PortalCredential:
    """The portal's own token (client credentials, role `portal`): only to look people up on the roster."""

    def __init__(self, settings: PortalSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._token: str | None = None
        self._expires = 0.0

    async def token(self) -> str:
        if self._token is None or time.time() > self._expires - 60:
            response = await self.http.post(
                self.settings.oidc_token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.settings.oidc_client_id,
                    "client_secret": self.settings.oidc_client_secret,
                },
            )
            if response.status_code != 200:
                raise ServiceRefused(
                    response.status_code, f"the identity provider refused the portal: {response.text[:200]}"
                )
            body = response.json()
            self._token, self._expires = body["access_token"], time.time() + float(body.get("expires_in", 300))
        return self._token

    async def roster(self, district_id: str) -> Services:
        return Services(self.settings, self.http, await self.token(), district_id)
