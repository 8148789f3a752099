"""What of each source event an analyst may see: facts about learning, people only as pseudonyms."""

from __future__ import annotations

from mosaic_analytics.domain.pseudonyms import Pseudonymizer
from mosaic_events.catalog import (
    EvidenceCorrected,
    EvidenceRecorded,
    EvidenceRetracted,
    GroupAssigned,
    GroupAssignmentChanged,
    LearningCorrected,
    LearningObserved,
    LearningRetracted,
    LevelChanged,
    MasteryChanged,
)


def learning_observed(evidence: EvidenceRecorded, p: Pseudonymizer) -> LearningObserved:
    """Evidence without its comment, reflection, artifact, source ref or verifier; its id pseudonymized."""
    return LearningObserved(
        learner=p.of(evidence.student_id),
        key_version=p.key_version,
        evidence=p.of_evidence(evidence.evidence_id),
        competency_ids=evidence.competency_ids,
        kind=evidence.kind,
        observed_on=evidence.observed_on,
        score=round(evidence.score.normalized, 6),
        section=p.maybe(evidence.section_id),
        observer=p.of(evidence.recorded_by),
        source=evidence.source,
    )


def learning_corrected(correction: EvidenceCorrected, p: Pseudonymizer) -> LearningCorrected:
    """A correction without its comment, reason or corrector."""
    return LearningCorrected(
        learner=p.of(correction.student_id),
        key_version=p.key_version,
        evidence=p.of_evidence(correction.evidence_id),
        competency_ids=correction.competency_ids,
        observed_on=correction.observed_on,
        score=round(correction.score.normalized, 6),
    )


def learning_retracted(retraction: EvidenceRetracted, p: Pseudonymizer) -> LearningRetracted:
    """A retraction without its reason or who retracted."""
    return LearningRetracted(
        learner=p.of(retraction.student_id),
        key_version=p.key_version,
        evidence=p.of_evidence(retraction.evidence_id),
        competency_ids=retraction.competency_ids,
    )


def level_changed(change: MasteryChanged, p: Pseudonymizer) -> LevelChanged:
    """A mastery change without the competency's statement or the evidence ids that caused it."""
    return LevelChanged(
        learner=p.of(change.student_id),
        key_version=p.key_version,
        competency_id=change.competency_id,
        competency_code=change.competency_code,
        old_level=change.old_level,
        new_level=change.new_level,
        old_rank=change.old_rank,
        new_rank=change.new_rank,
        mastered=change.mastered,
        estimate=change.estimate,
        method=change.method,
        evidence_count=change.evidence_count,
        recalculation=change.recalculation,
        sections=tuple(p.of(s) for s in change.section_ids),
    )


def group_assigned(change: GroupAssignmentChanged, p: Pseudonymizer) -> GroupAssigned:
    """An assignment without the session's title or the scheduler's reason (free text that names teachers),
    the teacher pseudonymized."""
    return GroupAssigned(
        learner=p.of(change.student_id),
        key_version=p.key_version,
        block_id=change.block_id,
        school_id=change.school_id,
        old_session_id=change.old_session_id,
        new_session_id=change.new_session_id,
        session_kind=change.session_kind,
        teacher=p.maybe(change.teacher_id),
        starts_at=change.starts_at,
        ends_at=change.ends_at,
        schedule_version=change.schedule_version,
    )
