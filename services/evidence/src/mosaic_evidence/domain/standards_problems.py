"""What is wrong with one statement or event of a request, said so the sender can fix it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64  # xAPI and Caliper nest a dozen levels; extensions a few more


@dataclass(frozen=True)
class InputProblem:
    """One reason the request was refused: which statement (its index), which field, what to do."""

    index: int | None
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"field": self.field or "(the whole statement)", "reason": self.reason}
        return body if self.index is None else {"index": self.index, **body}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("result", "score", "raw")` → `result.score.raw`; list positions as `[0]`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def short(value: Any, limit: int = 60) -> str:
    """A value as JSON, cut short: a reason names what was sent without echoing a large input."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        text = f"(a {type(value).__name__} nested too deeply to quote)"
    return text if len(text) <= limit else text[:limit] + "…"


def is_number(value: Any) -> bool:
    """A JSON number: not a string, not true/false, not NaN or infinity."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == value
        and value not in (float("inf"), float("-inf"))
    )


def content_hash(content: Any) -> str:
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    ).hexdigest()


def nesting_depth(value: Any) -> int:
    """How deep arrays and objects nest, counted without recursion (a hostile body may nest thousands deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def too_deep(value: Any, index: int | None = None) -> list[InputProblem]:
    if nesting_depth(value) <= MAX_DEPTH:
        return []
    return [
        InputProblem(
            index,
            "",
            f"arrays and objects nest deeper than {MAX_DEPTH} levels; no xAPI statement "
            "or Caliper event needs that: flatten the data",
        )
    ]
