"""A local mail sink: an SMTP server that keeps every message as an .eml file, and a page listing them."""

from __future__ import annotations

import email
import html
import threading
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        with self.lock:
            number = len(list(self.folder.glob("*.eml"))) + 1
            (self.folder / f"{number:06d}.eml").write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class MailSink:
    """SMTP on `smtp_port`, a listing at http://127.0.0.1:`web_port`/, messages in `folder`."""

    def __init__(self, folder: Path, smtp_port: int = 1025, web_port: int = 8025) -> None:
        self.folder = folder
        self.smtp_port = smtp_port
        self.web_port = web_port
        folder.mkdir(parents=True, exist_ok=True)
        self._smtp = Controller(_SaveToFolder(folder), hostname="127.0.0.1", port=smtp_port)
        self._web = ThreadingHTTPServer(("127.0.0.1", web_port), _listing_handler(folder))

    def start(self) -> MailSink:
        self._smtp.start()
        threading.Thread(target=self._web.serve_forever, daemon=True, name="mail-sink-web").start()
        return self

    def stop(self) -> None:
        self._smtp.stop()
        self._web.shutdown()


def _listing_handler(folder: Path) -> type[BaseHTTPRequestHandler]:
    class Listing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.strip("/")
            if name and (folder / name).is_file() and name.endswith(".eml"):
                self._send(_render_message(folder / name))
            else:
                self._send(_render_index(folder))

        def _send(self, body: str) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Listing


def _render_index(folder: Path) -> str:
    rows = []
    for path in sorted(folder.glob("*.eml"), reverse=True):
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        rows.append(f"<tr><td><a href='/{path.name}'>{html.escape(str(msg['Subject']))}</a></td>"
                    f"<td>{html.escape(str(msg['To']))}</td><td>{html.escape(str(msg['Date']))}</td></tr>")
    return ("<html><head><meta charset='utf-8'><title>Mosaic mail sink</title></head><body>"
            f"<h1>Mosaic mail sink ({len(rows)} messages)</h1><table>{''.join(rows)}</table></body></html>")


def _render_message(path: Path) -> str:
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    part = msg.get_body(preferencelist=("html", "plain"))
    body = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/plain":
        body = f"<pre>{html.escape(body)}</pre>"
    head = "".join(f"<div><b>{k}:</b> {html.escape(str(msg[k]))}</div>" for k in ("From", "To", "Subject", "Date"))
    return f"<html><head><meta charset='utf-8'></head><body><a href='/'>← all</a>{head}<hr>{body}</body></html>"
