"""Bad input is answered 4xx, never 5xx: a body over the limit is 413 (counted as it streams in, so nothing
large is ever held), a JSON route refuses another Content-Type with 415, and a 422 quotes only a short
excerpt of what was sent."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_TYPES = ("multipart/form-data", "application/zip", "application/octet-stream", "text/csv")
EXCERPT_CHARS = 120
MAX_REPORTED_ERRORS = 20
DRAIN_BYTES = 64 * 1024 * 1024

log = logging.getLogger(__name__)


class BodyTooLarge(HTTPException):
    """Raised from the request stream as soon as the body passes its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than this endpoint accepts ({limit} bytes); "
            "send less per request (split a batch) or ask the district to raise the limit",
        )


class RequestSizeLimit:
    """ASGI middleware in front of every route. A route that takes JSON (per the app's OpenAPI) gets
    `json_bytes` and answers 415 to another Content-Type before it reads a byte; other routes get
    `upload_bytes` for uploads (multipart, zip, CSV) and `json_bytes` for anything else. A declared
    Content-Length over the limit is refused at once; an undeclared one when the stream passes it."""

    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes
        self.json_routes: list[tuple[str, re.Pattern[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type")
        takes_json = self._takes_json(scope)
        if takes_json and not is_json(content_type):
            await _refuse(
                send,
                receive,
                415,
                f"this endpoint takes JSON; the body was sent as {content_type!r}: "
                "send it with Content-Type: application/json",
            )
            return
        uploading = not takes_json and media_type(content_type) in UPLOAD_TYPES
        limit = self.upload_bytes if uploading else self.json_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, receive, 413, BodyTooLarge(limit).detail)
            return
        received, finished, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, finished
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge(limit)
            else:
                finished = True
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await JSONResponse({"detail": BodyTooLarge(limit).detail}, status_code=413)(scope, _nothing, send)
        if received > limit and not finished:
            await _drain(receive)

    def _takes_json(self, scope: Scope) -> bool:
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return False
        if self.json_routes is None:
            self.json_routes = json_routes(scope.get("app"))
        method = scope["method"].lower()
        return any(m == method and pattern.fullmatch(scope["path"]) for m, pattern in self.json_routes)


def json_routes(app: Any) -> list[tuple[str, re.Pattern[str]]]:
    """(method, path pattern) of every operation whose OpenAPI request body is JSON."""
    try:
        paths = app.openapi().get("paths", {})
    except Exception:  # no schema, no route-aware check: the content-type limits still hold
        log.warning("no OpenAPI schema; JSON routes are not told apart from uploads", exc_info=True)
        return []
    found = []
    for path, operations in paths.items():
        pattern = re.compile(
            "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^/]+\})", path))
        )
        for method, operation in operations.items():
            kinds = (operation.get("requestBody") or {}).get("content", {}) if isinstance(operation, dict) else {}
            if kinds and all(is_json(kind) for kind in kinds):
                found.append((method, pattern))
    return found


async def _refuse(send: Send, receive: Receive, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status_code=status)({"type": "http"}, _nothing, send)
    await _drain(receive)


async def _drain(receive: Receive) -> None:
    """Read and drop the rest of a refused body (up to DRAIN_BYTES), so a client that sends its whole body
    before it reads the answer gets the 413 instead of a broken connection."""
    dropped = 0
    while dropped < DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        dropped += len(message.get("body", b""))


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    """What FastAPI parses as JSON: application/json, any +json type, or no Content-Type at all."""
    kind = media_type(content_type)
    return kind in ("", "application/json") or (kind.startswith("application/") and kind.endswith("+json"))


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> Any:
    """The value itself if short, else the start of its JSON text: a 422 never echoes a whole large body
    (nor a NaN, which is not JSON and could not be sent back)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:  # NaN or Infinity somewhere in it
        return _cut(json.dumps(value, ensure_ascii=False, default=str), limit)
    except (TypeError, RecursionError):
        return f"(a {type(value).__name__} too deeply nested to quote)"
    if len(text) <= limit:
        return value if isinstance(value, str | int | float | bool | type(None)) else json.loads(text)
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


async def short_validation_errors(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 with each error's input cut to an excerpt, and at most MAX_REPORTED_ERRORS errors."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail: list[dict[str, Any]] = []
    for error in errors[:MAX_REPORTED_ERRORS]:
        item = {"type": error.get("type"), "loc": list(error.get("loc", ())), "msg": str(error.get("msg", ""))}
        if "input" in error:
            item["input"] = excerpt(error["input"])
        detail.append(item)
    body: dict[str, Any] = {"detail": detail}
    if len(errors) > MAX_REPORTED_ERRORS:
        body["omitted"] = f"{len(errors) - MAX_REPORTED_ERRORS} more errors; fix these and send again"
    return JSONResponse(body, status_code=422)


def install(app: FastAPI, *, json_bytes: int, upload_bytes: int) -> None:
    """Size and type limits in front of every route, and the 422 shape."""
    app.add_middleware(RequestSizeLimit, json_bytes=json_bytes, upload_bytes=upload_bytes)
    app.add_exception_handler(RequestValidationError, short_validation_errors)
