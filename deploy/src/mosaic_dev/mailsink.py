"""The local mail sink: notify's mail catcher (a real SMTP server with a Message-ID search) keeping each
message as an .eml file, plus a page that lists them."""

from __future__ import annotations

import email
import html
import threading
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mosaic_dev.devservers import MailCatcher


class MailSink:
    """SMTP on `smtp_port`, a listing at http://127.0.0.1:`web_port`/, messages in `folder`."""

    def __init__(self, folder: Path, smtp_port: int = 1025, web_port: int = 8025) -> None:
        self.folder = folder
        self.catcher = MailCatcher(smtp_port, folder=folder)
        self.smtp_port = self.catcher.port
        self._web = ThreadingHTTPServer(("127.0.0.1", web_port), _listing_handler(folder))
        self.web_port = self._web.server_address[1]

    @property
    def lookup_url(self) -> str:
        """Where notify asks whether a message it is unsure of was accepted (MOSAIC_NOTIFY_SMTP_LOOKUP_URL)."""
        return self.catcher.lookup_url

    def start(self) -> MailSink:
        self.catcher.start()
        threading.Thread(target=self._web.serve_forever, daemon=True, name="mail-sink-web").start()
        return self

    def stop(self) -> None:
        self.catcher.stop()
        self._web.shutdown()
        self._web.server_close()


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
        rows.append(
            f"<tr><td><a href='/{path.name}'>{html.escape(str(msg['Subject']))}</a></td>"
            f"<td>{html.escape(str(msg['To']))}</td><td>{html.escape(str(msg['Date']))}</td></tr>"
        )
    return (
        "<html><head><meta charset='utf-8'><title>Mosaic mail sink</title></head><body>"
        f"<h1>Mosaic mail sink ({len(rows)} messages)</h1><table>{''.join(rows)}</table></body></html>"
    )


def _render_message(path: Path) -> str:
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    part = msg.get_body(preferencelist=("html", "plain"))
    body = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/plain":
        body = f"<pre>{html.escape(body)}</pre>"
    head = "".join(f"<div><b>{k}:</b> {html.escape(str(msg[k]))}</div>" for k in ("From", "To", "Subject", "Date"))
    return f"<html><head><meta charset='utf-8'></head><body><a href='/'>← all</a>{head}<hr>{body}</body></html>"
