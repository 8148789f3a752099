"""Specifications of the mastery methods: bounds, monotonicity, order sensitivity, closed forms, folding."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_mastery.domain.methods import (
    METHODS,
    MethodConfig,
    MethodState,
    average,
    decaying_average,
    estimate,
    estimate_from_state,
    fold,
    fold_all,
    highest,
    latest,
    n_mastery,
    replay,
    weighted_average,
)
from mosaic_mastery.domain.observations import Observation, chronological, normalize_score

KINDS = ("assessment", "observation", "out_of_school")
START = date(2026, 9, 1)
MONOTONE = ("latest", "highest", "average", "weighted_average", "decaying_average", "bkt")


def observations_from(scores, gaps=None, kinds=None, weights=None) -> list[Observation]:
    """Observations in chronological order; `gaps` are days between consecutive ones (0 = same day)."""
    gaps = gaps or [1] * len(scores)
    day, result = START, []
    for i, score in enumerate(scores):
        day += timedelta(days=gaps[i])
        kind = kinds[i] if kinds else "assessment"
        result.append(Observation(f"e{i}", day, i, score, kind, weights[i] if weights else 1.0))
    return result


scores = st.floats(0.0, 1.0, allow_nan=False)
spec = settings(deadline=None, max_examples=60)  # the machine is shared: no per-example deadline


@st.composite
def histories(draw, min_size: int = 1, max_size: int = 12):
    n = draw(st.integers(min_size, max_size))
    return observations_from(
        draw(st.lists(scores, min_size=n, max_size=n)),
        draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)),
        draw(st.lists(st.sampled_from(KINDS), min_size=n, max_size=n)),
        draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=n, max_size=n)),
    )


configs = st.builds(
    MethodConfig,
    name=st.sampled_from(sorted(METHODS)),
    weight_latest=st.floats(0.05, 1.0),
    decay_half_life_days=st.one_of(st.none(), st.floats(1.0, 120.0)),
    n=st.integers(1, 4),
    mastery_threshold=st.floats(0.3, 0.9),
    kind_weights=st.fixed_dictionaries({"out_of_school": st.sampled_from([0.0, 0.25, 1.0])}),
)


@spec
@given(histories(), configs)
def test_every_estimate_is_within_0_and_1(history, config):
    value = estimate(history, config)
    assert value is None or -1e-12 <= value <= 1 + 1e-12


@spec
@given(histories(), configs)
def test_folding_one_observation_at_a_time_gives_the_batch_estimate(history, config):
    state = MethodState()
    for observation in history:
        state = fold(state, observation, config)
    batch, folded = estimate(history, config), estimate_from_state(state, config)
    assert (batch is None) == (folded is None)
    if batch is not None:
        assert folded == pytest.approx(batch, abs=1e-9)


@spec
@given(histories(min_size=1), st.data(), configs)
def test_raising_any_score_never_lowers_a_monotone_method(history, data, config):
    config = replace(config, name=data.draw(st.sampled_from(MONOTONE)))
    index = data.draw(st.integers(0, len(history) - 1))
    raised = list(history)
    raised[index] = replace(history[index], score=data.draw(st.floats(history[index].score, 1.0)))
    before, after = estimate(history, config), estimate(raised, config)
    assert before is None or after >= before - 1e-12


@spec
@given(histories(min_size=2), st.randoms(use_true_random=False))
def test_average_and_highest_ignore_the_order_of_results(history, rng):
    contents = [(o.score, o.kind, o.weight) for o in history]
    rng.shuffle(contents)
    reordered = [replace(o, score=s, kind=k, weight=w) for o, (s, k, w) in zip(history, contents, strict=True)]
    for method in (average, highest):
        config = MethodConfig(name=method.__name__)
        assert method(reordered, config) == pytest.approx(method(history, config), abs=1e-12)


@pytest.mark.parametrize("name", ["latest", "weighted_average", "decaying_average", "bkt"])
def test_recency_methods_depend_on_order(name):
    config = MethodConfig(name=name)
    rising, falling = observations_from([0.2, 0.5, 0.9]), observations_from([0.9, 0.5, 0.2])
    assert estimate(rising, config) > estimate(falling, config)


def test_observations_are_read_oldest_first_whatever_order_they_arrive_in():
    history = observations_from([0.2, 0.9, 0.4], gaps=[1, 0, 3])
    shuffled = list(reversed(history))
    for name in METHODS:
        config = MethodConfig(name=name, n=1)
        assert estimate(shuffled, config) == estimate(history, config)
    assert chronological(shuffled) == history


def test_same_day_results_are_ordered_by_recording_sequence():
    first = Observation("a", START, 2, 0.3, "assessment")
    second = Observation("b", START, 7, 0.8, "assessment")
    assert latest([second, first], MethodConfig(name="latest")) == 0.8


def test_weighted_average_is_latest_times_w_plus_the_mean_of_the_older_times_1_minus_w():
    history = observations_from([0.2, 0.5, 0.9, 0.8])
    expected = 0.8 * 0.65 + (0.2 + 0.5 + 0.9) / 3 * 0.35
    assert weighted_average(history, MethodConfig(name="weighted_average")) == pytest.approx(expected)
    assert weighted_average(history[:1], MethodConfig(name="weighted_average")) == 0.2


@spec
@given(histories(), st.floats(0.05, 1.0))
def test_decaying_average_per_result_is_a_normalized_geometric_decay(history, weight_latest):
    config = MethodConfig(name="decaying_average", weight_latest=weight_latest, kind_weights={})
    n, rate = len(history), 1 - weight_latest
    weights = [o.weight * rate ** (n - 1 - i) for i, o in enumerate(history)]
    if sum(weights) > 0:
        expected = sum(w * o.score for w, o in zip(weights, history, strict=True)) / sum(weights)
        assert decaying_average(history, config) == pytest.approx(expected, abs=1e-9)


@spec
@given(histories(), st.floats(1.0, 120.0))
def test_decaying_average_by_time_halves_a_result_weight_every_half_life(history, half_life):
    config = MethodConfig(name="decaying_average", decay_half_life_days=half_life, kind_weights={})
    last_day = history[-1].observed_on
    weights = [o.weight * 0.5 ** ((last_day - o.observed_on).days / half_life) for o in history]
    expected = sum(w * o.score for w, o in zip(weights, history, strict=True)) / sum(weights)
    assert decaying_average(history, config) == pytest.approx(expected, abs=1e-9)


def test_decaying_average_approaches_the_recent_level_exponentially():
    config = MethodConfig(name="decaying_average", weight_latest=0.5)
    history = observations_from([0.0] * 5 + [1.0] * 5)
    # weights of the last five: 1, 1/2, 1/4, 1/8, 1/16 against 1/32 … 1/512 for the old zeros
    expected = sum(0.5**k for k in range(5)) / sum(0.5**k for k in range(10))
    assert decaying_average(history, config) == pytest.approx(expected)


@spec
@given(histories(), st.integers(1, 4), st.floats(0.3, 0.9))
def test_n_mastery_is_none_until_n_results_reach_mastery_then_their_mean(history, n, threshold):
    config = MethodConfig(name="n_mastery", n=n, mastery_threshold=threshold, kind_weights={})
    mastered = [o for o in history if o.score >= threshold]
    value = n_mastery(history, config)
    if len(mastered) < n:
        assert value is None
    else:
        expected = sum(o.score * o.weight for o in mastered) / sum(o.weight for o in mastered)
        assert value == pytest.approx(expected)
        assert value >= threshold - 1e-12


def test_n_mastery_counts_results_one_by_one():
    config = MethodConfig(name="n_mastery", n=2, mastery_threshold=0.75)
    history = observations_from([0.8, 0.4, 0.9])
    assert n_mastery(history[:2], config) is None
    assert n_mastery(history, config) == pytest.approx(0.85)


def test_an_unverified_claim_counts_less_than_a_proctored_assessment():
    history = observations_from([0.4, 1.0], kinds=["assessment", "out_of_school"])
    full = average(history, MethodConfig(name="average"))
    discounted = average(history, MethodConfig(name="average", kind_weights={"out_of_school": 0.25}))
    assert full == pytest.approx(0.7)
    assert discounted == pytest.approx((0.4 + 0.25 * 1.0) / 1.25)


def test_a_kind_weighted_zero_is_ignored_by_every_method():
    history = observations_from([0.4, 1.0], kinds=["assessment", "out_of_school"])
    ignored = {"out_of_school": 0.0}
    for name in METHODS:
        config = MethodConfig(name=name, n=1, mastery_threshold=0.3, kind_weights=ignored)
        assert estimate(history, config) == estimate(history[:1], replace(config, kind_weights={}))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_no_evidence_means_no_estimate(name):
    assert estimate([], MethodConfig(name=name)) is None
    assert estimate_from_state(MethodState(), MethodConfig(name=name)) is None


def test_fold_refuses_an_observation_older_than_the_last_one_and_replay_accepts_any_order():
    config = MethodConfig(name="average")
    history = observations_from([0.2, 0.6, 0.9])
    state = fold(fold(MethodState(), history[0], config), history[2], config)
    with pytest.raises(ValueError, match="older than the last folded"):
        fold(state, history[1], config)
    assert estimate_from_state(replay(random.Random(1).sample(history, 3), config), config) == pytest.approx(
        estimate(history, config)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "median"}, "is not a method"),
        ({"weight_latest": 0.0}, "weight_latest"),
        ({"decay_half_life_days": -3}, "decay_half_life_days"),
        ({"n": 0}, "MethodConfig.n"),
        ({"mastery_threshold": 1.5}, "mastery_threshold"),
        ({"kind_weights": {"claim": -1.0}}, "kind_weights"),
    ],
)
def test_a_bad_method_config_says_which_field_is_wrong(changes, message):
    with pytest.raises(ValueError, match=message):
        MethodConfig(**changes)


def test_observation_and_normalization_refuse_out_of_range_values():
    with pytest.raises(ValueError, match=r"normalized to 0\.\.1"):
        Observation("e", START, 0, 3.0, "assessment")
    assert normalize_score(3, 1, 4) == pytest.approx(2 / 3)
    assert normalize_score(4.0000001, 1, 4) == 1.0
    with pytest.raises(ValueError, match="scale_max"):
        normalize_score(1, 4, 4)


@spec
@given(histories(max_size=20), st.lists(st.booleans(), min_size=20, max_size=20), configs)
def test_fold_all_equals_folding_one_at_a_time(history, goals, config):
    """The replay's loop over locals gives exactly (not approximately) `fold`'s state and, after each
    observation, `estimate_from_state`'s estimate — goals (uncounted) and zero-weight kinds included."""
    history = [replace(o, kind="goal") if goal else o for o, goal in zip(history, goals, strict=False)]
    state, expected = MethodState(), []
    for observation in history:
        state = fold(state, observation, config)
        expected.append(estimate_from_state(state, config))
    assert fold_all(history, config) == (state, expected)
