"""The district's roster and framework in force, in memory: what evidence is checked against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from mosaic_events import roles
from mosaic_events.catalog import Competency, Enrollment, Person

STUDENT_ROLE = "student"
GUARDIAN_ROLES = roles.GUARDIAN_ROLES
STAFF_SECTION_ROLES = roles.TEACHER_ROLES


@dataclass(frozen=True)
class ReferenceView:
    """Read-only lookups over one district's people, sections, enrollments and competencies."""

    district_id: str
    roles: dict[str, str] = field(default_factory=dict)
    person_schools: dict[str, frozenset[str]] = field(default_factory=dict)
    competency_ids: frozenset[str] = frozenset()
    competency_codes: dict[str, str] = field(default_factory=dict)
    student_sections: dict[str, frozenset[str]] = field(default_factory=dict)
    staff_sections: dict[str, frozenset[str]] = field(default_factory=dict)
    section_schools: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    related: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        district_id: str,
        *,
        people: Iterable[Person] = (),
        enrollments: Iterable[Enrollment] = (),
        competencies: Iterable[Competency] = (),
        section_schools: dict[str, str] | None = None,
    ) -> ReferenceView:
        roles: dict[str, str] = {}
        schools: dict[str, frozenset[str]] = {}
        emails: dict[str, str] = {}
        related: dict[str, frozenset[str]] = {}
        for person in people:
            related[person.id] = frozenset(person.related_ids)
            roles[person.id] = person.role
            schools[person.id] = frozenset(person.school_ids)
            if person.email:
                emails.setdefault(person.email.strip().lower(), person.id)
        by_student: dict[str, set[str]] = defaultdict(set)
        by_staff: dict[str, set[str]] = defaultdict(set)
        for enrollment in enrollments:
            target = by_student if enrollment.role == STUDENT_ROLE else by_staff
            target[enrollment.user_id].add(enrollment.section_id)
        ids: set[str] = set()
        codes: dict[str, str] = {}
        for competency in competencies:
            ids.add(competency.id)
            if competency.code:
                codes.setdefault(competency.code, competency.id)
        return cls(
            district_id=district_id,
            roles=roles,
            person_schools=schools,
            competency_ids=frozenset(ids),
            competency_codes=codes,
            student_sections={k: frozenset(v) for k, v in by_student.items()},
            staff_sections={k: frozenset(v) for k, v in by_staff.items()},
            section_schools=dict(section_schools or {}),
            emails=emails,
            related=related,
        )

    def person_with_email(self, email: str) -> str | None:
        return self.emails.get(email.strip().lower())

    def related_of(self, person_id: str) -> frozenset[str]:
        """agentSourcedIds: a guardian's students, a student's guardians."""
        return self.related.get(person_id, frozenset())

    def role_of(self, person_id: str) -> str | None:
        return self.roles.get(person_id)

    def is_student(self, person_id: str) -> bool:
        return self.roles.get(person_id) == STUDENT_ROLE

    def resolve_competency(self, ref: str) -> str | None:
        """A competency id from its id or its human code (e.g. 6.RP.A.1); None if not in force."""
        if ref in self.competency_ids:
            return ref
        return self.competency_codes.get(ref)

    def sections_of_student(self, student_id: str) -> frozenset[str]:
        return self.student_sections.get(student_id, frozenset())

    def sections_taught_by(self, staff_id: str) -> frozenset[str]:
        return self.staff_sections.get(staff_id, frozenset())

    def schools_of(self, person_id: str) -> frozenset[str]:
        return self.person_schools.get(person_id, frozenset())

    def school_of_student(self, student_id: str) -> str | None:
        """The student's school: the first listed org, else the school of one of their sections."""
        schools = sorted(self.schools_of(student_id))
        if schools:
            return schools[0]
        for section in sorted(self.sections_of_student(student_id)):
            if section in self.section_schools:
                return self.section_schools[section]
        return None
