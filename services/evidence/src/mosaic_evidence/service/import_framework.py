"""Import a district's CASE framework: save it as a diff against the version in force; publish FrameworkPublished."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import reference_store
from mosaic_evidence.domain.framework import Framework, diff_frameworks, to_published
from mosaic_evidence.service.events import envelope_for
from mosaic_evidence.service.results import Decision, Done, Refused


async def import_framework(session: AsyncSession, district_id: str, framework: Framework) -> Decision:
    """A new framework is created; a known one gets a new version (the diff)."""
    if not framework.framework_id:
        return Decision(Refused("invalid", {"detail": "the CASE document has no identifier"}))
    previous = await reference_store.framework_in_force(session, district_id, framework.framework_id)
    diff = diff_frameworks(previous, framework)
    await reference_store.save_framework(session, district_id, framework, diff)
    envelope = envelope_for(to_published(framework, diff), district_id)
    return Decision(
        Done(
            {
                "framework_id": framework.framework_id,
                "title": framework.title,
                "version": framework.version,
                "competencies": len(framework.competencies),
                "links": len(framework.links),
                "kinds": dict(framework.kinds()),
                "associations": dict(framework.association_counts),
                "diff": diff.model_dump(),
                "event_id": str(envelope.id),
            },
            created=previous is None,
        ),
        [envelope],
    )
