"""Mosaic's BKT against pyBKT 1.4.3 on the same student split of ASSISTments 2009 (skill builder).

Both fit per skill on 80% of the students (Mosaic also with a fitted forgetting rate) and predict every
response of the other 20% from the responses before it; the table shows AUC, RMSE and fit time (wall and
CPU, since the machine is shared).
pyBKT runs in its own virtualenv (bench/pybkt/setup.sh) because it needs scikit-learn < 1.5.

    uv run python bench/bkt_vs_pybkt.py [--data PATH] [--seed 0] [--restarts 1 3] [--pybkt-fits 1]
                                        [--pybkt-forgets] [--reuse-pybkt]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from mosaic_mastery.domain.backtest import bkt_holdout, score_predictions, split_students

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "kt" / "assistments2009_builder_train.csv"


def load(path: Path) -> np.ndarray:
    """user_id, skill_name, correct as integer columns, rows in file (chronological) order."""
    header = path.open().readline().strip().split(",")
    if header[:3] != ["user_id", "skill_name", "correct"]:
        raise SystemExit(f"{path}: expected columns user_id,skill_name,correct; got {header}")
    return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, usecols=(0, 1, 2))


def write_split(data: np.ndarray, held_out: set, workdir: Path) -> np.ndarray:
    """train.csv / test.csv for pyBKT, with order_id = the row's index in the original file."""
    workdir.mkdir(parents=True, exist_ok=True)
    is_test = np.isin(data[:, 0], np.fromiter(held_out, dtype=np.int64))
    for name, mask in (("train", ~is_test), ("test", is_test)):
        rows = np.column_stack((np.flatnonzero(mask), data[mask]))
        np.savetxt(
            workdir / f"{name}.csv",
            rows,
            fmt="%d",
            delimiter=",",
            header="order_id,user_id,skill_name,correct",
            comments="",
        )
    return is_test


def run_pybkt(workdir: Path, fits: int, seed: int, reuse: bool, forgets: bool) -> dict:
    prefix = "pybkt_forgets" if forgets else "pybkt"
    timing_file, predictions_file = workdir / f"{prefix}_timing.json", workdir / f"{prefix}_predictions.csv"
    if not (reuse and timing_file.exists() and predictions_file.exists()):
        python = (
            subprocess.run([str(ROOT / "bench" / "pybkt" / "setup.sh")], check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        print(
            f"fitting pyBKT ({fits} fit(s) per skill, forgets={forgets}) in {python} ...", file=sys.stderr, flush=True
        )
        done = subprocess.run(
            [
                python,
                str(ROOT / "bench" / "pybkt" / "run_pybkt.py"),
                "train.csv",
                "test.csv",
                predictions_file.name,
                str(fits),
                str(seed),
                "forgets" if forgets else "plain",
            ],
            cwd=workdir,
            check=True,
            capture_output=True,
            text=True,
        )
        timing_file.write_text(done.stdout.strip().splitlines()[-1])
    predictions = np.loadtxt(predictions_file, delimiter=",", skiprows=1)
    return {
        **json.loads(timing_file.read_text()),
        "order_id": predictions[:, 0].astype(np.int64),
        "predictions": predictions[:, 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--restarts", type=int, nargs="+", default=[1, 3], help="Mosaic EM restarts to try")
    parser.add_argument("--pybkt-fits", type=int, default=1, help="pyBKT num_fits (random restarts)")
    parser.add_argument("--pybkt-forgets", action="store_true", help="also fit pyBKT with forgets=True")
    parser.add_argument("--reuse-pybkt", action="store_true", help="reuse pyBKT's last output for this split")
    args = parser.parse_args()

    data = load(args.data)
    students, skills, correct = data[:, 0], data[:, 1], data[:, 2].astype(float)
    held_out = split_students(students, args.test_fraction, args.seed)
    workdir = ROOT / ".cache" / "bench-bkt" / f"seed{args.seed}-test{args.test_fraction}"
    is_test = write_split(data, held_out, workdir)
    print(
        f"{len(data):,} responses, {len(np.unique(students))} students ({len(held_out)} held out), "
        f"{len(np.unique(skills))} skills; {is_test.sum():,} held-out responses",
        flush=True,
    )

    rows = []
    for forget in (False, True):
        for restarts in args.restarts:
            ours = bkt_holdout(
                students,
                skills,
                correct,
                test_fraction=args.test_fraction,
                seed=args.seed,
                restarts=restarts,
                fit_forget=forget,
            )
            name = f"mosaic{' +forget' if forget else ''} ({restarts} restart{'s' if restarts > 1 else ''})"
            rows.append((name, ours.score, ours.fit_wall_seconds, ours.fit_seconds, ours.predictions))
    for forgets in (False, True) if args.pybkt_forgets else (False,):
        theirs = run_pybkt(workdir, args.pybkt_fits, args.seed, args.reuse_pybkt, forgets)
        pybkt_predictions = np.full(len(data), np.nan)
        pybkt_predictions[theirs["order_id"]] = theirs["predictions"]
        pybkt_score = score_predictions(correct[is_test], pybkt_predictions[is_test])
        name = f"pyBKT 1.4.3{' +forget' if forgets else ''} ({args.pybkt_fits} fit)"
        rows.append((name, pybkt_score, theirs["fit_seconds"], theirs["fit_cpu_seconds"], pybkt_predictions))

    pybkt_wall, pybkt_cpu = next((wall, cpu) for name, _, wall, cpu, _ in rows if name.startswith("pyBKT 1.4.3 ("))
    print(f"\n{'model':<30}{'AUC':>8}{'RMSE':>8}{'fit wall s':>12}{'fit CPU s':>11}{'wall ×':>9}{'CPU ×':>8}")
    for name, score, wall, cpu, _ in rows:
        print(
            f"{name:<30}{score.auc:>8.4f}{score.rmse:>8.4f}{wall:>12.1f}{cpu:>11.1f}"
            f"{pybkt_wall / wall:>9.1f}{pybkt_cpu / cpu:>8.1f}"
        )
    print(
        "(× = pyBKT's fit time divided by this model's; all score the same held-out responses; "
        "rows without +forget fit no forgetting, pyBKT's default)"
    )


if __name__ == "__main__":
    main()
