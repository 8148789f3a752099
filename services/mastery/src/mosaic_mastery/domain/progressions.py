"""A student's next learning targets from the framework's progressions.

A target is a competency without children (a learning target, not a roll-up) that the student has not
mastered and whose prerequisites they have all mastered. The best next is the one that opens the most
of the progression still ahead of them — not the one they are closest to, which is merely the easiest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mosaic_mastery.domain.records import MasteryRecord
from mosaic_mastery.domain.reference import DistrictReference
from mosaic_mastery.domain.scale import MasteryScale


@dataclass(frozen=True, slots=True)
class LearningTarget:
    competency_id: str
    code: str | None
    statement: str
    level: str | None
    estimate: float | None
    unlocks: int  # competencies not yet mastered that lie beyond it in the progression
    prerequisites: tuple[str, ...]
    reason: str


def next_targets(
    ref: DistrictReference, records: Mapping[str, MasteryRecord], scale: MasteryScale, limit: int = 5
) -> list[LearningTarget]:
    """Targets in order of value: most of the progression opened, then earliest in the framework's sequence."""
    mastered = {c for c, r in records.items() if r.level is not None and scale.is_mastered(r.level)}
    candidates = []
    for competency_id, node in ref.competencies.items():
        if competency_id in mastered or ref.children(competency_id):
            continue
        prerequisites = ref.prerequisites(competency_id)
        if not all(p in mastered for p in prerequisites):
            continue
        unlocks = len(_beyond(ref, competency_id) - mastered)
        record = records.get(competency_id)
        rank = (-unlocks, node.sequence is None, node.sequence or 0, node.code or "", competency_id)
        candidates.append(
            (
                rank,
                LearningTarget(
                    competency_id=competency_id,
                    code=node.code,
                    statement=node.statement,
                    level=record.level if record else None,
                    estimate=record.estimate if record else None,
                    unlocks=unlocks,
                    prerequisites=prerequisites,
                    reason=_reason(unlocks, prerequisites, ref, record),
                ),
            )
        )
    return [target for _, target in sorted(candidates, key=lambda c: c[0])[:limit]]


def _beyond(ref: DistrictReference, competency_id: str) -> set[str]:
    """Every competency that transitively needs this one."""
    seen: set[str] = set()
    frontier = list(ref.dependents(competency_id))
    while frontier:
        node = frontier.pop()
        if node not in seen and node != competency_id:
            seen.add(node)
            frontier.extend(ref.dependents(node))
    return seen


def _reason(unlocks: int, prerequisites: tuple[str, ...], ref: DistrictReference, record: MasteryRecord | None) -> str:
    names = [ref.competencies[p].code or p for p in prerequisites if p in ref.competencies]
    ready = f"prerequisites mastered ({', '.join(names)})" if names else "no prerequisites"
    where = f"currently {record.level}" if record and record.level else "not assessed yet"
    opens = f"opens {unlocks} further competenc{'y' if unlocks == 1 else 'ies'}" if unlocks else "completes a strand"
    return f"{ready}; {where}; {opens}"
