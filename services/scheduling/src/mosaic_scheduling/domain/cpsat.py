"""The assignment as a CP-SAT model, solved within a time limit.

Students with the same allowed sessions and the same costs are interchangeable, so the model
counts how many of each kind go where instead of deciding each student: a 2,000-student block
shrinks to a few hundred kinds, and the solver proves a tight bound.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ortools.sat.python import cp_model

from mosaic_scheduling.domain.greedy import Solution
from mosaic_scheduling.domain.problem import BALANCE_WEIGHT, RegroupProblem


@dataclass(frozen=True)
class SolverOutcome:
    solution: Solution | None
    status: str  # OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN, MODEL_INVALID
    objective: float | None
    bound: float | None
    seconds: float
    variables: int


def solve_with_cpsat(
    problem: RegroupProblem,
    time_limit: float,
    hint: Solution | None = None,
    workers: int = 2,
    seed: int = 7,
    candidates: int | None = None,
    lower_bound: int | None = None,
    relative_gap: float = 0.0,
) -> SolverOutcome:
    """Solve; with `candidates`, each student may only go to that many of their cheapest sessions
    (plus where the hint puts them), which keeps very large blocks within the time limit. A proven
    `lower_bound` (the flow relaxation) is added as a cut, so reaching it ends the search; so does a
    schedule proven within `relative_gap` of the solver's bound."""
    kinds = student_kinds(problem, hint, candidates)
    model = cp_model.CpModel()
    counts = {
        (k, j): model.new_int_var(0, len(members), "") for k, (allowed, _, members) in enumerate(kinds) for j in allowed
    }
    for k, (allowed, _, members) in enumerate(kinds):
        model.add(cp_model.LinearExpr.sum([counts[k, j] for j in allowed]) == len(members))
    deviations = _size_limits_and_balance(model, problem, kinds, counts)
    terms = [
        (counts[k, j], cost)
        for k, (allowed, costs, _) in enumerate(kinds)
        for j, cost in zip(allowed, costs, strict=True)
    ] + [(d, BALANCE_WEIGHT) for d in deviations]
    model.minimize(cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms]))
    if lower_bound is not None:  # the objective's own domain, so the search stops when it is reached
        model.proto.objective.domain.extend([int(lower_bound - model.proto.objective.offset), cp_model.INT_MAX])
    if hint is not None:
        _add_hint(model, problem, kinds, counts, deviations, hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.relative_gap_limit = relative_gap
    # A transportation-like model gains little from heavy presolve; on big blocks it took most of the time.
    solver.parameters.symmetry_level = 0
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.max_presolve_iterations = 1
    status = solver.solve(model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolverOutcome(None, name, None, None, solver.wall_time, len(counts))
    solution = disaggregate(problem, kinds, {key: solver.value(v) for key, v in counts.items()})
    return SolverOutcome(
        solution, name, solver.objective_value, solver.best_objective_bound, solver.wall_time, len(counts)
    )


Kind = tuple[tuple[int, ...], tuple[int, ...], list[int]]  # allowed, costs, student indices
Counts = dict[tuple[int, int], cp_model.IntVar]  # (kind, session) -> how many of the kind sit in it


def student_kinds(problem: RegroupProblem, hint: Solution | None, candidates: int | None) -> list[Kind]:
    by_terms: dict[tuple[tuple[int, ...], tuple[int, ...]], list[int]] = defaultdict(list)
    for i, s in enumerate(problem.students):
        allowed, costs = s.allowed, s.costs
        if candidates is not None and len(allowed) > candidates:
            kept = {j: c for c, j in sorted(zip(costs, allowed, strict=True))[:candidates]}
            if hint is not None:
                kept.setdefault(hint[i], s.cost_of(hint[i]))
            order = sorted(kept)
            allowed, costs = tuple(order), tuple(kept[j] for j in order)
        by_terms[(allowed, costs)].append(i)
    return [(allowed, costs, members) for (allowed, costs), members in by_terms.items()]


def _size_limits_and_balance(
    model: cp_model.CpModel, problem: RegroupProblem, kinds: list[Kind], counts: Counts
) -> list[cp_model.IntVar]:
    into: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for (_k, j), var in counts.items():
        into[j].append(var)
    deviations = []
    for j, seats in enumerate(problem.capacity):
        size = cp_model.LinearExpr.sum(into[j])
        model.add(size <= seats)
        # Two inequalities rather than an abs constraint: the minimisation makes them tight, and
        # the LP relaxation stays exact, so the bound is strong from the start.
        deviation = model.new_int_var(0, max(seats, problem.target[j]), f"dev_{j}")
        model.add(deviation >= size - problem.target[j])
        model.add(deviation >= problem.target[j] - size)
        deviations.append(deviation)
    return deviations


def _add_hint(
    model: cp_model.CpModel,
    problem: RegroupProblem,
    kinds: list[Kind],
    counts: Counts,
    deviations: list[cp_model.IntVar],
    hint: Solution,
) -> None:
    """Hint every variable at once (the per-variable API is slow for tens of thousands)."""
    sizes = [0] * len(problem.sessions)
    for j in hint:
        sizes[j] += 1
    variables, values = [], []
    for k, (allowed, _, members) in enumerate(kinds):
        placed: dict[int, int] = defaultdict(int)
        for i in members:
            placed[hint[i]] += 1
        for j in allowed:
            variables.append(counts[k, j].index)
            values.append(placed[j])
    for j, deviation in enumerate(deviations):
        variables.append(deviation.index)
        values.append(abs(sizes[j] - problem.target[j]))
    model.proto.solution_hint.vars.extend(variables)
    model.proto.solution_hint.values.extend(values)


def disaggregate(problem: RegroupProblem, kinds: list[Kind], values: dict[tuple[int, int], int]) -> Solution:
    """Seat each kind's students; among equals, those already in a session keep it."""
    solution = [-1] * len(problem.students)
    for k, (allowed, _, members) in enumerate(kinds):
        seats = {j: values[k, j] for j in allowed}
        waiting = []
        for i in sorted(members, key=lambda i: problem.students[i].id):
            previous = problem.students[i].previous
            if previous is not None and seats.get(previous, 0) > 0:
                solution[i] = previous
                seats[previous] -= 1
            else:
                waiting.append(i)
        for i in waiting:
            j = next(j for j in allowed if seats[j] > 0)
            solution[i] = j
            seats[j] -= 1
    return solution
