"""How well each method predicts a student's next result from the ones before it (AUC, RMSE)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score


@dataclass(frozen=True, slots=True)
class Score:
    """Predictive accuracy of one model on held-out next results."""

    auc: float | None  # None when the labels are all one class
    rmse: float
    predictions: int


def split_students(student_ids: Sequence[str] | np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> set:
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
