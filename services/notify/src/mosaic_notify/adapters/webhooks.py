"""Signed webhooks: the school portal, and the SMS and push providers. Receivers dedupe by Mosaic-Notification-Id."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from mosaic_notify.adapters.channels import Outgoing, PermanentFailure, TransientFailure, UncertainFailure
from mosaic_notify.domain.signing import SIGNATURE_HEADER, webhook_signature

ID_HEADER = "Mosaic-Notification-Id"


def portal_payload(outgoing: Outgoing) -> dict[str, Any]:
    message = outgoing.message
    return {
        "notification_id": outgoing.notification_id,
        "district_id": outgoing.guardian.district_id,
        "guardian_id": outgoing.guardian.guardian_id,
        "student_ids": sorted({n.student_id for n in outgoing.news}),
        "kinds": sorted({n.kind.value for n in outgoing.news}),
        "digest": outgoing.digest,
        "language": message.language,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "cause_event_ids": [n.cause_event_id for n in outgoing.news],
    }


def sms_payload(outgoing: Outgoing) -> dict[str, Any]:
    return {
        "notification_id": outgoing.notification_id,
        "to": outgoing.guardian.sms,
        "language": outgoing.message.language,
        "text": outgoing.message.short,
    }


def push_payload(outgoing: Outgoing) -> dict[str, Any]:
    return {
        "notification_id": outgoing.notification_id,
        "district_id": outgoing.guardian.district_id,
        "guardian_id": outgoing.guardian.guardian_id,
        "language": outgoing.message.language,
        "title": outgoing.message.subject,
        "body": outgoing.message.short,
    }


class WebhookSender:
    """POSTs a JSON body signed with HMAC-SHA256 (see domain/signing.py); same id on every retry."""

    def __init__(
        self,
        secret: str,
        url_for: Callable[[Outgoing], str | None],
        payload: Callable[[Outgoing], dict[str, Any]],
        timeout_s: float = 10.0,
    ) -> None:
        self.secret = secret
        self.url_for = url_for
        self.payload = payload
        self.timeout_s = timeout_s

    async def send(self, outgoing: Outgoing) -> None:
        url = self.url_for(outgoing)
        if not url:
            raise PermanentFailure(f"no webhook URL is configured for the {outgoing.channel} channel")
        body = json.dumps(self.payload(outgoing), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            ID_HEADER: outgoing.notification_id,
            SIGNATURE_HEADER: webhook_signature(self.secret, int(time.time()), body),
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                reply = await client.post(url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientFailure(f"webhook {url} unreachable: {exc!r}") from None
        except httpx.HTTPError as exc:
            raise UncertainFailure(f"webhook {url} broke off: {exc!r}") from None
        if reply.is_success:
            return
        detail = f"webhook {url} answered {reply.status_code}: {reply.text[:200]}"
        if reply.status_code in (408, 425, 429) or reply.status_code >= 500:
            raise TransientFailure(detail)
        raise PermanentFailure(detail)

    async def was_delivered(self, notification_id: str) -> bool | None:
        return False  # resend: receivers recognise the repeated Mosaic-Notification-Id and ignore it
