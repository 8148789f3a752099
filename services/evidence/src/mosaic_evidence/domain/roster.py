"""A checked OneRoster bundle → one roster change per school, published as RosterChanged parts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from mosaic_events.catalog import Enrollment, Person, PersonDetailsChanged, RosterChanged, RosterRemovals, Section
from mosaic_evidence.domain.oneroster import BOOLEANS, RosterBundle, Row, split_list, user_orgs, user_roles
from mosaic_evidence.domain.reference import GUARDIAN_ROLES

MAX_EVENT_BYTES = 900_000  # keep each RosterChanged under ~1 MB (topic limit is 4 MB)
LANGUAGE_COLUMNS = ("preferredLanguage", "metadata.preferredLanguage", "metadata.language", "language")


@dataclass
class SchoolChange:
    """What one school's roster gains and loses in this import."""

    school_id: str
    sections: dict[str, Section] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], Enrollment] = field(default_factory=dict)
    removed_people: set[str] = field(default_factory=set)
    removed_sections: set[str] = field(default_factory=set)
    removed_enrollments: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class RosterState:
    """What a district's roster holds now, per school (for a full import to find what disappeared)."""

    people: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    sections: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    enrollments: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))


@dataclass
class RosterChange:
    import_id: str
    mode: Literal["full", "delta"]
    schools: dict[str, SchoolChange]

    def all_people(self) -> dict[str, Person]:
        return {pid: p for school in self.schools.values() for pid, p in school.people.items()}


def plan_roster(
    bundle: RosterBundle,
    import_id: str,
    current: RosterState | None = None,
    known_schools: frozenset[str] = frozenset(),
) -> RosterChange:
    """Group a clean bundle by school; a full import also removes what the school no longer lists.

    A delta without orgs.csv names schools the district already has: pass them as `known_schools`.
    """
    school_ids = {r.get("sourcedId") for r in bundle.live("orgs") if r.get("type") == "school"} | known_schools
    fallback = _district_org(bundle) or "district"
    change = RosterChange(import_id=import_id, mode="delta" if bundle.delta else "full", schools={})

    def school(school_id: str) -> SchoolChange:
        return change.schools.setdefault(school_id, SchoolChange(school_id))

    courses = {r.get("sourcedId"): r for r in bundle.of("courses")}
    for row in bundle.of("classes"):
        target = school(row.get("schoolSourcedId"))
        if row.deleted:
            target.removed_sections.add(row.get("sourcedId"))
        else:
            target.sections[row.get("sourcedId")] = _section(row, courses.get(row.get("courseSourcedId")))
    people = _people(bundle, school_ids)
    class_school = {r.get("sourcedId"): r.get("schoolSourcedId") for r in bundle.of("classes")}
    for person, row in people:
        homes = [s for s in person.school_ids if s in school_ids] or [fallback]
        for home in homes:
            if row.deleted:
                school(home).removed_people.add(person.id)
            else:
                school(home).people[person.id] = person
    for row in bundle.of("enrollments"):
        home = row.get("schoolSourcedId") or class_school.get(row.get("classSourcedId")) or fallback
        pair = (row.get("classSourcedId"), row.get("userSourcedId"))
        if row.deleted:
            school(home).removed_enrollments.add(pair)
        else:
            school(home).enrollments[pair] = Enrollment(
                section_id=pair[0],
                user_id=pair[1],
                role=row.get("role"),
                primary=BOOLEANS.get(row.get("primary").lower(), False),
            )
    if change.mode == "full" and current is not None:
        _remove_absent(change, current)
    return change


def _remove_absent(change: RosterChange, current: RosterState) -> None:
    for school_id, target in change.schools.items():
        target.removed_people |= current.people.get(school_id, set()) - set(target.people)
        target.removed_sections |= current.sections.get(school_id, set()) - set(target.sections)
        target.removed_enrollments |= current.enrollments.get(school_id, set()) - set(target.enrollments)


def _section(row: Row, course: Row | None) -> Section:
    subjects = split_list(row.get("subjects")) or (split_list(course.get("subjects")) if course else [])
    return Section(
        id=row.get("sourcedId"),
        school_id=row.get("schoolSourcedId"),
        title=row.get("title"),
        course_id=row.get("courseSourcedId") or None,
        subjects=tuple(subjects),
        grades=tuple(split_list(row.get("grades"))),
    )


def _people(bundle: RosterBundle, school_ids: set[str]) -> list[tuple[Person, Row]]:
    """Users as Persons; guardians and students linked both ways; guardians without a school take their child's."""
    roles_by_user: dict[str, list[Row]] = defaultdict(list)
    for row in bundle.live("roles"):
        roles_by_user[row.get("userSourcedId")].append(row)
    rows = bundle.of("users")
    related: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for agent in split_list(row.get("agentSourcedIds")):
            related[row.get("sourcedId")].add(agent)
            related[agent].add(row.get("sourcedId"))
    orgs = {row.get("sourcedId"): user_orgs(row, roles_by_user) for row in rows}
    people = []
    for row in rows:
        pid = row.get("sourcedId")
        roles = user_roles(row, roles_by_user) or ["unknown"]
        schools = [o for o in orgs[pid] if o in school_ids]
        if not schools and roles[0] in GUARDIAN_ROLES:
            schools = sorted({s for kid in related[pid] for s in orgs.get(kid, ()) if s in school_ids})
        people.append(
            (
                Person(
                    id=pid,
                    role=roles[0],
                    given_name=row.get("preferredGivenName") or row.get("preferredFirstName") or row.get("givenName"),
                    family_name=row.get("preferredFamilyName") or row.get("preferredLastName") or row.get("familyName"),
                    school_ids=tuple(schools or orgs[pid]),
                    email=row.get("email") or None,
                    phone=row.get("phone") or None,
                    sms=row.get("sms") or None,
                    preferred_language=next((row.get(c) for c in LANGUAGE_COLUMNS if row.get(c)), None),
                    grades=tuple(split_list(row.get("grades"))),
                    related_ids=tuple(sorted(related[pid])),
                ),
                row,
            )
        )
    return people


def _district_org(bundle: RosterBundle) -> str | None:
    return next((r.get("sourcedId") for r in bundle.live("orgs") if r.get("type") == "district"), None)


def without_personal_data(person: Person) -> Person:
    """The Person as the permanent log may carry it: ids, role, schools, links, language (ADR 0019)."""
    return person.model_copy(update={"given_name": "", "family_name": "", "email": None, "phone": None, "sms": None})


def without_people(change: RosterChange, person_ids: set[str]) -> list[str]:
    """Drop these people (erased by the district) from the change: their records, their enrolments and the links
    others have to them. Returns the ids dropped, sorted."""
    dropped = sorted({pid for school in change.schools.values() for pid in school.people if pid in person_ids})
    for school in change.schools.values():
        school.people = {
            pid: p.model_copy(update={"related_ids": tuple(r for r in p.related_ids if r not in person_ids)})
            for pid, p in school.people.items()
            if pid not in person_ids
        }
        school.enrollments = {k: e for k, e in school.enrollments.items() if k[1] not in person_ids}
    return dropped


def details_events(change: RosterChange) -> list[PersonDetailsChanged]:
    """Each person's name and contacts, for the compacted, erasable mosaic.people.v1."""
    return [
        PersonDetailsChanged(
            person_id=p.id,
            role=p.role,
            given_name=p.given_name,
            family_name=p.family_name,
            email=p.email,
            phone=p.phone,
            sms=p.sms,
        )
        for _, p in sorted(change.all_people().items())
    ]


def to_events(change: RosterChange, max_bytes: int = MAX_EVENT_BYTES) -> list[RosterChanged]:
    """RosterChanged parts per school, each under `max_bytes` of JSON; removals ride in part 1; ids only."""
    events = []
    for school_id in sorted(change.schools):
        target = change.schools[school_id]
        removed = RosterRemovals(
            people=tuple(sorted(target.removed_people)),
            sections=tuple(sorted(target.removed_sections)),
            enrollments=tuple(sorted(target.removed_enrollments)),
        )
        chunks = _pack(
            [("sections", s) for s in target.sections.values()]
            + [("people", without_personal_data(p)) for p in target.people.values()]
            + [("enrollments", e) for e in target.enrollments.values()],
            max_bytes - len(removed.model_dump_json()) - 2_000,
        )
        for number, chunk in enumerate(chunks, start=1):
            events.append(
                RosterChanged(
                    import_id=change.import_id,
                    school_id=school_id,
                    mode=change.mode,
                    part=number,
                    parts=len(chunks),
                    sections=tuple(v for k, v in chunk if k == "sections" and isinstance(v, Section)),
                    people=tuple(v for k, v in chunk if k == "people" and isinstance(v, Person)),
                    enrollments=tuple(v for k, v in chunk if k == "enrollments" and isinstance(v, Enrollment)),
                    removed=removed if number == 1 else RosterRemovals(),
                )
            )
    return events


def _pack(entries: list[tuple[str, object]], budget: int) -> list[list[tuple[str, object]]]:
    chunks: list[list[tuple[str, object]]] = [[]]
    used = 0
    for kind, entity in entries:
        size = len(entity.model_dump_json()) + 1  # type: ignore[attr-defined]
        if chunks[-1] and used + size > budget:
            chunks.append([])
            used = 0
        chunks[-1].append((kind, entity))
        used += size
    return chunks
