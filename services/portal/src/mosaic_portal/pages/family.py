"""The family page: each child's progress in plain words, what changed lately, something to talk about at
home, the child's goals (a guardian may comment), and the guardian's notification preferences."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mosaic_portal.auth import CurrentPerson
from mosaic_portal.pages.common import problem_page, render, services_for
from mosaic_portal.pages.plan import read_plan
from mosaic_portal.services import ServiceRefused, Services

router = APIRouter()
RECENT_DAYS = 21
CHANNELS = ("email", "sms", "portal")
FREQUENCIES = ("instant", "daily", "weekly")
NEWS_KINDS = ("mastered", "moved_up", "needs_support", "new_group")


def lately(profile: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """Competencies with evidence in the three weeks up to the newest evidence, newest first, with their trend."""
    dates = [str(c["last_evidence_on"]) for c in profile["competencies"] if c.get("last_evidence_on")]
    newest = min(date.fromisoformat(max(dates)[:10]), today) if dates else today
    since = (newest - timedelta(days=RECENT_DAYS)).isoformat()
    recent = [c for c in profile["competencies"] if c.get("last_evidence_on") and str(c["last_evidence_on"]) >= since]
    return sorted(recent, key=lambda c: str(c["last_evidence_on"]), reverse=True)[:5]


async def child_summary(services: Services, child_id: str, today: date) -> dict[str, Any]:
    profile = await services.get("mastery", f"/students/{child_id}/profile")
    targets = await services.get("mastery", f"/students/{child_id}/next-targets", limit=1)
    assessed = [c for c in profile["competencies"] if c.get("evidence_count")]
    try:
        plan, plan_problem = await read_plan(services, child_id, profile), None
    except ServiceRefused as refused:
        plan, plan_problem = None, refused.detail
    return {
        "plan": plan,
        "plan_problem": plan_problem,
        "id": child_id,
        "name": profile.get("name") or child_id,
        "mastered": profile["mastered"],
        "assessed": len(assessed),
        "mastery_level": profile.get("mastery_level"),
        "lately": lately(profile, today),
        "talk_about": (targets["targets"] or [None])[0],
    }


@router.get("/family", response_class=HTMLResponse)
async def family_page(request: Request, person: CurrentPerson) -> Any:
    services = services_for(request, person)
    try:
        roster = await request.app.state.credential.roster(person.district_id)
        me = await roster.get("evidence", f"/people/{person.id}")
        children = [await child_summary(services, kid, date.today()) for kid in me.get("related_ids") or []]
        prefs = await services.get("notify", f"/guardians/{person.id}/preferences")
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return render(
        request,
        "family.html",
        children=children,
        prefs=prefs,
        channels=CHANNELS,
        frequencies=FREQUENCIES,
        news_kinds=NEWS_KINDS,
        saved=request.query_params.get("saved"),
    )


@router.post("/family/preferences")
async def change_preferences(request: Request, person: CurrentPerson) -> Any:
    form = await request.form()
    services = services_for(request, person)
    try:
        prefs = await services.get("notify", f"/guardians/{person.id}/preferences")
        prefs["language"] = str(form.get("language") or prefs["language"])
        for channel, chosen in prefs.get("channels", {}).items():
            frequency = form.get(f"frequency_{channel}")
            if frequency in FREQUENCIES:
                chosen["frequency"] = frequency
        prefs["kinds"] = [k for k in NEWS_KINDS if form.get(f"kind_{k}")]
        await services.call("PUT", "notify", f"/guardians/{person.id}/preferences", json=prefs)
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    if prefs["language"][:2] in ("en", "es"):
        request.session["lang"] = prefs["language"][:2]
    return RedirectResponse("/family?saved=1", status_code=303)
