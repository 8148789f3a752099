"""Bad flex-time definitions are refused with reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest

from mosaic_scheduling.domain.model import AvailabilityWindow, FlexBlock, LevelBand, Room, School, Session, Teacher
from mosaic_scheduling.domain.validation import DefinitionRefused, blocks_overlap, ensure_valid, validate_school

THURSDAY = FlexBlock("win", "s", "WIN", "TH", time(10), 45, date(2026, 9, 3))
ROOMS = (Room("r1", "s", "101", 20), Room("r2", "s", "102", 20))
TEACHERS = (
    Teacher("t1", "s", "Ms Ito", availability=(AvailabilityWindow("TH", time(8), time(15)),)),
    Teacher("t2", "s", "Mr Diaz"),
)
RATIOS = Session("ratios", "win", "Ratios", "skill_group", "r1", "t1", ("c1",), LevelBand(0, 1))


def school(*sessions: Session, blocks: tuple[FlexBlock, ...] = (THURSDAY,)) -> School:
    return School("s", blocks, sessions, ROOMS, TEACHERS)


def test_a_well_formed_school_has_no_problems() -> None:
    ensure_valid(school(RATIOS, Session("art", "win", "Art", "enrichment", "r2", "t2")))


def test_overlapping_blocks_are_refused_with_both_names() -> None:
    lunch = FlexBlock("lunch", "s", "Lunch club", "TH", time(10, 30), 30, date(2026, 9, 3))
    problems = validate_school(school(blocks=(THURSDAY, lunch)))
    assert [p.field for p in problems] == ["blocks[lunch]"]
    assert "overlaps block 'win'" in problems[0].message


def test_blocks_on_alternate_weeks_do_not_overlap() -> None:
    odd = replace(THURSDAY, id="odd", every_weeks=2)
    even = replace(THURSDAY, id="even", every_weeks=2, starts_on=date(2026, 9, 10))
    assert not blocks_overlap(odd, even)
    assert blocks_overlap(odd, replace(even, starts_on=date(2026, 9, 17)))


def test_back_to_back_blocks_do_not_overlap() -> None:
    assert not blocks_overlap(THURSDAY, replace(THURSDAY, id="next", starts_at=time(10, 45)))


def test_a_session_with_no_room_is_refused() -> None:
    problems = validate_school(school(replace(RATIOS, room_id=None)))
    assert problems[0].field == "sessions[ratios].room_id"
    assert "needs a room" in problems[0].message


def test_a_teacher_in_two_places_at_once_is_refused() -> None:
    problems = validate_school(school(RATIOS, Session("fractions", "win", "Fractions", "intervention", "r2", "t1")))
    assert [(p.field, "already leads session 'ratios'" in p.message) for p in problems] == [
        ("sessions[fractions].teacher_id", True)
    ]


def test_a_teacher_in_overlapping_blocks_is_refused() -> None:
    other = FlexBlock("other", "s", "Clubs", "TH", time(10, 15), 30, date(2026, 9, 3))
    clash = Session("club", "other", "Chess", "enrichment", "r2", "t1")
    problems = validate_school(school(RATIOS, clash, blocks=(THURSDAY, other)))
    assert "sessions[club].teacher_id" in [p.field for p in problems]


def test_a_room_holding_two_sessions_at_once_is_refused() -> None:
    problems = validate_school(school(RATIOS, Session("art", "win", "Art", "enrichment", "r1", "t2")))
    assert [p.field for p in problems] == ["sessions[art].room_id"]


def test_skill_groups_need_competencies_and_a_sensible_band() -> None:
    bad = replace(RATIOS, competency_ids=(), band=LevelBand(3, 1))
    fields = [p.field for p in validate_school(school(bad))]
    assert fields == ["sessions[ratios].competency_ids", "sessions[ratios].band"]


def test_ensure_valid_raises_every_reason_at_once() -> None:
    with pytest.raises(DefinitionRefused) as refused:
        ensure_valid(school(replace(RATIOS, room_id="nowhere", teacher_id="nobody", capacity=0)))
    assert len(refused.value.problems) == 3
    assert "no room 'nowhere'" in str(refused.value)
