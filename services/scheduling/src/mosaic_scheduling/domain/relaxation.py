"""A proven lower bound on the objective: its LP relaxation, solved exactly as a min-cost flow.

Kinds of students supply seats to sessions at their cost; each session passes its first
`target` students to the sink at -BALANCE_WEIGHT and the rest at +BALANCE_WEIGHT (the size
imbalance is convex). The flow's cost plus BALANCE_WEIGHT × Σ targets bounds every schedule
from below, whatever CP-SAT had time to prove; its flow is also a good starting point.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.graph.python import min_cost_flow

from mosaic_scheduling.domain.cpsat import disaggregate, student_kinds
from mosaic_scheduling.domain.greedy import Solution
from mosaic_scheduling.domain.problem import BALANCE_WEIGHT, RegroupProblem


@dataclass(frozen=True)
class Relaxation:
    bound: int
    solution: Solution


def flow_relaxation(problem: RegroupProblem) -> Relaxation | None:
    """The bound and the flow's schedule; None if the flow solver does not reach optimality."""
    kinds = student_kinds(problem, None, None)
    sessions_at, sink = len(kinds), len(kinds) + len(problem.sessions)
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = {}
    for k, (allowed, costs, members) in enumerate(kinds):
        flow.set_node_supply(k, len(members))
        for j, cost in zip(allowed, costs, strict=True):
            arcs[k, j] = flow.add_arc_with_capacity_and_unit_cost(k, sessions_at + j, len(members), cost)
    for j, seats in enumerate(problem.capacity):
        target = min(problem.target[j], seats)
        flow.add_arc_with_capacity_and_unit_cost(sessions_at + j, sink, target, -BALANCE_WEIGHT)
        flow.add_arc_with_capacity_and_unit_cost(sessions_at + j, sink, seats - target, BALANCE_WEIGHT)
    flow.set_node_supply(sink, -len(problem.students))
    if flow.solve() != flow.OPTIMAL:
        return None
    values = {key: flow.flow(arc) for key, arc in arcs.items()}
    bound = flow.optimal_cost() + BALANCE_WEIGHT * sum(problem.target)
    return Relaxation(bound, disaggregate(problem, kinds, values))
