"""The learner plan on the pages: the student writes it (goals, reflections, interests), a guardian comments,
a teacher adds a conference review. The plan comes from evidence; each goal's progress is the student's
mastery on the goal's competencies, joined here (ADR 0017)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from mosaic_portal.auth import CurrentPerson
from mosaic_portal.pages.common import level_style, problem_page, services_for
from mosaic_portal.services import ServiceRefused, Services

router = APIRouter()
GOAL_STATUSES = ("active", "achieved", "paused", "dropped")


def goal_progress(goal: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """The goal's competencies with the student's level on each, and how many are at mastery."""
    levels = [lv["name"] for lv in profile.get("scale", [])]
    by_id = {c["competency_id"]: c for c in profile.get("competencies", [])}
    competencies = []
    for competency_id in goal.get("competency_ids") or []:
        entry = by_id.get(competency_id, {})
        competencies.append(
            {
                "id": competency_id,
                "code": entry.get("code") or competency_id,
                "statement": entry.get("statement") or "",
                "level": entry.get("level"),
                "mastered": bool(entry.get("mastered")),
                "style": level_style(levels, entry.get("level")),
            }
        )
    mastered = sum(1 for c in competencies if c["mastered"])
    share = round(100 * mastered / len(competencies)) if competencies else 0
    return {**goal, "competencies": competencies, "mastered": mastered, "share": share}


def with_progress(plan: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """The plan with each goal's progress and each goal's notes beside it."""
    notes_of: dict[str | None, list[dict[str, Any]]] = {}
    for note in plan.get("notes", []):
        notes_of.setdefault(note.get("goal_id"), []).append(note)
    goals = [{**goal_progress(g, profile), "notes": notes_of.get(g["goal_id"], [])} for g in plan.get("goals", [])]
    return {**plan, "goals": goals, "plan_notes": notes_of.get(None, [])}


async def read_plan(services: Services, student_id: str, profile: dict[str, Any]) -> dict[str, Any]:
    return with_progress(await services.get("evidence", f"/students/{student_id}/plan"), profile)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def _send(request: Request, person: CurrentPerson, method: str, path: str, body: dict, back: str) -> Any:
    try:
        await services_for(request, person).call(method, "evidence", path, json=body)
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return RedirectResponse(back, status_code=303)


@router.post("/student/plan/goals")
async def set_goal(
    request: Request,
    person: CurrentPerson,
    what: Annotated[str, Form()],
    why: Annotated[str, Form()] = "",
    steps: Annotated[str, Form()] = "",
    target_date: Annotated[str, Form()] = "",
    competency_id: Annotated[str, Form()] = "",
) -> Any:
    body = {
        "what": what,
        "why": why,
        "steps": _lines(steps),
        "target_date": target_date or None,
        "competency_ids": [competency_id] if competency_id else [],
    }
    return await _send(request, person, "POST", f"/students/{person.id}/plan/goals", body, "/student?saved=goal#plan")


@router.post("/student/plan/goals/{goal_id}")
async def change_goal(
    request: Request,
    person: CurrentPerson,
    goal_id: str,
    status: Annotated[str, Form()] = "",
    reflection: Annotated[str, Form()] = "",
) -> Any:
    body: dict[str, Any] = {"reflection": reflection}
    if status in GOAL_STATUSES:
        body["status"] = status
    return await _send(
        request, person, "PATCH", f"/students/{person.id}/plan/goals/{goal_id}", body, "/student?saved=reflection#plan"
    )


@router.post("/student/plan/profile")
async def change_profile(
    request: Request,
    person: CurrentPerson,
    interests: Annotated[str, Form()] = "",
    strengths: Annotated[str, Form()] = "",
) -> Any:
    body = {"interests": _lines(interests), "strengths": _lines(strengths)}
    return await _send(request, person, "PUT", f"/students/{person.id}/plan", body, "/student?saved=plan#plan")


@router.post("/family/children/{student_id}/plan/comments")
async def guardian_comment(
    request: Request,
    person: CurrentPerson,
    student_id: str,
    text: Annotated[str, Form()],
    goal_id: Annotated[str, Form()] = "",
) -> Any:
    body = {"text": text, "goal_id": goal_id or None}
    return await _send(
        request,
        person,
        "POST",
        f"/students/{student_id}/plan/comments",
        body,
        f"/family?saved=comment#plan-{student_id}",
    )


@router.post("/teacher/students/{student_id}/plan/{kind}")
async def teacher_note(
    request: Request,
    person: CurrentPerson,
    student_id: str,
    kind: str,
    text: Annotated[str, Form()],
    goal_id: Annotated[str, Form()] = "",
) -> Any:
    if kind not in ("comments", "reviews"):
        return problem_page(request, 404, f"{kind!r}: a teacher adds comments or reviews to a plan")
    body = {"text": text, "goal_id": goal_id or None}
    return await _send(
        request,
        person,
        "POST",
        f"/students/{student_id}/plan/{kind}",
        body,
        f"/teacher/students/{student_id}?saved={kind}#plan",
    )
