"""Rows <-> domain objects. JSON with orjson; dates as ISO strings."""

from __future__ import annotations

from datetime import date, datetime
from operator import attrgetter
from typing import Any

import orjson

from mosaic_mastery.domain.methods import MethodState
from mosaic_mastery.domain.observations import Observation
from mosaic_mastery.domain.projection import EvidenceRef
from mosaic_mastery.domain.records import MasteryRecord
from mosaic_mastery.domain.reference import CompetencyNode, DistrictReference, SectionInfo
from mosaic_mastery.domain.regroup import PendingChange, SectionWatch

_STATE_FIELDS = tuple(f for f in MethodState.__slots__ if f != "last_key")  # type: ignore[attr-defined]
_state_values = attrgetter(*_STATE_FIELDS)


RECORD_COLUMNS = (
    "district_id",
    "student_id",
    "competency_id",
    "estimate",
    "previous_estimate",
    "level",
    "trend",
    "method",
    "evidence_count",
    "last_evidence_on",
    "next_sequence",
    "observations",
    "method_state",
    "rolled_up_count",
    "rolled_up_last_on",
)
EVIDENCE_COLUMNS = ("district_id", "evidence_id", "student_id", "kind", "competency_ids", "section_id", "retracted")


def record_values(record: MasteryRecord) -> tuple:
    """`record_row` as a tuple in RECORD_COLUMNS order (the rebuild's bulk write)."""
    state = record.method_state
    return (
        record.district_id,
        record.student_id,
        record.competency_id,
        record.estimate,
        record.previous_estimate,
        record.level,
        record.trend,
        record.method,
        record.evidence_count,
        record.last_evidence_on,
        record.next_sequence,
        orjson.dumps(
            [[o.evidence_id, o.observed_on, o.sequence, o.score, o.kind, o.weight] for o in record.observations]
        ).decode(),
        orjson.dumps(
            {
                **dict(zip(_STATE_FIELDS, _state_values(state), strict=True)),
                "last_key": None if state.last_key is None else [state.last_key[0], state.last_key[1]],
            }
        ).decode(),
        record.rolled_up_count,
        record.rolled_up_last_on,
    )


def evidence_values(district_id: str, evidence_id: str, ref: EvidenceRef) -> tuple:
    """`evidence_row` as a tuple in EVIDENCE_COLUMNS order, the JSON column already encoded."""
    return (
        district_id,
        evidence_id,
        ref.student_id,
        ref.kind,
        orjson.dumps(ref.competency_ids).decode(),
        ref.section_id,
        ref.retracted,
    )


def record_row(record: MasteryRecord) -> dict[str, Any]:
    return dict(zip(RECORD_COLUMNS, record_values(record), strict=True))


def record_from_row(row: Any) -> MasteryRecord:
    raw_state = orjson.loads(row.method_state)
    last_key = raw_state.pop("last_key")
    state = MethodState(
        **raw_state, last_key=None if last_key is None else (date.fromisoformat(last_key[0]), last_key[1])
    )
    return MasteryRecord(
        district_id=row.district_id,
        student_id=row.student_id,
        competency_id=row.competency_id,
        observations=[
            Observation(e, date.fromisoformat(d), s, sc, k, w) for e, d, s, sc, k, w in orjson.loads(row.observations)
        ],
        method_state=state,
        next_sequence=row.next_sequence,
        estimate=row.estimate,
        previous_estimate=row.previous_estimate,
        level=row.level,
        method=row.method,
        rolled_up_count=row.rolled_up_count,
        rolled_up_last_on=row.rolled_up_last_on,
    )


def evidence_row(district_id: str, evidence_id: str, ref: EvidenceRef) -> dict[str, Any]:
    return {
        "district_id": district_id,
        "evidence_id": evidence_id,
        "student_id": ref.student_id,
        "kind": ref.kind,
        "competency_ids": list(ref.competency_ids),
        "section_id": ref.section_id,
        "retracted": ref.retracted,
    }


def evidence_from_row(row: Any) -> EvidenceRef:
    return EvidenceRef(row.student_id, row.kind, tuple(row.competency_ids), row.section_id, bool(row.retracted))


def reference_body(ref: DistrictReference) -> str:
    return orjson.dumps(
        {
            "competencies": [
                [c.id, c.framework_id, c.statement, c.code, c.parent_id, c.sequence] for c in ref.competencies.values()
            ],
            "links": sorted(ref.links),
            "sections": [[s.id, s.school_id, s.title] for s in ref.sections.values()],
            "enrollments": [[sec, user, role] for (sec, user), role in ref.enrollments.items()],
            "students": ref.students,
            "guardians": ref.guardians,
            "schools": ref.schools,
            "erased": sorted(ref.erased),
        }
    ).decode()


def reference_from_body(body: str) -> DistrictReference:
    raw = orjson.loads(body)
    return DistrictReference(
        competencies={c[0]: CompetencyNode(*c) for c in raw["competencies"]},
        links={tuple(link) for link in raw["links"]},  # type: ignore[misc]
        sections={s[0]: SectionInfo(*s) for s in raw["sections"]},
        enrollments={(sec, user): role for sec, user, role in raw["enrollments"]},
        students=dict(raw["students"]),
        guardians={g: tuple(s) for g, s in raw.get("guardians", {}).items()},
        schools={p: tuple(s) for p, s in raw.get("schools", {}).items()},
        erased=set(raw.get("erased", ())),
    )


def watch_body(watch: SectionWatch) -> str:
    return orjson.dumps(
        {
            "changes": [[s, c, p.level_at_grouping, p.level_now, p.changed_at] for (s, c), p in watch.changes.items()],
            "window_started_at": watch.window_started_at,
            "last_emitted_at": watch.last_emitted_at,
        }
    ).decode()


def watch_from_body(district_id: str, section_id: str, body: str) -> SectionWatch:
    raw = orjson.loads(body)
    return SectionWatch(
        district_id,
        section_id,
        changes={(s, c): PendingChange(old, new, datetime.fromisoformat(at)) for s, c, old, new, at in raw["changes"]},
        window_started_at=_when(raw["window_started_at"]),
        last_emitted_at=_when(raw["last_emitted_at"]),
    )


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
