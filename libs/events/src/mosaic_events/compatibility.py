"""Is a changed JSON Schema still the same contract? Invariant 7: a change that keeps the version must let
readers of the old schema read new events and new readers read the old events the log keeps forever.

Allowed without a new version: a new optional field, a new enum value, new or changed descriptions.
Anything else (a field removed or newly required, a type widened or narrowed, null allowed, a constant,
format or bound changed) needs a new version. Run against the last release:

    uv run python -m mosaic_events.compatibility            # exit 1 and say what broke
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

Schema = dict[str, Any]
BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "format",
    "const",
)
ROOT = Path(__file__).resolve().parents[4]
BASELINE = ROOT / "docs" / "contract-baseline"


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What a reader of `old` or an event valid under `old` would trip over in `new`, one line per place."""
    return _compare(old, old, new, new, "")


def _resolve(root: Schema, node: Schema) -> Schema:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _alternatives(root: Schema, node: Schema) -> list[Schema]:
    node = _resolve(root, node)
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        return [alt for option in options for alt in _alternatives(root, option)]
    return [node]


def _kinds(node: Schema) -> set[str]:
    if "type" in node:
        return set(node["type"]) if isinstance(node["type"], list) else {node["type"]}
    values = node.get("enum", [node["const"]] if "const" in node else [])
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    return {names.get(type(v), "object") for v in values}


def _compare(old_root: Schema, old: Schema, new_root: Schema, new: Schema, where: str) -> list[str]:
    olds, news = _alternatives(old_root, old), _alternatives(new_root, new)
    old_kinds = set().union(*(_kinds(n) for n in olds))
    new_kinds = set().union(*(_kinds(n) for n in news))
    at = where or "(envelope)"
    if old_kinds != new_kinds:
        return [f"{at}: type {sorted(old_kinds)} became {sorted(new_kinds)}"]
    problems = []
    for old_alt in olds:
        matching = [n for n in news if _kinds(n) == _kinds(old_alt)]
        if not matching:
            problems.append(f"{at}: no longer admits {sorted(_kinds(old_alt))} as before")
            continue
        problems += _compare_node(old_root, old_alt, new_root, matching[0], where)
    return problems


def _compare_node(old_root: Schema, old: Schema, new_root: Schema, new: Schema, where: str) -> list[str]:
    at = where or "(envelope)"
    problems = [
        f"{at}: {key} {old.get(key)!r} became {new.get(key)!r}" for key in BOUNDS if old.get(key) != new.get(key)
    ]
    if "enum" in old:
        removed = [v for v in old["enum"] if v not in new.get("enum", [])]
        if removed:
            problems.append(f"{at}: enum values {removed} removed")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        path = f"{where}.{name}" if where else name
        if name not in new_props:
            problems.append(f"{path}: removed")
        else:
            problems += _compare(old_root, old_prop, new_root, new_props[name], path)
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        path = f"{where}.{name}" if where else name
        problems.append(f"{path}: newly required (events already in the log lack it)")
    for key in ("items", "additionalProperties"):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            problems += _compare(old_root, old[key], new_root, new[key], f"{where}[]")
    for index, (old_item, new_item) in enumerate(
        zip(old.get("prefixItems", []), new.get("prefixItems", []), strict=False)
    ):
        problems += _compare(old_root, old_item, new_root, new_item, f"{where}[{index}]")
    if len(old.get("prefixItems", [])) != len(new.get("prefixItems", [])):
        problems.append(f"{at}: tuple length changed")
    return problems


def released_schemas(root: Path = ROOT) -> tuple[str, dict[str, Schema]]:
    """The schemas of the last release: docs/events at the newest `v*` tag if there is one, else the committed
    baseline (docs/contract-baseline, copied from docs/events when a release is cut)."""
    tag = subprocess.run(
        ["git", "describe", "--tags", "--abbrev=0", "--match", "v*"], cwd=root, capture_output=True, text=True
    )
    if tag.returncode == 0 and tag.stdout.strip():
        ref = tag.stdout.strip()
        names = subprocess.run(
            ["git", "ls-tree", "--name-only", f"{ref}:docs/events"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        return ref, {
            n: json.loads(
                subprocess.run(
                    ["git", "show", f"{ref}:docs/events/{n}"], cwd=root, check=True, capture_output=True, text=True
                ).stdout
            )
            for n in names
            if n.endswith(".schema.json")
        }
    return "docs/contract-baseline", {
        p.name: json.loads(p.read_text()) for p in sorted((root / "docs" / "contract-baseline").glob("*.schema.json"))
    }


def incompatible_with_release(root: Path = ROOT) -> tuple[str, list[str]]:
    """Every released schema must still exist (names are never retired) with no breaking change."""
    release, released = released_schemas(root)
    problems = []
    for name, old in released.items():
        current = root / "docs" / "events" / name
        if not current.is_file():
            problems.append(f"{name}: gone (a released type and version is never removed)")
            continue
        problems += [f"{name}: {p}" for p in breaking_changes(old, json.loads(current.read_text()))]
    return release, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare docs/events with the last release's schemas.")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    release, problems = incompatible_with_release(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} incompatible change(s) against {release}: give the type a new version instead "
            "(and an upcaster in mosaic_events.upcasting)",
            file=sys.stderr,
        )
        return 1
    print(f"every schema of {release} is still compatible")
    return 0


if __name__ == "__main__":
    sys.exit(main())
