"""The contract docs under docs/ are generated from the code, current, and describe real events."""

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mosaic_events import TOPICS, EventData, all_event_classes, encode
from mosaic_events.schema_export import (
    asyncapi_document,
    envelope_schema,
    events_markdown,
    main,
    schema_file_name,
    stale_docs,
)

from .strategies import envelopes, sample_envelope

DOCS = Path(__file__).resolve().parents[3] / "docs"
BY_TYPE = pytest.mark.parametrize("cls", all_event_classes(), ids=lambda c: f"{c.event_type}.v{c.version}")


def test_the_checked_in_docs_are_current() -> None:
    stale = stale_docs(DOCS)
    assert not stale, f"docs/ is stale: {stale}; run `uv run python -m mosaic_events.schema_export` and commit it"


def test_the_module_entry_point_checks_the_docs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mosaic_events.schema_export", "--check", "--docs", str(DOCS)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_check_mode_fails_on_a_stale_a_missing_or_a_leftover_file(tmp_path: Path, capsys) -> None:
    assert main(["--docs", str(tmp_path)]) == 0
    assert main(["--docs", str(tmp_path), "--check"]) == 0
    (tmp_path / "events.md").write_text("# edited by hand\n")
    (tmp_path / "asyncapi.json").unlink()
    (tmp_path / "events" / "EvidenceInvented.v1.schema.json").write_text("{}")
    assert main(["--docs", str(tmp_path), "--check"]) == 1
    complaints = capsys.readouterr().err
    for name in ("events.md", "asyncapi.json", "EvidenceInvented.v1.schema.json"):
        assert f"stale: {tmp_path / name}" in complaints or name in complaints
    assert main(["--docs", str(tmp_path)]) == 0
    assert main(["--docs", str(tmp_path), "--check"]) == 0
    assert not (tmp_path / "events" / "EvidenceInvented.v1.schema.json").exists()


@BY_TYPE
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_every_encoded_event_satisfies_its_published_schema(cls: type[EventData], data: st.DataObject) -> None:
    validator = _validator(cls)
    wire = json.loads(encode(data.draw(envelopes(cls, keyed=False))))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(wire)]
    assert not errors


@BY_TYPE
def test_the_published_schema_refuses_what_decode_refuses(cls: type[EventData]) -> None:
    validator = _validator(cls)
    wire = json.loads(encode(sample_envelope(cls)))
    assert not validator.is_valid({k: v for k, v in wire.items() if k != "district_id"})
    assert not validator.is_valid({**wire, "version": cls.version + 1})
    assert not validator.is_valid({**wire, "data": {**wire["data"], "unexpected": 1}})


def test_asyncapi_has_every_topic_and_dlq_with_its_partitions_and_types() -> None:
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    for topic in TOPICS:
        for name in (topic.name, topic.dlq):
            binding = document["channels"][name]["bindings"]["kafka"]
            assert binding["partitions"] == topic.partitions
        payload = document["components"]["messages"][f"{topic.name}:Message"]["payload"]
        schema = document["components"]["schemas"][payload["$ref"].rsplit("/", 1)[-1]]
        refs = {ref["$ref"].rsplit("/", 1)[-1] for ref in schema.get("anyOf", [payload])}
        carried = {cls.__name__ + "Envelope" for cls in all_event_classes() if cls.event_type in topic.types}
        assert refs == carried
        retention = document["channels"][topic.name]["bindings"]["kafka"]["topicConfiguration"]["retention.ms"]
        assert retention == topic.retention_ms


def test_events_md_describes_every_type_from_its_docstring() -> None:
    text = events_markdown()
    for cls in all_event_classes():
        assert f"## {cls.event_type} (v{cls.version})" in text
        assert cls.__doc__.strip() in text
        assert f"events/{schema_file_name(cls)}" in text
        for field in cls.model_fields:
            assert f"| `{field}` |" in text


@functools.cache
def _validator(cls: type[EventData]) -> Draft202012Validator:
    schema = envelope_schema(cls)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
