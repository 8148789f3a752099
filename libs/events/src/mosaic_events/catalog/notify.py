"""Family notifications: topic mosaic.notify.v1, keyed by student."""

from __future__ import annotations

from pydantic import Field

from mosaic_events.registry import EventData, register


@register
class FamilyNotified(EventData):
    """A message reached a guardian through one channel."""

    event_type = "FamilyNotified"

    notification_id: str
    guardian_id: str
    student_id: str
    channel: str
    news_kind: str
    language: str
    cause_event_ids: tuple[str, ...] = Field(min_length=1)
    digest: bool = False


@register
class NotificationFailed(EventData):
    """A message could not be delivered; says why and whether it will be retried."""

    event_type = "NotificationFailed"

    notification_id: str
    guardian_id: str
    student_id: str
    channel: str
    news_kind: str
    cause_event_ids: tuple[str, ...] = Field(min_length=1)
    reason: str
    attempts: int = Field(ge=1)
    will_retry: bool
