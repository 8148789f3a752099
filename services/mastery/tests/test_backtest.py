"""Specifications of the backtest: splits, scoring, each method's next-result predictions, and the models CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from mosaic_mastery.domain.backtest import (
    backtest_methods,
    fit_bkt_on_histories,
    group_rows,
    score_predictions,
    split_students,
)
from mosaic_mastery.domain.bkt import BktParams
from mosaic_mastery.domain.methods import METHODS, MethodConfig
from mosaic_mastery.domain.observations import Observation
from mosaic_mastery.models_cli import app

START = date(2026, 9, 1)


def histories_from(score_rows: np.ndarray, competency: str = "c1") -> dict:
    return {
        (competency, f"s{i}"): [
            Observation(f"e{i}-{t}", START + timedelta(days=t), t, float(x), "assessment") for t, x in enumerate(row)
        ]
        for i, row in enumerate(score_rows)
    }


def test_the_student_split_is_seeded_disjoint_and_about_the_fraction_asked():
    students = [f"s{i}" for i in range(500)] * 3
    held_out = split_students(students, 0.2, seed=4)
    assert held_out == split_students(students, 0.2, seed=4)
    assert held_out != split_students(students, 0.2, seed=5)
    assert len(held_out) == 100
    with pytest.raises(ValueError, match="test_fraction"):
        split_students(students, 1.0)


def test_perfect_predictions_score_auc_one_and_rmse_zero_and_lengths_must_match():
    assert score_predictions([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0]).auc == 1.0
    assert score_predictions([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0]).rmse == 0.0
    assert score_predictions([1, 1], [0.5, 0.7]).auc is None
    with pytest.raises(ValueError, match="same length"):
        score_predictions([1, 0], [0.5])


def test_rows_are_grouped_per_competency_and_student_in_their_original_order():
    groups = group_rows(np.array([7, 8, 7, 7]), np.array([1, 1, 2, 1]))
    assert {k: v.tolist() for k, v in groups.items()} == {(1, 7): [0, 3], (1, 8): [1], (2, 7): [2]}


def test_rows_are_grouped_from_string_columns_too():
    # what a pandas string column's to_numpy() gives: an object array of plain str
    students = np.array(["s7", "s8", "s7", "s7"], dtype=object)
    groups = group_rows(students, np.array(["c1", "c1", "c2", "c1"], dtype=object))
    assert {k: v.tolist() for k, v in groups.items()} == {("c1", "s7"): [0, 3], ("c1", "s8"): [1], ("c2", "s7"): [2]}


def test_averaging_predicts_a_steady_student_better_than_the_latest_noisy_score():
    rng = np.random.default_rng(1)
    level = rng.uniform(0.3, 0.9, size=(300, 1))
    scores = np.clip(level + rng.normal(0, 0.2, size=(300, 10)), 0, 1)
    result = backtest_methods(histories_from(scores), MethodConfig(), {})
    assert result["average"].rmse < result["latest"].rmse
    assert result["average"].auc > result["latest"].auc


def test_a_decaying_average_follows_a_student_who_just_learned_better_than_the_average():
    rng = np.random.default_rng(2)
    learned_at = rng.integers(2, 10, size=300)
    steps = np.arange(12)
    scores = np.clip(np.where(steps >= learned_at[:, None], 0.9, 0.3) + rng.normal(0, 0.05, (300, 12)), 0, 1)
    result = backtest_methods(histories_from(scores), MethodConfig(), {})
    assert result["decaying_average"].rmse < result["average"].rmse


def test_every_method_predicts_every_next_result_except_n_mastery_before_it_has_an_estimate():
    rng = np.random.default_rng(3)
    scores = rng.uniform(0, 1, size=(50, 6))
    result = backtest_methods(histories_from(scores), MethodConfig(n=2), {"c1": BktParams(0.4, 0.1, 0.2, 0.1)})
    assert set(result) == set(METHODS)
    for method in set(METHODS) - {"n_mastery"}:
        assert result[method].predictions == 50 * 5
    assert 0 < result["n_mastery"].predictions < 50 * 5


def test_bkt_fitted_on_the_log_ignores_zero_weight_evidence():
    scores = np.tile([0.0, 1.0, 1.0, 1.0], (200, 1))
    histories = histories_from(scores)
    claim = {k: [Observation("claim", START, -1, 1.0, "out_of_school"), *h] for k, h in histories.items()}
    config = MethodConfig(kind_weights={"out_of_school": 0.0})
    assert fit_bkt_on_histories(claim, config, restarts=1) == fit_bkt_on_histories(histories, config, restarts=1)


EVIDENCE_HEADER = "evidence_id,student_id,competency_id,kind,observed_on,recorded_by,score,scale_min,scale_max\n"


def write_evidence_log(path, students: int = 60, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    lines = [EVIDENCE_HEADER]
    for s in range(students):
        skill = rng.uniform(0.2, 0.9)
        for t in range(8):
            for competency in ("frac", "ratio"):
                score = int(np.clip(round(1 + 3 * (skill + 0.03 * t) + rng.normal(0, 0.5)), 1, 4))
                lines.append(
                    f"e{s}-{t}-{competency},s{s},{competency},rubric_rating,"
                    f"{START + timedelta(days=7 * t)},t1,{score},1,4\n"
                )
    path.write_text("".join(lines))


def test_fit_bkt_writes_params_per_competency_that_the_projection_can_load(tmp_path):
    log, out = tmp_path / "evidence.csv", tmp_path / "bkt.json"
    write_evidence_log(log)
    result = CliRunner().invoke(app, ["fit-bkt", str(log), "--out", str(out), "--restarts", "2"])
    assert result.exit_code == 0, result.output
    params = json.loads(out.read_text())["bkt_params"]
    assert set(params) == {"frac", "ratio"}
    assert all(BktParams.from_dict(p).guess < 0.5 for p in params.values())


def test_backtest_prints_auc_and_rmse_for_every_method(tmp_path):
    log = tmp_path / "evidence.csv"
    write_evidence_log(log, students=80)
    result = CliRunner().invoke(app, ["backtest", str(log), "--kind-weight", "self_assessment=0.5"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for method in METHODS:
        assert method in result.output
    assert "held-out students" in result.output


def test_a_knowledge_tracing_csv_is_read_too_and_an_unknown_layout_is_refused(tmp_path):
    kt = tmp_path / "kt.csv"
    rng = np.random.default_rng(5)
    kt.write_text(
        "user_id,skill_name,correct\n"
        + "".join(
            f"{u},{k},{int(rng.random() < 0.3 + 0.05 * t)}\n" for u in range(40) for k in (1, 2) for t in range(10)
        )
    )
    out = tmp_path / "bkt.json"
    assert CliRunner().invoke(app, ["fit-bkt", str(kt), "--out", str(out)]).exit_code == 0
    assert set(json.loads(out.read_text())["bkt_params"]) == {"1", "2"}
    odd = tmp_path / "odd.csv"
    odd.write_text("who,what\n1,2\n")
    refused = CliRunner().invoke(app, ["backtest", str(odd)], terminal_width=200)
    assert refused.exit_code != 0
    assert "neither an evidence log" in refused.output
