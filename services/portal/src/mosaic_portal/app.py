"""The portal app: session cookie, pages, sign-in and the LTI tool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from mosaic_portal import auth, lti
from mosaic_portal.auth import SignInNeeded
from mosaic_portal.pages import family, plan, student, teacher
from mosaic_portal.pages.common import render
from mosaic_portal.services import PortalCredential
from mosaic_portal.settings import PortalSettings

SESSION_COOKIE = "mosaic_portal"


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.request_timeout_seconds) as http:
            app.state.http = http
            app.state.credential = PortalCredential(settings, http)
            yield

    app = FastAPI(title="Mosaic portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.lti = lti.LtiTool(settings)
    # Signed (itsdangerous), HttpOnly, SameSite=Lax; Secure behind HTTPS.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        same_site="lax",
        https_only=settings.https_only_cookies,
        max_age=12 * 3600,
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (auth, lti, student, family, teacher, plan):
        app.include_router(module.router)

    @app.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, exc: SignInNeeded) -> RedirectResponse:
        return auth.begin_sign_in(request, next_url=exc.next_url)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Any:
        person = request.session.get("person")
        if person:
            return RedirectResponse(auth.Person.from_session(person).home, status_code=303)
        return render(request, "home.html")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app
