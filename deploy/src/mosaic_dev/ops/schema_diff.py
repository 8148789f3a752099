"""What differs between a dead letter and the JSON Schema of the event it claims to be, in words."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from mosaic_events.registry import EventData, all_event_classes


@dataclass(frozen=True)
class Difference:
    """One place where the letter departs from the schema: what it has, what the schema wants."""

    where: str
    has: str
    expected: str


@dataclass(frozen=True)
class SchemaReport:
    """The schema a letter was compared with (if any), a one-line verdict, and the differences."""

    compared_with: str | None
    verdict: str
    differences: tuple[Difference, ...] = ()


def compare(value: bytes) -> SchemaReport:
    """Parse the letter's value and compare it with its type's schema (the newest version when unknown)."""
    try:
        payload = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        return SchemaReport(None, f"not JSON: {exc}", (_where_json_breaks(value, exc),))
    if not isinstance(payload, dict):
        return SchemaReport(None, f"an envelope is a JSON object; this is a {type(payload).__name__}")
    event_type, version = str(payload.get("type", "")), payload.get("version")
    versions = {cls.version: cls for cls in all_event_classes() if cls.event_type == event_type}
    if not versions:
        known = sorted({cls.event_type for cls in all_event_classes()})
        close = difflib.get_close_matches(event_type, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known types: {', '.join(known)}"
        return SchemaReport(None, f"no event type {event_type!r} in this Mosaic's catalog{hint}")
    cls = versions.get(version) if isinstance(version, int) else None
    verdict = ""
    if cls is None:
        cls = versions[max(versions)]
        verdict = (
            f"{event_type} v{version} is newer than this Mosaic knows (known: "
            f"{', '.join(f'v{v}' for v in sorted(versions))}); compared with v{cls.version}. "
        )
    differences = _differences(payload, cls)
    verdict += "matches the schema" if not differences else f"{len(differences)} difference(s) from the schema"
    return SchemaReport(f"{event_type} v{cls.version}", verdict, differences)


def _differences(payload: dict[str, Any], cls: type[EventData]) -> tuple[Difference, ...]:
    from jsonschema import Draft202012Validator

    from mosaic_events.schema_export import envelope_schema

    validator = Draft202012Validator(envelope_schema(cls))
    found = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in error.absolute_path) or "(envelope)"
        has = "(missing)" if error.validator == "required" else _short(error.instance)
        expected = (
            error.message
            if error.validator in ("required", "additionalProperties")
            else f"{error.validator} {_short(error.validator_value)}"
        )
        found.append(Difference(where, has, expected))
    return tuple(found)


def _where_json_breaks(value: bytes, exc: Exception) -> Difference:
    position = getattr(exc, "pos", None)
    text = value.decode(errors="replace")
    if position is None:
        return Difference("(bytes)", _short(text), "UTF-8 JSON")
    start = max(0, position - 30)
    return Difference(f"character {position}", text[start : position + 30], "valid JSON from here on")


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
