"""Roll child standards' estimates up to their parents in the framework tree."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence


def mean_of_children(values: Sequence[float], n_children: int, mastery_threshold: float) -> float:
    """The plain mean of the children that have an estimate."""
    return sum(values) / len(values)


def min_of_children(values: Sequence[float], n_children: int, mastery_threshold: float) -> float:
    """The parent is as strong as its weakest child with an estimate."""
    return min(values)


def all_children_proficient(values: Sequence[float], n_children: int, mastery_threshold: float) -> float:
    """The mean of the children once every child is at or above mastery; otherwise held below mastery
    (at the weakest child, or just under the threshold when a child has no evidence yet)."""
    mean = sum(values) / len(values)
    if len(values) == n_children and min(values) >= mastery_threshold:
        return mean
    below_mastery = min(values) if min(values) < mastery_threshold else _just_below(mastery_threshold)
    return min(mean, below_mastery)


def _just_below(threshold: float) -> float:
    return max(0.0, math.nextafter(threshold, 0.0))


RollupRule = Callable[[Sequence[float], int, float], float]

ROLLUP_RULES: dict[str, RollupRule] = {
    "mean_of_children": mean_of_children,
    "min_of_children": min_of_children,
    "all_children_proficient": all_children_proficient,
}


def rollup_one(children: Sequence[float | None], rule: str, mastery_threshold: float) -> float | None:
    """One parent's estimate from its children's (None = no evidence yet); None when no child has one."""
    if rule not in ROLLUP_RULES:
        raise ValueError(f"Roll-up rule {rule!r} is unknown; choose one of {sorted(ROLLUP_RULES)}")
    values = [v for v in children if v is not None]
    return ROLLUP_RULES[rule](values, len(children), mastery_threshold) if values else None


def roll_up(
    children_of: Mapping[str, Sequence[str]],
    estimates: Mapping[str, float],
    rule: str,
    mastery_threshold: float,
) -> dict[str, float]:
    """Estimates of every parent in the tree, bottom-up; a child that is itself a parent contributes its roll-up."""
    rolled: dict[str, float | None] = {}

    def visit(node: str, path: tuple[str, ...]) -> float | None:
        if node in path:
            raise ValueError(f"The framework tree has a cycle: {' -> '.join((*path, node))}")
        if node not in children_of or not children_of[node]:
            return estimates.get(node)
        if node not in rolled:
            values = [visit(child, (*path, node)) for child in children_of[node]]
            rolled[node] = rollup_one(values, rule, mastery_threshold)
        return rolled[node]

    for parent in children_of:
        visit(parent, ())
    return {node: value for node, value in rolled.items() if value is not None}


def ancestors(competency: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """The competency's parent, grandparent, … up to the root: the roll-ups to refresh when it changes."""
    chain: list[str] = []
    node = parent_of.get(competency)
    while node is not None:
        if node in chain or node == competency:
            raise ValueError(f"The framework tree has a cycle through {node!r}")
        chain.append(node)
        node = parent_of.get(node)
    return chain
