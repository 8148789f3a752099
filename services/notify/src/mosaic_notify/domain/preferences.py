"""A guardian's preferences: channels, language, frequency per channel, quiet hours, kinds of news, opt-outs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from mosaic_notify.domain.news import NewsKind


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    PORTAL = "portal"


class Frequency(StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"
    OFF = "off"


@dataclass(frozen=True)
class ChannelPreference:
    frequency: Frequency = Frequency.INSTANT
    digest_hour: int = 18  # local hour the daily or weekly digest goes out
    weekly_day: int = 4  # 0 = Monday; the day a weekly digest goes out


@dataclass(frozen=True)
class QuietHours:
    """A local-time window (may cross midnight) when only urgent news is sent."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class Preferences:
    language: str = "en"
    timezone: str = "America/New_York"
    channels: dict[Channel, ChannelPreference] = field(
        default_factory=lambda: {Channel.EMAIL: ChannelPreference(), Channel.PORTAL: ChannelPreference()}
    )
    kinds: frozenset[NewsKind] = frozenset(NewsKind)
    quiet_hours: QuietHours | None = QuietHours(time(21, 0), time(7, 0))
    opted_out: frozenset[Channel] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def active_channels(self) -> list[Channel]:
        """Channels that may carry something: chosen, not off, not opted out."""
        return [c for c, p in self.channels.items() if p.frequency != Frequency.OFF and c not in self.opted_out]

    def opt_out(self, channel: Channel) -> Preferences:
        return replace(self, opted_out=self.opted_out | {channel})

    def opt_in(self, channel: Channel) -> Preferences:
        return replace(self, opted_out=self.opted_out - {channel})


def default_preferences(
    language: str,
    timezone: str = "America/New_York",
    quiet_hours: QuietHours | None = QuietHours(time(21, 0), time(7, 0)),
) -> Preferences:
    return Preferences(language=language, timezone=timezone, quiet_hours=quiet_hours)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """'21:00-07:00' → QuietHours; '' → None."""
    if not text:
        return None
    start, _, end = text.partition("-")
    return QuietHours(time.fromisoformat(start), time.fromisoformat(end))


def quiet_until(prefs: Preferences, at: datetime) -> datetime | None:
    """When the quiet hours around `at` end (aware UTC), or None when `at` is not in quiet hours."""
    quiet = prefs.quiet_hours
    if quiet is None:
        return None
    local = at.astimezone(prefs.zone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = datetime.combine(local.date(), quiet.end, tzinfo=prefs.zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=prefs.zone)
    return end.astimezone(at.tzinfo)


def next_digest_at(prefs: Preferences, channel: ChannelPreference, at: datetime) -> datetime:
    """The next daily (or weekly) digest time strictly after `at`, at the guardian's chosen local hour."""
    local = at.astimezone(prefs.zone)
    candidate = datetime.combine(local.date(), time(channel.digest_hour), tzinfo=prefs.zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(channel.digest_hour), tzinfo=prefs.zone)
    if channel.frequency == Frequency.WEEKLY:
        candidate = datetime.combine(
            candidate.date() + timedelta(days=(channel.weekly_day - candidate.weekday()) % 7),
            time(channel.digest_hour),
            tzinfo=prefs.zone,
        )
    return candidate.astimezone(at.tzinfo)
