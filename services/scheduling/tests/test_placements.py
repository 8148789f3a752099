"""Placement priority classes: higher bumps lower; cancelling returns to the prior placement if there is room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mosaic_scheduling.domain.model import Placement, Priority
from mosaic_scheduling.domain.placements import PlacementRefused, cancel, place

T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)


def placement(pid: str, session: str, priority: Priority, minutes: int = 0) -> Placement:
    return Placement(pid, "win", "ana", session, priority, "someone", T0 + timedelta(minutes=minutes))


def test_a_higher_placement_bumps_a_lower_one() -> None:
    chosen = placement("p1", "art", Priority.STUDENT_CHOICE)
    change = place([chosen], placement("p2", "ratios", Priority.TEACHER_PRIORITY, 1))
    assert change.active.id == "p2"
    assert {p.id: p.state for p in change.placements} == {"p1": "bumped", "p2": "active"}
    assert "bumping art (student_choice)" in change.message


def test_a_lower_placement_cannot_override_a_higher_one() -> None:
    admin = placement("p1", "reading", Priority.ADMIN_REQUIRED)
    with pytest.raises(PlacementRefused, match="outranks teacher_priority"):
        place([admin], placement("p2", "ratios", Priority.TEACHER_PRIORITY, 1))


def test_cancelling_returns_the_student_to_the_prior_placement_when_there_is_room() -> None:
    placed = place(
        [placement("p1", "art", Priority.STUDENT_CHOICE)], placement("p2", "ratios", Priority.ADMIN_REQUIRED, 1)
    ).placements
    change = cancel(placed, "p2", seats_left=lambda session: 3)
    assert change.active.id == "p1"
    assert change.message == "cancelled; back to art (student_choice)"


def test_cancelling_without_room_in_the_prior_session_leaves_it_to_the_engine() -> None:
    placed = place(
        [placement("p1", "art", Priority.STUDENT_CHOICE)], placement("p2", "ratios", Priority.ADMIN_REQUIRED, 1)
    ).placements
    change = cancel(placed, "p2", seats_left=lambda session: 0)
    assert change.active is None
    assert "could not return to art: no room" in change.message


def test_the_highest_bumped_placement_with_room_comes_back_first() -> None:
    history = [placement("p1", "art", Priority.OPEN)]
    history = list(place(history, placement("p2", "chess", Priority.REQUIRED, 1)).placements)
    history = list(place(history, placement("p3", "ratios", Priority.ADMIN_REQUIRED, 2)).placements)
    change = cancel(history, "p3", seats_left=lambda session: 0 if session == "chess" else 1)
    assert change.active.id == "p1"
