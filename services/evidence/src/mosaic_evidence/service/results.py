"""What a use case answers: done (and whether it created something), or refused and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mosaic_events import Envelope
from mosaic_evidence.domain.recording import Problem

Refusal = Literal["malformed", "invalid", "not_permitted", "not_found", "conflict"]


@dataclass(frozen=True)
class Done:
    """What to answer. For a write: committed with its events on the log; `created` when it made something new."""

    body: Any
    created: bool = False


@dataclass(frozen=True)
class Refused:
    """Nothing was written or read; `body` names every problem."""

    why: Refusal
    body: Any


Result = Done | Refused


@dataclass
class Decision:
    """What a write decided: its result, and the events that must be acknowledged before it is given."""

    result: Result
    envelopes: list[Envelope] = field(default_factory=list)
    # EvidenceRecorded whose view rows the writer applies (with the other writes of its group); of `envelopes`,
    # only those whose rows were not there already are sent
    view_rows: list[Envelope] = field(default_factory=list)


class IdempotencyConflict(Exception):
    """The key was used for a different request (or one still in flight)."""


def refused(problems: list[Problem], detail: str) -> Decision:
    """Refuse for the weightiest problem: unknown evidence, then a conflict, then permission, else invalid."""
    codes = {p.code for p in problems}
    why: Refusal = (
        "not_found"
        if "unknown_evidence" in codes
        else "conflict"
        if "already_retracted" in codes
        else "not_permitted"
        if codes == {"not_permitted"}
        else "invalid"
    )
    return Decision(
        Refused(why, {"detail": f"{detail}; nothing was recorded", "problems": [p.as_dict() for p in problems]})
    )
