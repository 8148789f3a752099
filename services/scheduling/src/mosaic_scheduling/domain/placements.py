"""Placement priority classes: a higher placement bumps a lower one; cancelling it brings the
student back to the placement it bumped, if that session still has room."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from mosaic_scheduling.domain.model import Placement


class PlacementRefused(ValueError):
    """The student already has a placement that outranks the new one."""


@dataclass(frozen=True)
class PlacementChange:
    """A student's placements in one block after a change, and what happened, in words."""

    placements: tuple[Placement, ...]
    message: str

    @property
    def active(self) -> Placement | None:
        return next((p for p in self.placements if p.state == "active"), None)


def place(existing: Sequence[Placement], new: Placement) -> PlacementChange:
    """Add `new` for its student; a lower or equal active placement is bumped, a higher one refuses it."""
    mine = [p for p in existing if p.student_id == new.student_id and p.block_id == new.block_id]
    others = [p for p in existing if p not in mine]
    current = next((p for p in mine if p.state == "active"), None)
    if current is not None and current.priority > new.priority:
        raise PlacementRefused(
            f"student {new.student_id} is already placed in {current.session_id} by {current.placed_by} "
            f"({current.priority.name.lower()}), which outranks {new.priority.name.lower()}; "
            "ask them to cancel it first"
        )
    updated = [replace(p, state="bumped") if p is current else p for p in mine]
    message = (
        f"placed in {new.session_id}"
        if current is None
        else f"placed in {new.session_id}, bumping {current.session_id} ({current.priority.name.lower()})"
    )
    return PlacementChange(tuple([*others, *updated, new]), message)


def cancel(existing: Sequence[Placement], placement_id: str, seats_left: Callable[[str], int]) -> PlacementChange:
    """Cancel a placement; if it was active, restore the best bumped one whose session has room."""
    target = next((p for p in existing if p.id == placement_id), None)
    if target is None:
        raise KeyError(f"no placement {placement_id!r}")
    updated = [replace(p, state="cancelled") if p is target else p for p in existing]
    if target.state != "active":
        return PlacementChange(tuple(updated), f"cancelled {target.session_id} (was {target.state})")
    bumped = sorted(
        (
            p
            for p in updated
            if p.student_id == target.student_id and p.block_id == target.block_id and p.state == "bumped"
        ),
        key=lambda p: (p.priority, p.placed_at),
        reverse=True,
    )
    for candidate in bumped:
        if seats_left(candidate.session_id) > 0:
            restored = [replace(p, state="active") if p is candidate else p for p in updated]
            return PlacementChange(
                tuple(restored), f"cancelled; back to {candidate.session_id} ({candidate.priority.name.lower()})"
            )
    full = ", ".join(p.session_id for p in bumped)
    why = f"; could not return to {full}: no room" if bumped else ""
    return PlacementChange(tuple(updated), f"cancelled; the engine will place the student{why}")
