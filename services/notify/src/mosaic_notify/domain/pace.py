"""How often a family hears: the same news once per window, and a daily cap on instant messages.

Pure decisions; the adapter (adapters/pace.py) reads and writes the counts under a lock in the consumer's
transaction, so replicas that plan for one guardian at once still decide one after the other.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from mosaic_notify.domain.news import News, NewsKind
from mosaic_notify.domain.planning import PlannedDelivery, digest_send_time
from mosaic_notify.domain.preferences import Preferences


def repeat_key(news: News) -> str | None:
    """What makes two pieces of news "the same": one kind of news about one student's competency.

    A move to another flex group has none: where a child goes on Thursday is new every time it changes.
    """
    if news.kind == NewsKind.NEW_GROUP or not news.competency_id:
        return None
    return f"{news.kind.value}|{news.student_id}|{news.competency_id}"


def told_too_recently(last_told_at: datetime | None, news: News, window_hours: float) -> bool:
    """True when the same news was told within the district's window before this one happened."""
    if last_told_at is None:
        return False
    return news.occurred_at - last_told_at < timedelta(hours=window_hours)


def instant_day(plan: PlannedDelivery, prefs: Preferences) -> date:
    """The guardian's local day an instant message lands on: the day its cap counts against."""
    return plan.due_at.astimezone(prefs.zone).date()


def pace_plan(
    plan: PlannedDelivery, sent_that_day: int, urgent: bool, prefs: Preferences, daily_cap: int, now: datetime
) -> PlannedDelivery:
    """An instant message past the day's cap waits for the channel's next digest; urgent news never waits."""
    if plan.digest or urgent or sent_that_day < daily_cap:
        return plan
    return replace(plan, due_at=digest_send_time(prefs, plan.channel, now), digest=True)
