"""Read the district's frameworks and roster: what the portals show, or not found."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import reference_views
from mosaic_evidence.service.results import Done, Refused


def _found(body: object, missing: str) -> Done | Refused:
    return Refused("not_found", {"detail": missing}) if body is None else Done(body)


async def frameworks(session: AsyncSession, district_id: str) -> Done:
    return Done(await reference_views.framework_list(session, district_id))


async def framework(session: AsyncSession, district_id: str, framework_id: str, kind: str | None) -> Done | Refused:
    return _found(
        await reference_views.framework_in_tree_order(session, district_id, framework_id, kind),
        f"no framework {framework_id} in district {district_id}",
    )


async def people(session: AsyncSession, district_id: str, role: str | None, limit: int, offset: int) -> Done:
    items = await reference_views.people_page(session, district_id, role, limit, offset)
    return Done({"limit": limit, "offset": offset, "items": items})


async def sections(session: AsyncSession, district_id: str, school_id: str | None) -> Done:
    return Done(await reference_views.section_list(session, district_id, school_id))


async def section(session: AsyncSession, district_id: str, section_id: str) -> Done | Refused:
    return _found(
        await reference_views.section_with_enrollments(session, district_id, section_id),
        f"no section {section_id} in district {district_id}",
    )


async def person(session: AsyncSession, district_id: str, person_id: str) -> Done | Refused:
    return _found(
        await reference_views.person_with_sections(session, district_id, person_id),
        f"no person {person_id} in district {district_id}",
    )
