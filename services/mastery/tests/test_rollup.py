"""Specifications of rolling standards up the framework tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_mastery.domain.rollup import ROLLUP_RULES, ancestors, roll_up, rollup_one

TREE = {"math": ["algebra", "geometry"], "algebra": ["a1", "a2", "a3"], "geometry": ["g1", "g2"]}
PARENT_OF = {
    "algebra": "math",
    "geometry": "math",
    "a1": "algebra",
    "a2": "algebra",
    "a3": "algebra",
    "g1": "geometry",
    "g2": "geometry",
    "math": None,
}
spec = settings(deadline=None, max_examples=150)


def test_mean_of_children_rolls_up_level_by_level():
    rolled = roll_up(TREE, {"a1": 0.9, "a2": 0.6, "a3": 0.3, "g1": 1.0, "g2": 0.8}, "mean_of_children", 0.75)
    assert rolled["algebra"] == pytest.approx(0.6)
    assert rolled["geometry"] == pytest.approx(0.9)
    assert rolled["math"] == pytest.approx(0.75)


def test_min_of_children_is_as_strong_as_the_weakest_child():
    rolled = roll_up(TREE, {"a1": 0.9, "a2": 0.6, "a3": 0.3, "g1": 1.0, "g2": 0.8}, "min_of_children", 0.75)
    assert (rolled["algebra"], rolled["geometry"], rolled["math"]) == (0.3, 0.8, 0.3)


def test_all_children_proficient_holds_the_parent_below_mastery_until_every_child_is_there():
    assert rollup_one([0.9, 0.8, 0.76], "all_children_proficient", 0.75) == pytest.approx(0.82)
    assert rollup_one([1.0, 1.0, 0.7], "all_children_proficient", 0.75) == 0.7
    held = rollup_one([1.0, 1.0, None], "all_children_proficient", 0.75)
    assert held < 0.75


def test_children_without_evidence_are_left_out_and_a_parent_with_none_has_no_estimate():
    rolled = roll_up(TREE, {"a1": 0.4}, "mean_of_children", 0.75)
    assert rolled == {"algebra": 0.4, "math": 0.4}
    assert rollup_one([None, None], "mean_of_children", 0.75) is None


@spec
@given(
    st.lists(st.one_of(st.none(), st.floats(0.0, 1.0)), min_size=1, max_size=8),
    st.sampled_from(sorted(ROLLUP_RULES)),
    st.floats(0.1, 0.95),
)
def test_a_roll_up_stays_between_its_lowest_and_highest_child(children, rule, threshold):
    value = rollup_one(children, rule, threshold)
    known = [c for c in children if c is not None]
    if not known:
        assert value is None
    elif rule == "all_children_proficient" and len(known) < len(children):
        assert value < threshold and value <= max(known)  # a child without evidence is not proficient yet
    else:
        assert min(known) - 1e-12 <= value <= max(known) + 1e-12


@spec
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8), st.sampled_from(sorted(ROLLUP_RULES)), st.data())
def test_raising_a_child_never_lowers_its_parent(children, rule, data):
    index = data.draw(st.integers(0, len(children) - 1))
    raised = list(children)
    raised[index] = data.draw(st.floats(children[index], 1.0))
    assert rollup_one(raised, rule, 0.75) >= rollup_one(children, rule, 0.75) - 1e-12


def test_ancestors_walk_to_the_root_and_cycles_are_refused():
    assert ancestors("a2", PARENT_OF) == ["algebra", "math"]
    assert ancestors("math", PARENT_OF) == []
    with pytest.raises(ValueError, match="cycle"):
        ancestors("x", {"x": "y", "y": "x"})
    with pytest.raises(ValueError, match="cycle"):
        roll_up({"x": ["y"], "y": ["x"]}, {}, "mean_of_children", 0.75)


def test_an_unknown_rule_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="mean_of_children"):
        rollup_one([0.5], "median_of_children", 0.75)
