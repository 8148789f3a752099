"""BKT checked against real students: ASSISTments 2009 skill-builder responses, split by student."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mosaic_mastery.domain.backtest import BktHoldout, bkt_holdout, score_predictions, split_students

DATA = Path(
    os.environ.get(
        "MOSAIC_KT_DATA",
        Path(__file__).resolve().parents[3].parent / "shared" / "data" / "kt" / "assistments2009_builder_train.csv",
    )
)


@pytest.fixture(scope="module")
def responses() -> np.ndarray:
    """Every fourth skill (31 of 123, about 92,000 responses) keeps the fit to a second or two of CPU."""
    if not DATA.exists():
        pytest.fail(f"{DATA} is missing: put assistments2009_builder_train.csv there or set MOSAIC_KT_DATA")
    data = np.loadtxt(DATA, delimiter=",", skiprows=1, dtype=np.int64, usecols=(0, 1, 2))
    return data[np.isin(data[:, 1], np.unique(data[:, 1])[::4])]


@pytest.fixture(scope="module")
def holdout(responses) -> BktHoldout:
    """Fit per skill on 80% of the students (seeded split), predict every response of the other 20%."""
    return bkt_holdout(
        responses[:, 0],
        responses[:, 1],
        responses[:, 2].astype(float),
        test_fraction=0.2,
        seed=0,
        restarts=1,
        fit_forget=True,
    )


def test_bkt_predicts_held_out_students_next_answers_well(holdout):
    assert holdout.score.auc > 0.70
    assert holdout.score.rmse < 0.5
    assert holdout.score.predictions > 10_000
    for params in holdout.params.values():
        assert params.guess < 0.5 and params.slip < 0.5


def test_bkt_beats_knowing_only_how_hard_each_skill_is(responses, holdout):
    """Tracing each student's history must add to the per-skill correct rate of the training students."""
    students, skills, correct = responses[:, 0], responses[:, 1], responses[:, 2].astype(float)
    held_out = np.isin(students, np.fromiter(split_students(students, 0.2, 0), dtype=np.int64))
    train_rate = {s: correct[~held_out & (skills == s)].mean() for s in np.unique(skills[held_out])}
    baseline = score_predictions(correct[held_out], np.array([train_rate[s] for s in skills[held_out]]))
    assert holdout.score.auc > baseline.auc + 0.03
    assert holdout.score.rmse < baseline.rmse
