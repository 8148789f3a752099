"""What a use case answers: written (and whether something new was created), found, or refused and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mosaic_events import Envelope
from mosaic_evidence.domain.recording import Problem


class Refusal(StrEnum):
    INVALID = "invalid"
    NOT_PERMITTED = "not_permitted"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Written:
    """The write is committed and its events are on the log; `created` when it made something new."""

    body: Any
    created: bool = True


@dataclass(frozen=True)
class Refused:
    """Nothing was written; `body` names every problem."""

    why: Refusal
    body: Any


@dataclass(frozen=True)
class Found:
    """What a read found."""

    body: Any


Result = Written | Refused


@dataclass
class Decision:
    """What a write decided: its result, and the events that must be acknowledged before it is given."""

    result: Result
    envelopes: list[Envelope] = field(default_factory=list)


class IdempotencyConflict(Exception):
    """The key was used for a different request (or one still in flight)."""


def refused(problems: list[Problem], detail: str) -> Decision:
    """Refuse for the weightiest problem: unknown evidence, then a conflict, then permission, else invalid."""
    codes = {p.code for p in problems}
    why = (
        Refusal.NOT_FOUND
        if "unknown_evidence" in codes
        else Refusal.CONFLICT
        if "already_retracted" in codes
        else Refusal.NOT_PERMITTED
        if codes == {"not_permitted"}
        else Refusal.INVALID
    )
    return Decision(
        Refused(why, {"detail": f"{detail}; nothing was recorded", "problems": [p.as_dict() for p in problems]})
    )
