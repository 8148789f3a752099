"""Evidence is never edited: corrections and retractions are new facts, folded into a current view."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from mosaic_events.catalog import EvidenceCorrected, EvidenceRecorded, EvidenceRetracted, Score
from mosaic_evidence.domain.recording import (
    Problem,
    Recorder,
    ScoreInput,
    check_competencies,
    check_permission,
    check_score,
)
from mosaic_evidence.domain.reference import ReferenceView

EvidenceFact: TypeAlias = EvidenceRecorded | EvidenceCorrected | EvidenceRetracted


class CorrectionRequest(BaseModel):
    """What a correction may change; omitted fields keep their current value."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1)
    competency_ids: list[str] | None = Field(default=None, min_length=1)
    observed_on: date | None = None
    score: ScoreInput | None = None
    comment: str | None = None


class RetractionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1)


@dataclass(frozen=True)
class EvidenceState:
    """The current view of one piece of evidence: the original with every correction applied."""

    recorded: EvidenceRecorded
    competency_ids: tuple[str, ...]
    observed_on: date
    score: Score
    comment: str | None
    retracted: bool = False
    revision: int = 0

    @property
    def evidence_id(self) -> str:
        return self.recorded.evidence_id

    @property
    def student_id(self) -> str:
        return self.recorded.student_id


def apply(state: EvidenceState | None, fact: EvidenceFact) -> EvidenceState | None:
    """Fold one fact into the current view; the live reader and a replay share this."""
    if isinstance(fact, EvidenceRecorded):
        return state or EvidenceState(
            recorded=fact,
            competency_ids=fact.competency_ids,
            observed_on=fact.observed_on,
            score=fact.score,
            comment=fact.comment,
        )
    if state is None:
        return None
    if isinstance(fact, EvidenceCorrected):
        return replace(
            state,
            competency_ids=fact.competency_ids,
            observed_on=fact.observed_on,
            score=fact.score,
            comment=fact.comment,
            revision=state.revision + 1,
        )
    return replace(state, retracted=True, revision=state.revision + 1)


def validate_correction(
    state: EvidenceState | None,
    request: CorrectionRequest,
    view: ReferenceView,
    recorder: Recorder,
) -> list[Problem]:
    problems = _check_open(state)
    if state is None or problems:
        return problems
    if request.competency_ids is not None:
        problems += check_competencies(request.competency_ids, view)
    if request.score is not None:
        problems += check_score(request.score)
    return problems + check_permission(recorder, state.student_id, state.recorded.kind, view)


def validate_retraction(state: EvidenceState | None, view: ReferenceView, recorder: Recorder) -> list[Problem]:
    problems = _check_open(state)
    if state is None or problems:
        return problems
    return check_permission(recorder, state.student_id, state.recorded.kind, view)


def _check_open(state: EvidenceState | None) -> list[Problem]:
    if state is None:
        return [Problem("unknown_evidence", "evidence_id", "no such evidence in this district")]
    if state.retracted:
        return [
            Problem(
                "already_retracted",
                "evidence_id",
                f"evidence {state.evidence_id} was retracted; record new evidence instead",
            )
        ]
    return []


def to_corrected(
    state: EvidenceState, request: CorrectionRequest, view: ReferenceView, corrected_by: str
) -> EvidenceCorrected:
    """The EvidenceCorrected carrying the whole corrected view (unchanged fields repeated)."""
    competencies = (
        state.competency_ids
        if request.competency_ids is None
        else tuple(dict.fromkeys(view.resolve_competency(ref) or ref for ref in request.competency_ids))
    )
    score = (
        state.score
        if request.score is None
        else Score(value=request.score.value, minimum=request.score.minimum, maximum=request.score.maximum)
    )
    return EvidenceCorrected(
        evidence_id=state.evidence_id,
        student_id=state.student_id,
        competency_ids=competencies,
        observed_on=request.observed_on or state.observed_on,
        score=score,
        comment=request.comment if request.comment is not None else state.comment,
        reason=request.reason,
        corrected_by=corrected_by,
    )


def to_retracted(state: EvidenceState, request: RetractionRequest, retracted_by: str) -> EvidenceRetracted:
    return EvidenceRetracted(
        evidence_id=state.evidence_id,
        student_id=state.student_id,
        competency_ids=state.competency_ids,
        reason=request.reason,
        retracted_by=retracted_by,
    )
