"""Shared route dependencies: who may do what, the solver settings, and a rebuild as part of an answer."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request, status

from mosaic_runtime.app import ServiceContext
from mosaic_scheduling.adapters.existence import school_exists, unknown_sections, unknown_students
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.domain.validation import Problem
from mosaic_scheduling.service.rebuild_block import Rebuilt


async def referents_exist(request: Request) -> None:
    """A write may name only a school, sections or students the district has: 404 for the path, 422 for the body
    (blocks, rooms and sessions are checked by the use cases, which answer 404 or 422 naming them)."""
    district_id = str(request.path_params["district_id"])
    body = await request.json() if "json" in request.headers.get("content-type", "") else {}
    body = body if isinstance(body, dict) else {}
    named_students = [(f"student_id {s!r}", s) for s in [request.path_params.get("student_id")] if s]
    named_students += [("body student_id", s) for s in [body.get("student_id")] if isinstance(s, str)]
    marks = body.get("marks") if isinstance(body.get("marks"), list) else []
    named_students += [
        (f"marks[{i}].student_id", m["student_id"])
        for i, m in enumerate(marks)
        if isinstance(m, dict) and isinstance(m.get("student_id"), str)
    ]
    named_students += [(f"student_ids[{i}]", s) for i, s in enumerate(_strings(body.get("student_ids")))]
    named_sections = list(enumerate(_strings(body.get("section_ids"))))
    async with request.app.state.ctx.sessions() as session:
        school = request.path_params.get("school_id") or body.get("school_id")
        if isinstance(school, str) and not await school_exists(session, district_id, school):
            where = "the path" if request.path_params.get("school_id") else "school_id"
            raise HTTPException(
                status.HTTP_404_NOT_FOUND if where == "the path" else 422,
                detail=f"{where}: no school {school!r} on district {district_id!r}'s roster; "
                "import the roster first (it reaches scheduling through mosaic.reference.v1)",
            )
        unknown = set(await unknown_students(session, district_id, [s for _, s in named_students]))
        missing_sections = set(await unknown_sections(session, district_id, [s for _, s in named_sections]))
    for i, section in named_sections:
        if section in missing_sections:
            raise HTTPException(
                422,
                detail=f"section_ids[{i}]: no section {section!r} on district {district_id!r}'s roster; "
                "import the roster first (it reaches scheduling through mosaic.reference.v1)",
            )
    for field, student in named_students:
        if student in unknown:
            in_path = field.startswith("student_id ")  # the path names it as `student_id 'x'`
            raise HTTPException(
                status.HTTP_404_NOT_FOUND if in_path else 422,
                detail=f"{field.removeprefix('body ')}: no student {student!r} on district {district_id!r}'s roster",
            )


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def solver_of(ctx: ServiceContext) -> SolverSettings:
    settings = ctx.settings
    return SolverSettings(
        time_limit_seconds=settings.solver_time_limit_seconds,  # type: ignore[attr-defined]
        workers=settings.solver_workers,
    )  # type: ignore[attr-defined]


def refused(problems: list[Problem]) -> HTTPException:
    return HTTPException(
        422,
        detail={
            "message": "the definition was refused; fix every problem listed",
            "problems": [{"field": p.field, "message": p.message} for p in problems],
        },
    )


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=what)


def schedule_answer(outcome: Rebuilt, events: int) -> dict[str, Any]:
    """A rebuild as part of an answer: the version it made, its status, why, and the events it queued."""
    return {"version": outcome.version, "status": outcome.status, "causes": list(outcome.causes), "events": events}
