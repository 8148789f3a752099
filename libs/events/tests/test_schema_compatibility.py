"""Each event's JSON Schema against the last release's: a change that keeps the version stays compatible
(invariant 7), and the check catches the changes that would break a reader."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mosaic_events.compatibility import breaking_changes, incompatible_with_release, released_schemas

ROOT = Path(__file__).resolve().parents[3]
V1 = json.loads((ROOT / "docs" / "events" / "MasteryChanged.v1.schema.json").read_text())


def data_of(schema: dict) -> dict:
    """The payload model inside an envelope schema (where the fields live)."""
    ref = schema["properties"]["data"]["$ref"].split("/")[-1]
    return schema["$defs"][ref]


def changed(edit) -> dict:  # type: ignore[no-untyped-def]
    schema = copy.deepcopy(V1)
    edit(data_of(schema))
    return schema


def test_every_released_schema_is_still_compatible() -> None:
    release, problems = incompatible_with_release(ROOT)
    assert release
    assert not problems, "\n".join(problems)


def test_the_release_baseline_covers_every_type_it_knew() -> None:
    _, released = released_schemas(ROOT)
    assert "MasteryChanged.v1.schema.json" in released and "GroupAssignmentChanged.v1.schema.json" in released
    assert len(released) >= 12


def test_the_module_entry_point_exits_zero_on_this_tree() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mosaic_events.compatibility", "--root", str(ROOT)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_allowing_a_missing_level_in_v1_is_caught() -> None:
    """The very change version 2 exists for: made in place, it would break every v1 reader."""

    def nullable_level(d: dict) -> None:
        d["properties"]["new_level"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}

    assert breaking_changes(V1, changed(nullable_level)) == [
        "data.new_level: type ['string'] became ['null', 'string']"
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["properties"].pop("method"), "data.method: removed"),
        (lambda d: d["required"].append("competency_code"), "data.competency_code: newly required"),
        (lambda d: d["properties"]["evidence_count"].update(type="string"), "data.evidence_count: type"),
        (lambda d: d["properties"]["estimate"].update(maximum=100), "data.estimate: maximum 1.0 became 100"),
    ],
)
def test_breaking_changes_are_named_with_their_field(edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    problems = breaking_changes(V1, changed(edit))
    assert any(p.startswith(expected) for p in problems), problems


def test_additions_and_words_keep_the_version() -> None:
    def additive(d: dict) -> None:
        d["properties"]["confidence"] = {"type": "number", "description": "new, optional"}
        d["description"] = "reworded"
        d["properties"]["method"]["description"] = "reworded too"

    assert breaking_changes(V1, changed(additive)) == []


def test_an_enum_may_grow_but_not_shrink() -> None:
    schema = json.loads((ROOT / "docs" / "events" / "EvidenceRecorded.v1.schema.json").read_text())
    grown, shrunk = copy.deepcopy(schema), copy.deepcopy(schema)
    data_of(grown)["properties"]["kind"]["enum"].append("portfolio_piece")
    data_of(shrunk)["properties"]["kind"]["enum"].remove("goal")
    assert breaking_changes(schema, grown) == []
    assert breaking_changes(schema, shrunk) == ["data.kind: enum values ['goal'] removed"]
