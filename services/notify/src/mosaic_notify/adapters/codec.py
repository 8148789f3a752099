"""The stored (and REST) shape of preferences, district rules and news: one schema for both."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, WithJsonSchema, field_validator

from mosaic_notify.domain.news import News, NewsKind
from mosaic_notify.domain.preferences import Channel, ChannelPreference, Frequency, Preferences, QuietHours
from mosaic_notify.domain.rules import DistrictRules


class ChannelDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frequency: Frequency = Frequency.INSTANT
    digest_hour: int = Field(default=18, ge=0, le=23, description="local hour of the daily/weekly digest")
    weekly_day: int = Field(default=4, ge=0, le=6, description="0 = Monday; the weekly digest's day")


# A wall-clock time in the guardian's zone: no UTC offset, so not JSON Schema's "time" format (which needs one).
LocalTime = Annotated[
    time, WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", "examples": ["21:00"]})
]
MAX_URL_CHARS = 2000  # written out (normalized) it must still be a URL pydantic reads back (2083 at most)


class QuietHoursDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: LocalTime = Field(description="local time quiet hours begin, e.g. 21:00")
    end: LocalTime = Field(description="local time they end, e.g. 07:00 (may be the next morning)")


class PreferencesDocument(BaseModel):
    """A guardian's preferences as portals read and write them."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=2, max_length=16, description="BCP 47 primary tag, e.g. en, es")
    timezone: str = Field(description="IANA time zone, e.g. America/Chicago")
    channels: dict[Channel, ChannelDocument]
    kinds: list[NewsKind] = Field(default_factory=lambda: list(NewsKind))
    quiet_hours: QuietHoursDocument | None = None
    opted_out: list[Channel] = Field(default_factory=list, description="channels the guardian unsubscribed from")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as America/Chicago") from None
        return value

    def to_domain(self) -> Preferences:
        quiet = QuietHours(self.quiet_hours.start, self.quiet_hours.end) if self.quiet_hours else None
        return Preferences(
            language=self.language.lower(),
            timezone=self.timezone,
            channels={c: ChannelPreference(d.frequency, d.digest_hour, d.weekly_day) for c, d in self.channels.items()},
            kinds=frozenset(self.kinds),
            quiet_hours=quiet,
            opted_out=frozenset(self.opted_out),
        )

    @classmethod
    def from_domain(cls, prefs: Preferences) -> PreferencesDocument:
        quiet = prefs.quiet_hours
        return cls(
            language=prefs.language,
            timezone=prefs.timezone,
            channels={
                c: ChannelDocument(frequency=p.frequency, digest_hour=p.digest_hour, weekly_day=p.weekly_day)
                for c, p in prefs.channels.items()
            },
            kinds=sorted(prefs.kinds),
            quiet_hours=QuietHoursDocument(start=quiet.start, end=quiet.end) if quiet else None,
            opted_out=sorted(prefs.opted_out),
        )


class RulesDocument(BaseModel):
    """A district's rules: what goes out at once, what is urgent, where its portal hears about it."""

    model_config = ConfigDict(extra="forbid")

    instant_kinds: list[NewsKind] = Field(default_factory=lambda: [NewsKind.MASTERED, NewsKind.NEW_GROUP])
    urgent_kinds: list[NewsKind] = Field(
        default_factory=list, description="pass quiet hours and digests; use sparingly"
    )
    portal_webhook_url: HttpUrl | None = None
    repeat_window_hours: float | None = Field(
        default=None,
        ge=0,
        le=366 * 24,
        description=(
            "the same kind of news about the same competency reaches a guardian at most once in this many hours; "
            "null: the service's default (MOSAIC_NOTIFY_DEFAULT_REPEAT_WINDOW_HOURS, a week)"
        ),
    )
    daily_instant_cap: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description=(
            "instant messages per guardian, channel and local day; past it, non-urgent news waits for the digest; "
            "null: the service's default (MOSAIC_NOTIFY_DEFAULT_DAILY_INSTANT_CAP, 3)"
        ),
    )

    @field_validator("portal_webhook_url")
    @classmethod
    def _short_enough(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and len(str(value)) > MAX_URL_CHARS:
            raise ValueError(f"the URL is longer than {MAX_URL_CHARS} characters once normalized; use a shorter one")
        return value

    def to_domain(self) -> DistrictRules:
        return DistrictRules(
            frozenset(self.instant_kinds),
            frozenset(self.urgent_kinds),
            str(self.portal_webhook_url) if self.portal_webhook_url else None,
            self.repeat_window_hours,
            self.daily_instant_cap,
        )

    @classmethod
    def from_domain(cls, rules: DistrictRules) -> RulesDocument:
        return cls.model_validate(
            {
                "instant_kinds": sorted(rules.instant_kinds),
                "urgent_kinds": sorted(rules.urgent_kinds),
                "portal_webhook_url": rules.portal_webhook_url,
                "repeat_window_hours": rules.repeat_window_hours,
                "daily_instant_cap": rules.daily_instant_cap,
            }
        )


def news_to_json(item: News) -> dict[str, Any]:
    raw = dataclasses.asdict(item)
    for key, value in raw.items():
        if isinstance(value, datetime):
            raw[key] = value.isoformat()
    return raw


def news_from_json(raw: dict[str, Any]) -> News:
    values = dict(raw)
    values["kind"] = NewsKind(values["kind"])
    for key in ("occurred_at", "starts_at", "ends_at"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    return News(**values)
