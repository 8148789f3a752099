"""IMS Caliper 1.1 events → evidence. A GradeEvent carries the score; an AssessmentEvent only says
an attempt started or was submitted, so it is reported (awaiting its grade), never silently dropped.
The input is checked first (caliper_validation); what reaches here is well-formed Caliper."""

from __future__ import annotations

from datetime import date
from typing import Any

from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.domain.standards import (
    Outcome,
    StandardsMapping,
    evidence_item,
    iso_date,
    resolve_actor,
    score_on_scale,
)


def translate_events(
    events: list[Any], mapping: StandardsMapping, view: ReferenceView, *, received_on: date
) -> list[Outcome]:
    """Events already checked by caliper_validation: each gets its outcome."""
    return [translate_event(i, e, mapping, view, received_on=received_on) for i, e in enumerate(events)]


def translate_event(
    index: int, event: Any, mapping: StandardsMapping, view: ReferenceView, *, received_on: date
) -> Outcome:
    if not isinstance(event, dict) or not event.get("type"):
        return Outcome(index, "invalid", reason="a Caliper event must be a JSON object with a type")
    ref = str(event.get("id") or "") or None
    kind, action = event["type"], event.get("action")
    if kind == "GradeEvent":
        return _graded(index, event, ref, mapping, view, received_on)
    if kind == "AssessmentEvent":
        activity = _entity_id(event.get("object"))
        return Outcome(
            index,
            "no_score",
            ref,
            activity,
            reason=f"AssessmentEvent {action} carries no score; the GradeEvent for the attempt will",
        )
    return Outcome(
        index,
        "not_evidence",
        ref,
        _entity_id(event.get("object")),
        reason=f"{kind} {action} is not evidence of learning (only GradeEvent carries a score)",
    )


def _graded(
    index: int,
    event: dict[str, Any],
    ref: str | None,
    mapping: StandardsMapping,
    view: ReferenceView,
    received_on: date,
) -> Outcome:
    attempt: dict[str, Any] = event["object"] if isinstance(event.get("object"), dict) else {}
    score: dict[str, Any] = event["generated"] if isinstance(event.get("generated"), dict) else {}
    candidates = _assignable_chain(attempt.get("assignable"))
    activity_id = candidates[0] if candidates else None
    activity = next((mapping.activity(c) for c in candidates if mapping.activity(c)), None)
    if activity is None:
        return Outcome(
            index,
            "unmapped_activity",
            ref,
            activity_id,
            reason="no competency mapping for this assignable (nor what it is part of)",
        )
    student = resolve_actor([k for k in (_entity_id(attempt.get("assignee")),) if k], mapping, view)
    if student is None:
        return Outcome(
            index,
            "unknown_actor",
            ref,
            activity.activity_id,
            reason=f"assignee {_entity_id(attempt.get('assignee'))!r} matches no student",
        )
    if score.get("scoreGiven") is None:
        return Outcome(
            index,
            "no_score",
            ref,
            activity.activity_id,
            reason="the GradeEvent has no generated Score with a scoreGiven",
        )
    scale = score_on_scale(_num(score["scoreGiven"]) or 0.0, None, _num(score.get("maxScore")), activity)
    if scale is None:
        return Outcome(
            index,
            "invalid",
            ref,
            activity.activity_id,
            reason="the Score has no maxScore and the activity no declared scale",
        )
    observed = iso_date(event.get("eventTime"), received_on)
    return Outcome(
        index,
        "evidence",
        ref,
        activity.activity_id,
        item=evidence_item(
            student,
            activity,
            scale,
            observed,
            source="caliper",
            source_ref=ref or f"{attempt.get('id')}",
            comment=score.get("comment") if isinstance(score.get("comment"), str) else None,
        ),
    )


def _assignable_chain(assignable: Any) -> list[str]:
    """The assignable's id, then what it is part of (an item's assessment), outermost last."""
    chain = []
    while assignable:
        entity = _entity_id(assignable)
        if entity:
            chain.append(entity)
        assignable = assignable.get("isPartOf") if isinstance(assignable, dict) else None
    return chain


def _entity_id(entity: Any) -> str | None:
    if isinstance(entity, str):
        return entity
    if isinstance(entity, dict) and entity.get("id"):
        return str(entity["id"])
    return None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
