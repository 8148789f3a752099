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
    repeat_window_hours: float = 7 * 24.0
    daily_instant_cap: int = 3

    def is_instant(self, kind: NewsKind) -> bool:
        return kind in self.instant_kinds or kind in self.urgent_kinds

    def is_urgent(self, kind: NewsKind) -> bool:
        return kind in self.urgent_kinds


DEFAULT_RULES = DistrictRules()
