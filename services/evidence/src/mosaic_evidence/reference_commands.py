"""Importing a district's framework (CASE) and roster (OneRoster): check whole, write the diff, publish."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import reference_store
from mosaic_evidence.commands import Decision, envelope_for
from mosaic_evidence.domain.framework import Framework, diff_frameworks, to_published
from mosaic_evidence.domain.oneroster import read_bundle
from mosaic_evidence.domain.roster import plan_roster, to_events


async def import_framework(session: AsyncSession, district_id: str, framework: Framework) -> Decision:
    """Save a CASE framework as a diff against the version in force and publish FrameworkPublished."""
    if not framework.framework_id:
        return Decision(422, {"detail": "the CASE document has no identifier"})
    previous = await reference_store.framework_in_force(session, district_id, framework.framework_id)
    diff = diff_frameworks(previous, framework)
    await reference_store.save_framework(session, district_id, framework, diff)
    envelope = envelope_for(to_published(framework, diff), district_id)
    return Decision(201 if previous is None else 200, {
        "framework_id": framework.framework_id, "title": framework.title, "version": framework.version,
        "competencies": len(framework.competencies), "links": len(framework.links),
        "kinds": dict(framework.kinds()), "associations": dict(framework.association_counts),
        "diff": diff.model_dump(), "event_id": str(envelope.id)}, [envelope])


async def import_roster(session: AsyncSession, district_id: str, files: dict[str, bytes]) -> Decision:
    """Check a OneRoster bundle whole; apply it as one change and publish its RosterChanged parts."""
    known, schools = await reference_store.known_ids(session, district_id)
    bundle, problems = read_bundle(files, known)
    if problems:
        return Decision(422, {"detail": f"the roster has {len(problems)} problem(s); nothing was applied",
                              "problems": [p.as_dict() for p in problems]})
    import_id = str(uuid.uuid4())
    bundle_schools = {r.get("sourcedId") for r in bundle.live("orgs") if r.get("type") == "school"}
    current = await reference_store.roster_state(session, district_id, bundle_schools | schools)
    change = plan_roster(bundle, import_id, current, known_schools=schools)
    events = to_events(change)
    people = change.all_people()
    summary = {
        "import_id": import_id, "mode": change.mode, "schools": len(change.schools),
        "sections": sum(len(s.sections) for s in change.schools.values()), "people": len(people),
        "people_by_role": _count(p.role for p in people.values()),
        "enrollments": sum(len(s.enrollments) for s in change.schools.values()),
        "removed": {"people": sum(len(s.removed_people) for s in change.schools.values()),
                    "sections": sum(len(s.removed_sections) for s in change.schools.values()),
                    "enrollments": sum(len(s.removed_enrollments) for s in change.schools.values())},
        "events": len(events),
    }
    await reference_store.apply_roster(session, district_id, change, summary)
    envelopes = [envelope_for(e, district_id, school_id=e.school_id) for e in events]
    return Decision(201, summary, envelopes)


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
