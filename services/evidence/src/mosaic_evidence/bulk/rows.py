"""Checking one CSV row of historical evidence: columns, types, scale, and the roster and framework.

A row either becomes a ValidEvidence or a list of reasons naming the column at fault. Checks
against the district's roster and framework use the recording rules of `domain.recording`.
"""

from __future__ import annotations

import math
from datetime import date

from mosaic_evidence.bulk.envelope import ValidEvidence
from mosaic_evidence.domain.recording import (
    EVIDENCE_KINDS,
    Recorder,
    check_competencies,
    check_permission,
    check_student,
)
from mosaic_evidence.domain.reference import ReferenceView

REQUIRED_COLUMNS = ("student_id", "competency_id", "kind", "observed_on", "recorded_by", "score", "scale_max")
OPTIONAL_COLUMNS = ("evidence_id", "scale_min", "section_id", "comment")
# Kinds that need a link, a reflection or a verifier: the API takes them, a score CSV cannot carry them.
API_ONLY_KINDS = frozenset({"portfolio_artifact", "out_of_school"})
IMPORTABLE_KINDS = frozenset(EVIDENCE_KINDS) - API_ONLY_KINDS
COMPETENCY_SEPARATOR = ";"


class HeaderError(ValueError):
    """The file's header cannot be imported; nothing was sent."""


class RowChecker:
    """Checks rows of one file against its header and, when given, the district's reference view."""

    def __init__(self, header: list[str], *, import_id: str, view: ReferenceView | None = None,
                 today: date | None = None) -> None:
        names = [name.strip() for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in names]
        if missing:
            raise HeaderError(f"the header lacks required column(s) {', '.join(missing)}; "
                              f"expected {', '.join(REQUIRED_COLUMNS)} (and optionally {', '.join(OPTIONAL_COLUMNS)})")
        self.width = len(names)
        self.index = {name: names.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in names}
        self.import_id = import_id
        self.view = view
        self.today = today
        self._permission: dict[tuple[str, str, str], list[str]] = {}

    def check(self, row_number: int, values: list[str]) -> ValidEvidence | list[str]:
        """The row as ValidEvidence, or every reason it cannot be imported."""
        if len(values) != self.width:
            return [f"row has {len(values)} fields but the header has {self.width}"]
        get = self._getter(values)
        reasons = [f"column {name!r} is empty" for name in REQUIRED_COLUMNS if not get(name)]
        if reasons:
            return reasons
        kind = get("kind")
        if kind not in IMPORTABLE_KINDS:
            reasons.append(_kind_reason(kind))
        observed_on = _iso_date(get("observed_on"), reasons)
        if observed_on and self.today and observed_on > self.today.isoformat():
            reasons.append(f"column 'observed_on': {observed_on} is after today ({self.today})")
        score = _number("score", get("score"), reasons)
        low = _number("scale_min", get("scale_min") or "0", reasons)
        high = _number("scale_max", get("scale_max"), reasons)
        if None not in (score, low, high):
            reasons += _scale_reasons(score, low, high)
        competencies = tuple(ref.strip() for ref in get("competency_id").split(COMPETENCY_SEPARATOR) if ref.strip())
        section = get("section_id") or None
        if self.view is not None:
            competencies = self._check_reference(get, kind, competencies, section, reasons)
        if reasons:
            return reasons
        return ValidEvidence(get("evidence_id") or f"{self.import_id}:{row_number}", get("student_id"), competencies,
                             kind, observed_on, get("recorded_by"), score, low, high, section, get("comment") or None)

    def _getter(self, values: list[str]):
        index = self.index

        def get(name: str) -> str:
            position = index.get(name)
            return values[position].strip() if position is not None else ""
        return get

    def _check_reference(self, get, kind: str, competencies: tuple[str, ...], section: str | None,
                         reasons: list[str]) -> tuple[str, ...]:
        """Student, competencies, section and recorder against the roster and framework in force."""
        view = self.view
        assert view is not None
        student = get("student_id")
        reasons += [_reason(p) for p in check_student(student, view)]
        problems = check_competencies(list(competencies), view, field="competency_id")
        reasons += [_reason(p) for p in problems]
        if not view.is_student(student):
            return competencies
        if section is not None and section not in view.sections_of_student(student):
            reasons.append(f"column 'section_id': student {student} is not enrolled in section {section}")
        key = (get("recorded_by"), student, kind)
        if key not in self._permission:
            self._permission[key] = [_reason(p) for p in check_permission(Recorder(key[0]), student, kind, view)]
        reasons += self._permission[key]
        return tuple(dict.fromkeys(view.resolve_competency(ref) or ref for ref in competencies))


def _reason(problem) -> str:
    column = problem.field.split("[")[0]  # competency_id[1] is the second code in the column
    return f"column {column!r}: {problem.message}"


def _kind_reason(kind: str) -> str:
    if kind in API_ONLY_KINDS:
        return f"column 'kind': {kind} evidence needs fields a score file cannot carry; record it through the API"
    return f"column 'kind': {kind!r} is not one of {', '.join(sorted(IMPORTABLE_KINDS))}"


def _iso_date(text: str, reasons: list[str]) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        reasons.append(f"column 'observed_on': {text!r} is not a date like 2026-09-14")
        return ""


def _number(column: str, text: str, reasons: list[str]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        reasons.append(f"column {column!r}: {text!r} is not a number")
        return None
    if not math.isfinite(value):
        reasons.append(f"column {column!r}: {text!r} is not a finite number")
        return None
    return value


def _scale_reasons(score: float, low: float, high: float) -> list[str]:
    if high <= low:
        return [f"column 'scale_max': scale maximum {high:g} must exceed minimum {low:g}"]
    if not low <= score <= high:
        return [f"column 'score': score {score:g} is outside its scale {low:g}..{high:g}"]
    return []
