"""The teacher's pages: a section heatmap, a student's drill-down, quick evidence entry, a regroup
preview with each move explained (publish or discard), and attendance."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mosaic_portal.auth import CurrentPerson
from mosaic_portal.pages.common import level_style, problem_page, render, services_for
from mosaic_portal.pages.plan import read_plan
from mosaic_portal.services import ServiceRefused

router = APIRouter(prefix="/teacher")
EVIDENCE_KINDS = ("rubric_rating", "assessment_score", "observation")
ATTENDANCE = ("present", "absent", "tardy", "excused")


async def _my_school(request: Request, person: CurrentPerson) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    services = services_for(request, person)
    me = await services.get("evidence", f"/people/{person.id}")
    sections = [await services.get("evidence", f"/sections/{s['section_id']}") for s in me.get("sections", [])]
    return me, sections


def meeting_day(block: dict[str, Any], today: date) -> date:
    """The block's latest meeting up to today, or its first meeting when it has not met yet."""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    weekday = str(block.get("weekday", ""))[:3].lower()
    target = names.index(weekday) if weekday in names else today.weekday()
    first = date.fromisoformat(str(block.get("starts_on") or today.isoformat())[:10])
    first += timedelta(days=(target - first.weekday()) % 7)
    if today <= first:
        return first
    day = today - timedelta(days=(today.weekday() - target) % 7)
    every = max(1, int(block.get("every_weeks") or 1))
    return day - timedelta(weeks=((day - first).days // 7) % every)


@router.get("", response_class=HTMLResponse)
async def teacher_home(request: Request, person: CurrentPerson) -> Any:
    services = services_for(request, person)
    try:
        me, sections = await _my_school(request, person)
        blocks = []
        for school_id in me.get("school_ids") or []:
            blocks += (await services.get("scheduling", f"/schools/{school_id}/definition")).get("blocks", [])
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return render(request, "teacher_home.html", sections=sections, blocks=blocks)


@router.get("/sections/{section_id}", response_class=HTMLResponse)
async def section_heatmap(request: Request, person: CurrentPerson, section_id: str) -> Any:
    services = services_for(request, person)
    try:
        heatmap = await services.get("mastery", f"/sections/{section_id}/heatmap")
        section = await services.get("evidence", f"/sections/{section_id}")
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    levels = heatmap["levels"]
    for row in heatmap["students"]:
        row["styled"] = [
            {
                **(row["cells"].get(c["competency_id"]) or {}),
                "style": level_style(levels, (row["cells"].get(c["competency_id"]) or {}).get("level")),
            }
            for c in heatmap["competencies"]
        ]
    legend = [{"name": lv, "style": level_style(levels, lv)} for lv in levels]
    return render(
        request,
        "teacher_section.html",
        heatmap=heatmap,
        title=section.get("title") or section_id,
        legend=legend,
        kinds=EVIDENCE_KINDS,
        today=date.today().isoformat(),
        recorded=request.query_params.get("recorded"),
    )


@router.post("/sections/{section_id}/evidence")
async def quick_evidence(request: Request, person: CurrentPerson, section_id: str) -> Any:
    """One score (or rubric level out of its maximum) for one or many students, recorded as one batch."""
    form = await request.form()
    students = [str(s) for s in form.getlist("student_ids")]
    if not students:
        return problem_page(request, 422, "Choose at least one student (student_ids) before recording evidence.")
    try:
        value, maximum = float(str(form.get("score", ""))), float(str(form.get("maximum") or 4))
    except ValueError:
        return problem_page(request, 422, "The score and its maximum must be numbers, e.g. 3 out of 4.")
    items = [
        {
            "student_id": s,
            "competency_ids": [str(form.get("competency_id"))],
            "kind": str(form.get("kind")),
            "observed_on": str(form.get("observed_on") or date.today().isoformat()),
            "score": {"value": value, "minimum": 0, "maximum": maximum},
            "section_id": section_id,
            "comment": str(form.get("comment") or "") or None,
        }
        for s in students
    ]
    try:
        await services_for(request, person).call("POST", "evidence", "/evidence/batch", json=items)
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return RedirectResponse(f"/teacher/sections/{section_id}?recorded={len(items)}", status_code=303)


@router.get("/students/{student_id}", response_class=HTMLResponse)
async def student_drilldown(request: Request, person: CurrentPerson, student_id: str) -> Any:
    services = services_for(request, person)
    try:
        profile = await services.get("mastery", f"/students/{student_id}/profile")
        history = await services.get("evidence", f"/students/{student_id}/evidence", limit=20)
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    try:
        plan, plan_problem = await read_plan(services, student_id, profile), None
    except ServiceRefused as refused:
        plan, plan_problem = None, refused.detail
    levels = [lv["name"] for lv in profile["scale"]]
    rows = [
        {**c, "style": level_style(levels, c.get("level"))} for c in profile["competencies"] if c.get("evidence_count")
    ]
    return render(
        request,
        "teacher_student.html",
        profile=profile,
        rows=rows,
        history=history["items"],
        plan=plan,
        plan_problem=plan_problem,
        saved=request.query_params.get("saved"),
    )


async def _block_of(services: Any, person: CurrentPerson, block_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The block's definition and its sessions by id, from the teacher's schools."""
    me = await services.get("evidence", f"/people/{person.id}")
    for school_id in me.get("school_ids") or []:
        definition = await services.get("scheduling", f"/schools/{school_id}/definition")
        block = next((b for b in definition.get("blocks", []) if b["id"] == block_id), None)
        if block is not None:
            return block, {s["id"]: s for s in definition.get("sessions", []) if s.get("block_id") == block_id}
    return {"id": block_id, "name": block_id}, {}


async def _names(services: Any, ids: list[str]) -> dict[str, str]:
    names = {}
    for person_id in dict.fromkeys(ids):
        try:
            found = await services.get("evidence", f"/people/{person_id}")
            names[person_id] = f"{found.get('given_name', '')} {found.get('family_name', '')}".strip() or person_id
        except ServiceRefused:
            names[person_id] = person_id
    return names


@router.get("/blocks/{block_id}", response_class=HTMLResponse)
async def block_page(request: Request, person: CurrentPerson, block_id: str, version: int | None = None) -> Any:
    services = services_for(request, person)
    try:
        block, sessions = await _block_of(services, person, block_id)
        draft = await services.get("scheduling", f"/blocks/{block_id}/schedules/{version}") if version else None
        moves = [
            a
            for a in (draft or {}).get("assignments", [])
            if a.get("previous_session_id") and a["previous_session_id"] != a["session_id"]
        ]
        names = await _names(services, [m["student_id"] for m in moves])
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    titles = {sid: s.get("title", sid) for sid, s in sessions.items()}
    return render(
        request,
        "teacher_block.html",
        block=block,
        block_id=block_id,
        draft=draft,
        moves=moves,
        names=names,
        titles=titles,
        sessions=list(sessions.values()),
        today=date.today().isoformat(),
        done=request.query_params.get("done"),
    )


@router.post("/blocks/{block_id}/preview")
async def preview(request: Request, person: CurrentPerson, block_id: str) -> Any:
    try:
        draft = await services_for(request, person).call("POST", "scheduling", f"/blocks/{block_id}/drafts")
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return RedirectResponse(f"/teacher/blocks/{block_id}?version={draft['version']}", status_code=303)


@router.post("/blocks/{block_id}/versions/{version}/{decision}")
async def decide(request: Request, person: CurrentPerson, block_id: str, version: int, decision: str) -> Any:
    if decision not in ("publish", "discard"):
        return problem_page(request, 404, "A draft can be published or discarded, nothing else.")
    try:
        await services_for(request, person).call(
            "POST", "scheduling", f"/blocks/{block_id}/schedules/{version}/{decision}"
        )
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return RedirectResponse(f"/teacher/blocks/{block_id}?done={decision}", status_code=303)


@router.get("/blocks/{block_id}/sessions/{session_id}/attendance", response_class=HTMLResponse)
async def attendance_page(
    request: Request, person: CurrentPerson, block_id: str, session_id: str, on: date | None = None
) -> Any:
    services = services_for(request, person)
    try:
        block, sessions = await _block_of(services, person, block_id)
        day = on or meeting_day(block, date.today())
        schedule = await services.get("scheduling", f"/blocks/{block_id}/schedule")
        taken = await services.get(
            "scheduling", f"/blocks/{block_id}/sessions/{session_id}/attendance", block_date=day.isoformat()
        )
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    marks = {m["student_id"]: m["status"] for m in taken["marks"]}
    students = [s for g in schedule["groups"] for s in g["students"] if s["session_id"] == session_id]
    try:
        names = await _names(services, [s["student_id"] for s in students])
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    title = sessions.get(session_id, {}).get("title", session_id)
    return render(
        request,
        "teacher_attendance.html",
        block_id=block_id,
        session_id=session_id,
        day=day,
        title=title,
        students=students,
        names=names,
        marks=marks,
        statuses=ATTENDANCE,
        saved=request.query_params.get("saved"),
    )


@router.post("/blocks/{block_id}/sessions/{session_id}/attendance")
async def take_attendance(request: Request, person: CurrentPerson, block_id: str, session_id: str) -> Any:
    form = await request.form()
    day = str(form.get("block_date"))
    marks = [
        {"student_id": key[len("mark_") :], "status": str(value)}
        for key, value in form.multi_items()
        if key.startswith("mark_") and value in ATTENDANCE
    ]
    if not marks:
        return problem_page(request, 422, "Mark at least one student before saving attendance.")
    try:
        await services_for(request, person).call(
            "POST",
            "scheduling",
            f"/blocks/{block_id}/sessions/{session_id}/attendance",
            json={"block_date": day, "marks": marks},
        )
    except ServiceRefused as refused:
        return problem_page(request, refused.status, refused.detail)
    return RedirectResponse(
        f"/teacher/blocks/{block_id}/sessions/{session_id}/attendance?on={day}&saved=1", status_code=303
    )
