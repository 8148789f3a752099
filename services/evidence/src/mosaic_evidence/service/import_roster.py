"""Import a OneRoster bundle: check it whole; apply it as one change and publish its RosterChanged parts."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import erasure_store, reference_store
from mosaic_evidence.domain.oneroster import read_bundle
from mosaic_evidence.domain.roster import RosterChange, details_events, plan_roster, to_events, without_people
from mosaic_evidence.service.events import envelope_for
from mosaic_evidence.service.results import Decision, Done, Refused


async def import_roster(session: AsyncSession, district_id: str, files: dict[str, bytes]) -> Decision:
    known, schools = await reference_store.known_ids(session, district_id)
    bundle, problems = read_bundle(files, known)
    if problems:
        return Decision(
            Refused(
                "invalid",
                {
                    "detail": f"the roster has {len(problems)} problem(s); nothing was applied",
                    "problems": [p.as_dict() for p in problems],
                },
            )
        )
    import_id = str(uuid.uuid4())
    bundle_schools = {r.get("sourcedId") for r in bundle.live("orgs") if r.get("type") == "school"}
    current = await reference_store.roster_state(session, district_id, bundle_schools | schools)
    change = plan_roster(bundle, import_id, current, known_schools=schools)
    erased = without_people(change, await erasure_store.erased_among(session, district_id, _listed(change)))
    events = to_events(change)
    summary = _summary(change, len(events))
    if erased:
        summary["erased_skipped"] = {
            "ids": erased,
            "detail": f"{len(erased)} person(s) the district erased are still on this roster and were skipped: "
            "nothing about them was stored or published. Remove them from the SIS export.",
        }
    await reference_store.apply_roster(session, district_id, change, summary)
    details = [envelope_for(d, district_id) for d in details_events(change)]
    return Decision(
        Done(summary, created=True), details + [envelope_for(e, district_id, school_id=e.school_id) for e in events]
    )


def _listed(change: RosterChange) -> set[str]:
    """Everyone the change names: people, enrolled users and the people they are linked to."""
    ids = {pid for school in change.schools.values() for pid in school.people}
    ids |= {r for p in change.all_people().values() for r in p.related_ids}
    return ids | {user for school in change.schools.values() for _, user in school.enrollments}


def _summary(change: RosterChange, events: int) -> dict[str, Any]:
    people = change.all_people()
    schools = change.schools.values()
    return {
        "import_id": change.import_id,
        "mode": change.mode,
        "schools": len(change.schools),
        "sections": sum(len(s.sections) for s in schools),
        "people": len(people),
        "people_by_role": _count(p.role for p in people.values()),
        "enrollments": sum(len(s.enrollments) for s in schools),
        "removed": {
            "people": sum(len(s.removed_people) for s in schools),
            "sections": sum(len(s.removed_sections) for s in schools),
            "enrollments": sum(len(s.removed_enrollments) for s in schools),
        },
        "events": events,
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))
