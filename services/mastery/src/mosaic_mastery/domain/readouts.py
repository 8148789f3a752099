"""What portals read: a student's jagged profile with explanations, a section's heatmap, class and school summaries.

Pure functions over records, reference data and config; the API adapters only fetch and serialize.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from statistics import fmean
from typing import Any

from mosaic_mastery.domain.config import DistrictConfig
from mosaic_mastery.domain.methods import counts, effective_weight
from mosaic_mastery.domain.records import MasteryRecord
from mosaic_mastery.domain.reference import DistrictReference

METHOD_WORDS = {
    "latest": "the most recent result",
    "highest": "the highest result",
    "average": "the weighted mean of all results",
    "weighted_average": "the latest result weighted {w:.0%} plus the mean of the older ones weighted {rest:.0%}",
    "decaying_average": "an exponentially decaying average (each newer result leaves the older {keep} of their weight)",
    "n_mastery": "the mean of the results at or above {threshold:.2f}, once there are at least {n}",
    "bkt": "Bayesian knowledge tracing: the probability the skill is known "
    "(learn {learn:.2f}, guess {guess:.2f}, slip {slip:.2f}, forget {forget:.2f})",
}


def explain(record: MasteryRecord, config: DistrictConfig, ref: DistrictReference) -> str:
    """How the level was computed, in one paragraph a teacher can check by hand."""
    scale = config.scale
    if record.is_rollup:
        children = ref.children(record.competency_id)
        how = (
            f"Rolled up from its {len(children)} child competencies by '{config.settings.rollup_rule}' "
            f"({record.evidence_count} pieces of evidence among them)"
        )
    else:
        method = config.method_for(record.competency_id)
        words = METHOD_WORDS[method.name].format(
            w=method.weight_latest,
            rest=1 - method.weight_latest,
            threshold=method.mastery_threshold,
            n=method.n,
            keep=(
                f"{1 - method.weight_latest:.0%}"
                if method.decay_half_life_days is None
                else f"half per {method.decay_half_life_days:g} days"
            ),
            learn=method.bkt.learn,
            guess=method.bkt.guess,
            slip=method.bkt.slip,
            forget=method.bkt.forget,
        )
        counted = [o for o in record.observations if counts(o, method)]
        weighted = sorted({o.kind for o in counted if effective_weight(o, method) != 1.0})
        weights = (
            (
                " Kinds weighted differently: "
                + ", ".join(f"{k} ×{method.kind_weights.get(k, 1.0):g}" for k in weighted)
                + "."
            )
            if weighted
            else ""
        )
        left_out = len(record.observations) - len(counted)
        uncounted = (
            f" {left_out} goals or self-assessments are kept but not counted (district setting)." if left_out else ""
        )
        how = f"{len(counted)} results combined as {words}.{weights}{uncounted}"
    if record.estimate is None or record.level is None:
        return f"{how} Not enough evidence for an estimate yet."
    level = scale.level(record.level)
    index = scale.index_of(record.level)
    bounds = []
    if index + 1 < len(scale.levels):
        up = scale.levels[index + 1]
        bounds.append(f"{up.name} needs {up.threshold + scale.margin:.2f}")
    if index > 0:
        bounds.append(f"it drops below {level.name} under {level.threshold - scale.margin:.2f}")
    hysteresis = f" (margin {scale.margin:.2f}: {'; '.join(bounds)})" if bounds and not record.is_rollup else ""
    return f"{how} Estimate {record.estimate:.2f} → {record.level}{hysteresis}."


def profile_entry(
    record: MasteryRecord | None, competency_id: str, config: DistrictConfig, ref: DistrictReference
) -> dict[str, Any]:
    node = ref.competencies.get(competency_id)
    entry: dict[str, Any] = {
        "competency_id": competency_id,
        "code": node.code if node else None,
        "statement": node.statement if node else None,
        "parent_id": node.parent_id if node else None,
    }
    if record is None:
        return {
            **entry,
            "level": None,
            "estimate": None,
            "trend": None,
            "evidence_count": 0,
            "last_evidence_on": None,
            "mastered": False,
            "method": None,
            "explanation": "No evidence yet.",
            "evidence": [],
        }
    scale = config.scale
    return {
        **entry,
        "level": record.level,
        "estimate": record.estimate,
        "trend": record.trend,
        "evidence_count": record.evidence_count,
        "last_evidence_on": record.last_evidence_on,
        "mastered": record.level is not None and scale.is_mastered(record.level),
        "method": record.method,
        "explanation": explain(record, config, ref),
        "evidence": [
            {"evidence_id": o.evidence_id, "observed_on": o.observed_on, "score": o.score, "kind": o.kind}
            for o in record.observations
        ],
    }


def jagged_profile(
    student_id: str, records: Mapping[str, MasteryRecord], config: DistrictConfig, ref: DistrictReference
) -> list[dict[str, Any]]:
    """Every competency of the district's frameworks (and any with evidence), in framework order."""
    ids = list(ref.competencies) + sorted(c for c in records if c not in ref.competencies)
    ordered = sorted(ids, key=lambda c: _framework_order(ref, c))
    return [profile_entry(records.get(c), c, config, ref) for c in ordered]


def _framework_order(ref: DistrictReference, competency_id: str) -> tuple[bool, int, str]:
    node = ref.competencies.get(competency_id)
    return (node is None, node.sequence if node and node.sequence is not None else 1 << 30, competency_id)


def level_summary(records: Iterable[MasteryRecord], students: int, config: DistrictConfig) -> dict[str, Any]:
    """Level distribution, share mastered and mean estimate over a set of students' records on one competency."""
    records = [r for r in records if r.level is not None]
    scale = config.scale
    counts = Counter(r.level for r in records)
    mastered = sum(counts[lv.name] for lv in scale.levels if scale.is_mastered(lv.name))
    return {
        "levels": {lv.name: counts.get(lv.name, 0) for lv in scale.levels},
        "assessed": len(records),
        "not_assessed": max(0, students - len(records)),
        "mastered_share": mastered / students if students else 0.0,
        "mean_estimate": fmean(r.estimate for r in records if r.estimate is not None) if records else None,
    }


def summaries(
    students: set[str], records: Iterable[MasteryRecord], config: DistrictConfig, ref: DistrictReference
) -> list[dict[str, Any]]:
    """Per competency: how a group of students stands (class or school)."""
    by_competency: dict[str, list[MasteryRecord]] = {}
    for r in records:
        if r.student_id in students:
            by_competency.setdefault(r.competency_id, []).append(r)
    competencies = sorted(set(ref.competencies) | set(by_competency), key=lambda c: _framework_order(ref, c))
    out = []
    for c in competencies:
        node = ref.competencies.get(c)
        out.append(
            {
                "competency_id": c,
                "code": node.code if node else None,
                **level_summary(by_competency.get(c, []), len(students), config),
            }
        )
    return out
