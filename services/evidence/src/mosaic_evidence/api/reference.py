"""Importing frameworks (CASE) and rosters (OneRoster), and the views of them the portals need."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from sqlalchemy import select
from starlette.datastructures import UploadFile

from mosaic_evidence import commands, reference_commands
from mosaic_evidence.adapters.tables import competencies, competency_links, enrollments, frameworks, people, sections
from mosaic_evidence.api.deps import IMPORT_ROLES, ROSTER_READ_ROLES, IdempotencyKey, Offset, answer
from mosaic_evidence.api.schemas import (
    FrameworkImported,
    FrameworkSummary,
    FrameworkView,
    PeoplePage,
    PersonView,
    RosterImported,
    SectionView,
)
from mosaic_evidence.domain.framework import FrameworkError, parse_case_package
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal, Principal, require_roles
from mosaic_runtime.responses import errors

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["frameworks and rosters"])
Importer = Annotated[Principal, require_roles(*IMPORT_ROLES)]
RosterReader = Annotated[Principal, require_roles(*ROSTER_READ_ROLES)]


@router.post("/frameworks", status_code=201, response_model=FrameworkImported,
             summary="Import a CASE CFPackage (JSON); a re-import is a diff",
             responses=errors(409, 422, 503) | {
                 200: {"model": FrameworkImported,
                       "description": "a new version of a framework already imported: the diff"},
                 422: {**errors(422)[422], "description": "the package cannot be read; every reason listed"},
                 503: {**errors(503)[503],
                       "description": "Kafka did not acknowledge FrameworkPublished; nothing changed"}})
async def import_framework(district_id: str, principal: Importer, ctx: Context,
                           package: Annotated[dict[str, Any], Body(description="a CASE 1.0 CFPackage")],
                           idempotency_key: IdempotencyKey = None):
    try:
        framework = parse_case_package(package)
    except FrameworkError as exc:
        return answer(422, {"detail": "the CASE package cannot be read", "problems": exc.problems})
    status, body = await commands.run_write(
        ctx, district_id, lambda s: reference_commands.import_framework(s, district_id, framework),
        key=idempotency_key, payload_hash=commands.request_hash({"path": "frameworks", "body": package}))
    return answer(status, body)


@router.post("/rosters", status_code=201, response_model=RosterImported,
             summary="Import a OneRoster 1.1/1.2 CSV bundle: a zip (application/zip) or multipart CSV files",
             responses=errors(400, 409, 413, 415) | {
                 422: {**errors(422)[422],
                       "description": "every bad row with file, line, field and reason; nothing applied"},
                 503: {**errors(503)[503], "description": "Kafka did not acknowledge RosterChanged; nothing applied"}})
async def import_roster(district_id: str, request: Request, principal: Importer, ctx: Context,
                        idempotency_key: IdempotencyKey = None):
    files = await _roster_files(request, ctx.settings.max_upload_bytes)  # type: ignore[attr-defined]
    digest = commands.request_hash(b"".join(name.encode() + content for name, content in sorted(files.items())))
    status, body = await commands.run_write(
        ctx, district_id, lambda s: reference_commands.import_roster(s, district_id, files),
        key=idempotency_key, payload_hash=digest)
    return answer(status, body)


async def _roster_files(request: Request, limit: int) -> dict[str, bytes]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        uploads = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        files = {u.filename or f"file{n}.csv": await u.read() for n, u in enumerate(uploads)}
        if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
            return _unzip(next(iter(files.values())))
        return files
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(413, f"the upload is larger than {limit} bytes")
    return _unzip(raw)


def _unzip(raw: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return {n: archive.read(n) for n in archive.namelist() if n.lower().endswith(".csv")}
    except zipfile.BadZipFile:
        raise HTTPException(415, "send the roster as a zip (application/zip) or as multipart/form-data CSV files") \
            from None


@router.get("/frameworks", response_model=list[FrameworkSummary], summary="The district's frameworks")
async def list_frameworks(district_id: str, principal: DistrictPrincipal, session: Session):
    rows = (await session.execute(select(frameworks).where(frameworks.c.district_id == district_id))).all()
    return [{"framework_id": r.framework_id, "title": r.title, "version": r.version,
             "competencies": r.competency_count, "imported_at": r.imported_at.isoformat()} for r in rows]


@router.get("/frameworks/{framework_id}", response_model=FrameworkView, responses=errors(404),
            summary="A framework in force: its competencies in tree order and links")
async def get_framework(district_id: str, framework_id: str, principal: DistrictPrincipal, session: Session,
                        kind: str | None = None):
    header = (await session.execute(select(frameworks).where(
        frameworks.c.district_id == district_id, frameworks.c.framework_id == framework_id))).first()
    if header is None:
        raise HTTPException(404, f"no framework {framework_id} in district {district_id}")
    query = select(competencies.c.data).where(competencies.c.district_id == district_id,
                                              competencies.c.framework_id == framework_id,
                                              competencies.c.retired.is_(False))
    if kind:
        query = query.where(competencies.c.kind == kind)
    items = (await session.execute(query.order_by(competencies.c.position))).scalars().all()
    links = (await session.execute(select(competency_links).where(
        competency_links.c.district_id == district_id, competency_links.c.framework_id == framework_id))).all()
    return {"framework_id": framework_id, "title": header.title, "version": header.version,
            "rubrics": header.rubrics, "competencies": list(items),
            "links": [{"origin_id": r.origin_id, "association_type": r.association_type,
                       "destination_id": r.destination_id} for r in links]}


@router.get("/people", response_model=PeoplePage, summary="The roster's people, by role and school")
async def list_people(district_id: str, principal: RosterReader, session: Session, role: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0):
    query = select(people.c.data).where(people.c.district_id == district_id)
    if role:
        query = query.where(people.c.role == role)
    rows = (await session.execute(query.order_by(people.c.id).limit(limit).offset(offset))).scalars().all()
    return {"limit": limit, "offset": offset, "items": list(rows)}


@router.get("/sections", response_model=list[dict[str, Any]], summary="The roster's sections, optionally of one school")
async def list_sections(district_id: str, principal: RosterReader, session: Session, school_id: str | None = None):
    query = select(sections.c.data).where(sections.c.district_id == district_id)
    if school_id:
        query = query.where(sections.c.school_id == school_id)
    return list((await session.execute(query.order_by(sections.c.id))).scalars().all())


@router.get("/sections/{section_id}", response_model=SectionView, responses=errors(404),
            summary="A section with its teachers and students")
async def get_section(district_id: str, section_id: str, principal: RosterReader, session: Session):
    section = await session.scalar(select(sections.c.data).where(
        sections.c.district_id == district_id, sections.c.id == section_id))
    if section is None:
        raise HTTPException(404, f"no section {section_id} in district {district_id}")
    rows = (await session.execute(select(enrollments).where(
        enrollments.c.district_id == district_id, enrollments.c.section_id == section_id)
        .order_by(enrollments.c.role, enrollments.c.user_id))).all()
    return {**section, "enrollments": [{"user_id": r.user_id, "role": r.role, "primary": r.is_primary}
                                       for r in rows]}


@router.get("/people/{person_id}", response_model=PersonView, responses=errors(404),
            summary="A person with their sections")
async def get_person(district_id: str, person_id: str, principal: RosterReader, session: Session):
    person = await session.scalar(select(people.c.data).where(
        people.c.district_id == district_id, people.c.id == person_id))
    if person is None:
        raise HTTPException(404, f"no person {person_id} in district {district_id}")
    rows = (await session.execute(select(enrollments).where(
        enrollments.c.district_id == district_id, enrollments.c.user_id == person_id))).all()
    return {**person, "sections": [{"section_id": r.section_id, "role": r.role} for r in rows]}
