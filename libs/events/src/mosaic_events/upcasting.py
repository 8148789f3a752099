"""Consumers read the current and the previous version of a type (invariant 7) by upcasting: an envelope of an
older version becomes the current version before any handler sees it, so a handler knows one shape.
ADR 0012 says why upcasting rather than publishing both versions side by side."""

from __future__ import annotations

from collections.abc import Callable

from mosaic_events.catalog.mastery import MasteryChanged, MasteryChangedV1
from mosaic_events.catalog.schedule import GroupAssignmentChanged, GroupAssignmentChangedV1
from mosaic_events.envelope import Envelope
from mosaic_events.registry import EventData

# (type, version) -> the function that lifts its data one version up. Every v1 field means the same in v2.
UPCASTERS: dict[tuple[str, int], Callable[[EventData], EventData]] = {
    ("MasteryChanged", 1): lambda d: MasteryChanged(**d.model_dump()),
    ("GroupAssignmentChanged", 1): lambda d: GroupAssignmentChanged(**d.model_dump()),
}
_SOURCES = {("MasteryChanged", 1): MasteryChangedV1, ("GroupAssignmentChanged", 1): GroupAssignmentChangedV1}


def upcast(envelope: Envelope) -> Envelope:
    """The envelope at the newest version its type has; the same envelope when it already is."""
    while (step := UPCASTERS.get((envelope.type, envelope.version))) is not None:
        assert isinstance(envelope.data, _SOURCES[(envelope.type, envelope.version)])
        data = step(envelope.data)
        envelope = envelope.model_copy(update={"version": data.version, "data": data})
    return envelope
