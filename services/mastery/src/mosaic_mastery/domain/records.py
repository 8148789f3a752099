"""One student's mastery of one competency, and how it follows from the evidence that produced it.

A record is a function of its observations and the district's config: the estimate is the method's
fold over them (oldest first) and the level is the hysteresis path along that fold. Appending an
observation in order is O(1); anything else (corrections, retractions, back-dated evidence, a new
method or scale) replays the list — and both give the same record, so rebuilt equals live.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date

from mosaic_mastery.domain.config import DistrictConfig
from mosaic_mastery.domain.methods import MethodState, appends_in_order, estimate_from_state, fold, fold_all
from mosaic_mastery.domain.observations import Observation
from mosaic_mastery.domain.rollup import rollup_one
from mosaic_mastery.domain.scale import MasteryScale, level_for, level_path

TREND_STEP = 0.02  # an estimate move smaller than this is "steady"


@dataclass
class MasteryRecord:
    district_id: str
    student_id: str
    competency_id: str
    observations: list[Observation] = field(default_factory=list)  # oldest first
    method_state: MethodState = field(default_factory=MethodState)
    next_sequence: int = 0
    estimate: float | None = None
    previous_estimate: float | None = None
    level: str | None = None
    method: str = ""
    rolled_up_count: int = 0  # evidence behind a roll-up record (its children's)
    rolled_up_last_on: date | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.district_id, self.student_id, self.competency_id)

    @property
    def is_rollup(self) -> bool:
        return not self.observations

    @property
    def evidence_ids(self) -> tuple[str, ...]:
        return tuple(o.evidence_id for o in self.observations)

    @property
    def evidence_count(self) -> int:
        return len(self.observations) if self.observations else self.rolled_up_count

    @property
    def last_evidence_on(self) -> date | None:
        if self.observations:
            return self.observations[-1].observed_on  # oldest first
        return self.rolled_up_last_on

    @property
    def trend(self) -> str:
        """The move the latest evidence made: new, rising, falling or steady."""
        if self.estimate is None or self.previous_estimate is None:
            return "new"
        delta = self.estimate - self.previous_estimate
        return "rising" if delta >= TREND_STEP else "falling" if delta <= -TREND_STEP else "steady"

    def take_sequence(self) -> int:
        self.next_sequence += 1
        return self.next_sequence - 1


def current_level(level: str | None, scale: MasteryScale) -> str | None:
    """The level hysteresis starts from; a level the scale no longer has starts over."""
    return level if level is not None and any(lv.name == level for lv in scale.levels) else None


def append(record: MasteryRecord, observation: Observation, config: DistrictConfig) -> None:
    """Add one observation: O(1) when it is the newest, a replay when it is back-dated."""
    method = config.method_for(record.competency_id)
    if record.is_rollup:
        record.estimate = record.previous_estimate = record.level = None
        record.method_state = MethodState()
    if not appends_in_order(record.method_state, observation):
        bisect.insort(record.observations, observation, key=lambda o: o.order_key)
        replay_record(record, config)
        return
    record.observations.append(observation)
    record.method_state = fold(record.method_state, observation, method)
    _advance(record, estimate_from_state(record.method_state, method), config.scale)
    record.method = method.name


def gather(record: MasteryRecord, observation: Observation) -> None:
    """Add an observation without computing anything yet (a deferred replay settles the record once, at the end)."""
    if record.observations and observation.order_key <= record.observations[-1].order_key:
        bisect.insort(record.observations, observation, key=lambda o: o.order_key)
    else:
        record.observations.append(observation)


def replay_record(record: MasteryRecord, config: DistrictConfig) -> None:
    """Recompute estimate, trend and level from the observations alone (the hysteresis path included)."""
    record.method_state, record.estimate, record.previous_estimate, record.level, record.method = _replayed(
        record.observations, record.competency_id, config
    )


def replayed_record(
    key: tuple[str, str, str], observations: list[Observation], next_sequence: int, config: DistrictConfig
) -> MasteryRecord:
    """A new record with these observations (oldest first), replayed: what `replay_record` gives, built in one go."""
    method_state, estimate, previous, level, method = _replayed(observations, key[2], config)
    return MasteryRecord(*key, observations, method_state, next_sequence, estimate, previous, level, method)


def _replayed(
    observations: list[Observation], competency_id: str, config: DistrictConfig
) -> tuple[MethodState, float | None, float | None, str | None, str]:
    """(method state, estimate, previous estimate, level, method name) after every observation, in order."""
    method = config.method_for(competency_id)
    state, estimates = fold_all(observations, method)
    return (
        state,
        estimates[-1] if estimates else None,
        estimates[-2] if len(estimates) > 1 else None,
        level_path(estimates, config.scale),
        method.name,
    )


def _advance(record: MasteryRecord, estimate: float | None, scale: MasteryScale) -> None:
    record.previous_estimate, record.estimate = record.estimate, estimate
    if estimate is not None:
        record.level = level_for(estimate, current_level(record.level, scale), scale).name


def roll_up_record(
    record: MasteryRecord, children: list[MasteryRecord | None], n_children: int, config: DistrictConfig
) -> None:
    """A parent without evidence of its own: its children's estimates rolled up; its level has no hysteresis
    of its own (the children's levels carry it), so it is a function of the children alone."""
    scale, rule = config.scale, config.settings.rollup_rule
    padding: list[float | None] = [None] * (n_children - len(children))
    now = [c.estimate if c is not None else None for c in children] + padding
    before = [c.previous_estimate if c is not None else None for c in children] + padding
    estimate = rollup_one(now, rule, scale.mastery_threshold)
    present = [c for c in children if c is not None]
    record.previous_estimate = rollup_one(before, rule, scale.mastery_threshold)
    record.estimate = estimate
    record.level = None if estimate is None else level_for(estimate, None, scale).name
    record.method = f"rollup:{config.settings.rollup_rule}"
    record.rolled_up_count = sum(c.evidence_count for c in present)
    dates = [c.last_evidence_on for c in present if c.last_evidence_on is not None]
    record.rolled_up_last_on = max(dates) if dates else None
