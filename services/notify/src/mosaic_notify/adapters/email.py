"""Email through SMTP: a text and an HTML part, a derived Message-ID, and one-click unsubscribe headers.

The message's bytes are written directly (quoted-printable UTF-8 parts, RFC 2047 subject): the standard
library's EmailMessage took longer to build and serialise a digest than to render it.
"""

from __future__ import annotations

import base64
import binascii
from email.utils import formatdate, parseaddr

import httpx

from mosaic_notify.adapters.channels import Outgoing, PermanentFailure, TransientFailure, UncertainFailure
from mosaic_notify.adapters.smtp import SmtpBrokeOff, SmtpOptions, SmtpPool, SmtpRefused, SmtpUnreachable
from mosaic_notify.domain.ids import message_id_header
from mosaic_notify.settings import NotifySettings


def email_bytes(outgoing: Outgoing, *, sender: str, message_id: str, date: str | None = None) -> bytes:
    """RFC 5322 message with CRLF line ends; List-Unsubscribe(-Post) give mail clients RFC 8058 one-click."""
    message = outgoing.message
    boundary = f"=_mosaic_{outgoing.notification_id.replace('-', '')}"  # "=_" never occurs in quoted-printable
    head = (
        f"From: {_header(sender)}\r\nTo: {outgoing.guardian.email or ''}\r\nSubject: {_header(message.subject)}\r\n"
        f"Message-ID: {message_id}\r\nDate: {date or formatdate(usegmt=True)}\r\n"
        f"Content-Language: {message.language}\r\nList-Unsubscribe: <{outgoing.unsubscribe_url}>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        f"X-Mosaic-Notification-Id: {outgoing.notification_id}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n')
    return b"".join((head.encode(), _part(boundary, "plain", message.text), _part(boundary, "html", message.html),
                     f"--{boundary}--\r\n".encode()))


def _part(boundary: str, subtype: str, text: str) -> bytes:
    body = binascii.b2a_qp(text.replace("\r\n", "\n").replace("\n", "\r\n").encode(), istext=True)
    return (f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode() + body + b"\r\n"


def _header(value: str) -> str:
    """ASCII as it is; anything else as RFC 2047 encoded words of at most 75 characters, folded."""
    value = " ".join(value.split())  # no line breaks may reach a header
    if value.isascii():
        return value
    words, chunk = [], ""
    for char in value:
        if len((chunk + char).encode()) > 45:  # 45 bytes → 60 base64 characters → a 72-character word
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


class EmailSender:
    """Sends through the configured SMTP relay on reused, pipelined connections; asks the provider's message
    search after a crash, if it has one."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        s = settings
        self.pool = SmtpPool(SmtpOptions(s.smtp_host, s.smtp_port, s.send_timeout_seconds, s.smtp_start_tls,
                                         s.smtp_username, s.smtp_password, s.message_id_domain), s.smtp_connections)
        self.envelope_sender = parseaddr(s.smtp_from)[1] or s.smtp_from

    def message_id(self, notification_id: str) -> str:
        return message_id_header(notification_id, self.settings.message_id_domain)

    def content(self, outgoing: Outgoing) -> bytes:
        return email_bytes(outgoing, sender=self.settings.smtp_from, message_id=self.message_id(
            outgoing.notification_id))

    async def send(self, outgoing: Outgoing, content: bytes | None = None) -> None:
        """Deliver (`content` when already built), or raise TransientFailure / PermanentFailure."""
        if not outgoing.guardian.email:
            raise PermanentFailure("the guardian has no email address in the roster")
        s = self.settings
        try:
            await self.pool.send(self.envelope_sender, outgoing.guardian.email, content or self.content(outgoing))
        except SmtpRefused as exc:
            raise PermanentFailure(str(exc)) if 500 <= exc.code < 600 else TransientFailure(str(exc)) from None
        except SmtpUnreachable as exc:
            raise TransientFailure(str(exc)) from None
        except SmtpBrokeOff as exc:
            where = f"SMTP conversation with {s.smtp_host}:{s.smtp_port} broke off: {exc}"
            raise (UncertainFailure(where) if exc.content_sent else TransientFailure(where)) from None

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
