"""A fast heuristic: place the most constrained students first, then improve by single moves.

Used when CP-SAT finds nothing in its time limit, for very large blocks, and as CP-SAT's hint.
Only call it on a feasible problem (see feasibility.py); it then always seats everyone.
"""

from __future__ import annotations

from collections import deque

from mosaic_scheduling.domain.problem import ANY_SESSION, BALANCE_WEIGHT, RegroupProblem, StudentTerms

Solution = list[int]  # session index per student, aligned with problem.students


def objective(problem: RegroupProblem, solution: Solution) -> int:
    """The cost both solvers minimise: per-student costs plus the imbalance of group sizes."""
    sizes = _sizes(problem, solution)
    per_student = sum(s.cost_of(j) for s, j in zip(problem.students, solution, strict=True))
    return per_student + BALANCE_WEIGHT * sum(abs(n - t) for n, t in zip(sizes, problem.target, strict=True))


def greedy_solution(problem: RegroupProblem, improvement_rounds: int = 4) -> Solution:
    solution: list[int | None] = [None] * len(problem.students)
    sizes = [0] * len(problem.sessions)
    for i in _placement_order(problem):
        j = _cheapest_with_room(problem, problem.students[i], sizes)
        if j is None:
            j = _make_room(problem, i, solution, sizes)
        solution[i] = j
        sizes[j] += 1
    placed = [j for j in solution if j is not None]
    for _ in range(improvement_rounds):
        moved = _improve(problem, placed, sizes)
        swapped = _swap(problem, placed)
        if not (moved or swapped):
            break
    return placed


def _placement_order(problem: RegroupProblem) -> list[int]:
    """Fewest choices first (pins, locked groups, support plans), then stayers, then by regret."""

    def key(i: int) -> tuple[bool, bool, bool, int, str]:
        s = problem.students[i]
        ranked = sorted(s.costs)
        regret = ranked[1] - ranked[0] if len(ranked) > 1 else 0
        return (len(s.allowed) > 1, s.why_restricted == ANY_SESSION, not s.stays, -regret, s.id)

    return sorted(range(len(problem.students)), key=key)


def _marginal(problem: RegroupProblem, j: int, size: int) -> int:
    return BALANCE_WEIGHT if size >= problem.target[j] else -BALANCE_WEIGHT


def _cheapest_with_room(problem: RegroupProblem, student: StudentTerms, sizes: list[int]) -> int | None:
    best, best_cost = None, None
    for j, cost in zip(student.allowed, student.costs, strict=True):
        if sizes[j] < problem.capacity[j]:
            total = cost + _marginal(problem, j, sizes[j])
            if best_cost is None or total < best_cost:
                best, best_cost = j, total
    return best


def _make_room(problem: RegroupProblem, i: int, solution: list[int | None], sizes: list[int]) -> int:
    """Augmenting path: move placed students along until a seat frees in one of i's sessions."""
    came_from: dict[int, tuple[int, int] | None] = {j: None for j in problem.students[i].allowed}
    queue = deque(problem.students[i].allowed)
    while queue:
        j = queue.popleft()
        if sizes[j] < problem.capacity[j]:
            return _shift_along(came_from, j, solution, sizes)
        for k, placed in enumerate(solution):
            if placed != j:
                continue
            for j2 in problem.students[k].allowed:
                if j2 not in came_from:
                    came_from[j2] = (k, j)
                    queue.append(j2)
    raise ValueError(f"no seat for student {problem.students[i].id}: check feasibility before the heuristic")


def _shift_along(
    came_from: dict[int, tuple[int, int] | None], free: int, solution: list[int | None], sizes: list[int]
) -> int:
    j = free
    while (step := came_from[j]) is not None:
        k, previous = step
        solution[k] = j
        sizes[j] += 1
        sizes[previous] -= 1
        j = previous
    return j


def _improve(problem: RegroupProblem, solution: list[int], sizes: list[int]) -> bool:
    """One pass of single-student moves that lower the objective; True if anything moved."""
    moved = False
    for i, student in enumerate(problem.students):
        here = solution[i]
        leave = student.cost_of(here) + _marginal(problem, here, sizes[here] - 1)
        best, gain = here, 0
        for j, cost in zip(student.allowed, student.costs, strict=True):
            if j != here and sizes[j] < problem.capacity[j]:
                delta = cost + _marginal(problem, j, sizes[j]) - leave
                if delta < gain:
                    best, gain = j, delta
        if best != here:
            sizes[here] -= 1
            sizes[best] += 1
            solution[i] = best
            moved = True
    return moved


def _sizes(problem: RegroupProblem, solution: Solution) -> list[int]:
    sizes = [0] * len(problem.sessions)
    for j in solution:
        sizes[j] += 1
    return sizes


def _swap(problem: RegroupProblem, solution: list[int]) -> bool:
    """Exchange students between pairs of sessions where both sides gain overall (sizes unchanged)."""
    members: dict[int, list[int]] = {}
    for i, j in enumerate(solution):
        members.setdefault(j, []).append(i)
    pairs: set[tuple[int, int]] = set()  # only sessions someone would rather leave for can take part in a gainful swap
    for i, a in enumerate(solution):
        costs = problem.students[i].cost_by_session
        pairs.update((min(a, b), max(a, b)) for b, cost in costs.items() if cost < costs[a])
    swapped = False
    for a, b in sorted(pairs):
        swapped |= _swap_between(problem, solution, members, a, b)
    return swapped


def _swap_between(problem: RegroupProblem, solution: list[int], members: dict[int, list[int]], a: int, b: int) -> bool:
    def gains(here: int, there: int) -> list[tuple[int, int]]:
        found = []
        for i in members.get(here, ()):
            costs = problem.students[i].cost_by_session
            if there in costs:
                found.append((costs[here] - costs[there], i))
        return sorted(found, reverse=True)

    swapped = False
    for (gain_ab, i), (gain_ba, k) in zip(gains(a, b), gains(b, a), strict=False):
        if gain_ab + gain_ba <= 0:
            break
        solution[i], solution[k] = b, a
        members[a].remove(i)
        members[b].remove(k)
        members[a].append(k)
        members[b].append(i)
        swapped = True
    return swapped
