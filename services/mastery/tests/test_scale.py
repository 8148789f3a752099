"""Specifications of the mastery scale: validation, first assignment, and hysteresis against noise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_mastery.domain.scale import DEFAULT_SCALE, Level, MasteryScale, level_for, level_path, raw_level_index

spec = settings(deadline=None, max_examples=200)
SCALE = DEFAULT_SCALE  # Beginning 0, Developing .5, Proficient .75, Advanced .9; margin .05
NAMES = [level.name for level in SCALE.levels]
estimates = st.floats(0.0, 1.0, allow_nan=False)


def test_the_first_level_is_assigned_without_margin():
    assert level_for(0.75, None, SCALE).name == "Proficient"
    assert level_for(0.7499, None, SCALE).name == "Developing"
    assert level_for(0.0, None, SCALE).name == "Beginning"
    assert level_for(1.0, None, SCALE).name == "Advanced"


def test_moving_up_needs_the_threshold_plus_the_margin():
    assert level_for(0.79, "Developing", SCALE).name == "Developing"
    assert level_for(0.80, "Developing", SCALE).name == "Proficient"


def test_moving_down_needs_the_threshold_minus_the_margin():
    assert level_for(0.71, "Proficient", SCALE).name == "Proficient"
    assert level_for(0.69, "Proficient", SCALE).name == "Developing"


def test_a_big_jump_crosses_several_levels_but_only_those_cleared_by_the_margin():
    assert level_for(0.97, "Beginning", SCALE).name == "Advanced"
    assert level_for(0.93, "Beginning", SCALE).name == "Proficient"  # 0.93 < 0.9 + 0.05
    assert level_for(0.02, "Advanced", SCALE).name == "Beginning"
    assert level_for(0.46, "Advanced", SCALE).name == "Developing"  # 0.46 >= 0.5 - 0.05


@spec
@given(st.sampled_from(SCALE.levels[1:]), st.floats(0.0, 0.999), st.integers(2, 20))
def test_one_noisy_score_near_a_threshold_does_not_flip_the_level_back_and_forth(level, noise, flips):
    wobble = noise * SCALE.margin
    current = level_for(level.threshold + wobble, None, SCALE).name
    for step in range(flips):
        estimate = level.threshold + (wobble if step % 2 else -wobble)
        assert level_for(estimate, current, SCALE).name == current


@spec
@given(st.sampled_from(range(1, len(SCALE.levels))), st.floats(1.001, 3.0))
def test_crossing_a_threshold_by_more_than_the_margin_moves_the_level(index, overshoot):
    threshold = SCALE.levels[index].threshold
    above = min(1.0, threshold + SCALE.margin * overshoot)
    below = max(0.0, threshold - SCALE.margin * overshoot)
    assert raw_level_index(above, SCALE.levels) >= index
    assert level_for(above, NAMES[index - 1], SCALE).name != NAMES[index - 1]
    assert level_for(below, NAMES[index], SCALE).name != NAMES[index]


@spec
@given(estimates, st.sampled_from(NAMES))
def test_the_level_stays_within_the_margin_of_the_raw_level(estimate, current):
    index = SCALE.index_of(level_for(estimate, current, SCALE).name)
    lowest = raw_level_index(max(0.0, estimate - SCALE.margin), SCALE.levels)
    highest = raw_level_index(min(1.0, estimate + SCALE.margin), SCALE.levels)
    assert lowest <= index <= highest


@spec
@given(estimates, st.sampled_from([*NAMES, None]))
def test_assigning_the_same_estimate_twice_changes_nothing(estimate, current):
    once = level_for(estimate, current, SCALE).name
    assert level_for(estimate, once, SCALE).name == once


@spec
@given(st.lists(estimates, min_size=1, max_size=30), st.floats(0.0, 0.2))
def test_a_wider_margin_never_moves_a_student_across_more_levels(path, margin):
    narrow = MasteryScale(SCALE.levels, SCALE.mastery_level_name, margin=0.0)
    wide = MasteryScale(SCALE.levels, SCALE.mastery_level_name, margin=margin)

    def levels_crossed(scale: MasteryScale) -> int:
        current, crossed = None, 0
        for estimate in path:
            new = level_for(estimate, current, scale).name
            crossed += 0 if current is None else abs(scale.index_of(new) - scale.index_of(current))
            current = new
        return crossed

    assert levels_crossed(wide) <= levels_crossed(narrow)


def test_mastery_is_the_named_level_and_above():
    assert SCALE.mastery_threshold == 0.75
    assert [SCALE.is_mastered(name) for name in NAMES] == [False, False, True, True]


@pytest.mark.parametrize(
    ("levels", "mastery", "margin", "message"),
    [
        ((), "Proficient", 0.05, "at least one level"),
        ((Level("Low", 0.0), Level("Low", 0.5)), "Low", 0.05, "unique"),
        ((Level("Low", 0.0), Level("High", 1.5)), "High", 0.05, r"must be in 0\.\.1"),
        ((Level("Low", 0.1), Level("High", 0.5)), "High", 0.05, r"must start at threshold 0\.0"),
        ((Level("Low", 0.0), Level("High", 0.6), Level("Mid", 0.4)), "High", 0.05, "must ascend"),
        ((Level("Low", 0.0), Level("High", 0.6)), "Expert", 0.05, "is not one of the levels"),
        ((Level("Low", 0.0), Level("High", 0.6)), "High", 0.6, "margin"),
    ],
)
def test_an_invalid_scale_says_what_is_wrong(levels, mastery, margin, message):
    with pytest.raises(ValueError, match=message):
        MasteryScale(levels, mastery, margin)


def test_an_unknown_current_level_or_estimate_out_of_range_is_refused():
    with pytest.raises(ValueError, match="not on this scale"):
        level_for(0.5, "Mastered", SCALE)
    with pytest.raises(ValueError, match=r"must be in 0\.\.1"):
        level_for(1.2, None, SCALE)


@spec
@given(st.lists(st.one_of(st.none(), estimates), max_size=30))
def test_level_path_is_level_for_step_by_step(path):
    """A replay walks the hysteresis once with its bounds worked out ahead; each step is `level_for`."""
    level = None
    for estimate in path:
        if estimate is not None:
            level = level_for(estimate, level, SCALE).name
    assert level_path(path, SCALE) == level
