"""Who to tell: guardians and the students they are linked to (roster events), and how to reach them
(PersonDetailsChanged on mosaic.people.v1: the only place names and contacts come from, ADR 0019)."""

from __future__ import annotations

from dataclasses import dataclass

from mosaic_events import roles
from mosaic_events.catalog import Person, PersonDetailsChanged, RosterChanged

GUARDIAN_ROLES = roles.GUARDIAN_ROLES
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Guardian:
    district_id: str
    guardian_id: str
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    sms: str | None
    language: str
    student_ids: tuple[str, ...]
    # True when the guardian's own record lists their students: then it replaces the stored links;
    # otherwise links come only from students' records and are added, never removed.
    links_authoritative: bool = False


@dataclass(frozen=True)
class Student:
    district_id: str
    student_id: str
    given_name: str | None


@dataclass(frozen=True)
class RosterContacts:
    """What one roster part says about families: guardians, students, and people removed."""

    guardians: tuple[Guardian, ...]
    students: tuple[Student, ...]
    removed_ids: tuple[str, ...]
    other_links: tuple[tuple[str, str], ...] = ()  # (guardian, student) named by a student whose guardian is elsewhere


def contacts_from_roster(district_id: str, roster: RosterChanged) -> RosterContacts:
    """Guardians with their students (from either side of the link), and the students; no names or contacts."""
    students = tuple(Student(district_id, p.id, None) for p in roster.people if p.role == "student")
    links = _links_from_students(roster.people)
    guardians = tuple(
        _guardian(district_id, p, tuple(sorted(set(p.related_ids) | links.get(p.id, set()))))
        for p in roster.people
        if p.role in GUARDIAN_ROLES
    )
    here = {g.guardian_id for g in guardians}
    other_links = tuple(sorted((g, s) for g, students_of in links.items() if g not in here for s in students_of))
    return RosterContacts(guardians, students, tuple(roster.removed.people), other_links)


def _links_from_students(people: tuple[Person, ...]) -> dict[str, set[str]]:
    """A student's related_ids name their guardians; invert them so a link given on either side counts."""
    links: dict[str, set[str]] = {}
    for person in people:
        if person.role == "student":
            for guardian_id in person.related_ids:
                links.setdefault(guardian_id, set()).add(person.id)
    return links


def _guardian(district_id: str, person: Person, student_ids: tuple[str, ...]) -> Guardian:
    return Guardian(
        district_id=district_id,
        guardian_id=person.id,
        given_name=None,
        family_name=None,
        email=None,
        phone=None,
        sms=None,
        language=normalize_language(person.preferred_language),
        student_ids=student_ids,
        links_authoritative=bool(person.related_ids),
    )


@dataclass(frozen=True)
class Reachable:
    """A person's name and contacts, as the people topic last said them."""

    district_id: str
    person_id: str
    is_guardian: bool
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    sms: str | None


def reachable_from(district_id: str, details: PersonDetailsChanged) -> Reachable:
    """A guardian's texts go to their SMS number, else their phone."""
    return Reachable(
        district_id,
        details.person_id,
        details.role in GUARDIAN_ROLES,
        details.given_name,
        details.family_name,
        details.email,
        details.phone,
        details.sms or details.phone,
    )


def normalize_language(tag: str | None) -> str:
    """'es-MX', 'ES', 'spa' → 'es'-style primary subtag; unknown or empty → English."""
    if not tag:
        return DEFAULT_LANGUAGE
    primary = tag.replace("_", "-").split("-")[0].strip().lower()
    return {"eng": "en", "spa": "es"}.get(primary, primary) or DEFAULT_LANGUAGE
