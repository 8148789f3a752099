"""What mastery knows of a district's reference data: the competency tree and progressions, sections, rosters.

Folded from FrameworkPublished and RosterChanged; the projection reads names and the tree from it,
regrouping reads sections and enrollments, next learning targets read the prerequisite links.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mosaic_events import roles
from mosaic_events.catalog import FrameworkPublished, RosterChanged

# CASE associations that order learning: origin must come before destination.
PREREQUISITE_ASSOCIATIONS = frozenset({"isPrerequisiteOf", "precedes"})
GUARDIAN_ROLES = roles.GUARDIAN_ROLES


@dataclass(frozen=True, slots=True)
class CompetencyNode:
    id: str
    framework_id: str
    statement: str
    code: str | None = None
    parent_id: str | None = None
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class SectionInfo:
    id: str
    school_id: str
    title: str


@dataclass
class DistrictReference:
    """One district's frameworks and rosters; derived indexes are rebuilt lazily after each change."""

    competencies: dict[str, CompetencyNode] = field(default_factory=dict)
    links: set[tuple[str, str, str]] = field(default_factory=set)  # (origin, destination, association)
    sections: dict[str, SectionInfo] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], str] = field(default_factory=dict)  # (section, user) -> role
    students: dict[str, str] = field(default_factory=dict)  # id -> display name: empty, names are not on the log
    guardians: dict[str, tuple[str, ...]] = field(default_factory=dict)  # guardian id -> their students
    schools: dict[str, tuple[str, ...]] = field(default_factory=dict)  # person id -> their schools (access policy)
    erased: set[str] = field(default_factory=set)  # people a district erased: their evidence is not folded
    _index: _Index | None = field(default=None, repr=False, compare=False)

    def changed(self) -> None:
        self._index = None

    @property
    def index(self) -> _Index:
        if self._index is None:
            self._index = _Index.of(self)
        return self._index

    def ancestors(self, competency_id: str) -> tuple[str, ...]:
        """Parent, grandparent, … (stops at a cycle instead of looping)."""
        known = self.index.ancestors.get(competency_id)
        if known is not None:
            return known
        chain: list[str] = []
        node = self.competencies.get(competency_id)
        while node is not None and node.parent_id and node.parent_id not in chain and node.parent_id != competency_id:
            chain.append(node.parent_id)
            node = self.competencies.get(node.parent_id)
        self.index.ancestors[competency_id] = found = tuple(chain)
        return found

    def children(self, competency_id: str) -> tuple[str, ...]:
        return self.index.children.get(competency_id, ())

    def sections_of(self, student_id: str) -> tuple[str, ...]:
        return self.index.student_sections.get(student_id, ())

    def students_in(self, section_id: str) -> frozenset[str]:
        return self.index.section_students.get(section_id, frozenset())

    def prerequisites(self, competency_id: str) -> tuple[str, ...]:
        return self.index.prerequisites.get(competency_id, ())

    def dependents(self, competency_id: str) -> tuple[str, ...]:
        return self.index.dependents.get(competency_id, ())


@dataclass(frozen=True)
class _Index:
    children: dict[str, tuple[str, ...]]
    student_sections: dict[str, tuple[str, ...]]
    section_students: dict[str, frozenset[str]]
    prerequisites: dict[str, tuple[str, ...]]
    dependents: dict[str, tuple[str, ...]]
    ancestors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # filled on demand

    @classmethod
    def of(cls, ref: DistrictReference) -> _Index:
        children: dict[str, list[str]] = {}
        for node in sorted(ref.competencies.values(), key=lambda n: (n.sequence is None, n.sequence, n.id)):
            if node.parent_id:
                children.setdefault(node.parent_id, []).append(node.id)
        student_sections: dict[str, list[str]] = {}
        section_students: dict[str, set[str]] = {}
        for (section, user), role in sorted(ref.enrollments.items()):
            if role == "student" and section in ref.sections:
                student_sections.setdefault(user, []).append(section)
                section_students.setdefault(section, set()).add(user)
        prerequisites: dict[str, list[str]] = {}
        dependents: dict[str, list[str]] = {}
        for origin, destination, association in sorted(ref.links):
            if association in PREREQUISITE_ASSOCIATIONS:
                prerequisites.setdefault(destination, []).append(origin)
                dependents.setdefault(origin, []).append(destination)
        return cls(
            children={k: tuple(v) for k, v in children.items()},
            student_sections={k: tuple(v) for k, v in student_sections.items()},
            section_students={k: frozenset(v) for k, v in section_students.items()},
            prerequisites={k: tuple(dict.fromkeys(v)) for k, v in prerequisites.items()},
            dependents={k: tuple(dict.fromkeys(v)) for k, v in dependents.items()},
        )


def apply_framework(ref: DistrictReference, framework: FrameworkPublished) -> None:
    """The framework in force replaces the previous version of the same framework, whole."""
    old_ids = {c.id for c in ref.competencies.values() if c.framework_id == framework.framework_id}
    for competency_id in old_ids:
        del ref.competencies[competency_id]
    ref.links = {link for link in ref.links if link[0] not in old_ids}
    for c in framework.competencies:
        ref.competencies[c.id] = CompetencyNode(
            c.id, framework.framework_id, c.statement, c.code, c.parent_id, c.sequence
        )
    ref.links |= {(link.origin_id, link.destination_id, link.association_type) for link in framework.links}
    ref.changed()


def apply_erasure(ref: DistrictReference, person_id: str) -> None:
    """Forget the person in the roster and remember the id, so later (or replayed) evidence about them is dropped."""
    ref.erased.add(person_id)
    ref.students.pop(person_id, None)
    ref.guardians.pop(person_id, None)
    ref.guardians = {g: tuple(s for s in kids if s != person_id) for g, kids in ref.guardians.items()}
    ref.enrollments = {k: v for k, v in ref.enrollments.items() if k[1] != person_id}
    ref.changed()


def apply_roster(ref: DistrictReference, roster: RosterChanged) -> None:
    """A full roster's first part clears the school's sections; every part upserts, then removals apply."""
    if roster.mode == "full" and roster.part == 1:
        gone = {s.id for s in ref.sections.values() if s.school_id == roster.school_id}
        for section_id in gone:
            del ref.sections[section_id]
        ref.enrollments = {k: v for k, v in ref.enrollments.items() if k[0] not in gone}
    for s in roster.sections:
        ref.sections[s.id] = SectionInfo(s.id, s.school_id, s.title)
    for p in roster.people:
        if p.id in ref.erased:
            continue  # an erased person's record from before the erasure, or from a replay
        ref.schools[p.id] = tuple(p.school_ids) or (roster.school_id,)
        if p.role == "student":
            # Names are not on the log (ADR 0019): mastery knows a student by id; pages ask evidence for names.
            ref.students[p.id] = ""
        elif p.role in GUARDIAN_ROLES:
            ref.guardians[p.id] = tuple(p.related_ids)
    for e in roster.enrollments:
        if e.user_id not in ref.erased:
            ref.enrollments[(e.section_id, e.user_id)] = e.role
    removed = roster.removed
    for person in removed.people:
        ref.students.pop(person, None)
        ref.guardians.pop(person, None)
        ref.schools.pop(person, None)
    for section_id in removed.sections:
        ref.sections.pop(section_id, None)
    gone_people, gone_sections, gone_pairs = set(removed.people), set(removed.sections), set(removed.enrollments)
    ref.enrollments = {
        k: v
        for k, v in ref.enrollments.items()
        if k[1] not in gone_people and k[0] not in gone_sections and k not in gone_pairs
    }
    ref.changed()


def unknown_referent(ref: DistrictReference, student_id: str, competency_ids: tuple[str, ...]) -> str | None:
    """Why evidence names a student or competency the district's reference lacks, or None (ADR 0004).

    Only a district with a roster (a framework) can say a student (a competency) is unknown; an erased person
    is known, their evidence is dropped, not refused."""
    if ref.students and student_id not in ref.students and student_id not in ref.erased:
        return f"student_id: no student {student_id!r} on the district's roster"
    missing = [c for c in dict.fromkeys(competency_ids) if c not in ref.competencies]
    if ref.competencies and missing:
        return f"competency_ids: {', '.join(map(repr, missing))} in none of the district's frameworks"
    return None
