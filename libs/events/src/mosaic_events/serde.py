"""The one JSON serializer for envelopes. Decoding errors name the field that is wrong."""

from __future__ import annotations

import json

from pydantic import ValidationError

from mosaic_events.envelope import Envelope
from mosaic_events.errors import EventError, MalformedEvent, describe


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def decode(raw: bytes | str) -> Envelope:
    """Parse and validate an envelope; raise an EventError that says what is wrong and where."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedEvent(f"an envelope must be a JSON object, got {type(payload).__name__}")
    return from_dict(payload)


def from_dict(payload: dict) -> Envelope:
    try:
        return Envelope.model_validate(payload)
    except EventError:
        raise
    except ValidationError as exc:
        cause = _event_error_in(exc)
        if cause is not None:
            raise cause from None
        raise MalformedEvent(describe(exc)) from None


def _event_error_in(exc: ValidationError) -> EventError | None:
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, EventError):
            return ctx_error
    return None
