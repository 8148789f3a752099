"""What every page shares: rendering in the person's language, the services client, and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from mosaic_portal.auth import Person
from mosaic_portal.i18n import language_of, translator
from mosaic_portal.services import Services

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
LEVEL_PATTERNS = ("dots", "stripes", "cross", "solid", "grid")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    language = language_of(request)
    person = request.session.get("person")
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"_": translator(language), "lang": language, "person": person, **context},
        status_code=status_code,
    )


def problem_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "problem.html", status_code=status_code, message=message)


def services_for(request: Request, person: Person) -> Services:
    return Services(request.app.state.settings, request.app.state.http, person.token, person.district_id)


def level_style(levels: list[str], level: str | None) -> dict[str, Any]:
    """A level's position on the scale, its pattern and colour class: never colour alone."""
    if level is None or level not in levels:
        return {"rank": None, "css": "lv-none", "pattern": "none"}
    rank = levels.index(level)
    return {"rank": rank + 1, "css": f"lv-{rank + 1}", "pattern": LEVEL_PATTERNS[min(rank, len(LEVEL_PATTERNS) - 1)]}
