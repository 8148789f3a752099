"""A small SMTP client for many messages: connections kept open and reused, commands pipelined (RFC 2920).

A message costs one round trip for MAIL, RCPT and DATA together (when the server offers PIPELINING) and one
for its content, instead of a new connection, EHLO and four round trips. Errors say how far a message got,
so the caller knows whether the server may have it (see adapters/channels.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from dataclasses import dataclass

IDLE_SECONDS = 20.0  # a connection idle longer than this is closed rather than reused (servers time out idlers)


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int
    timeout_s: float = 20.0
    start_tls: bool | None = None  # None: when the server offers it
    username: str | None = None
    password: str | None = None
    local_hostname: str = "mosaic.local"


class SmtpUnreachable(Exception):
    """No conversation could start: nothing of the message left us."""


class SmtpRefused(Exception):
    """The server answered this message with a refusal (4xx: try later, 5xx: never)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"SMTP {code} {text}")
        self.code = code


class SmtpBrokeOff(Exception):
    """The conversation broke off; `content_sent` says whether the server may have accepted the message."""

    def __init__(self, detail: str, *, content_sent: bool) -> None:
        super().__init__(detail)
        self.content_sent = content_sent


class SmtpConnection:
    """One open, greeted (and, if asked, encrypted and authenticated) SMTP session."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, extensions: set[str], timeout_s: float
    ) -> None:
        self.reader, self.writer, self.extensions, self.timeout_s = reader, writer, extensions, timeout_s
        self.pipelining = "PIPELINING" in extensions
        self.last_used = time.monotonic()

    @classmethod
    async def open(cls, options: SmtpOptions) -> SmtpConnection:
        try:
            async with asyncio.timeout(options.timeout_s):
                reader, writer = await asyncio.open_connection(options.host, options.port)
        except (OSError, TimeoutError) as exc:
            raise SmtpUnreachable(f"SMTP server {options.host}:{options.port} unreachable: {exc!r}") from None
        connection = cls(reader, writer, set(), options.timeout_s)
        try:
            async with asyncio.timeout(options.timeout_s):
                await connection._greet(options)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, SmtpRefused) as exc:
            await connection.close()
            raise SmtpUnreachable(f"SMTP server {options.host}:{options.port} would not start: {exc!r}") from None
        return connection

    async def _greet(self, options: SmtpOptions) -> None:
        await self._expect(await self._reply(), 220)
        await self._ehlo(options)
        if options.start_tls or (options.start_tls is None and "STARTTLS" in self.extensions):
            await self._expect(await self._command(b"STARTTLS"), 220)
            await self.writer.start_tls(ssl.create_default_context(), server_hostname=options.host)
            await self._ehlo(options)
        if options.username:
            secret = base64.b64encode(f"\0{options.username}\0{options.password or ''}".encode()).decode()
            await self._expect(await self._command(f"AUTH PLAIN {secret}".encode()), 235)

    async def _ehlo(self, options: SmtpOptions) -> None:
        code, lines = await self._command(f"EHLO {options.local_hostname}".encode(), multiline=True)
        if code != 250:
            raise SmtpRefused(code, " ".join(lines))
        self.extensions = {line.split(" ", 1)[0].upper() for line in lines[1:]}
        self.pipelining = "PIPELINING" in self.extensions

    async def send(self, sender: str, recipient: str, content: bytes, eight_bit: bool = False) -> None:
        """Send one message (CRLF line ends); raises SmtpRefused or SmtpBrokeOff."""
        if eight_bit and "8BITMIME" not in self.extensions:
            raise SmtpRefused(450, "the server no longer offers 8BITMIME; the message will be rebuilt")
        body = b" BODY=8BITMIME" if eight_bit else b""
        envelope = (f"MAIL FROM:<{sender}>".encode() + body, f"RCPT TO:<{recipient}>".encode(), b"DATA")
        content_sent = False
        try:
            async with asyncio.timeout(self.timeout_s):
                replies = await self._envelope(envelope)
                refusal = next(((c, t) for c, t in replies[:2] if c not in (250, 251)), None)
                if refusal is not None or replies[-1][0] != 354:
                    await self._abandon(replies)
                    raise SmtpRefused(*(refusal or replies[-1]))
                content_sent = True
                self.writer.write(_dot_stuffed(content) + b".\r\n")
                code, text = await self._reply()
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise SmtpBrokeOff(f"SMTP conversation broke off: {exc!r}", content_sent=content_sent) from None
        finally:
            self.last_used = time.monotonic()
        if code != 250:
            raise SmtpRefused(code, text)

    async def _envelope(self, commands: tuple[bytes, ...]) -> list[tuple[int, str]]:
        """MAIL, RCPT, DATA: in one write when pipelining; else one by one, stopping at the first refusal."""
        if self.pipelining:
            self.writer.write(b"".join(c + b"\r\n" for c in commands))
            return [await self._reply() for _ in commands]
        replies = []
        for command in commands:
            replies.append(await self._command(command))
            if replies[-1][0] not in (250, 251, 354):
                break
        return replies

    async def _abandon(self, replies: list[tuple[int, str]]) -> None:
        if replies[-1][0] == 354:  # DATA was accepted though an earlier command was not: end it empty
            self.writer.write(b".\r\n")
            await self._reply()
        await self._command(b"RSET")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.write(b"QUIT\r\n")
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 1)

    async def _command(self, line: bytes, multiline: bool = False):  # type: ignore[no-untyped-def]
        self.writer.write(line + b"\r\n")
        return await self._reply(multiline)

    async def _reply(self, multiline: bool = False):  # type: ignore[no-untyped-def]
        """(code, text), or (code, [lines]) when `multiline`."""
        lines = []
        while True:
            raw = await self.reader.readuntil(b"\n")
            lines.append(raw[4:].decode("utf-8", "replace").strip())
            if raw[3:4] != b"-":
                code = int(raw[:3])
                return (code, lines) if multiline else (code, " ".join(lines))

    async def _expect(self, reply: tuple[int, str], code: int) -> None:
        if reply[0] != code:
            raise SmtpRefused(*reply)


def _dot_stuffed(content: bytes) -> bytes:
    """RFC 5321 4.5.2: a line that starts with '.' gets another, so it cannot end the message."""
    if content.startswith(b"."):
        content = b"." + content
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    return content.replace(b"\r\n.", b"\r\n..")


class SmtpPool:
    """Up to `size` connections, opened on demand and reused while fresh."""

    def __init__(self, options: SmtpOptions, size: int = 4) -> None:
        self.options = options
        self.size = max(1, size)
        self._idle: list[SmtpConnection] = []
        self._open = 0
        self._freed = asyncio.Condition()
        self.extensions: frozenset[str] = frozenset()  # what the server offered the last connection opened

    async def learn_extensions(self) -> None:
        """Open a connection if none ever was; an unreachable server is reported by the sends that follow."""
        if not self.extensions:
            with contextlib.suppress(SmtpUnreachable):
                connection, _ = await self._acquire()
                await self._release(connection)

    async def send(self, sender: str, recipient: str, content: bytes, eight_bit: bool = False) -> None:
        """Send on a free connection; a reused one that turns out dead is replaced once, before any content."""
        for attempt in (1, 2):
            connection, reused = await self._acquire()
            try:
                await connection.send(sender, recipient, content, eight_bit)
            except SmtpBrokeOff as broke:
                await self._discard(connection)
                if broke.content_sent or not reused or attempt == 2:
                    raise
                continue
            except SmtpRefused:
                await self._release(connection)  # the session was reset: it serves the next message
                raise
            except BaseException:
                await self._discard(connection)
                raise
            await self._release(connection)
            return

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._discard(connection)

    async def _acquire(self) -> tuple[SmtpConnection, bool]:
        async with self._freed:
            while True:
                while self._idle:
                    connection = self._idle.pop()
                    if time.monotonic() - connection.last_used < IDLE_SECONDS:
                        return connection, True
                    self._open -= 1
                    asyncio.get_running_loop().create_task(connection.close())
                if self._open < self.size:
                    self._open += 1
                    break
                await self._freed.wait()
        try:
            connection = await SmtpConnection.open(self.options)
            self.extensions = frozenset(connection.extensions)
            return connection, False
        except BaseException:
            async with self._freed:
                self._open -= 1
                self._freed.notify()
            raise

    async def _release(self, connection: SmtpConnection) -> None:
        async with self._freed:
            self._idle.append(connection)
            self._freed.notify()

    async def _discard(self, connection: SmtpConnection) -> None:
        await connection.close()
        async with self._freed:
            self._open -= 1
            self._freed.notify()
