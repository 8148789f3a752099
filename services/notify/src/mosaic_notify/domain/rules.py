"""A district's rules: which kinds of news go out at once, which wait for the digest, which are urgent."""

from __future__ import annotations

from dataclasses import dataclass

from mosaic_notify.domain.news import NewsKind


@dataclass(frozen=True)
class DistrictRules:
    """Instant kinds go out at once (outside quiet hours); the rest only in digests; urgent kinds pass both.

    Against fatigue: the same news about the same competency reaches a guardian once per `repeat_window_hours`,
    and past `daily_instant_cap` instant messages on a channel in a local day, non-urgent news waits for the digest.
    """

    instant_kinds: frozenset[NewsKind] = frozenset({NewsKind.MASTERED, NewsKind.NEW_GROUP})
    urgent_kinds: frozenset[NewsKind] = frozenset()
    portal_webhook_url: str | None = None
    repeat_window_hours: float | None = None  # None: the service's default (a week unless configured)
    daily_instant_cap: int | None = None  # None: the service's default (3 unless configured)

    def is_instant(self, kind: NewsKind) -> bool:
        return kind in self.instant_kinds or kind in self.urgent_kinds

    def is_urgent(self, kind: NewsKind) -> bool:
        return kind in self.urgent_kinds

    def pace_limits(self, default_window_hours: float, default_cap: int) -> tuple[float, int]:
        """(repeat window in hours, daily instant cap): the district's own, else the service's defaults."""
        window = default_window_hours if self.repeat_window_hours is None else self.repeat_window_hours
        return window, default_cap if self.daily_instant_cap is None else self.daily_instant_cap


DEFAULT_RULES = DistrictRules()
