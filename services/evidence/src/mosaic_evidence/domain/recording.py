"""Recording evidence: what an item must say and who may say it, as pure checks.

`validate_evidence` returns every problem with an item (never raises), so an API can answer
them all at once and a bulk import can write them next to the row that caused them.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field

from mosaic_events import roles
from mosaic_events.catalog import EvidenceKind, EvidenceRecorded, Score
from mosaic_evidence.domain.reference import STAFF_SECTION_ROLES, ReferenceView

EVIDENCE_KINDS: tuple[str, ...] = EvidenceKind.__args__  # type: ignore[attr-defined]

ProblemCode = Literal[
    "unknown_student",
    "not_a_student",
    "unknown_competency",
    "not_permitted",
    "score_out_of_scale",
    "bad_scale",
    "missing_field",
    "bad_value",
    "not_in_section",
    "future_date",
    "unknown_evidence",
    "already_retracted",
]

# Roles that may record for any student of the district (or of their school, for site administrators).
DISTRICT_WIDE_ROLES = roles.DISTRICT_ADMIN_ROLES | roles.SERVICE_ROLES
SCHOOL_WIDE_ROLES = roles.SCHOOL_ADMIN_ROLES
# What a student may record about themselves.
STUDENT_OWN_KINDS = frozenset({"self_assessment", "goal"})

EVIDENCE_NAMESPACE = uuid.UUID("2b7f5d0c-9a41-5e8f-8c3d-6e1a4b9f0d27")
# A score is a JSON number: not a string, not true/false (true is not 1.0), not NaN or infinity.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


@dataclass(frozen=True)
class Problem:
    """One reason an item cannot be recorded: a machine code, the field at fault, and a sentence."""

    code: ProblemCode
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Recorder:
    """Who is recording, and the roles their token (or the roster) gives them."""

    user_id: str
    roles: frozenset[str] = frozenset()


class ScoreInput(BaseModel):
    """A score as submitted: any numbers (check_score says which are out of range), but numbers only."""

    model_config = ConfigDict(extra="forbid")

    value: Number
    minimum: Number = 0.0
    maximum: Number


class EvidenceItem(BaseModel):
    """One piece of evidence as a client submits it."""

    model_config = ConfigDict(extra="forbid")

    student_id: str = Field(min_length=1)
    competency_ids: list[str] = Field(min_length=1, description="ids or human codes of competencies in force")
    kind: EvidenceKind
    observed_on: date
    score: ScoreInput
    recorded_by: str | None = Field(default=None, description="defaults to the caller")
    section_id: str | None = None
    comment: str | None = Field(default=None, max_length=20_000)
    artifact_url: str | None = Field(default=None, description="portfolio_artifact: link to the work")
    reflection: str | None = Field(
        default=None, max_length=20_000, description="portfolio_artifact: the student's reflection"
    )
    source: str | None = Field(default=None, description="out_of_school: the provider; else portal, xapi, ...")
    source_ref: str | None = None
    verified_by: str | None = Field(default=None, description="out_of_school: who verified it")


def validate_evidence(
    item: EvidenceItem,
    view: ReferenceView,
    recorder: Recorder,
    *,
    today: date | None = None,
) -> list[Problem]:
    """Every reason `item` cannot be recorded by `recorder` against `view`; empty means it can."""
    problems = check_student(item.student_id, view)
    problems += check_competencies(item.competency_ids, view)
    problems += check_score(item.score)
    problems += check_kind_fields(item)
    if today is not None and item.observed_on > today:
        problems.append(
            Problem("future_date", "observed_on", f"evidence date {item.observed_on} is after today ({today})")
        )
    if (
        item.section_id is not None
        and view.is_student(item.student_id)
        and item.section_id not in view.sections_of_student(item.student_id)
    ):
        problems.append(
            Problem(
                "not_in_section",
                "section_id",
                f"student {item.student_id} is not enrolled in section {item.section_id}",
            )
        )
    if view.is_student(item.student_id):
        problems += check_permission(recorder, item.student_id, item.kind, view)
    return problems


def check_student(student_id: str, view: ReferenceView) -> list[Problem]:
    role = view.role_of(student_id)
    if role is None:
        return [
            Problem(
                "unknown_student", "student_id", f"no person {student_id!r} in district {view.district_id}'s roster"
            )
        ]
    if role != "student":
        return [Problem("not_a_student", "student_id", f"person {student_id!r} is a {role}, not a student")]
    return []


def check_competencies(refs: list[str], view: ReferenceView, field: str = "competency_ids") -> list[Problem]:
    problems = []
    for index, ref in enumerate(refs):
        if view.resolve_competency(ref) is None:
            problems.append(
                Problem(
                    "unknown_competency",
                    f"{field}[{index}]",
                    f"competency {ref!r} is not in district {view.district_id}'s framework in force",
                )
            )
    return problems


def check_score(score: ScoreInput, field: str = "score") -> list[Problem]:
    values = (score.value, score.minimum, score.maximum)
    if not all(math.isfinite(v) for v in values):
        return [Problem("bad_value", field, "score value, minimum and maximum must be finite numbers")]
    if score.maximum <= score.minimum:
        return [
            Problem(
                "bad_scale",
                f"{field}.maximum",
                f"scale maximum {score.maximum:g} must exceed minimum {score.minimum:g}",
            )
        ]
    if not score.minimum <= score.value <= score.maximum:
        return [
            Problem(
                "score_out_of_scale",
                f"{field}.value",
                f"score {score.value:g} is outside its scale {score.minimum:g}..{score.maximum:g}",
            )
        ]
    return []


def check_kind_fields(item: EvidenceItem) -> list[Problem]:
    """Fields some kinds cannot do without."""
    problems = []
    if item.kind == "portfolio_artifact":
        if not item.artifact_url:
            problems.append(Problem("missing_field", "artifact_url", "a portfolio artifact needs a link to the work"))
        elif urlparse(item.artifact_url).scheme not in ("http", "https"):
            problems.append(
                Problem("bad_value", "artifact_url", f"artifact_url {item.artifact_url!r} must be an http(s) link")
            )
        if not (item.reflection or "").strip():
            problems.append(
                Problem("missing_field", "reflection", "a portfolio artifact needs the student's reflection")
            )
    if item.kind == "out_of_school":
        if not (item.source or "").strip():
            problems.append(
                Problem(
                    "missing_field", "source", "out-of-school learning needs its source (the provider or programme)"
                )
            )
        if not (item.verified_by or "").strip():
            problems.append(Problem("missing_field", "verified_by", "out-of-school learning needs who verified it"))
    return problems


def check_permission(recorder: Recorder, student_id: str, kind: str, view: ReferenceView) -> list[Problem]:
    """May `recorder` record this kind of evidence for this student?"""
    roles = effective_roles(recorder, view)
    if roles & DISTRICT_WIDE_ROLES:
        return []
    if roles & SCHOOL_WIDE_ROLES and view.schools_of(recorder.user_id) & view.schools_of(student_id):
        return []
    if recorder.user_id == student_id:
        if kind in STUDENT_OWN_KINDS:
            return []
        return [
            Problem(
                "not_permitted",
                "recorded_by",
                f"a student may record only {', '.join(sorted(STUDENT_OWN_KINDS))} for themselves, not {kind}",
            )
        ]
    if roles & STAFF_SECTION_ROLES and view.sections_taught_by(recorder.user_id) & view.sections_of_student(student_id):
        return []
    return [
        Problem(
            "not_permitted",
            "recorded_by",
            f"{recorder.user_id} does not teach any section of student {student_id} "
            "and has no role that may record for them",
        )
    ]


def effective_roles(recorder: Recorder, view: ReferenceView) -> frozenset[str]:
    """The token's roles, plus the recorder's roster role when the roster knows them."""
    roster_role = view.role_of(recorder.user_id)
    return recorder.roles | ({roster_role} if roster_role else set())


def evidence_id_for(district_id: str, source: str, source_ref: str) -> str:
    """A stable evidence id for an item that has an id in its source (a statement, a CSV row)."""
    return str(uuid.uuid5(EVIDENCE_NAMESPACE, f"{district_id}|{source}|{source_ref}"))


def to_recorded(item: EvidenceItem, *, evidence_id: str, recorded_by: str, view: ReferenceView) -> EvidenceRecorded:
    """The EvidenceRecorded for a valid item, with competency codes resolved to ids."""
    competency_ids = tuple(dict.fromkeys(view.resolve_competency(ref) or ref for ref in item.competency_ids))
    return EvidenceRecorded(
        evidence_id=evidence_id,
        student_id=item.student_id,
        competency_ids=competency_ids,
        kind=item.kind,
        observed_on=item.observed_on,
        recorded_by=item.recorded_by or recorded_by,
        score=Score(value=item.score.value, minimum=item.score.minimum, maximum=item.score.maximum),
        section_id=item.section_id,
        comment=item.comment,
        artifact_url=item.artifact_url,
        reflection=item.reflection,
        source=item.source or "portal",
        source_ref=item.source_ref,
        verified_by=item.verified_by,
    )
