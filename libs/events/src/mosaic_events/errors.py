"""Why an event could not be read. Each message names the field and the problem."""

from pydantic import ValidationError


class EventError(ValueError):
    """An event that cannot be read; `reason` is a short machine tag for DLQ headers."""

    reason = "invalid"


class MalformedEvent(EventError):
    reason = "malformed"


class UnknownEventType(EventError):
    reason = "unknown-type"


class UnsupportedVersion(EventError):
    reason = "unsupported-version"


def describe(exc: ValidationError, prefix: str = "") -> str:
    """`field 'a.b': problem; field 'x': problem` — one line a person can act on."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "") or "envelope"
        parts.append(f"field {where!r}: {err['msg']}")
    return "; ".join(parts)
