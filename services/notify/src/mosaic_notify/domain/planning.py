"""Deciding, for one piece of news and one guardian, which channels carry it and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.news import News
from mosaic_notify.domain.preferences import Channel, Frequency, Preferences, next_digest_at, quiet_until
from mosaic_notify.domain.rules import DistrictRules


@dataclass(frozen=True)
class PlannedDelivery:
    channel: Channel
    due_at: datetime
    digest: bool  # True: gathered into the guardian's digest for this channel, not sent alone


def reachable(guardian: Guardian, channel: Channel, rules: DistrictRules) -> bool:
    """A channel needs somewhere to go: an address, a number, or the district's portal webhook."""
    if channel == Channel.EMAIL:
        return bool(guardian.email)
    if channel == Channel.SMS:
        return bool(guardian.sms)
    if channel == Channel.PORTAL:
        return bool(rules.portal_webhook_url)
    return True  # push goes to the provider, addressed by guardian id


def plan_deliveries(
    news: News,
    guardian: Guardian,
    prefs: Preferences,
    rules: DistrictRules,
    now: datetime,
) -> list[PlannedDelivery]:
    """Urgent news passes quiet hours and digests; other instant news waits out quiet hours; the rest is digested."""
    if news.kind not in prefs.kinds and not rules.is_urgent(news.kind):
        return []
    plans = []
    for channel in prefs.active_channels():
        if not reachable(guardian, channel, rules):
            continue
        plans.append(_plan_channel(news, prefs, rules, channel, now))
    return plans


def _plan_channel(
    news: News, prefs: Preferences, rules: DistrictRules, channel: Channel, now: datetime
) -> PlannedDelivery:
    chosen = prefs.channels[channel]
    if rules.is_urgent(news.kind):
        return PlannedDelivery(channel, now, digest=False)
    if chosen.frequency == Frequency.INSTANT and rules.is_instant(news.kind):
        return PlannedDelivery(channel, quiet_until(prefs, now) or now, digest=False)
    return PlannedDelivery(channel, digest_send_time(prefs, channel, now), digest=True)


def digest_send_time(prefs: Preferences, channel: Channel, now: datetime) -> datetime:
    """The channel's next digest time, moved past quiet hours if the guardian chose an hour inside them."""
    due = next_digest_at(prefs, prefs.channels[channel], now)
    return quiet_until(prefs, due) or due
