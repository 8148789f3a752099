"""Email through SMTP: a text and an HTML part, a derived Message-ID, and one-click unsubscribe headers."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
import httpx

from mosaic_notify.adapters.channels import Outgoing, PermanentFailure, TransientFailure, UncertainFailure
from mosaic_notify.domain.ids import message_id_header
from mosaic_notify.settings import NotifySettings


def build_email(outgoing: Outgoing, *, sender: str, message_id: str) -> EmailMessage:
    """RFC 5322 message; List-Unsubscribe(-Post) give mail clients RFC 8058 one-click unsubscribe."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = outgoing.guardian.email or ""
    email["Subject"] = outgoing.message.subject
    email["Message-ID"] = message_id
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Content-Language"] = outgoing.message.language
    email["List-Unsubscribe"] = f"<{outgoing.unsubscribe_url}>"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email["X-Mosaic-Notification-Id"] = outgoing.notification_id
    email.set_content(outgoing.message.text)
    email.add_alternative(outgoing.message.html, subtype="html")
    return email


class EmailSender:
    """Sends through the configured SMTP relay; asks the provider's message search after a crash, if it has one."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def message_id(self, notification_id: str) -> str:
        return message_id_header(notification_id, self.settings.message_id_domain)

    async def send(self, outgoing: Outgoing) -> None:
        if not outgoing.guardian.email:
            raise PermanentFailure("the guardian has no email address in the roster")
        email = build_email(outgoing, sender=self.settings.smtp_from, message_id=self.message_id(
            outgoing.notification_id))
        s = self.settings
        try:
            async with asyncio.timeout(s.send_timeout_seconds):
                await aiosmtplib.send(email, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
                                      password=s.smtp_password, start_tls=s.smtp_start_tls,
                                      timeout=s.send_timeout_seconds)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _by_code(min(r.code for r in exc.recipients), str(exc)) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_code(exc.code, f"SMTP {exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPConnectError, ConnectionRefusedError) as exc:
            raise TransientFailure(f"SMTP server {s.smtp_host}:{s.smtp_port} unreachable: {exc!r}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise UncertainFailure(f"SMTP conversation with {s.smtp_host}:{s.smtp_port} broke off: {exc!r}") from None

    async def was_delivered(self, notification_id: str) -> bool | None:
        """Ask the provider's message search (MOSAIC_NOTIFY_SMTP_LOOKUP_URL) whether it accepted our Message-ID."""
        if not self.settings.smtp_lookup_url:
            return None
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                reply = await client.get(self.settings.smtp_lookup_url,
                                         params={"message_id": self.message_id(notification_id)})
                reply.raise_for_status()
                return bool(reply.json()["found"])
        except (httpx.HTTPError, KeyError, ValueError):
            return None


def _by_code(code: int, detail: str) -> Exception:
    return PermanentFailure(detail) if 500 <= code < 600 else TransientFailure(detail)
