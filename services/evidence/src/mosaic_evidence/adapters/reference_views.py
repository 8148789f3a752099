"""The roster and framework as the portals read them: plain JSON-ready dicts, scoped by district."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters.tables import competencies, competency_links, enrollments, frameworks, people, sections


async def framework_list(session: AsyncSession, district_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(frameworks).where(frameworks.c.district_id == district_id))).all()
    return [
        {
            "framework_id": r.framework_id,
            "title": r.title,
            "version": r.version,
            "competencies": r.competency_count,
            "imported_at": r.imported_at.isoformat(),
        }
        for r in rows
    ]


async def framework_in_tree_order(
    session: AsyncSession, district_id: str, framework_id: str, kind: str | None
) -> dict[str, Any] | None:
    header = (
        await session.execute(
            select(frameworks).where(frameworks.c.district_id == district_id, frameworks.c.framework_id == framework_id)
        )
    ).first()
    if header is None:
        return None
    query = select(competencies.c.data).where(
        competencies.c.district_id == district_id,
        competencies.c.framework_id == framework_id,
        competencies.c.retired.is_(False),
    )
    if kind:
        query = query.where(competencies.c.kind == kind)
    items = (await session.execute(query.order_by(competencies.c.position))).scalars().all()
    links = (
        await session.execute(
            select(competency_links).where(
                competency_links.c.district_id == district_id, competency_links.c.framework_id == framework_id
            )
        )
    ).all()
    return {
        "framework_id": framework_id,
        "title": header.title,
        "version": header.version,
        "rubrics": header.rubrics,
        "competencies": list(items),
        "links": [
            {"origin_id": r.origin_id, "association_type": r.association_type, "destination_id": r.destination_id}
            for r in links
        ],
    }


async def people_page(
    session: AsyncSession, district_id: str, role: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = select(people.c.data).where(people.c.district_id == district_id)
    if role:
        query = query.where(people.c.role == role)
    return list((await session.execute(query.order_by(people.c.id).limit(limit).offset(offset))).scalars().all())


async def section_list(session: AsyncSession, district_id: str, school_id: str | None) -> list[dict[str, Any]]:
    query = select(sections.c.data).where(sections.c.district_id == district_id)
    if school_id:
        query = query.where(sections.c.school_id == school_id)
    return list((await session.execute(query.order_by(sections.c.id))).scalars().all())


async def section_with_enrollments(session: AsyncSession, district_id: str, section_id: str) -> dict[str, Any] | None:
    rows = (
        select(enrollments)
        .where(enrollments.c.section_id == section_id)
        .order_by(enrollments.c.role, enrollments.c.user_id)
    )
    return await _with_enrollments(
        session,
        district_id,
        sections,
        section_id,
        rows,
        "enrollments",
        lambda r: {"user_id": r.user_id, "role": r.role, "primary": r.is_primary},
    )


async def person_with_sections(session: AsyncSession, district_id: str, person_id: str) -> dict[str, Any] | None:
    rows = select(enrollments).where(enrollments.c.user_id == person_id)
    return await _with_enrollments(
        session,
        district_id,
        people,
        person_id,
        rows,
        "sections",
        lambda r: {"section_id": r.section_id, "role": r.role},
    )


async def _with_enrollments(
    session: AsyncSession,
    district_id: str,
    table: Table,
    item_id: str,
    rows: Select[Any],
    field: str,
    shown: Callable[[Any], dict[str, Any]],
) -> dict[str, Any] | None:
    """A section or person's stored data, with its enrollments listed under `field`."""
    item = await session.scalar(select(table.c.data).where(table.c.district_id == district_id, table.c.id == item_id))
    if item is None:
        return None
    found = (await session.execute(rows.where(enrollments.c.district_id == district_id))).all()
    return {**item, field: [shown(r) for r in found]}
