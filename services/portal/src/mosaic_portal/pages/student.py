"""The student's page: my competencies (a jagged profile with the evidence behind each level), my next
targets, my plan (goals, reflections), my flex choices for the next block, my week."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mosaic_portal.auth import CurrentPerson
from mosaic_portal.i18n import language_of, translator
from mosaic_portal.pages.common import level_style, problem_page, render, services_for
from mosaic_portal.pages.plan import GOAL_STATUSES, read_plan
from mosaic_portal.services import ServiceRefused, Services

router = APIRouter()


def evidence_in_words(entry: dict[str, Any], _: Any) -> list[str]:
    """Each observation behind a level as a sentence: what kind, when, how it went."""
    out = []
    for o in sorted(entry.get("evidence") or [], key=lambda o: str(o.get("observed_on")), reverse=True)[:5]:
        score = o.get("score")
        share = f"{round(score * 100)}%" if isinstance(score, int | float) and score <= 1 else str(score)
        kind = _(str(o.get("kind", "")).replace("_", " "))
        out.append(_("{kind} on {day}: {share}", kind=kind, day=o.get("observed_on"), share=share))
    return out


def profile_rows(profile: dict[str, Any], _: Any) -> list[dict[str, Any]]:
    levels = [lv["name"] for lv in profile.get("scale", [])]
    rows = []
    for entry in profile.get("competencies", []):
        if not entry.get("evidence_count"):
            continue
        estimate = entry.get("estimate")
        rows.append(
            {
                **entry,
                "style": level_style(levels, entry.get("level")),
                "width": max(4, round((estimate or 0) * 100)),
                "words": evidence_in_words(entry, _),
            }
        )
    return rows


async def flex_choices(request: Request, services: Services, student_id: str) -> list[dict[str, Any]]:
    """The blocks at the student's school and the sessions each offers (the roster says which school)."""
    roster = await request.app.state.credential.roster(services.district_id)
    person = await roster.get("evidence", f"/people/{student_id}")
    blocks = []
    for school_id in person.get("school_ids") or []:
        definition = await services.get("scheduling", f"/schools/{school_id}/definition")
        for block in definition.get("blocks", []):
            sessions = [s for s in definition.get("sessions", []) if s.get("block_id") == block["id"]]
            blocks.append({**block, "sessions": sessions})
    return blocks


@router.get("/student", response_class=HTMLResponse)
async def student_page(request: Request, person: CurrentPerson, student: str | None = None) -> Any:
    services = services_for(request, person)
    student_id = student or person.id
    _ = translator(language_of(request))
    try:
        profile = await services.get("mastery", f"/students/{student_id}/profile")
        targets = await services.get("mastery", f"/students/{student_id}/next-targets")
        week = await services.get("scheduling", f"/students/{student_id}/week")
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    try:
        blocks, flex_problem = await flex_choices(request, services, student_id), None
    except ServiceRefused as refused:  # the profile is still worth showing without the flex choices
        blocks, flex_problem = [], refused.detail
    try:
        plan, plan_problem = await read_plan(services, student_id, profile), None
    except ServiceRefused as refused:  # the rest of the page stands without the plan
        plan, plan_problem = {"goals": []}, refused.detail
    rows = profile_rows(profile, _)
    return render(
        request,
        "student.html",
        profile=profile,
        rows=rows,
        targets=targets["targets"],
        plan=plan,
        plan_problem=plan_problem,
        statuses=GOAL_STATUSES,
        week=week,
        blocks=blocks,
        flex_problem=flex_problem,
        student_id=student_id,
        saved=request.query_params.get("saved"),
        not_yet=sum(1 for c in profile["competencies"] if not c.get("evidence_count")),
    )


@router.post("/student/requests")
async def request_sessions(
    request: Request,
    person: CurrentPerson,
    block_id: Annotated[str, Form()],
    first: Annotated[str, Form()],
    second: Annotated[str, Form()] = "",
) -> Any:
    services = services_for(request, person)
    chosen = [s for s in dict.fromkeys([first, second]) if s]
    try:
        await services.call(
            "PUT", "scheduling", f"/blocks/{block_id}/requests/{person.id}", json={"session_ids": chosen}
        )
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return RedirectResponse("/student?saved=request#flex", status_code=303)
