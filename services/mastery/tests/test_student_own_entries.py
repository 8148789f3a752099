"""A student's goals and self-assessments never count toward mastery unless the district turns them on."""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_dev import synthetic_events as synthetic
from mosaic_mastery.domain.backtest import backtest_methods
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings, MethodSettings
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.methods import METHODS, MethodConfig, MethodState, estimate, fold, replay
from mosaic_mastery.domain.observations import Observation
from mosaic_mastery.domain.projection import ProjectionState, apply, recalculate
from mosaic_mastery.domain.readouts import explain

START = date(2026, 9, 1)


def demonstrated(*scores: float) -> list[Observation]:
    return [Observation(f"e{i}", START + timedelta(days=i), i, s, "assessment_score") for i, s in enumerate(scores)]


def own(kind: str, score: float, day: int, sequence: int = 100) -> Observation:
    return Observation(f"{kind}-{day}", START + timedelta(days=day), sequence, score, kind)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("kind", ["goal", "self_assessment"])
def test_a_perfect_goal_or_self_rating_changes_no_method_by_default(method, kind):
    config = MethodConfig(name=method, n=1, mastery_threshold=0.3)
    history = demonstrated(0.2, 0.4)
    with_own = [*history, own(kind, 1.0, 5)]  # the newest and the highest: latest/highest would take it
    assert estimate(with_own, config) == estimate(history, config)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 1), st.sampled_from(["assessment_score", "goal", "self_assessment"]), st.integers(0, 20)
        ),
        max_size=12,
    ),
    st.sampled_from(sorted(METHODS)),
    st.one_of(st.none(), st.floats(1.0, 60.0)),
)
def test_the_folded_state_is_exactly_the_state_without_the_students_own_entries(rows, method, half_life):
    config = MethodConfig(name=method, decay_half_life_days=half_life)
    history = [Observation(f"e{i}", START + timedelta(days=d), i, s, k) for i, (s, k, d) in enumerate(rows)]
    demonstrations = [o for o in history if o.kind == "assessment_score"]
    assert replay(history, config) == replay(demonstrations, config)


def test_a_district_that_counts_self_assessments_weighs_them_by_kind_weights_and_still_leaves_goals_out():
    settings_ = DistrictSettings(method=MethodSettings(name="average"), count_self_assessments=True)
    config = DistrictConfig(settings_).method_for("c1")
    history = [*demonstrated(0.0), own("self_assessment", 1.0, 3), own("goal", 1.0, 4, 101)]
    assert estimate(history, config) == pytest.approx(0.5 / 1.5)  # self_assessment ×0.5, goal not at all
    goals_too = DistrictConfig(settings_.model_copy(update={"count_goals": True})).method_for("c1")
    assert estimate(history, goals_too) == pytest.approx(1.5 / 2.5)


def test_by_default_a_district_counts_neither_and_turning_one_on_changes_the_fingerprint():
    default = DistrictSettings()
    assert default.uncounted_kinds() == {"goal", "self_assessment"}
    assert DistrictSettings(count_goals=True).uncounted_kinds() == {"self_assessment"}
    assert DistrictSettings(count_self_assessments=True).calculation_fingerprint() != default.calculation_fingerprint()


D, T0 = "d1", "math-6.S0.T0"


def test_the_projection_keeps_a_goal_but_gives_no_level_from_it_until_the_district_counts_goals():
    state = ProjectionState(configs={D: DistrictConfig()})
    apply(state, from_envelope(synthetic.framework(D, strands=1, per_strand=2)))
    goal = synthetic.evidence(
        D, "ana", (T0,), 4, evidence_id="g1", observed_on=START, kind="goal", rng=random.Random(1)
    )
    assert not [c for c in apply(state, from_envelope(goal)) if c.competency_id == T0]
    record = state.records[(D, "ana", T0)]
    assert record.evidence_ids == ("g1",) and record.estimate is None and record.level is None
    assert "1 goals or self-assessments are kept but not counted" in explain(
        record, state.configs[D], state.references[D]
    )
    counting = DistrictConfig(DistrictSettings(count_goals=True))
    changes = recalculate(state, D, counting, now=synthetic.T0)
    assert state.records[(D, "ana", T0)].level == "Advanced"
    assert any(getattr(c, "competency_id", None) == T0 and c.recalculation for c in changes)


def test_the_backtest_scores_counting_and_not_counting_on_the_same_demonstrated_targets():
    rng = np.random.default_rng(0)
    histories = {}
    for s in range(200):
        skill = rng.uniform(0.1, 0.9)
        rows = []
        for t in range(8):
            rows.append(
                Observation(
                    f"a{s}-{t}",
                    START + timedelta(days=2 * t),
                    2 * t,
                    float(np.clip(skill + rng.normal(0, 0.15), 0, 1)),
                    "assessment_score",
                )
            )
            rows.append(
                Observation(
                    f"s{s}-{t}",
                    START + timedelta(days=2 * t + 1),
                    2 * t + 1,
                    float(np.clip(skill + 0.3 + rng.normal(0, 0.15), 0, 1)),
                    "self_assessment",
                )
            )
        histories[("c1", f"s{s}")] = rows
    for history in histories.values():  # a self-rating first: the target after it is scored in neither run
        history.insert(0, Observation(f"first-{id(history)}", START - timedelta(days=1), -1, 1.0, "self_assessment"))
    off = backtest_methods(histories, MethodConfig(), {}, methods=("average",))["average"]
    on = backtest_methods(histories, MethodConfig(uncounted_kinds=frozenset({"goal"})), {}, methods=("average",))[
        "average"
    ]
    assert off.predictions == on.predictions == 200 * 7  # only the demonstrations after the first
    assert off.rmse < on.rmse  # over-confident self-ratings pull the estimate away from what is shown


def test_an_empty_state_stays_empty_after_only_goals():
    config = MethodConfig()
    assert fold(MethodState(), own("goal", 1.0, 1), config) == MethodState()
