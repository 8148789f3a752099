"""FamilyNotified / NotificationFailed envelopes; ids derived from the notification so a retry repeats them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from mosaic_events import Envelope, derived_event_id, new_envelope
from mosaic_events.catalog import FamilyNotified, NotificationFailed
from mosaic_notify.domain.news import News

PRODUCER = "notify"


def family_notified(row: Any, news: list[News], language: str, now: datetime) -> list[Envelope]:
    """One event per student the message spoke about (a digest may cover several children)."""
    envelopes = []
    for student_id, mine in _by_student(news):
        data = FamilyNotified(
            notification_id=row.notification_id,
            guardian_id=row.guardian_id,
            student_id=student_id,
            channel=row.channel,
            news_kind=row.news_kind,
            language=language,
            cause_event_ids=tuple(item.cause_event_id for item in mine),
            digest=row.digest,
        )
        event_id = derived_event_id(row.notification_id, data.event_type, student_id)
        envelopes.append(_envelope(data, mine[0], row.district_id, event_id, now))
    return envelopes


def notification_failed(row: Any, news: list[News], reason: str, will_retry: bool, now: datetime) -> list[Envelope]:
    envelopes = []
    for student_id, mine in _by_student(news):
        data = NotificationFailed(
            notification_id=row.notification_id,
            guardian_id=row.guardian_id,
            student_id=student_id,
            channel=row.channel,
            news_kind=row.news_kind,
            cause_event_ids=tuple(i.cause_event_id for i in mine),
            reason=reason[:1000],
            attempts=max(1, row.attempts),
            will_retry=will_retry,
        )
        event_id = derived_event_id(row.notification_id, data.event_type, student_id, str(row.attempts))
        envelopes.append(_envelope(data, mine[0], row.district_id, event_id, now))
    return envelopes


def _by_student(news: list[News]) -> list[tuple[str, list[News]]]:
    return [(sid, [n for n in news if n.student_id == sid]) for sid in sorted({n.student_id for n in news})]


def _envelope(
    data: FamilyNotified | NotificationFailed, cause: News, district_id: str, event_id: uuid.UUID, now: datetime
) -> Envelope:
    return new_envelope(
        data,
        district_id=district_id,
        producer=PRODUCER,
        subject=data.student_id,
        occurred_at=now,
        correlation_id=uuid.UUID(cause.correlation_id),
        event_id=event_id,
        causation_id=uuid.UUID(cause.cause_event_id),
    )
