"""A district's mastery scale and the hysteresis that keeps one noisy score from flipping a level."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Level:
    """A named band of the scale; an estimate at or above `threshold` reaches it."""

    name: str
    threshold: float


@dataclass(frozen=True, slots=True)
class MasteryScale:
    """Levels lowest first; `mastery_level_name` is the level that counts as mastered (e.g. Proficient)."""

    levels: tuple[Level, ...]
    mastery_level_name: str
    margin: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        _validate(self)

    def index_of(self, name: str) -> int:
        for index, level in enumerate(self.levels):
            if level.name == name:
                return index
        raise ValueError(f"Level {name!r} is not on this scale; levels are {[lv.name for lv in self.levels]}")

    def level(self, name: str) -> Level:
        return self.levels[self.index_of(name)]

    @property
    def mastery_threshold(self) -> float:
        return self.level(self.mastery_level_name).threshold

    def is_mastered(self, level_name: str) -> bool:
        return self.index_of(level_name) >= self.index_of(self.mastery_level_name)


def _validate(scale: MasteryScale) -> None:
    levels = scale.levels
    if not levels:
        raise ValueError("MasteryScale.levels is empty; define at least one level, the lowest at threshold 0.0")
    names = [level.name for level in levels]
    if len(set(names)) != len(names):
        raise ValueError(f"MasteryScale level names must be unique; got {names}")
    for level in levels:
        if not 0.0 <= level.threshold <= 1.0:
            raise ValueError(f"Level {level.name!r}: threshold {level.threshold} must be in 0..1")
    if levels[0].threshold != 0.0:
        raise ValueError(
            f"The lowest level {levels[0].name!r} must start at threshold 0.0 so every estimate has a level; "
            f"got {levels[0].threshold}"
        )
    for lower, upper in itertools.pairwise(levels):
        if upper.threshold <= lower.threshold:
            raise ValueError(
                f"Level thresholds must ascend: {upper.name!r} ({upper.threshold}) is not above "
                f"{lower.name!r} ({lower.threshold}); list levels lowest first"
            )
    if scale.mastery_level_name not in names:
        raise ValueError(f"mastery_level_name {scale.mastery_level_name!r} is not one of the levels {names}")
    if not 0.0 <= scale.margin < 0.5:
        raise ValueError(f"MasteryScale.margin = {scale.margin} must be in [0, 0.5)")


def raw_level_index(estimate: float, levels: Sequence[Level]) -> int:
    """The highest level whose threshold the estimate reaches, ignoring hysteresis."""
    index = 0
    for i, level in enumerate(levels):
        if estimate >= level.threshold:
            index = i
    return index


def level_for(estimate: float, current: str | None, scale: MasteryScale) -> Level:
    """The level for an estimate given the current one: up only past threshold + margin, down only below
    threshold − margin. The first level a student gets is assigned without margin."""
    if not 0.0 <= estimate <= 1.0:
        raise ValueError(f"estimate {estimate} must be in 0..1")
    levels = scale.levels
    if current is None:
        return levels[raw_level_index(estimate, levels)]
    index = scale.index_of(current)
    while index + 1 < len(levels) and estimate >= levels[index + 1].threshold + scale.margin:
        index += 1
    while index > 0 and estimate < levels[index].threshold - scale.margin:
        index -= 1
    return levels[index]


def level_path(estimates: Iterable[float | None], scale: MasteryScale) -> str | None:
    """The level after `level_for` walked every estimate in turn from no level (None keeps the level): the
    hysteresis path of a replay, with the bounds worked out once rather than per step."""
    levels = scale.levels
    up = [level.threshold + scale.margin for level in levels]
    down = [level.threshold - scale.margin for level in levels]
    top = len(levels) - 1
    index: int | None = None
    for estimate in estimates:
        if estimate is None:
            continue
        if not 0.0 <= estimate <= 1.0:
            raise ValueError(f"estimate {estimate} must be in 0..1")
        if index is None:
            index = raw_level_index(estimate, levels)
            continue
        while index < top and estimate >= up[index + 1]:
            index += 1
        while index > 0 and estimate < down[index]:
            index -= 1
    return None if index is None else levels[index].name


DEFAULT_SCALE = MasteryScale(
    levels=(Level("Beginning", 0.0), Level("Developing", 0.5), Level("Proficient", 0.75), Level("Advanced", 0.9)),
    mastery_level_name="Proficient",
    margin=0.05,
)
