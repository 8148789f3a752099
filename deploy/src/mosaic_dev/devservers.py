"""Real receivers for development and tests: an SMTP server that keeps what it accepts (with a message
search by Message-ID, like a provider's), and an HTTP server that keeps the webhooks it gets.

`mosaic-dev devservers` runs both for notify, so a developer can watch what families would receive.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Mailbox:
    """Everything the SMTP server accepted, in order; thread-safe. With a folder, each message is also
    kept there as NNNNNN.eml, so people can open what families would have received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    folder: Path | None = None

    def add(self, message: EmailMessage) -> None:
        with self.lock:
            self.messages.append(message)
            if self.folder is not None:
                (self.folder / f"{len(self.messages):06d}.eml").write_bytes(bytes(message))

    def snapshot(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    def has_message_id(self, message_id: str) -> bool:
        with self.lock:
            return any(m["Message-ID"] == message_id for m in self.messages)


class _Handler:
    def __init__(self, mailbox: Mailbox, refused: set[str]) -> None:
        self.mailbox = mailbox
        self.refused = refused
        self.delay_s = 0.0  # a slow server, to catch a sender mid-batch

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]  # aiosmtpd reads commands one by one

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mailbox.add(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class MailCatcher:
    """aiosmtpd on 127.0.0.1:<port>, plus GET http://127.0.0.1:<lookup_port>/messages?message_id=<id>."""

    def __init__(self, port: int = 0, lookup_port: int = 0, folder: Path | None = None) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.mailbox = Mailbox(folder=folder)
        self.refused: set[str] = set()  # addresses answered with 550, to exercise permanent failures
        self.handler = _Handler(self.mailbox, self.refused)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port or _free_port())
        self.lookup = HttpReceiver(lookup_port, lookup=self.mailbox)

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def lookup_url(self) -> str:
        return f"{self.lookup.url}/messages"

    def start(self) -> MailCatcher:
        self.controller.start()
        self.lookup.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        self.lookup.stop()


class HttpReceiver:
    """A threading HTTP server: POSTs are kept (webhooks); GET /messages answers the mail catcher's search."""

    def __init__(self, port: int = 0, lookup: Mailbox | None = None, status: int = 200) -> None:
        self.received: list[ReceivedWebhook] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(ReceivedWebhook(self.path, dict(self.headers.items()), body))
                self._answer(receiver.status, {"ok": receiver.status < 300})

            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                if lookup is None or "message_id" not in query:
                    self._answer(404, {"error": "GET /messages?message_id=<Message-ID>"})
                    return
                self._answer(200, {"found": lookup.has_message_id(query["message_id"][0])})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
