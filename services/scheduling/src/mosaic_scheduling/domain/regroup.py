"""Regroup one block: check it can be done, solve it, and explain every placement.

The assignment is a min-cost flow whose optimal flow is integral, so the flow's schedule is solved
first and is usually proven optimal by its own cost. CP-SAT (from the flow's or the greedy
heuristic's start) only runs when that schedule is not within the gap limit of the bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from mosaic_scheduling.domain.cpsat import solve_with_cpsat
from mosaic_scheduling.domain.feasibility import infeasibility_causes
from mosaic_scheduling.domain.greedy import Solution, greedy_solution, objective
from mosaic_scheduling.domain.model import Participant, Placement, School
from mosaic_scheduling.domain.problem import STILL_FITS, RegroupProblem, StudentTerms, build_problem
from mosaic_scheduling.domain.relaxation import flow_relaxation

Status = Literal["optimal", "feasible", "infeasible"]


@dataclass(frozen=True)
class SolverSettings:
    time_limit_seconds: float = 10.0
    workers: int = 2
    # Above this many (student × session) decisions CP-SAT only considers each student's
    # `candidates` cheapest sessions; above `max_solver_decisions` the heuristic alone is used.
    prune_above_decisions: int = 20_000
    candidates: int = 8
    max_solver_decisions: int = 400_000
    # A schedule proven within this fraction of the bound is good enough; the search stops there.
    gap_limit: float = 0.01


@dataclass(frozen=True)
class Decision:
    """Where one student goes in the block, and why, in a sentence a teacher can read."""

    student_id: str
    session_id: str
    reason: str
    pinned: bool
    previous_session_id: str | None
    fit_key: str
    notes: tuple[str, ...] = ()

    @property
    def moved(self) -> bool:
        return self.previous_session_id != self.session_id


@dataclass(frozen=True)
class RegroupResult:
    block_id: str
    status: Status
    decisions: tuple[Decision, ...] = ()
    causes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    method: str = ""
    cost: int | None = None
    bound: float | None = None
    solve_seconds: float = 0.0

    @property
    def gap(self) -> float | None:
        """The solution's cost against the solver's proven bound: 0.0 means proven optimal."""
        if self.cost is None or self.bound is None:
            return None
        return 0.0 if self.cost == 0 else max(0.0, (self.cost - self.bound) / self.cost)


def regroup(
    school: School,
    block_id: str,
    participants: list[Participant],
    placements: list[Placement],
    settings: SolverSettings = SolverSettings(),
) -> RegroupResult:
    problem = build_problem(school, block_id, participants, placements)
    causes = infeasibility_causes(problem)
    if causes:
        return RegroupResult(block_id, "infeasible", causes=tuple(causes), notes=tuple(problem.notes))
    started = time.perf_counter()
    solution, status, method, bound = _solve(problem, settings)
    seconds = time.perf_counter() - started
    decisions = tuple(_decide(problem, i, j) for i, j in enumerate(solution))
    return RegroupResult(
        block_id, status, decisions, (), tuple(problem.notes), method, objective(problem, solution), bound, seconds
    )


def _solve(problem: RegroupProblem, settings: SolverSettings) -> tuple[Solution, Status, str, float | None]:
    """The min-cost flow first: its schedule is integral and its cost is the bound, so it is usually
    proven optimal at once. CP-SAT runs only when the flow's schedule is not within `gap_limit` of its
    bound (or the flow failed), warm-started from the flow's schedule and stopped within that gap."""
    if not problem.students:
        return [], "optimal", "nothing to place", 0.0
    relaxation = flow_relaxation(problem)
    bound = None if relaxation is None else float(relaxation.bound)
    if relaxation is not None and bound is not None:
        cost = objective(problem, relaxation.solution)
        if _within(cost, bound, settings.gap_limit):
            return relaxation.solution, "optimal" if cost <= bound else "feasible", "flow relaxation", bound
    candidates = {"greedy": greedy_solution(problem)}
    if relaxation is not None:
        candidates["flow relaxation"] = relaxation.solution
    decisions = sum(len(s.allowed) for s in problem.students)
    if decisions > settings.max_solver_decisions:
        method, best = min(candidates.items(), key=lambda kv: objective(problem, kv[1]))
        proven = bound is not None and objective(problem, best) <= bound
        return best, "optimal" if proven else "feasible", method, bound
    start = min(candidates.values(), key=lambda sol: objective(problem, sol))
    pruned = decisions > settings.prune_above_decisions
    outcome = solve_with_cpsat(
        problem,
        settings.time_limit_seconds,
        start,
        settings.workers,
        candidates=settings.candidates if pruned else None,
        lower_bound=None if relaxation is None else relaxation.bound,
        relative_gap=settings.gap_limit,
    )
    if outcome.solution is not None:
        candidates["cp-sat"] = outcome.solution
        if not pruned and outcome.bound is not None:
            bound = max(bound or outcome.bound, outcome.bound)
    method, best = min(candidates.items(), key=lambda kv: (objective(problem, kv[1]), kv[0] != "cp-sat"))
    if outcome.solution is None:
        method = f"{method} (cp-sat: {outcome.status.lower()})"
    cost = objective(problem, best)
    proven = (outcome.status == "OPTIMAL" and not pruned and method == "cp-sat" and settings.gap_limit == 0) or (
        bound is not None and cost <= bound
    )
    return best, "optimal" if proven else "feasible", method, bound


def _within(cost: int, bound: float | None, gap_limit: float) -> bool:
    """Proven good enough: the cost is within `gap_limit` (a fraction of the cost) of the bound."""
    return bound is not None and cost - bound <= gap_limit * abs(cost)


def _decide(problem: RegroupProblem, i: int, j: int) -> Decision:
    student = problem.students[i]
    session = problem.sessions[j]
    fit = student.fits[student.allowed.index(j)]
    notes = []
    reason = fit.reason
    if student.binding is not None:
        reason = f"{reason}; placed by {student.binding.placed_by} ({student.binding.priority.name.lower()})"
        worse = _pin_costs_fit(problem, student, j)
        if worse:
            notes.append(worse)
    elif student.why_restricted.startswith("support plan") or student.why_restricted.startswith("locked group"):
        reason = f"{reason}; {student.why_restricted}"
    previous = problem.sessions[student.previous].id if student.previous is not None else None
    return Decision(
        student.id, session.id, reason, student.binding is not None, previous, student.fit_key, tuple(notes)
    )


def _pin_costs_fit(problem: RegroupProblem, student: StudentTerms, pinned: int) -> str | None:
    """When a pin holds a student where they fit clearly worse than elsewhere, say so."""
    pinned_cost = student.fits[0].cost
    if student.best_unpinned is None:
        return None
    title, fit = student.best_unpinned
    if pinned_cost - fit.cost <= STILL_FITS:
        return None
    return (
        f"pin forces a worse fit: {title} would fit better ({fit.reason}; cost {fit.cost} "
        f"vs {pinned_cost} in {problem.sessions[pinned].title})"
    )
