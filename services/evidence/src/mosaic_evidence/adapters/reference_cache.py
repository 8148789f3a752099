"""What a process keeps of a district's roster and framework between requests.

Every change to a district's people, enrollments or competencies bumps its row in `reference_versions` in the
same transaction (roster and framework imports, erasure). A process keeps the rows it read under the version it
read them with, and drops them when a request finds another version: a request then reads one small row instead
of the people, enrollments and competencies it names (and checks them against what every replica committed).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters.tables import competencies, enrollments, people, person_schools, reference_versions

MAX_DISTRICTS = 64
ACCESS_CHECK_MAX_AGE = 1.0  # seconds an access check trusts the version a request read before it


class EnrollmentRow(NamedTuple):
    section_id: str
    user_id: str
    school_id: str
    role: str
    is_primary: bool


@dataclass
class DistrictReference:
    """The rows of one district read so far, all under one version; a missing person is kept as None."""

    district_id: str
    version: int
    checked_at: float = field(default_factory=time.monotonic)  # when a request last read the version
    people: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    enrollments: dict[str, tuple[EnrollmentRow, ...]] = field(default_factory=dict)
    listed_schools: dict[str, frozenset[str]] = field(default_factory=dict)
    competencies: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)


async def bump_version(session: AsyncSession, district_id: str) -> None:
    """Call in the transaction that changes the district's people, enrollments or competencies."""
    session.info.pop("reference_versions", None)  # later reads in this transaction see the change
    changed = await session.execute(
        update(reference_versions)
        .where(reference_versions.c.district_id == district_id)
        .values(version=reference_versions.c.version + 1)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        await session.execute(reference_versions.insert().values(district_id=district_id, version=1))


class ReferenceCache:
    """One per process (app.state / ctx.state): the districts' reference rows, checked against their version."""

    def __init__(self, max_districts: int = MAX_DISTRICTS) -> None:
        self.max_districts = max_districts
        self._districts: OrderedDict[str, DistrictReference] = OrderedDict()

    async def district(self, session: AsyncSession, district_id: str, *, max_age: float = 0.0) -> DistrictReference:
        """The district's rows if still current, else an empty set under the version the database has now
        (read once per transaction: the writes of a group share theirs). With `max_age`, rows whose version was
        read that recently are taken without reading it again (the access check: a permission change reaches
        every replica within that time; a write still checks its people and competencies at the current one)."""
        known = self._districts.get(district_id)
        if known is not None and max_age and time.monotonic() - known.checked_at < max_age:
            return known
        read: dict[str, int | None] = session.info.setdefault("reference_versions", {})
        if district_id in read:
            version = read[district_id]
        else:
            version = read[district_id] = await session.scalar(
                select(reference_versions.c.version).where(reference_versions.c.district_id == district_id)
            )
        if known is None or known.version != (version or 0):
            known = self._districts[district_id] = DistrictReference(district_id, version or 0)
            while len(self._districts) > self.max_districts:
                self._districts.popitem(last=False)
        known.checked_at = time.monotonic()
        self._districts.move_to_end(district_id)
        return known

    @staticmethod
    async def load_people(session: AsyncSession, known: DistrictReference, ids: Iterable[str]) -> None:
        """Read the people not yet known, their enrollments and the schools they are listed in."""
        district_id = known.district_id
        missing = sorted(set(ids) - known.people.keys())
        if not missing:
            return
        found = {
            r.id: r.data
            for r in await session.execute(
                select(people.c.id, people.c.data).where(people.c.district_id == district_id, people.c.id.in_(missing))
            )
        }
        rows: dict[str, list[EnrollmentRow]] = {pid: [] for pid in missing}
        for r in await session.execute(
            select(
                enrollments.c.section_id,
                enrollments.c.user_id,
                enrollments.c.school_id,
                enrollments.c.role,
                enrollments.c.is_primary,
            ).where(enrollments.c.district_id == district_id, enrollments.c.user_id.in_(missing))
        ):
            rows[r.user_id].append(EnrollmentRow(*r))
        listed: dict[str, set[str]] = {pid: set() for pid in missing}
        for r in await session.execute(
            select(person_schools.c.person_id, person_schools.c.school_id).where(
                person_schools.c.district_id == district_id, person_schools.c.person_id.in_(missing)
            )
        ):
            listed[r.person_id].add(r.school_id)
        for pid in missing:
            known.people[pid] = found.get(pid)
            known.enrollments[pid] = tuple(rows[pid])
            known.listed_schools[pid] = frozenset(listed[pid])

    @staticmethod
    async def load_competencies(session: AsyncSession, known: DistrictReference, refs: Iterable[str]) -> None:
        """Read the competencies in force that these ids or codes name, where not yet known."""
        district_id = known.district_id
        missing = sorted(set(refs) - known.competencies.keys())
        if not missing:
            return
        by_ref: dict[str, list[dict[str, Any]]] = {ref: [] for ref in missing}
        for r in await session.execute(
            select(competencies.c.id, competencies.c.code, competencies.c.data).where(
                competencies.c.district_id == district_id,
                competencies.c.retired.is_(False),
                or_(competencies.c.id.in_(missing), competencies.c.code.in_(missing)),
            )
        ):
            for ref in {r.id, r.code} & by_ref.keys():
                by_ref[ref].append(r.data)
        for ref, found in by_ref.items():
            known.competencies[ref] = tuple(found)
