"""Reference data: topic mosaic.reference.v1, keyed by the entity (framework or school)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mosaic_events.registry import EventData, register


class Competency(BaseModel):
    """One node of a framework: a standard, learning target or disposition (a CASE CFItem)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    code: str | None = Field(default=None, description="human coding scheme, e.g. 6.RP.A.1")
    statement: str
    abbreviated_statement: str | None = None
    kind: str = Field(default="standard", description="CFItemType: standard, learning target, disposition, ...")
    parent_id: str | None = None
    education_levels: tuple[str, ...] = ()
    sequence: int | None = None


class CompetencyLink(BaseModel):
    """A CASE association between two competencies (isChildOf, precedes, isPrerequisiteOf...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    origin_id: str
    destination_id: str
    association_type: str


class FrameworkDiff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@register
class FrameworkPublished(EventData):
    """A district's competency framework in force, whole, with what changed since the last one."""

    event_type = "FrameworkPublished"
    key_field = "framework_id"

    framework_id: str
    title: str
    framework_version: str | None = None
    competencies: tuple[Competency, ...]
    links: tuple[CompetencyLink, ...] = ()
    diff: FrameworkDiff = FrameworkDiff()


class Section(BaseModel):
    """A OneRoster class: the unit teachers teach and flexible groups regroup."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    school_id: str
    title: str
    course_id: str | None = None
    subjects: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()


Role = Literal[
    "student",
    "teacher",
    "guardian",
    "parent",
    "relative",
    "aide",
    "administrator",
    "proctor",
    "districtAdministrator",
    "siteAdministrator",
]


class Person(BaseModel):
    """A OneRoster user. On the log: ids, role, schools, links and language only.

    Names and contacts travel on mosaic.people.v1 (PersonDetailsChanged, erasable); the fields below stay
    in the schema so old records and old readers still work, and producers leave them empty (ADR 0019).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    role: str
    given_name: str = Field(default="", description="always empty on the log: see PersonDetailsChanged")
    family_name: str = Field(default="", description="always empty on the log: see PersonDetailsChanged")
    school_ids: tuple[str, ...] = ()
    email: str | None = Field(default=None, description="not on the log: see PersonDetailsChanged")
    phone: str | None = Field(default=None, description="not on the log: see PersonDetailsChanged")
    sms: str | None = Field(default=None, description="not on the log: see PersonDetailsChanged")
    preferred_language: str | None = None
    grades: tuple[str, ...] = ()
    related_ids: tuple[str, ...] = Field(
        default=(), description="agentSourcedIds: a guardian's students, a student's guardians"
    )


class Enrollment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    section_id: str
    user_id: str
    role: str
    primary: bool = False


class RosterRemovals(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    people: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    enrollments: tuple[tuple[str, str], ...] = Field(default=(), description="(section_id, user_id) pairs")


@register
class RosterChanged(EventData):
    """One part of an applied roster change for a school (large rosters come in parts)."""

    event_type = "RosterChanged"
    key_field = "school_id"

    import_id: str
    school_id: str
    mode: Literal["full", "delta"] = "full"
    part: int = 1
    parts: int = 1
    sections: tuple[Section, ...] = ()
    people: tuple[Person, ...] = ()
    enrollments: tuple[Enrollment, ...] = ()
    removed: RosterRemovals = RosterRemovals()
