"""Importing frameworks (CASE) and rosters (OneRoster), and the views of them the portals need."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from starlette.datastructures import UploadFile

from mosaic_evidence.api.deps import IdempotencyKey, Offset, answer, found, write
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
from mosaic_evidence.service import erase_person as erasure
from mosaic_evidence.service import import_framework as framework_import
from mosaic_evidence.service import import_roster as roster_import
from mosaic_evidence.service import read_reference
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal
from mosaic_runtime.responses import errors

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["frameworks and rosters"])


@router.post(
    "/frameworks",
    status_code=201,
    response_model=FrameworkImported,
    summary="Import a CASE CFPackage (JSON); a re-import is a diff",
    dependencies=[Depends(allow(Rule.IMPORT))],
    responses={
        200: {"description": "a new version of a framework already imported: the diff"},
        422: {"description": "the package cannot be read; every reason listed"},
        503: {"description": "Kafka did not acknowledge FrameworkPublished; nothing changed"},
    },
)
async def import_framework(
    district_id: str,
    ctx: Context,
    package: Annotated[dict[str, Any], Body(description="a CASE 1.0 CFPackage")],
    idempotency_key: IdempotencyKey = None,
):
    try:
        framework = parse_case_package(package)
    except FrameworkError as exc:
        return answer(422, {"detail": "the CASE package cannot be read", "problems": exc.problems})
    return await write(
        ctx,
        district_id,
        lambda s: framework_import.import_framework(s, district_id, framework),
        key=idempotency_key,
        request={"path": "frameworks", "body": package},
    )


@router.post(
    "/rosters",
    status_code=201,
    response_model=RosterImported,
    summary="Import a OneRoster 1.1/1.2 CSV bundle: a zip (application/zip) or multipart CSV files",
    dependencies=[Depends(allow(Rule.IMPORT))],
    responses=errors(400, 413, 415)
    | {
        422: {"description": "every bad row with file, line, field and reason; nothing applied"},
        503: {"description": "Kafka did not acknowledge RosterChanged; nothing applied"},
    },
)
async def import_roster(district_id: str, request: Request, ctx: Context, idempotency_key: IdempotencyKey = None):
    files = await _roster_files(request, ctx.settings.max_upload_bytes)  # type: ignore[attr-defined]
    upload = b"".join(name.encode() + content for name, content in sorted(files.items()))
    return await write(
        ctx,
        district_id,
        lambda s: roster_import.import_roster(s, district_id, files),
        key=idempotency_key,
        request=upload,
    )


@router.post(
    "/people/{person_id}/erasure",
    status_code=201,
    dependencies=[Depends(allow(Rule.ERASURE))],
    summary="Erase a person: their roster record, contacts and the comments about them (ADR 0019)",
    responses={
        201: {"description": "erased here; PersonErased is on the log and every service purges"},
        404: {"description": "no such person in the district (or erased already)"},
        503: {"description": "Kafka did not acknowledge PersonErased; nothing was erased"},
    },
)
async def erase_person(
    district_id: str, person_id: str, principal: DistrictPrincipal, ctx: Context, idempotency_key: IdempotencyKey = None
):
    return await write(
        ctx,
        district_id,
        lambda s: erasure.erase_person(s, district_id, person_id, principal.user_id),
        key=idempotency_key,
        request={"path": f"people/{person_id}/erasure"},
    )


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
        raise HTTPException(
            415, "send the roster as a zip (application/zip) or as multipart/form-data CSV files"
        ) from None


@router.get(
    "/frameworks",
    response_model=list[FrameworkSummary],
    summary="The district's frameworks",
    dependencies=[Depends(allow(Rule.DISTRICT_INFO))],
)
async def list_frameworks(district_id: str, session: Session):
    return found(await read_reference.frameworks(session, district_id))


@router.get(
    "/frameworks/{framework_id}",
    response_model=FrameworkView,
    summary="A framework in force: its competencies in tree order and links",
    dependencies=[Depends(allow(Rule.DISTRICT_INFO))],
)
async def get_framework(district_id: str, framework_id: str, session: Session, kind: str | None = None):
    return found(await read_reference.framework(session, district_id, framework_id, kind))


@router.get(
    "/people",
    response_model=PeoplePage,
    summary="The roster's people, by role and school",
    dependencies=[Depends(allow(Rule.DIRECTORY))],
)
async def list_people(
    district_id: str,
    session: Session,
    role: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
):
    return found(await read_reference.people(session, district_id, role, limit, offset))


@router.get(
    "/sections",
    response_model=list[dict[str, Any]],
    summary="The roster's sections, optionally of one school",
    dependencies=[Depends(allow(Rule.SECTION_LIST))],
)
async def list_sections(district_id: str, session: Session, school_id: str | None = None):
    return found(await read_reference.sections(session, district_id, school_id))


@router.get(
    "/sections/{section_id}",
    response_model=SectionView,
    summary="A section with its teachers and students",
    dependencies=[Depends(allow(Rule.SECTION_DATA))],
)
async def get_section(district_id: str, section_id: str, session: Session):
    return found(await read_reference.section(session, district_id, section_id))


@router.get(
    "/people/{person_id}",
    response_model=PersonView,
    summary="A person with their sections",
    dependencies=[Depends(allow(Rule.STUDENT_DATA))],
)
async def get_person(district_id: str, person_id: str, session: Session):
    return found(await read_reference.person(session, district_id, person_id))
