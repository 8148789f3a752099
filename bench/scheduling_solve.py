"""Benchmark: regroup a 2,000-student flex block with 60 sessions, and a 50-school district.

Prints, per run: total time (problem, flow, CP-SAT only if the flow's schedule is not within 1 %),
the schedule's cost, the proven lower bound (the LP relaxation, solved exactly as a min-cost flow,
or CP-SAT's own bound) and the optimality gap; also the greedy heuristic's cost alone, a second
run a week later (10% of students' levels moved) to show churn, and the earlier pipeline (CP-SAT
to optimality every time) as a baseline timed in the same run.
Run: `uv run python bench/scheduling_solve.py [--time-limit 20] [--schools 50]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from mosaic_dev.synthetic_block import SyntheticBlock, after_a_week_of_evidence, synthetic_block
from mosaic_scheduling.domain.cpsat import solve_with_cpsat
from mosaic_scheduling.domain.greedy import greedy_solution, objective
from mosaic_scheduling.domain.problem import build_problem
from mosaic_scheduling.domain.regroup import RegroupResult, SolverSettings, regroup
from mosaic_scheduling.domain.relaxation import flow_relaxation


def run(block: SyntheticBlock, settings: SolverSettings) -> tuple[RegroupResult, float]:
    started, cpu = time.perf_counter(), time.process_time()
    result = regroup(block.school, block.block_id, block.students, block.placements, settings)
    run.cpu = time.process_time() - cpu  # type: ignore[attr-defined]
    return result, time.perf_counter() - started


def describe(label: str, result: RegroupResult, seconds: float) -> str:
    gap = "n/a" if result.gap is None else f"{100 * result.gap:.3f}%"
    moved = sum(1 for d in result.decisions if d.moved and d.previous_session_id is not None)
    cpu = getattr(run, "cpu", 0.0)
    return (
        f"{label}: {result.status} by {result.method}; total {seconds:.2f} s, CPU {cpu:.2f} s "
        f"(solver {result.solve_seconds:.2f} s); "
        f"cost {result.cost}; proven bound {result.bound}; gap {gap}; students {len(result.decisions)}; "
        f"moved from last schedule {moved}"
    )


def heuristics(block: SyntheticBlock) -> str:
    """The greedy heuristic and the flow relaxation on their own: cost and time."""
    problem = build_problem(block.school, block.block_id, block.students, block.placements)
    started = time.perf_counter()
    greedy = objective(problem, greedy_solution(problem))
    greedy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    relaxation = flow_relaxation(problem)
    flow_seconds = time.perf_counter() - started
    return (
        f"greedy heuristic alone: cost {greedy} in {greedy_seconds:.2f} s; "
        f"min-cost-flow relaxation: bound {relaxation.bound if relaxation else None} in {flow_seconds:.2f} s"
    )


def cpsat_alone(block: SyntheticBlock, settings: SolverSettings) -> str:
    """CP-SAT from the greedy start, without the flow's bound or schedule: what the solver proves on its own."""
    problem = build_problem(block.school, block.block_id, block.students, block.placements)
    outcome = solve_with_cpsat(
        problem, settings.time_limit_seconds, greedy_solution(problem), settings.workers, candidates=settings.candidates
    )
    if outcome.solution is None:
        return f"cp-sat alone: {outcome.status} in {outcome.seconds:.2f} s"
    cost = objective(problem, outcome.solution)
    gap = 100 * (cost - outcome.bound) / cost
    return (
        f"cp-sat alone (greedy start, {settings.candidates} candidate sessions per student): {outcome.status} "
        f"cost {cost}, its own bound {outcome.bound:.0f}, gap {gap:.2f}% in {outcome.seconds:.2f} s"
    )


def previous_pipeline(block: SyntheticBlock, settings: SolverSettings) -> str:
    """The baseline, timed in the same run: the pipeline before the flow went first (problem, greedy
    start, flow bound, then CP-SAT to proven optimality from the better start)."""
    started, cpu = time.perf_counter(), time.process_time()
    problem = build_problem(block.school, block.block_id, block.students, block.placements)
    greedy = greedy_solution(problem)
    relaxation = flow_relaxation(problem)
    start = min((greedy, relaxation.solution), key=lambda sol: objective(problem, sol))
    outcome = solve_with_cpsat(
        problem, settings.time_limit_seconds, start, settings.workers, lower_bound=relaxation.bound
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return (
        f"baseline (greedy + flow bound + CP-SAT to optimality, as before): {outcome.status} "
        f"cost {objective(problem, outcome.solution)} in {seconds:.2f} s, CPU {cpu:.2f} s "
        f"(CP-SAT {outcome.seconds:.2f} s; its threads' CPU counts too)"
    )


def big_school(settings: SolverSettings) -> None:
    block = synthetic_block(seed=1, students=2000, sessions=60)
    print(
        f"== one school: {len(block.students)} students, {len(block.school.sessions)} sessions, "
        f"{sum(r.capacity for r in block.school.rooms)} seats, {len(block.placements)} teacher pins, "
        f"{sum(1 for s in block.students if s.support_plan)} support plans"
    )
    first, seconds = run(block, settings)
    print(describe("first schedule", first, seconds))
    print(previous_pipeline(block, settings))
    print(heuristics(block))
    print(cpsat_alone(block, settings))
    published = {d.student_id: (d.session_id, d.fit_key) for d in first.decisions}
    week_later = after_a_week_of_evidence(2, block, published)
    second, seconds = run(week_later, settings)
    print(describe("a week later (10% of students moved a level)", second, seconds))
    same_again = after_a_week_of_evidence(3, block, published, share_changed=0.0)
    third, seconds = run(same_again, settings)
    print(describe("re-run with unchanged data", third, seconds))


def district(schools: int, settings: SolverSettings) -> None:
    rng = random.Random(50)
    sizes = [(rng.randint(300, 1200), rng.randint(15, 45)) for _ in range(schools)]
    print(f"== district: {schools} schools, {sum(s for s, _ in sizes)} students, {sum(n for _, n in sizes)} sessions")
    started = time.perf_counter()
    costs, bounds, times, gaps, statuses, solver_times = [], [], [], [], [], []
    for i, (students, sessions) in enumerate(sizes):
        block = synthetic_block(seed=100 + i, students=students, sessions=sessions, school_id=f"school-{i:02d}")
        result, seconds = run(block, settings)
        times.append(seconds)
        solver_times.append(result.solve_seconds)
        statuses.append(result.status)
        if result.status == "infeasible":
            print(f"school-{i:02d} infeasible: {'; '.join(result.causes)}")
            continue
        costs.append(result.cost or 0)
        if result.bound is not None:
            bounds.append(result.bound)
            gaps.append(result.gap or 0.0)
    wall = time.perf_counter() - started
    print(
        f"district total {wall:.1f} s (solving {sum(solver_times):.1f} s); per school median "
        f"{statistics.median(times):.2f} s, max {max(times):.2f} s"
    )
    print(
        f"statuses: { {s: statuses.count(s) for s in sorted(set(statuses))} }; schools with a proven bound: "
        f"{len(bounds)} of {len(costs)}"
    )
    if bounds and len(bounds) == len(costs):
        total_cost, total_bound = sum(costs), sum(bounds)
        print(
            f"district cost {total_cost}; proven bound {total_bound:.0f}; "
            f"gap {100 * (total_cost - total_bound) / total_cost:.3f}%; worst school gap {100 * max(gaps):.3f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=20.0, help="CP-SAT seconds per block")
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings = SolverSettings(time_limit_seconds=args.time_limit, workers=args.workers)
    big_school(settings)
    district(args.schools, settings)


if __name__ == "__main__":
    main()
