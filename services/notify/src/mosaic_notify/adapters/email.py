"""Email through SMTP: a text and an HTML part, a derived Message-ID, and one-click unsubscribe headers.

The message's bytes are written directly (base64 UTF-8 parts, RFC 2047 subject): the standard
library's EmailMessage took longer to build and serialise a digest than to render it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from email.utils import formatdate, parseaddr

import httpx

from mosaic_notify.adapters.channels import Outgoing, PermanentFailure, TransientFailure, UncertainFailure
from mosaic_notify.adapters.smtp import SmtpBrokeOff, SmtpOptions, SmtpPool, SmtpRefused, SmtpUnreachable
from mosaic_notify.domain.ids import message_id_header
from mosaic_notify.settings import NotifySettings


@dataclass(frozen=True)
class EmailContent:
    data: bytes
    eight_bit: bool  # parts sent as UTF-8 as they are: MAIL FROM must say BODY=8BITMIME


def email_content(
    outgoing: Outgoing, *, sender: str, message_id: str, eight_bit: bool = False, date: str | None = None
) -> EmailContent:
    """The message; its parts as 8-bit UTF-8 when the server takes 8BITMIME and no line is too long, else base64.

    8-bit is what makes a digest cheap at both ends: nothing to encode here, and a few long lines instead of
    a hundred short ones for the server to read.
    """
    parts = (outgoing.message.text, outgoing.message.html)
    raw = [p.replace("\r\n", "\n").replace("\n", "\r\n").encode() for p in parts]
    eight_bit = eight_bit and max(max(map(len, part.split(b"\r\n"))) for part in raw) <= 998
    return EmailContent(
        email_bytes(outgoing, sender=sender, message_id=message_id, date=date, parts=raw, eight_bit=eight_bit),
        eight_bit,
    )


def email_bytes(
    outgoing: Outgoing,
    *,
    sender: str,
    message_id: str,
    date: str | None = None,
    parts: list[bytes] | None = None,
    eight_bit: bool = False,
) -> bytes:
    """RFC 5322 message with CRLF line ends; List-Unsubscribe(-Post) give mail clients RFC 8058 one-click."""
    if parts is None:
        parts = [
            p.replace("\r\n", "\n").replace("\n", "\r\n").encode()
            for p in (outgoing.message.text, outgoing.message.html)
        ]
    message = outgoing.message
    boundary = f"=_mosaic_{outgoing.notification_id.replace('-', '')}"  # a base64 line never starts with "--"
    head = (
        f"From: {_header(sender)}\r\nTo: {outgoing.guardian.email or ''}\r\nSubject: {_header(message.subject)}\r\n"
        f"Message-ID: {message_id}\r\nDate: {date or formatdate(usegmt=True)}\r\n"
        f"Content-Language: {message.language}\r\nList-Unsubscribe: <{outgoing.unsubscribe_url}>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        f"X-Mosaic-Notification-Id: {outgoing.notification_id}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
    )
    return b"".join(
        (
            head.encode(),
            _part(boundary, "plain", parts[0], eight_bit),
            _part(boundary, "html", parts[1], eight_bit),
            f"--{boundary}--\r\n".encode(),
        )
    )


def _part(boundary: str, subtype: str, body: bytes, eight_bit: bool) -> bytes:
    if eight_bit:
        encoding = "8bit"
        body += b"\r\n"  # the line break before a boundary belongs to the boundary (RFC 2046 5.1.1)
    else:  # base64 in 76-character lines, encoded in one C call (quoted-printable took about 100 µs a part)
        encoding, flat = "base64", binascii.b2a_base64(body, newline=False)
        body = b"".join(flat[i : i + 76] + b"\r\n" for i in range(0, len(flat), 76))
    return (
        f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + body


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
        self.pool = SmtpPool(
            SmtpOptions(
                s.smtp_host,
                s.smtp_port,
                s.send_timeout_seconds,
                s.smtp_start_tls,
                s.smtp_username,
                s.smtp_password,
                s.message_id_domain,
            ),
            s.smtp_connections,
        )
        self.envelope_sender = parseaddr(s.smtp_from)[1] or s.smtp_from

    def message_id(self, notification_id: str) -> str:
        return message_id_header(notification_id, self.settings.message_id_domain)

    async def ready(self) -> None:
        """Learn what the server offers (8BITMIME), so content built from now on can use it."""
        await self.pool.learn_extensions()

    def content(self, outgoing: Outgoing) -> EmailContent:
        return email_content(
            outgoing,
            sender=self.settings.smtp_from,
            eight_bit="8BITMIME" in self.pool.extensions,
            message_id=self.message_id(outgoing.notification_id),
        )

    async def send(self, outgoing: Outgoing, content: EmailContent | None = None) -> None:
        """Deliver (`content` when already built), or raise TransientFailure / PermanentFailure."""
        if not outgoing.guardian.email:
            raise PermanentFailure("the guardian has no email address in the roster")
        s = self.settings
        try:
            if content is None:
                await self.ready()
                content = self.content(outgoing)
            await self.pool.send(self.envelope_sender, outgoing.guardian.email, content.data, content.eight_bit)
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
                reply = await client.get(
                    self.settings.smtp_lookup_url, params={"message_id": self.message_id(notification_id)}
                )
                reply.raise_for_status()
                return bool(reply.json()["found"])
        except (httpx.HTTPError, KeyError, ValueError):
            return None
