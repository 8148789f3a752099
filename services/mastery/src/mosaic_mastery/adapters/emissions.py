"""The fold's decisions as envelopes: MasteryChanged and RegroupNeeded, ids derived from their cause."""

from __future__ import annotations

import uuid
from datetime import datetime

from mosaic_events import Envelope, derived_envelope, derived_event_id, new_envelope
from mosaic_events.catalog import MasteryChanged, RegroupNeeded, StudentLevelChange
from mosaic_events.ids import MOSAIC_NAMESPACE
from mosaic_mastery.domain.projection import Emission, LevelChanged
from mosaic_mastery.domain.regroup import RegroupDue

PRODUCER = "mastery"


def mastery_changed_data(change: LevelChanged) -> MasteryChanged:
    return MasteryChanged(
        student_id=change.student_id,
        competency_id=change.competency_id,
        competency_code=change.competency_code,
        competency_name=change.competency_name,
        old_level=change.old_level,
        new_level=change.new_level,
        old_rank=change.old_rank,
        new_rank=change.new_rank,
        mastered=change.mastered,
        estimate=change.estimate,
        method=change.method,
        evidence_count=change.evidence_count,
        cause_evidence_ids=change.cause_evidence_ids,
        section_ids=change.section_ids,
        recalculation=change.recalculation,
    )


def regroup_needed_data(due: RegroupDue) -> RegroupNeeded:
    return RegroupNeeded(
        section_id=due.section_id,
        school_id=due.school_id,
        competency_ids=due.competency_ids,
        changes=tuple(
            StudentLevelChange(
                student_id=s, competency_id=c, old_level=old, new_level=new, new_rank=due.level_ranks.get(new)
            )
            for s, c, old, new in due.changes
        ),
        changed_students=due.changed_students,
        section_size=due.section_size,
        threshold=due.threshold,
        window_started_at=due.window_started_at,
        reason=due.reason,
    )


def caused_by_event(emission: Emission, cause: Envelope) -> Envelope:
    """An emission caused by an evidence event: MasteryChanged about (and keyed by) the student, RegroupNeeded
    keyed by its section; each id derives from the cause and the competency or section."""
    if isinstance(emission, LevelChanged):
        return derived_envelope(
            cause,
            mastery_changed_data(emission),
            producer=PRODUCER,
            discriminators=(emission.competency_id,),
            subject=emission.student_id,
        )
    return derived_envelope(
        cause,
        regroup_needed_data(emission),
        producer=PRODUCER,
        discriminators=(emission.section_id,),
        school_id=emission.school_id,
        subject=None,
    )


def caused_by_settings(emission: Emission, district_id: str, settings_version: int, at: datetime) -> Envelope:
    """An emission of a recalculation: its cause is the district's settings version, so it has a stable id too."""
    cause = f"{district_id}/settings/{settings_version}"
    if isinstance(emission, LevelChanged):
        data, parts, subject = (
            mastery_changed_data(emission),
            (emission.student_id, emission.competency_id),
            emission.student_id,
        )
    else:
        data, parts, subject = regroup_needed_data(emission), (emission.section_id,), None
    return new_envelope(
        data,
        district_id=district_id,
        producer=PRODUCER,
        subject=subject,
        school_id=getattr(emission, "school_id", None),
        occurred_at=at,
        correlation_id=uuid.uuid5(MOSAIC_NAMESPACE, cause),
        event_id=derived_event_id(cause, data.event_type, *parts),
    )
