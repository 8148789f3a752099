"""A realistic synthetic district, seeded and reproducible: framework, roster and months of evidence.

district = generate_district(7, schools=3, students_per_school=300, weeks=12)
for row in district.evidence(): ...          # streamed, never all in memory
write_district(district, Path("out"))        # case.json, oneroster/, evidence.csv
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mosaic_dev.district_generator.framework import Framework, FrameworkItem, build_framework, case_package
from mosaic_dev.district_generator.learning import EVIDENCE_COLUMNS, EvidenceRow, iter_evidence, make_curriculum
from mosaic_dev.district_generator.roster import Roster, build_roster
from mosaic_dev.district_generator.writers import write_case, write_envelopes, write_evidence_csv, write_oneroster

DEFAULT_START = date(2026, 8, 17)

__all__ = [
    "EVIDENCE_COLUMNS",
    "District",
    "EvidenceRow",
    "Framework",
    "FrameworkItem",
    "Roster",
    "generate_district",
    "write_district",
]


@dataclass(frozen=True)
class District:
    """A generated district: its framework and roster in memory, its evidence as a reproducible stream."""

    seed: int
    framework: Framework
    roster: Roster
    weeks: int
    evidence_per_week: float
    start: date
    max_rows: int | None = None

    @property
    def district_id(self) -> str:
        return self.roster.district.id

    def evidence(self) -> Iterator[EvidenceRow]:
        """Every evidence row in date order; each call replays the same rows."""
        return iter_evidence(
            self.seed,
            self.framework,
            self.roster.placements,
            weeks=self.weeks,
            evidence_per_week=self.evidence_per_week,
            start=self.start,
            max_rows=self.max_rows,
        )

    def intro_weeks(self) -> dict[str, int]:
        """The week each assessable competency is first taught (dispositions: week 0)."""
        curriculum = make_curriculum(self.seed, self.framework, self.weeks)
        return dict(zip(curriculum.ids, curriculum.intro_week.tolist(), strict=True))

    def case_package(self) -> dict:
        return case_package(self.framework, creator=self.roster.district.name)

    def school_of_student(self) -> dict[str, str]:
        return {p.student_id: p.school_id for p in self.roster.placements}


def generate_district(
    seed: int = 7,
    *,
    schools: int = 3,
    students_per_school: int = 300,
    weeks: int = 12,
    evidence_per_week: float = 5.0,
    start: date = DEFAULT_START,
    max_rows: int | None = None,
) -> District:
    """A district of `schools` × `students_per_school` grade-6 students, with `weeks` of evidence."""
    if schools < 1 or students_per_school < 1 or weeks < 1:
        raise ValueError("schools, students_per_school and weeks must each be at least 1")
    if evidence_per_week <= 0:
        raise ValueError(f"evidence_per_week must be positive, got {evidence_per_week}")
    roster = build_roster(seed, schools=schools, students_per_school=students_per_school, year_start=start)
    framework = build_framework(seed, roster.district.name)
    return District(seed, framework, roster, weeks, evidence_per_week, start, max_rows)


def write_district(district: District, out: Path, *, envelopes: bool = False) -> dict[str, int]:
    """Write case.json, oneroster/ and evidence.csv (and envelopes.jsonl) under `out`; returns counts."""
    out.mkdir(parents=True, exist_ok=True)
    write_case(out / "case.json", district.framework, creator=district.roster.district.name)
    write_oneroster(out / "oneroster", district.roster)
    counts = {
        "competencies": len(district.framework.items),
        "users": len(district.roster.users),
        "evidence": write_evidence_csv(out / "evidence.csv", district.evidence()),
    }
    if envelopes:
        counts["envelopes"] = write_envelopes(
            out / "envelopes.jsonl",
            district.evidence(),
            district_id=district.district_id,
            school_of=district.school_of_student(),
        )
    return counts
