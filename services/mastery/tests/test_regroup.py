"""RegroupNeeded: one per section when enough students changed level since the last grouping."""

from __future__ import annotations

import random
from datetime import date, timedelta

from mosaic_dev import synthetic_events as synthetic
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.projection import ProjectionState, apply
from mosaic_mastery.domain.regroup import RegroupDue, SectionWatch, note_change, regroup_if_due

D = "d1"
T0 = "math-6.S0.T0"
SECTION = "sec-a"
STUDENTS = [f"s{i}" for i in range(8)]


def district(threshold: float = 0.5, debounce_minutes: float = 60, follows=(T0,)) -> ProjectionState:
    settings = DistrictSettings(
        regroup_threshold=threshold, regroup_debounce_minutes=debounce_minutes, grouping_competencies={SECTION: follows}
    )
    state = ProjectionState(configs={D: DistrictConfig(settings)})
    for envelope in (
        synthetic.framework(D, strands=1, per_strand=2),
        synthetic.roster(D, "school-1", {SECTION: STUDENTS, "sec-b": STUDENTS[:2]}),
    ):
        apply(state, from_envelope(envelope))
    return state


def score(state: ProjectionState, student: str, value: float, n: int, minutes: int = 0, competency: str = T0):
    envelope = synthetic.evidence(
        D,
        student,
        (competency,),
        value,
        evidence_id=f"e{n}",
        observed_on=date(2026, 9, 1) + timedelta(n),
        rng=random.Random(n),
        at=synthetic.T0 + timedelta(minutes=minutes),
    )
    return [e for e in apply(state, from_envelope(envelope)) if isinstance(e, RegroupDue)]


def test_crossing_the_threshold_yields_exactly_one_regroup_for_the_section():
    state = district(threshold=0.5)
    due = [d for n, s in enumerate(STUDENTS) for d in score(state, s, 4, n, minutes=n)]
    assert len(due) == 1
    assert due[0].section_id == SECTION and due[0].changed_students == 4 and due[0].section_size == 8
    assert due[0].competency_ids == (T0,) and "4 of 8 students" in due[0].reason
    assert {c[0] for c in due[0].changes} == set(STUDENTS[:4])


def test_sections_that_do_not_follow_the_competency_never_regroup():
    state = district(threshold=0.1, follows=("math-6.S0.T1",))
    assert [d for n, s in enumerate(STUDENTS) for d in score(state, s, 4, n)] == []


def test_changes_inside_the_debounce_window_wait_for_the_next_regroup():
    state = district(threshold=0.25, debounce_minutes=60)
    first = [d for n, s in enumerate(STUDENTS[:4]) for d in score(state, s, 4, n, minutes=n)]
    assert len(first) == 1  # at 2 of 8; the next two fall inside the window
    later = score(state, STUDENTS[4], 4, 10, minutes=90)
    assert len(later) == 1 and later[0].changed_students == 3


def test_a_student_back_at_their_grouped_level_no_longer_counts():
    watch = SectionWatch(D, SECTION)
    at = synthetic.T0
    note_change(watch, "s1", T0, "Developing", "Proficient", at)
    note_change(watch, "s1", T0, "Proficient", "Developing", at)
    assert watch.changes == {} and watch.window_started_at is None
    due = regroup_if_due(
        watch,
        enrolled=frozenset(STUDENTS),
        followed=(T0,),
        threshold=0.1,
        debounce=timedelta(0),
        now=at,
        school_id=None,
    )
    assert due is None
