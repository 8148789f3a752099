"""Deterministic notification ids: the same news for the same guardian on the same channel is one notification."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from mosaic_events.ids import MOSAIC_NAMESPACE


def notification_id(news_id: str, guardian_id: str, channel: str) -> str:
    return str(uuid.uuid5(MOSAIC_NAMESPACE, f"notify-message|{news_id}|{guardian_id}|{channel}"))


def digest_notification_id(guardian_id: str, channel: str, news_ids: Iterable[str]) -> str:
    """A digest is named by what it gathers, so rebuilding it after a crash names the same one."""
    joined = ",".join(sorted(news_ids))
    return str(uuid.uuid5(MOSAIC_NAMESPACE, f"notify-digest|{guardian_id}|{channel}|{joined}"))


def message_id_header(notification: str, domain: str) -> str:
    """The RFC 5322 Message-ID: derived from the notification, so a resend is recognisable by the mail system."""
    return f"<{notification}@{domain}>"
