"""The roster and framework view a bulk import checks rows against, built from a CASE file and a OneRoster folder."""

from __future__ import annotations

from pathlib import Path

from mosaic_evidence.domain.framework import parse_case_json
from mosaic_evidence.domain.oneroster import read_bundle
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.domain.roster import plan_roster


class ReferenceFilesError(ValueError):
    """The framework or roster files cannot be read; the message lists what is wrong."""


def reference_view_from_files(district_id: str, framework: Path, roster: Path) -> ReferenceView:
    """Parse both with the service's own importers, so the import checks what the API would check."""
    parsed = parse_case_json(framework.read_bytes())
    files = {path.name: path.read_bytes() for path in sorted(roster.glob("*.csv"))}
    if not files:
        raise ReferenceFilesError(f"no OneRoster CSV files in {roster}")
    bundle, problems = read_bundle(files)
    if problems:
        listed = "; ".join(str(p) for p in problems[:10])
        raise ReferenceFilesError(f"the roster in {roster} has {len(problems)} problem(s): {listed}")
    change = plan_roster(bundle, import_id="bulk-import-reference")
    people = change.all_people().values()
    enrollments = [e for school in change.schools.values() for e in school.enrollments.values()]
    section_schools = {
        section_id: school.school_id for school in change.schools.values() for section_id in school.sections
    }
    return ReferenceView.build(
        district_id,
        people=people,
        enrollments=enrollments,
        competencies=parsed.competencies,
        section_schools=section_schools,
    )
