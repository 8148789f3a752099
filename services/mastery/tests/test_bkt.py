"""Specifications of Bayesian knowledge tracing: the O(1) update, batch prediction, and EM fitting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_mastery.domain.bkt import (
    BktParams,
    bkt_update,
    fit_bkt,
    fit_bkt_many,
    predict_correct,
    predict_many,
    predict_sequences,
)

spec = settings(deadline=None, max_examples=200)
probabilities = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def bkt_params(draw) -> BktParams:
    guess = draw(st.floats(0.0, 0.49))
    slip = draw(st.floats(0.0, 0.49))
    learn = draw(probabilities)  # learn + forget <= 1: knowing now never makes knowing later less likely
    return BktParams(draw(probabilities), learn, guess, slip, draw(st.floats(0.0, 1.0 - learn)))


def test_update_after_a_correct_answer_matches_the_hand_computed_posterior():
    params = BktParams(prior=0.3, learn=0.1, guess=0.2, slip=0.1)
    posterior = 0.3 * 0.9 / (0.3 * 0.9 + 0.7 * 0.2)  # = 0.27 / 0.41
    assert bkt_update(0.3, 1.0, params) == pytest.approx(posterior + (1 - posterior) * 0.1)


def test_update_after_a_wrong_answer_matches_the_hand_computed_posterior_with_forgetting():
    params = BktParams(prior=0.3, learn=0.1, guess=0.2, slip=0.1, forget=0.05)
    posterior = 0.6 * 0.1 / (0.6 * 0.1 + 0.4 * 0.8)
    assert bkt_update(0.6, 0.0, params) == pytest.approx(posterior * 0.95 + (1 - posterior) * 0.1)


def test_predicted_correctness_mixes_slip_and_guess():
    assert predict_correct(0.25, BktParams(guess=0.2, slip=0.1)) == pytest.approx(0.25 * 0.9 + 0.75 * 0.2)


@spec
@given(probabilities, probabilities, bkt_params(), st.floats(0.0, 3.0))
def test_update_stays_a_probability(p_known, correct, params, weight):
    assert 0.0 <= bkt_update(p_known, correct, params, weight) <= 1.0
    assert 0.0 <= predict_correct(p_known, params) <= 1.0


@spec
@given(probabilities, bkt_params())
def test_partial_credit_lands_between_the_wrong_and_the_right_update(p_known, params):
    wrong, half, right = (bkt_update(p_known, c, params) for c in (0.0, 0.5, 1.0))
    assert wrong - 1e-12 <= half <= right + 1e-12


@spec
@given(probabilities, probabilities, bkt_params())
def test_weight_zero_ignores_the_result_and_a_smaller_weight_moves_less(p_known, correct, params):
    assert bkt_update(p_known, correct, params, weight=0.0) == p_known
    transition_only = bkt_update(p_known, 0.5, BktParams(0.5, params.learn, 0.5 - 1e-9, 0.5 - 1e-9, params.forget))
    full, half = bkt_update(p_known, correct, params), bkt_update(p_known, correct, params, weight=0.5)
    assert min(full, transition_only) - 1e-9 <= half <= max(full, transition_only) + 1e-9


def test_invalid_params_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"BktParams\.learn"):
        BktParams(learn=1.2)
    with pytest.raises(ValueError, match="evidence of NOT knowing"):
        BktParams(guess=0.6, slip=0.5)
    assert BktParams.from_dict(BktParams(0.4, 0.2, 0.1, 0.05).to_dict()) == BktParams(0.4, 0.2, 0.1, 0.05)


@spec
@given(
    st.lists(st.lists(st.sampled_from([0.0, 1.0, 0.5]), min_size=0, max_size=15), min_size=1, max_size=6), bkt_params()
)
def test_batch_prediction_equals_tracing_each_sequence_one_result_at_a_time(sequences, params):
    predicted = predict_sequences(sequences, params)
    for sequence, batch in zip(sequences, predicted, strict=True):
        p_known, expected = params.prior, []
        for correct in sequence:
            expected.append(predict_correct(p_known, params))
            p_known = bkt_update(p_known, correct, params)
        np.testing.assert_allclose(batch, expected, atol=1e-9)


def simulate(params: BktParams, students: int, length: int, seed: int) -> list[np.ndarray]:
    """Result sequences drawn from the BKT model itself."""
    rng = np.random.default_rng(seed)
    known = rng.random(students) < params.prior
    sequences = np.empty((students, length))
    for t in range(length):
        p_correct = np.where(known, 1 - params.slip, params.guess)
        sequences[:, t] = rng.random(students) < p_correct
        known = np.where(known, rng.random(students) >= params.forget, rng.random(students) < params.learn)
    return list(sequences)


def test_em_recovers_the_parameters_that_generated_the_data():
    truth = BktParams(prior=0.3, learn=0.15, guess=0.2, slip=0.1)
    fitted = fit_bkt(simulate(truth, students=1500, length=12, seed=7), restarts=3, seed=1)
    for name in ("prior", "learn", "guess", "slip"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), abs=0.05), name


def test_em_fits_many_competencies_at_once_as_if_one_by_one():
    truths = {"fractions": BktParams(0.2, 0.2, 0.25, 0.1), "ratios": BktParams(0.6, 0.05, 0.15, 0.2)}
    data = {name: simulate(p, 600, 10, seed=i) for i, (name, p) in enumerate(truths.items())}
    together = fit_bkt_many(data, restarts=2, seed=3, tol=1e-6)
    for name, sequences in data.items():
        alone = fit_bkt(sequences, restarts=2, seed=3, tol=1e-6)
        for field in ("prior", "learn", "guess", "slip"):
            assert getattr(together[name], field) == pytest.approx(getattr(alone, field), abs=0.02)


def test_fitted_guess_and_slip_stay_below_one_half_even_on_adversarial_data():
    backwards = [np.array([1.0, 1.0, 0.0, 0.0, 0.0])] * 200 + [np.array([0.0, 1.0, 0.0, 0.0])] * 50
    fitted = fit_bkt(backwards, restarts=3)
    assert fitted.guess < 0.5 and fitted.slip < 0.5


def test_fitted_forgetting_is_found_when_students_forget():
    truth = BktParams(prior=0.5, learn=0.2, guess=0.15, slip=0.1, forget=0.15)
    fitted = fit_bkt(simulate(truth, students=1500, length=15, seed=3), restarts=2, fit_forget=True)
    assert fitted.forget == pytest.approx(0.15, abs=0.05)
    assert fit_bkt(simulate(truth, 300, 15, seed=3), restarts=1).forget == 0.0


def test_predict_many_keeps_each_sequence_with_its_own_params_and_empty_ones_empty():
    a, b = BktParams(0.9, 0.1, 0.1, 0.1), BktParams(0.1, 0.1, 0.1, 0.1)
    first, empty, second = predict_many([[1.0, 0.0], [], [1.0, 0.0]], [a, b, b])
    assert first[0] == pytest.approx(predict_correct(0.9, a)) and second[0] == pytest.approx(predict_correct(0.1, b))
    assert empty.size == 0
    with pytest.raises(ValueError, match="one BktParams per sequence"):
        predict_many([[1.0]], [])
