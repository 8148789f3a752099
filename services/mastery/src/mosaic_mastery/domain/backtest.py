"""How well each method predicts a student's next result from the ones before it (AUC, RMSE)."""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from .bkt import BktParams, fit_bkt_many, predict_correct, predict_many
from .methods import METHODS, STUDENT_OWN_KINDS, MethodConfig, MethodState, effective_weight, estimate_from_state, fold
from .observations import Observation, chronological


@dataclass(frozen=True, slots=True)
class Score:
    """Predictive accuracy of one model on held-out next results."""

    auc: float | None  # None when the labels are all one class
    rmse: float
    predictions: int


def split_students(student_ids: Sequence[str] | np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> set[Any]:
    """A seeded random set of held-out students, so train and test never share a student."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction = {test_fraction} must be strictly between 0 and 1")
    unique = np.unique(np.asarray(student_ids))
    shuffled = np.random.default_rng(seed).permutation(unique)
    n_test = max(1, round(len(unique) * test_fraction))
    return set(shuffled[:n_test].tolist())


def score_predictions(labels: Sequence[float] | np.ndarray, predictions: Sequence[float] | np.ndarray) -> Score:
    """AUC of predictions against binary labels and RMSE against the labels."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(predictions, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} must have the same length")
    if y.size == 0:
        raise ValueError("no predictions to score; the held-out set has no result that follows another")
    binary = y >= 0.5
    auc = float(roc_auc_score(binary, p)) if 0 < binary.sum() < binary.size else None
    return Score(auc=auc, rmse=float(np.sqrt(np.mean((y - p) ** 2))), predictions=int(y.size))


def group_rows(students: np.ndarray, competencies: np.ndarray) -> dict[tuple[object, object], np.ndarray]:
    """Row indices per (competency, student), in row order (oldest first when rows are chronological)."""
    students, competencies = np.asarray(students), np.asarray(competencies)
    order = np.lexsort((np.arange(len(students)), students, competencies))
    s, c = students[order], competencies[order]
    starts = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (c[1:] != c[:-1])])
    return {(_plain(c[i]), _plain(s[i])): rows for i, rows in zip(starts, np.split(order, starts[1:]), strict=True)}


def _plain(value: object) -> object:
    """A numpy scalar as its Python value; pandas string columns give plain `str` already."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True, slots=True)
class BktHoldout:
    """BKT fitted on training students and scored on held-out students' next results."""

    score: Score
    params: dict[Hashable, BktParams]
    predictions: np.ndarray  # P(correct) per input row; NaN for training students' rows
    fit_seconds: float  # process CPU seconds, robust to other load on the machine
    fit_wall_seconds: float


def bkt_holdout(
    students: np.ndarray,
    competencies: np.ndarray,
    results: np.ndarray,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    **fit_options: Any,
) -> BktHoldout:
    """Split by student, fit BKT per competency on the rest, predict each held-out result from those before it."""
    results = np.asarray(results, dtype=float)
    held_out = split_students(students, test_fraction, seed)
    train: dict[Hashable, list[np.ndarray]] = {}
    test: list[tuple[Hashable, np.ndarray]] = []
    for (competency, student), rows in group_rows(students, competencies).items():
        if student in held_out:
            test.append((competency, rows))
        else:
            train.setdefault(competency, []).append(results[rows])
    wall, cpu = time.perf_counter(), time.process_time()
    params = fit_bkt_many(train, seed=seed, **fit_options)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    unfitted = BktParams()  # a competency no training student practised keeps textbook defaults
    predicted = predict_many([results[rows] for _, rows in test], [params.get(comp, unfitted) for comp, _ in test])
    predictions = np.full(len(results), np.nan)
    for (_, rows), p in zip(test, predicted, strict=True):
        predictions[rows] = p
    scored = ~np.isnan(predictions)
    return BktHoldout(score_predictions(results[scored], predictions[scored]), params, predictions, cpu, wall)


# ---- every method on a district's own evidence log -------------------------------------------------------------------


def backtest_methods(
    histories: Mapping[tuple[str, str], Sequence[Observation]],
    base: MethodConfig,
    bkt_params: Mapping[str, BktParams],
    methods: Sequence[str] = tuple(METHODS),
) -> dict[str, Score]:
    """Each method's prediction of every next result from the results before it, keyed (competency, student).

    The label for AUC is "the next result is at or above mastery"; RMSE is against the next normalized score.
    BKT predicts P(correct); the other methods predict their current estimate. A method without an estimate
    yet (n_mastery before n results at mastery) is scored only where it has one; see Score.predictions.
    A student's own entries (goals, self-assessments) are never targets, and a target is scored only once a
    demonstration came before it: counting the student's own entries or not is compared on the same targets.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {sorted(METHODS)}")
    predicted: dict[str, list[float]] = {m: [] for m in methods}
    actual: dict[str, list[float]] = {m: [] for m in methods}
    configs: dict[str, dict[str, MethodConfig]] = {}  # competency -> method -> config; one fold state serves all
    for (competency, _student), history in histories.items():
        by_method = configs.get(competency)
        if by_method is None:
            bkt = bkt_params.get(competency, base.bkt)
            by_method = configs[competency] = {m: replace(base, name=m, bkt=bkt) for m in methods}
        folding = by_method[methods[0]]
        state, demonstrated = MethodState(), False
        for observation in chronological(history):
            own = observation.kind in STUDENT_OWN_KINDS
            if demonstrated and not own and state.count:
                for method, config in by_method.items():
                    value = _prediction(state, config)
                    if value is not None:
                        predicted[method].append(value)
                        actual[method].append(observation.score)
            state = fold(state, observation, folding)
            demonstrated = demonstrated or not own
    return {m: _score_against_mastery(actual[m], predicted[m], base.mastery_threshold) for m in methods if actual[m]}


def _prediction(state: MethodState, config: MethodConfig) -> float | None:
    if config.name == "bkt":
        return None if state.p_known is None else predict_correct(state.p_known, config.bkt)
    return estimate_from_state(state, config)


def _score_against_mastery(actual: list[float], predicted: list[float], threshold: float) -> Score:
    y, p = np.asarray(actual), np.asarray(predicted)
    mastered = y >= threshold
    auc = float(roc_auc_score(mastered, p)) if 0 < mastered.sum() < mastered.size else None
    return Score(auc=auc, rmse=float(np.sqrt(np.mean((y - p) ** 2))), predictions=int(y.size))


def fit_bkt_on_histories(
    histories: Mapping[tuple[str, str], Sequence[Observation]], config: MethodConfig, **fit_options: Any
) -> dict[str, BktParams]:
    """BKT params per competency from normalized scores (fractional = partial credit), zero-weight evidence left out."""
    sequences: dict[str, list[list[float]]] = {}
    for (competency, _student), history in histories.items():
        scores = [o.score for o in chronological(history) if effective_weight(o, config) > 0]
        if scores:
            sequences.setdefault(competency, []).append(scores)
    return fit_bkt_many(sequences, **fit_options)
