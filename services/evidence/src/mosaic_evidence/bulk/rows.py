"""Checking one CSV row of historical evidence: columns, types, scale, and the roster and framework.

A row either becomes a ValidEvidence or a list of reasons naming the column at fault. Checks
against the district's roster and framework use the recording rules of `domain.recording`.
"""

from __future__ import annotations

import math
import operator
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
    """Checks rows of one file against its header and, when given, the district's reference view.

    A million-row file repeats the same students, codes, dates and scales over and over, so each
    distinct value is checked once and its verdict remembered.
    """

    def __init__(
        self, header: list[str], *, import_id: str, view: ReferenceView | None = None, today: date | None = None
    ) -> None:
        names = [name.strip() for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in names]
        if missing:
            raise HeaderError(
                f"the header lacks required column(s) {', '.join(missing)}; "
                f"expected {', '.join(REQUIRED_COLUMNS)} (and optionally {', '.join(OPTIONAL_COLUMNS)})"
            )
        self.width = len(names)
        self.index = {name: names.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in names}
        # A missing optional column reads the empty string appended to every row (at index `width`).
        self._required = tuple(self.index[name] for name in REQUIRED_COLUMNS)
        self._needs_blank = any(name not in self.index for name in OPTIONAL_COLUMNS)
        self._fields = operator.itemgetter(
            *self._required, *(self.index.get(name, self.width) for name in OPTIONAL_COLUMNS)
        )
        self.import_id = import_id
        self.view = view
        self.today = today.isoformat() if today else None
        self._dates: dict[str, str | list[str]] = {}
        self._scales: dict[tuple[str, str, str], tuple[float, float, float] | list[str]] = {}
        self._competencies: dict[str, tuple[tuple[str, ...], list[str]]] = {}
        self._people: dict[tuple[str, str, str, str], list[str]] = {}

    def check(self, row_number: int, values: list[str]) -> ValidEvidence | list[str]:
        """The row as ValidEvidence, or every reason it cannot be imported."""
        if len(values) != self.width:
            return [f"row has {len(values)} fields but the header has {self.width}"]
        if self._needs_blank:
            values = [*values, ""]
        student, competency, kind, observed, recorder, score, high, evidence_id, low, section, comment = map(
            str.strip, self._fields(values)
        )
        if not (student and competency and kind and observed and recorder and score and high):
            return [
                f"column {name!r} is empty"
                for name, position in zip(REQUIRED_COLUMNS, self._required, strict=True)
                if not values[position].strip()
            ]
        reasons: list[str] = []
        if kind not in IMPORTABLE_KINDS:
            reasons.append(_kind_reason(kind))
        observed_on = self._date(observed)
        if isinstance(observed_on, list):
            reasons += observed_on
        scale = self._scale(score, low or "0", high)
        if isinstance(scale, list):
            reasons += scale
        competency_ids, problems = self._competency(competency)
        reasons += problems
        if self.view is not None:
            reasons += self._person_reasons(student, recorder, kind, section)
        if reasons:
            return reasons
        return ValidEvidence(
            evidence_id or f"{self.import_id}:{row_number}",
            student,
            competency_ids,
            kind,
            observed_on,
            recorder,
            scale[0],
            scale[1],
            scale[2],
            section or None,
            comment or None,
        )

    def _date(self, text: str) -> str | list[str]:
        verdict = self._dates.get(text)
        if verdict is None:
            reasons: list[str] = []
            verdict = _iso_date(text, reasons)
            if not reasons and self.today and verdict > self.today:
                reasons.append(f"column 'observed_on': {verdict} is after today ({self.today})")
            verdict = self._dates[text] = reasons or verdict
        return verdict

    def _scale(self, score: str, low: str, high: str) -> tuple[float, float, float] | list[str]:
        key = (score, low, high)
        verdict = self._scales.get(key)
        if verdict is None:
            reasons: list[str] = []
            numbers = (
                _number("score", score, reasons),
                _number("scale_min", low, reasons),
                _number("scale_max", high, reasons),
            )
            if not reasons:
                reasons += _scale_reasons(*numbers)
            verdict = self._scales[key] = reasons or numbers
        return verdict

    def _competency(self, text: str) -> tuple[tuple[str, ...], list[str]]:
        """Ids (codes resolved to ids when the framework is known) and reasons, per distinct column value."""
        verdict = self._competencies.get(text)
        if verdict is None:
            refs = [ref.strip() for ref in text.split(COMPETENCY_SEPARATOR) if ref.strip()]
            if self.view is None:
                verdict = (tuple(dict.fromkeys(refs)), [] if refs else ["column 'competency_id' names no competency"])
            else:
                problems = [_reason(p) for p in check_competencies(refs, self.view, field="competency_id")]
                ids = tuple(dict.fromkeys(self.view.resolve_competency(ref) or ref for ref in refs))
                verdict = (ids, problems)
            self._competencies[text] = verdict
        return verdict

    def _person_reasons(self, student: str, recorder: str, kind: str, section: str) -> list[str]:
        """Student, section and recorder against the roster in force."""
        key = (student, recorder, kind, section)
        reasons = self._people.get(key)
        if reasons is None:
            view = self.view
            assert view is not None
            reasons = [_reason(p) for p in check_student(student, view)]
            if view.is_student(student):
                if section and section not in view.sections_of_student(student):
                    reasons.append(f"column 'section_id': student {student} is not enrolled in section {section}")
                reasons += [_reason(p) for p in check_permission(Recorder(recorder), student, kind, view)]
            self._people[key] = reasons
        return reasons


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
