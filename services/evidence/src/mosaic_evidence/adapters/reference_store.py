"""Frameworks and rosters in the database: saved as diffs, loaded as just enough ReferenceView."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.catalog import Competency, Enrollment, FrameworkDiff, Person
from mosaic_evidence.adapters.reference_cache import DistrictReference, ReferenceCache, bump_version
from mosaic_evidence.adapters.tables import (
    competencies,
    competency_links,
    enrollments,
    frameworks,
    people,
    person_schools,
    roster_imports,
    sections,
)
from mosaic_evidence.domain.framework import Framework
from mosaic_evidence.domain.oneroster import KnownIds
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.domain.roster import RosterChange, RosterState


async def load_view_for(
    session: AsyncSession,
    district_id: str,
    *,
    person_ids: Iterable[str],
    competency_refs: Iterable[str],
    cache: ReferenceCache | None = None,
) -> ReferenceView:
    """A ReferenceView holding only the people, enrollments and competencies these checks need (from the
    process' cache where given and current)."""
    ids = sorted(set(person_ids))
    refs = sorted(set(competency_refs))
    if cache is not None:
        known = await cache.district(session, district_id)
        await cache.load_people(session, known, ids)
        await cache.load_competencies(session, known, refs)
        return _view_of(known, ids, refs)
    person_rows = (
        (await session.execute(select(people.c.data).where(people.c.district_id == district_id, people.c.id.in_(ids))))
        .scalars()
        .all()
        if ids
        else []
    )
    enrollment_rows = (
        (
            await session.execute(
                select(enrollments).where(enrollments.c.district_id == district_id, enrollments.c.user_id.in_(ids))
            )
        ).all()
        if ids
        else []
    )
    competency_rows = (
        (
            await session.execute(
                select(competencies.c.data).where(
                    competencies.c.district_id == district_id,
                    competencies.c.retired.is_(False),
                    or_(competencies.c.id.in_(refs), competencies.c.code.in_(refs)),
                )
            )
        )
        .scalars()
        .all()
        if refs
        else []
    )
    return ReferenceView.build(
        district_id,
        people=[Person.model_validate(p) for p in person_rows],
        enrollments=[
            Enrollment(section_id=r.section_id, user_id=r.user_id, role=r.role, primary=r.is_primary)
            for r in enrollment_rows
        ],
        competencies=[Competency.model_validate(c) for c in competency_rows],
        section_schools={r.section_id: r.school_id for r in enrollment_rows},
    )


def _view_of(known: DistrictReference, ids: list[str], refs: list[str]) -> ReferenceView:
    rows = [row for pid in ids for row in known.enrollments[pid]]
    found = {c["id"]: c for ref in refs for c in known.competencies[ref]}
    return ReferenceView.build(
        known.district_id,
        people=[Person.model_validate(p) for pid in ids if (p := known.people[pid]) is not None],
        enrollments=[
            Enrollment(section_id=r.section_id, user_id=r.user_id, role=r.role, primary=r.is_primary) for r in rows
        ],
        competencies=[Competency.model_validate(c) for c in found.values()],
        section_schools={r.section_id: r.school_id for r in rows},
    )


async def people_with_emails(session: AsyncSession, district_id: str, emails: Iterable[str]) -> list[Person]:
    wanted = sorted({e.strip().lower() for e in emails if e})
    if not wanted:
        return []
    rows = (
        (
            await session.execute(
                select(people.c.data).where(people.c.district_id == district_id, people.c.email.in_(wanted))
            )
        )
        .scalars()
        .all()
    )
    return [Person.model_validate(p) for p in rows]


async def framework_in_force(session: AsyncSession, district_id: str, framework_id: str) -> Framework | None:
    header = (
        await session.execute(
            select(frameworks).where(frameworks.c.district_id == district_id, frameworks.c.framework_id == framework_id)
        )
    ).first()
    if header is None:
        return None
    rows = (
        (
            await session.execute(
                select(competencies.c.data)
                .where(
                    competencies.c.district_id == district_id,
                    competencies.c.framework_id == framework_id,
                    competencies.c.retired.is_(False),
                )
                .order_by(competencies.c.position)
            )
        )
        .scalars()
        .all()
    )
    return Framework(
        framework_id=framework_id,
        title=header.title,
        version=header.version,
        competencies=tuple(Competency.model_validate(r) for r in rows),
        links=(),
    )


async def save_framework(session: AsyncSession, district_id: str, framework: Framework, diff: FrameworkDiff) -> None:
    """Apply a diff: upsert added and changed items, retire removed ones (evidence may still name them)."""
    await bump_version(session, district_id)
    now = datetime.now(UTC)
    header = {
        "title": framework.title,
        "version": framework.version,
        "imported_at": now,
        "competency_count": len(framework.competencies),
        "rubrics": [asdict(r) for r in framework.rubrics],
    }
    exists = await session.scalar(
        select(func.count())
        .select_from(frameworks)
        .where(frameworks.c.district_id == district_id, frameworks.c.framework_id == framework.framework_id)
    )
    if exists:
        await session.execute(
            update(frameworks)
            .where(frameworks.c.district_id == district_id, frameworks.c.framework_id == framework.framework_id)
            .values(**header)
        )
    else:
        await session.execute(
            frameworks.insert().values(district_id=district_id, framework_id=framework.framework_id, **header)
        )
    existing = set(
        (
            await session.execute(
                select(competencies.c.id).where(
                    competencies.c.district_id == district_id, competencies.c.framework_id == framework.framework_id
                )
            )
        ).scalars()
    )
    touched = set(diff.added) | set(diff.changed)
    for position, competency in enumerate(framework.competencies):
        if competency.id not in touched and competency.id in existing:
            await session.execute(
                update(competencies)
                .where(competencies.c.district_id == district_id, competencies.c.id == competency.id)
                .values(position=position, retired=False)
            )
            continue
        values = {
            "framework_id": framework.framework_id,
            "code": competency.code,
            "kind": competency.kind,
            "parent_id": competency.parent_id,
            "position": position,
            "data": competency.model_dump(mode="json"),
            "retired": False,
        }
        if competency.id in existing:
            await session.execute(
                update(competencies)
                .where(competencies.c.district_id == district_id, competencies.c.id == competency.id)
                .values(**values)
            )
        else:
            await session.execute(competencies.insert().values(district_id=district_id, id=competency.id, **values))
    if diff.removed:
        await session.execute(
            update(competencies)
            .where(competencies.c.district_id == district_id, competencies.c.id.in_(diff.removed))
            .values(retired=True)
        )
    await session.execute(
        delete(competency_links).where(
            competency_links.c.district_id == district_id, competency_links.c.framework_id == framework.framework_id
        )
    )
    unique_links = {(link.origin_id, link.association_type, link.destination_id) for link in framework.links}
    if unique_links:
        await session.execute(
            competency_links.insert(),
            [
                {
                    "district_id": district_id,
                    "framework_id": framework.framework_id,
                    "origin_id": o,
                    "association_type": t,
                    "destination_id": d,
                }
                for o, t, d in sorted(unique_links)
            ],
        )


async def roster_state(session: AsyncSession, district_id: str, school_ids: Iterable[str]) -> RosterState:
    """What the given schools hold now, so a full import can remove what it no longer lists."""
    schools = sorted(set(school_ids))
    state = RosterState()
    for school_id, person_id in (
        await session.execute(
            select(person_schools.c.school_id, person_schools.c.person_id).where(
                person_schools.c.district_id == district_id, person_schools.c.school_id.in_(schools)
            )
        )
    ).all():
        state.people[school_id].add(person_id)
    for school_id, section_id in (
        await session.execute(
            select(sections.c.school_id, sections.c.id).where(
                sections.c.district_id == district_id, sections.c.school_id.in_(schools)
            )
        )
    ).all():
        state.sections[school_id].add(section_id)
    for school_id, section_id, user_id in (
        await session.execute(
            select(enrollments.c.school_id, enrollments.c.section_id, enrollments.c.user_id).where(
                enrollments.c.district_id == district_id, enrollments.c.school_id.in_(schools)
            )
        )
    ).all():
        state.enrollments[school_id].add((section_id, user_id))
    return state


async def known_ids(session: AsyncSession, district_id: str) -> tuple[KnownIds, frozenset[str]]:
    """Ids a delta may refer to, and the district's schools."""

    async def ids(column, table) -> frozenset[str]:
        return frozenset(
            (await session.execute(select(column).where(table.c.district_id == district_id).distinct())).scalars()
        )

    schools = await ids(person_schools.c.school_id, person_schools) | await ids(sections.c.school_id, sections)
    users = await ids(people.c.id, people)
    return KnownIds(orgs=schools, classes=await ids(sections.c.id, sections), users=users), schools


async def apply_roster(session: AsyncSession, district_id: str, change: RosterChange, summary: dict) -> None:
    """Write a planned roster change (all schools) in the caller's transaction, in bulk statements."""
    await bump_version(session, district_id)
    for school in change.schools.values():
        await _remove(
            session,
            district_id,
            school.school_id,
            school.removed_people,
            school.removed_sections,
            school.removed_enrollments,
        )
    all_sections = {s.id: s for school in change.schools.values() for s in school.sections.values()}
    all_people = change.all_people()
    all_enrollments = {
        pair: (school.school_id, e) for school in change.schools.values() for pair, e in school.enrollments.items()
    }
    for chunk in _chunks(sorted(all_sections)):
        await session.execute(delete(sections).where(sections.c.district_id == district_id, sections.c.id.in_(chunk)))
        await session.execute(
            sections.insert(),
            [
                {
                    "district_id": district_id,
                    "id": sid,
                    "school_id": all_sections[sid].school_id,
                    "data": all_sections[sid].model_dump(mode="json"),
                }
                for sid in chunk
            ],
        )
    for chunk in _chunks(sorted(all_people)):
        await session.execute(delete(people).where(people.c.district_id == district_id, people.c.id.in_(chunk)))
        await session.execute(
            delete(person_schools).where(
                person_schools.c.district_id == district_id, person_schools.c.person_id.in_(chunk)
            )
        )
        await session.execute(
            people.insert(),
            [
                {
                    "district_id": district_id,
                    "id": pid,
                    "role": all_people[pid].role,
                    "email": (all_people[pid].email or "").strip().lower() or None,
                    "data": all_people[pid].model_dump(mode="json"),
                }
                for pid in chunk
            ],
        )
        links = [
            {"district_id": district_id, "school_id": school_id, "person_id": pid}
            for pid in chunk
            for school_id in dict.fromkeys(all_people[pid].school_ids)
        ]
        if links:
            await session.execute(person_schools.insert(), links)
    for chunk in _chunks(sorted(all_enrollments)):
        await session.execute(
            delete(enrollments).where(
                enrollments.c.district_id == district_id,
                tuple_(enrollments.c.section_id, enrollments.c.user_id).in_(chunk),
            )
        )
        await session.execute(
            enrollments.insert(),
            [
                {
                    "district_id": district_id,
                    "section_id": section_id,
                    "user_id": user_id,
                    "school_id": school_id,
                    "role": enrollment.role,
                    "is_primary": enrollment.primary,
                }
                for (section_id, user_id), (school_id, enrollment) in ((p, all_enrollments[p]) for p in chunk)
            ],
        )
    await session.execute(
        roster_imports.insert().values(
            district_id=district_id,
            import_id=change.import_id,
            mode=change.mode,
            summary=summary,
            imported_at=datetime.now(UTC),
        )
    )


def _chunks(ids: list, size: int = 500) -> list[list]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def _remove(session, district_id, school_id, person_ids, section_ids, pairs) -> None:
    if person_ids:
        await session.execute(
            delete(person_schools).where(
                person_schools.c.district_id == district_id,
                person_schools.c.school_id == school_id,
                person_schools.c.person_id.in_(sorted(person_ids)),
            )
        )
        orphaned = set(person_ids) - set(
            (
                await session.execute(
                    select(person_schools.c.person_id).where(
                        person_schools.c.district_id == district_id, person_schools.c.person_id.in_(sorted(person_ids))
                    )
                )
            ).scalars()
        )
        if orphaned:
            await session.execute(
                delete(people).where(people.c.district_id == district_id, people.c.id.in_(sorted(orphaned)))
            )
            await session.execute(
                delete(enrollments).where(
                    enrollments.c.district_id == district_id, enrollments.c.user_id.in_(sorted(orphaned))
                )
            )
    if section_ids:
        await session.execute(
            delete(sections).where(sections.c.district_id == district_id, sections.c.id.in_(sorted(section_ids)))
        )
        await session.execute(
            delete(enrollments).where(
                enrollments.c.district_id == district_id, enrollments.c.section_id.in_(sorted(section_ids))
            )
        )
    for chunk in _chunks(sorted(pairs)):
        await session.execute(
            delete(enrollments).where(
                enrollments.c.district_id == district_id,
                tuple_(enrollments.c.section_id, enrollments.c.user_id).in_(chunk),
            )
        )
