"""`mosaic-mastery models`: fit BKT per competency and backtest every method on an evidence log.

Reads either the evidence generator's / a district export's evidence.csv (evidence_id, student_id, competency_id,
kind, observed_on, score, scale_min, scale_max, …) or a knowledge-tracing CSV (user_id, skill_name, correct).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mosaic_mastery.domain.backtest import backtest_methods, fit_bkt_on_histories, split_students
from mosaic_mastery.domain.bkt import BktParams
from mosaic_mastery.domain.methods import METHODS, STUDENT_OWN_KINDS, MethodConfig
from mosaic_mastery.domain.observations import Observation, normalize_score

app = typer.Typer(name="models", help="Fit and compare mastery models on an evidence log.", no_args_is_help=True)
console = Console()

Histories = dict[tuple[str, str], list[Observation]]
EVIDENCE_COLUMNS = {
    "evidence_id",
    "student_id",
    "competency_id",
    "kind",
    "observed_on",
    "score",
    "scale_min",
    "scale_max",
}
KT_COLUMNS = {"user_id", "skill_name", "correct"}
KT_DAY = date(2009, 9, 1)  # knowledge-tracing logs carry order, not dates


def read_histories(path: Path) -> Histories:
    """Observations per (competency, student), in the file's order within a day."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        if columns >= EVIDENCE_COLUMNS:
            return _group(_evidence_rows(reader, path))
        if columns >= KT_COLUMNS:
            return _group(_kt_rows(reader))
    raise typer.BadParameter(
        f"{path}: columns {sorted(columns)} are neither an evidence log ({sorted(EVIDENCE_COLUMNS)}) "
        f"nor a knowledge-tracing log ({sorted(KT_COLUMNS)})"
    )


def _evidence_rows(reader: csv.DictReader, path: Path):
    for line, row in enumerate(reader, start=2):
        try:
            score = normalize_score(float(row["score"]), float(row["scale_min"]), float(row["scale_max"]))
            observed_on = date.fromisoformat(row["observed_on"][:10])
        except ValueError as exc:
            raise typer.BadParameter(f"{path} line {line}: {exc}") from None
        yield (
            row["competency_id"],
            row["student_id"],
            Observation(row["evidence_id"], observed_on, line, score, row["kind"]),
        )


def _kt_rows(reader: csv.DictReader):
    for line, row in enumerate(reader, start=2):
        yield (
            row["skill_name"],
            row["user_id"],
            Observation(f"row-{line}", KT_DAY, line, float(row["correct"]), "assessment"),
        )


def _group(rows) -> Histories:
    histories: Histories = {}
    for competency, student, observation in rows:
        histories.setdefault((competency, student), []).append(observation)
    return histories


def parse_kind_weights(pairs: list[str]) -> dict[str, float]:
    weights = {}
    for pair in pairs:
        kind, _, value = pair.partition("=")
        try:
            weights[kind.strip()] = float(value)
        except ValueError:
            message = f"--kind-weight {pair!r}: write it as KIND=WEIGHT, e.g. out_of_school=0.5"
            raise typer.BadParameter(message) from None
    return weights


LogArgument = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="evidence.csv, or a user_id,skill_name,correct CSV")
]
KindWeights = Annotated[list[str], typer.Option("--kind-weight", help="KIND=WEIGHT, repeatable (unlisted kinds: 1.0)")]
Threshold = Annotated[float, typer.Option(min=0.0, max=1.0, help="score counted as mastered (normalized)")]


@app.command("fit-bkt")
def fit_bkt_command(
    log: LogArgument,
    out: Annotated[Path, typer.Option(help='JSON to write: {"bkt_params": {competency: params}}')],
    restarts: Annotated[int, typer.Option(min=1, help="EM restarts per competency (the likeliest wins)")] = 3,
    seed: Annotated[int, typer.Option(help="seed of the random restarts")] = 0,
    forget: Annotated[bool, typer.Option(help="also fit a forgetting rate (AUC .806 vs .763 on ASSISTments)")] = True,
    kind_weight: KindWeights = [],  # noqa: B006 - typer reads the default
) -> None:
    """Fit BKT (prior, learn, guess, slip[, forget]) per competency by EM; writes settings the projection loads."""
    histories = read_histories(log)
    config = MethodConfig(name="bkt", kind_weights=parse_kind_weights(kind_weight))
    params = fit_bkt_on_histories(histories, config, restarts=restarts, seed=seed, fit_forget=forget)
    out.write_text(json.dumps({"bkt_params": {str(c): p.to_dict() for c, p in sorted(params.items())}}, indent=2))
    responses = sum(len(h) for h in histories.values())
    console.print(
        f"fitted {len(params)} competencies from {responses:,} results of "
        f"{len({s for _, s in histories}):,} students → {out}"
    )


@app.command("backtest")
def backtest_command(
    log: LogArgument,
    mastery_threshold: Threshold = 0.75,
    weight_latest: Annotated[float, typer.Option(min=0.01, max=1.0, help="weighted/decaying average weight")] = 0.65,
    decay_half_life_days: Annotated[float | None, typer.Option(help="decay by elapsed days instead")] = None,
    n: Annotated[int, typer.Option(min=1, help="n_mastery: results needed at mastery")] = 3,
    kind_weight: KindWeights = [],  # noqa: B006 - typer reads the default
    bkt_params: Annotated[
        Path | None, typer.Option(help="fitted params JSON (else fitted on the training students)")
    ] = None,
    test_fraction: Annotated[float, typer.Option(min=0.01, max=0.99, help="students held out for scoring")] = 0.2,
    seed: Annotated[int, typer.Option(help="seed of the student split and BKT restarts")] = 0,
    count_self_assessments: Annotated[bool, typer.Option(help="count self-assessments (as a district may)")] = False,
    count_goals: Annotated[bool, typer.Option(help="count goals (as a district may)")] = False,
) -> None:
    """How well each method predicts held-out students' next result from the results before it (AUC, RMSE)."""
    histories = read_histories(log)
    counted = {kind for kind, on in (("self_assessment", count_self_assessments), ("goal", count_goals)) if on}
    base = MethodConfig(
        name="latest",
        weight_latest=weight_latest,
        decay_half_life_days=decay_half_life_days,
        n=n,
        mastery_threshold=mastery_threshold,
        kind_weights=parse_kind_weights(kind_weight),
        uncounted_kinds=STUDENT_OWN_KINDS - counted,
    )
    held_out = split_students([student for _, student in histories], test_fraction, seed)
    test = {key: h for key, h in histories.items() if key[1] in held_out}
    if bkt_params is None:
        train = {key: h for key, h in histories.items() if key[1] not in held_out}
        params = fit_bkt_on_histories(train, base, restarts=3, seed=seed, fit_forget=True)
    else:
        params = {c: BktParams.from_dict(p) for c, p in json.loads(bkt_params.read_text())["bkt_params"].items()}
    scores = backtest_methods(test, base, params)
    table = Table(
        title=f"Next-result prediction on {len(held_out):,} held-out students "
        f"(label: next result ≥ {mastery_threshold:g})"
    )
    for column in ("method", "AUC", "RMSE", "predictions"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method in sorted(scores, key=lambda m: -(scores[m].auc or 0.0)):
        score = scores[method]
        table.add_row(
            method, "n/a" if score.auc is None else f"{score.auc:.4f}", f"{score.rmse:.4f}", f"{score.predictions:,}"
        )
    console.print(table)
    unscored = sorted(set(METHODS) - set(scores))
    if unscored:
        console.print(f"no prediction at all from: {', '.join(unscored)}")
