"""What every delivery channel offers the worker: send one message, and say whether one already went."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.messages import Message
from mosaic_notify.domain.news import News
from mosaic_notify.domain.rules import DistrictRules


class TransientFailure(Exception):
    """The channel may work later (server away, 4xx SMTP reply, HTTP 5xx/429): retry with backoff."""


class UncertainFailure(TransientFailure):
    """The send broke off where the provider may already have the message (timeout, lost connection):
    ask the provider before retrying."""


class PermanentFailure(Exception):
    """Retrying cannot help (mailbox refused, HTTP 4xx): the notification fails."""


@dataclass(frozen=True)
class Outgoing:
    notification_id: str
    guardian: Guardian
    channel: str
    message: Message
    news: tuple[News, ...]
    digest: bool
    unsubscribe_url: str
    rules: DistrictRules


class Sender(Protocol):
    async def send(self, outgoing: Outgoing) -> None:
        """Deliver, or raise TransientFailure / PermanentFailure."""

    async def was_delivered(self, notification_id: str) -> bool | None:
        """After a crash mid-send: True/False when the provider can tell, None when nobody can."""
