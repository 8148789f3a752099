"""Can every student get a seat? An exact answer by max-flow, and when not, the cause in words.

Students with the same allowed sessions form one group; a flow from groups to sessions within
seats exists for everyone iff the block is feasible. When it is not, the minimum cut names a set
of students whose sessions seat fewer than them (Hall's condition), which is the cause.
"""

from __future__ import annotations

from collections import defaultdict, deque

from mosaic_scheduling.domain.problem import RegroupProblem

SOURCE, SINK = "source", "sink"


def infeasibility_causes(problem: RegroupProblem) -> list[str]:
    """Why the block cannot be scheduled; empty when every student can get a seat."""
    if problem.causes:
        return list(problem.causes)
    groups = _groups(problem)
    graph = _network(problem, groups)
    if _max_flow(graph) == len(problem.students):
        return []
    return [_hall_violation(problem, groups, _reachable(graph))]


def _groups(problem: RegroupProblem) -> dict[tuple[int, ...], list[str]]:
    """Allowed sessions → the reasons of the students restricted to exactly them."""
    groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for student in problem.students:
        groups[student.allowed].append(student.why_restricted)
    return groups


def _network(problem: RegroupProblem, groups: dict[tuple[int, ...], list[str]]) -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = defaultdict(dict)
    big = len(problem.students) + 1
    for g, (allowed, members) in enumerate(groups.items()):
        _edge(graph, SOURCE, f"g{g}", len(members))
        for j in allowed:
            _edge(graph, f"g{g}", f"s{j}", big)
    for j, seats in enumerate(problem.capacity):
        _edge(graph, f"s{j}", SINK, seats)
    return graph


def _edge(graph: dict[str, dict[str, int]], a: str, b: str, capacity: int) -> None:
    graph[a][b] = graph[a].get(b, 0) + capacity
    graph[b].setdefault(a, 0)


def _max_flow(graph: dict[str, dict[str, int]]) -> int:
    """Edmonds-Karp on the residual graph in place; the graph is small (groups × sessions)."""
    total = 0
    while True:
        parents = _bfs_parents(graph)
        if SINK not in parents:
            return total
        path, node = [], SINK
        while node != SOURCE:
            path.append((parents[node], node))
            node = parents[node]
        push = min(graph[a][b] for a, b in path)
        for a, b in path:
            graph[a][b] -= push
            graph[b][a] += push
        total += push


def _bfs_parents(graph: dict[str, dict[str, int]]) -> dict[str, str]:
    parents, queue = {SOURCE: SOURCE}, deque([SOURCE])
    while queue:
        node = queue.popleft()
        for nxt, residual in graph[node].items():
            if residual > 0 and nxt not in parents:
                parents[nxt] = node
                queue.append(nxt)
    return parents


def _reachable(graph: dict[str, dict[str, int]]) -> set[str]:
    return set(_bfs_parents(graph))


def _hall_violation(problem: RegroupProblem, groups: dict[tuple[int, ...], list[str]], cut: set[str]) -> str:
    """The students on the source side of the minimum cut and the seats they are limited to."""
    reasons: dict[str, int] = defaultdict(int)
    students = 0
    for g, members in enumerate(groups.values()):
        if f"g{g}" in cut:
            students += len(members)
            for why in members:
                reasons[why] += 1
    sessions = [j for j in range(len(problem.sessions)) if f"s{j}" in cut]
    seats = sum(problem.capacity[j] for j in sessions)
    why = ", ".join(f"{n} {what}" for what, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5])
    names = ", ".join(f"{problem.sessions[j].title} ({problem.capacity[j]})" for j in sessions[:8])
    more = f" and {len(sessions) - 8} more" if len(sessions) > 8 else ""
    return (
        f"{students} students can only go to sessions that seat {seats} in block {problem.block.name} "
        f"[{why}]; sessions: {names or 'none'}{more}. Add seats or sessions, or lift placements"
    )
