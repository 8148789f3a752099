"""Mastery calculation methods: pure functions from a student's observations on one competency to an estimate.

Every method reads observations oldest first and returns an estimate in 0..1, or None while there
is not enough evidence. `fold` gives the same answers incrementally, O(1) per new observation, for
observations arriving in chronological order; anything else (corrections, back-dated evidence) replays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import NamedTuple

from .bkt import BktParams, bkt_update
from .observations import Observation, chronological

EMPTY_WEIGHTS: Mapping[str, float] = MappingProxyType({})
# A goal is an intention and a self-assessment a student's own view, not a demonstration: neither counts
# toward mastery unless the district turns it on (DistrictSettings.count_goals / count_self_assessments).
STUDENT_OWN_KINDS: frozenset[str] = frozenset({"goal", "self_assessment"})


@dataclass(frozen=True, slots=True)
class MethodConfig:
    """Which method a district (or one competency) uses, and its knobs."""

    name: str = "decaying_average"
    weight_latest: float = 0.65  # weighted_average: share of the latest; decaying_average: 1 - decay per result
    decay_half_life_days: float | None = None  # decaying_average decays by elapsed days instead, when set
    n: int = 3  # n_mastery: results needed at or above mastery
    mastery_threshold: float = 0.75  # n_mastery: what counts as "at or above mastery"
    kind_weights: Mapping[str, float] = field(default_factory=lambda: EMPTY_WEIGHTS)  # missing kind: 1.0
    bkt: BktParams = field(default_factory=BktParams)
    uncounted_kinds: frozenset[str] = STUDENT_OWN_KINDS  # left out of the fold entirely, whatever their weight

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise ValueError(f"MethodConfig.name {self.name!r} is not a method; choose one of {sorted(METHODS)}")
        if not 0.0 < self.weight_latest <= 1.0:
            raise ValueError(f"MethodConfig.weight_latest = {self.weight_latest} must be in (0, 1]")
        if self.decay_half_life_days is not None and self.decay_half_life_days <= 0:
            raise ValueError(f"MethodConfig.decay_half_life_days = {self.decay_half_life_days} must be > 0 or None")
        if self.n < 1:
            raise ValueError(f"MethodConfig.n = {self.n} must be at least 1")
        if not 0.0 <= self.mastery_threshold <= 1.0:
            raise ValueError(f"MethodConfig.mastery_threshold = {self.mastery_threshold} must be in 0..1")
        bad = {kind: w for kind, w in self.kind_weights.items() if w < 0}
        if bad:
            raise ValueError(f"MethodConfig.kind_weights must be >= 0; negative for {bad}")
        object.__setattr__(self, "kind_weights", MappingProxyType(dict(self.kind_weights)))
        object.__setattr__(self, "uncounted_kinds", frozenset(self.uncounted_kinds))


def counts(observation: Observation, config: MethodConfig) -> bool:
    """False for kinds the district does not count (goals, self-assessments by default): as if never recorded."""
    return observation.kind not in config.uncounted_kinds


def effective_weight(observation: Observation, config: MethodConfig) -> float:
    """The evidence's own weight times its kind's weight; 0 means the method ignores it."""
    if not counts(observation, config):
        return 0.0
    return observation.weight * config.kind_weights.get(observation.kind, 1.0)


def _weighted(observations: Iterable[Observation], config: MethodConfig) -> list[tuple[Observation, float]]:
    """Chronological (observation, weight) pairs, dropping zero-weight evidence."""
    pairs = ((o, effective_weight(o, config)) for o in chronological(observations) if counts(o, config))
    return [(o, w) for o, w in pairs if w > 0.0]


def _mean(pairs: Sequence[tuple[Observation, float]]) -> float:
    return sum(o.score * w for o, w in pairs) / sum(w for _, w in pairs)


def latest(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """The most recent result."""
    pairs = _weighted(observations, config)
    return pairs[-1][0].score if pairs else None


def highest(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """The best result so far."""
    pairs = _weighted(observations, config)
    return max(o.score for o, _ in pairs) if pairs else None


def average(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """The (kind-weighted) mean of all results."""
    pairs = _weighted(observations, config)
    return _mean(pairs) if pairs else None


def weighted_average(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """Canvas's weighted average: latest × w + (weighted) mean of the older results × (1 − w)."""
    pairs = _weighted(observations, config)
    if not pairs:
        return None
    if len(pairs) == 1:
        return pairs[0][0].score
    w = config.weight_latest
    return pairs[-1][0].score * w + _mean(pairs[:-1]) * (1.0 - w)


def decay_factor(earlier: date, later: date, config: MethodConfig) -> float:
    """How much an older result's weight shrinks when a newer one arrives: per result, or per elapsed day."""
    if config.decay_half_life_days is None:
        return 1.0 - config.weight_latest
    return float(0.5 ** ((later - earlier).days / config.decay_half_life_days))


def decaying_average(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """Normalized exponentially decaying mean: result i weighs w_i × Π of the decay factors after it."""
    pairs = _weighted(observations, config)
    if not pairs:
        return None
    total = weight_sum = 0.0
    previous: date | None = None
    for observation, w in pairs:
        if previous is not None:
            factor = decay_factor(previous, observation.observed_on, config)
            total, weight_sum = total * factor, weight_sum * factor
        total += w * observation.score
        weight_sum += w
        previous = observation.observed_on
    return total / weight_sum if weight_sum > 0.0 else pairs[-1][0].score


def n_mastery(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """None until n results are at or above mastery; then the (weighted) mean of those results."""
    pairs = [(o, w) for o, w in _weighted(observations, config) if o.score >= config.mastery_threshold]
    return _mean(pairs) if len(pairs) >= config.n else None


def bkt(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """P(known) after tracing every result through the competency's BKT model (score = fraction correct)."""
    pairs = _weighted(observations, config)
    if not pairs:
        return None
    p_known = config.bkt.prior
    for observation, w in pairs:
        p_known = bkt_update(p_known, observation.score, config.bkt, weight=w)
    return p_known


Method = Callable[[Iterable[Observation], MethodConfig], float | None]

METHODS: dict[str, Method] = {
    "latest": latest,
    "highest": highest,
    "average": average,
    "weighted_average": weighted_average,
    "decaying_average": decaying_average,
    "n_mastery": n_mastery,
    "bkt": bkt,
}


def estimate(observations: Iterable[Observation], config: MethodConfig) -> float | None:
    """The estimate of the configured method."""
    return METHODS[config.name](observations, config)


@dataclass(frozen=True, slots=True)
class MethodState:
    """Running sums from which every method's estimate follows; fold one observation at a time, in order."""

    count: int = 0
    last_key: tuple[date, int] | None = None
    latest_score: float | None = None
    latest_weight: float = 0.0
    highest_score: float | None = None
    weight_sum: float = 0.0
    weighted_score_sum: float = 0.0
    decayed_weight_sum: float = 0.0
    decayed_score_sum: float = 0.0
    mastered_count: int = 0
    mastered_weight_sum: float = 0.0
    mastered_score_sum: float = 0.0
    p_known: float | None = None


def appends_in_order(state: MethodState, observation: Observation) -> bool:
    """True when the observation comes after everything folded so far, so `fold` is exact."""
    return state.last_key is None or observation.order_key > state.last_key


def fold(state: MethodState, observation: Observation, config: MethodConfig) -> MethodState:
    """The state after one more observation, O(1). It must come after those already folded."""
    if not counts(observation, config):
        return state  # not even its date: the state is exactly the one without it
    if not appends_in_order(state, observation):
        raise ValueError(
            f"Observation {observation.evidence_id} at {observation.order_key} is older than the last folded "
            f"{state.last_key}; recompute with replay(...) instead"
        )
    w = effective_weight(observation, config)
    last = state.last_key
    factor = 1.0 if state.count == 0 or last is None else decay_factor(last[0], observation.observed_on, config)
    if w <= 0.0:  # ignored, but elapsed time still decays (per-day factors compose); per-result decay does not
        if config.decay_half_life_days is None:
            factor = 1.0
        return replace(
            state,
            last_key=observation.order_key,
            decayed_weight_sum=state.decayed_weight_sum * factor,
            decayed_score_sum=state.decayed_score_sum * factor,
        )
    score = observation.score
    mastered = score >= config.mastery_threshold
    return MethodState(
        count=state.count + 1,
        last_key=observation.order_key,
        latest_score=score,
        latest_weight=w,
        highest_score=score if state.highest_score is None else max(state.highest_score, score),
        weight_sum=state.weight_sum + w,
        weighted_score_sum=state.weighted_score_sum + w * score,
        decayed_weight_sum=state.decayed_weight_sum * factor + w,
        decayed_score_sum=state.decayed_score_sum * factor + w * score,
        mastered_count=state.mastered_count + mastered,
        mastered_weight_sum=state.mastered_weight_sum + (w if mastered else 0.0),
        mastered_score_sum=state.mastered_score_sum + (w * score if mastered else 0.0),
        p_known=bkt_update(config.bkt.prior if state.p_known is None else state.p_known, score, config.bkt, w),
    )


def replay(observations: Iterable[Observation], config: MethodConfig) -> MethodState:
    """The state after all observations, folded oldest first."""
    state = MethodState()
    for observation in chronological(observations):
        state = fold(state, observation, config)
    return state


def fold_all(observations: Sequence[Observation], config: MethodConfig) -> tuple[MethodState, list[float | None]]:
    """`fold` over observations already in order, with the running sums kept in locals: the final state and
    the estimate after each observation (one per observation, uncounted ones repeating the last). A replay
    needs every step's estimate for the hysteresis path; a frozen `MethodState` per step cost most of it, so
    each step's sums are a plain tuple the same estimates read.
    `test_fold_all_equals_folding_one_at_a_time` holds it to `fold` and `estimate_from_state`."""
    half_life, per_result_decay = config.decay_half_life_days, 1.0 - config.weight_latest
    threshold, kind_weights, uncounted, params = (
        config.mastery_threshold,
        config.kind_weights,
        config.uncounted_kinds,
        config.bkt,
    )
    from_state = _FROM_STATE[config.name]
    count = mastered_count = 0
    last_day: date | None = None
    last_key: tuple[date, int] | None = None
    latest_score: float | None = None
    highest_score: float | None = None
    p_known: float | None = None
    latest_weight = weight_sum = weighted_score_sum = decayed_weight_sum = decayed_score_sum = 0.0
    mastered_weight_sum = mastered_score_sum = 0.0
    estimates: list[float | None] = []
    current: float | None = None
    sums = _NOTHING_FOLDED
    for observation in observations:
        kind = observation.kind
        if kind in uncounted:
            estimates.append(current)
            continue
        key = (observation.observed_on, observation.sequence)
        if last_key is not None and key <= last_key:
            raise ValueError(
                f"Observation {observation.evidence_id} at {key} is older than the last folded {last_key}; "
                "fold_all needs them oldest first"
            )
        w = observation.weight * kind_weights.get(kind, 1.0)
        day = key[0]
        if count == 0 or last_day is None:
            factor = 1.0
        elif half_life is None:
            factor = per_result_decay
        else:
            factor = float(0.5 ** ((day - last_day).days / half_life))
        last_key, last_day = key, day
        if w <= 0.0:
            if half_life is None:
                factor = 1.0
            decayed_weight_sum *= factor  # ignored, but elapsed days still decay the sums (as `fold`)
            decayed_score_sum *= factor
        else:
            score = observation.score
            count += 1
            latest_score, latest_weight = score, w
            highest_score = score if highest_score is None else max(highest_score, score)
            weight_sum += w
            weighted_score_sum += w * score
            decayed_weight_sum = decayed_weight_sum * factor + w
            decayed_score_sum = decayed_score_sum * factor + w * score
            if score >= threshold:
                mastered_count += 1
                mastered_weight_sum += w
                mastered_score_sum += w * score
            p_known = bkt_update(params.prior if p_known is None else p_known, score, params, w)
        sums = _Sums(
            count,
            last_key,
            latest_score,
            latest_weight,
            highest_score,
            weight_sum,
            weighted_score_sum,
            decayed_weight_sum,
            decayed_score_sum,
            mastered_count,
            mastered_weight_sum,
            mastered_score_sum,
            p_known,
        )
        current = None if count == 0 else from_state(sums, config)
        estimates.append(current)
    return MethodState(*sums), estimates


def estimate_from_state(state: MethodState, config: MethodConfig) -> float | None:
    """The configured method's estimate from folded state; equals `estimate` on the same observations."""
    if state.count == 0:
        return None
    return _FROM_STATE[config.name](state, config)


class _Sums(NamedTuple):
    """`MethodState`'s fields in its order, as `fold_all` carries them from one observation to the next (a tuple
    costs a fraction of the frozen dataclass); the `_FROM_STATE` estimates read either."""

    count: int  # type: ignore[assignment]  # MethodState's name; it shadows tuple.count, which nothing here calls
    last_key: tuple[date, int] | None
    latest_score: float | None
    latest_weight: float
    highest_score: float | None
    weight_sum: float
    weighted_score_sum: float
    decayed_weight_sum: float
    decayed_score_sum: float
    mastered_count: int
    mastered_weight_sum: float
    mastered_score_sum: float
    p_known: float | None


_NOTHING_FOLDED = _Sums(0, None, None, 0.0, None, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, None)  # = MethodState()


def _weighted_average_from_state(state: MethodState | _Sums, config: MethodConfig) -> float | None:
    latest = state.latest_score
    if latest is None or state.count == 1:
        return latest
    older_mean = (state.weighted_score_sum - state.latest_weight * latest) / (state.weight_sum - state.latest_weight)
    return latest * config.weight_latest + older_mean * (1.0 - config.weight_latest)


_FROM_STATE: dict[str, Callable[[MethodState | _Sums, MethodConfig], float | None]] = {
    "latest": lambda s, c: s.latest_score,
    "highest": lambda s, c: s.highest_score,
    "average": lambda s, c: s.weighted_score_sum / s.weight_sum,
    "weighted_average": _weighted_average_from_state,
    "decaying_average": lambda s, c: s.decayed_score_sum / s.decayed_weight_sum,
    "n_mastery": lambda s, c: s.mastered_score_sum / s.mastered_weight_sum if s.mastered_count >= c.n else None,
    "bkt": lambda s, c: s.p_known,
}
