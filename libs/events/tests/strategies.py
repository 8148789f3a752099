"""Hypothesis strategies for every registered event type, derived from the pydantic models.

Strategies are built from each field's annotation and constraints (min_length, ge, le...),
so a new event type or field is covered without touching this file. Value objects with
rules across fields (a Score must lie on its scale) get a hand-written strategy.
"""

from __future__ import annotations

import types
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal, Union, get_args, get_origin
from uuid import UUID

import annotated_types as at
from hypothesis import Phase, find, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mosaic_events import Envelope, EventData, all_event_classes
from mosaic_events.catalog import GroupAssignmentChanged, MasteryChanged, Score

MAX_ITEMS = 3
FIRST_DAY = datetime(1990, 1, 1)
LAST_DAY = datetime(2100, 1, 1)

# Whole-minute offsets: what ISO 8601 (and so the JSON) can carry exactly.
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware_datetimes = st.datetimes(min_value=FIRST_DAY, max_value=LAST_DAY, timezones=offsets)
identifiers = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=24)


@st.composite
def scores(draw: st.DrawFn) -> Score:
    """A score on a scale whose maximum exceeds its minimum, with the value on the scale."""
    minimum = draw(st.floats(min_value=-1e6, max_value=1e6))
    span = draw(st.floats(min_value=1e-3, max_value=1e6))
    maximum = minimum + span
    value = draw(st.floats(min_value=minimum, max_value=maximum))
    return Score(value=value, minimum=minimum, maximum=maximum)


@st.composite
def mastery_changes(draw: st.DrawFn) -> MasteryChanged:
    """Version 2: the new level and its rank are present together, or both absent (and not mastered)."""
    fields = {name: draw(field_strategy(info)) for name, info in MasteryChanged.model_fields.items()}
    if fields["new_level"] is None or fields["new_rank"] is None:
        fields.update(new_level=None, new_rank=None, mastered=False)
    return MasteryChanged(**fields)


@st.composite
def group_assignment_changes(draw: st.DrawFn) -> GroupAssignmentChanged:
    """Version 2: a new session with its details, or none (the student left the block) and no details."""
    fields = {name: draw(field_strategy(info)) for name, info in GroupAssignmentChanged.model_fields.items()}
    if fields["new_session_id"] is None:
        fields.update(
            session_title=None, session_kind=None, starts_at=None, ends_at=None, room_id=None, teacher_id=None
        )
    else:
        fields.update(
            session_title=fields["session_title"] or draw(identifiers),
            session_kind=fields["session_kind"] or draw(identifiers),
            starts_at=fields["starts_at"] or draw(aware_datetimes),
            ends_at=fields["ends_at"] or draw(aware_datetimes),
        )
    return GroupAssignmentChanged(**fields)


HAND_WRITTEN: dict[type, st.SearchStrategy[Any]] = {
    Score: scores(),
    MasteryChanged: mastery_changes(),
    GroupAssignmentChanged: group_assignment_changes(),
}


def model_strategy(model: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    """Instances of a pydantic model with every field drawn, optional ones included."""
    if model in HAND_WRITTEN:
        return HAND_WRITTEN[model]
    fields = {name: field_strategy(info) for name, info in model.model_fields.items()}
    return st.builds(model, **fields)


def field_strategy(info: FieldInfo) -> st.SearchStrategy[Any]:
    return annotation_strategy(info.annotation, _bounds(info.metadata))


def annotation_strategy(annotation: Any, bounds: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Values for a type annotation, within the bounds a Field() declared."""
    bounds = bounds or {}
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return st.one_of([annotation_strategy(a, bounds) for a in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            items = st.lists(
                annotation_strategy(args[0]),
                min_size=bounds.get("min_len", 0),
                max_size=max(MAX_ITEMS, bounds.get("min_len", 0)),
            )
            return items.map(tuple)
        return st.tuples(*(annotation_strategy(a) for a in args))
    return _scalar_strategy(annotation, bounds)


def _scalar_strategy(annotation: Any, bounds: dict[str, Any]) -> st.SearchStrategy[Any]:
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_strategy(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(min_value=bounds.get("ge", -(2**53)), max_value=bounds.get("le", 2**53))
    if annotation is float:
        return st.floats(min_value=bounds.get("ge"), max_value=bounds.get("le"), allow_nan=False, allow_infinity=False)
    if annotation is str:
        return st.from_regex(bounds["pattern"], fullmatch=True) if "pattern" in bounds else identifiers
    if annotation is UUID:
        return st.uuids()
    if annotation is datetime:
        return aware_datetimes
    if annotation is date:
        return st.dates(min_value=FIRST_DAY.date(), max_value=LAST_DAY.date())
    raise TypeError(f"no strategy for {annotation!r}: teach tests/strategies.py about it")


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, at.Ge):
            bounds["ge"] = item.ge
        elif isinstance(item, at.Le):
            bounds["le"] = item.le
        elif isinstance(item, at.MinLen):
            bounds["min_len"] = item.min_length
        elif getattr(item, "pattern", None):
            bounds["pattern"] = item.pattern
        elif isinstance(item, at.Gt | at.Lt | at.MaxLen):
            raise TypeError(f"strategies.py does not yet honour {item!r}; add it to _bounds")
    return bounds


def event_data(cls: type[EventData]) -> st.SearchStrategy[EventData]:
    return model_strategy(cls)


@st.composite
def envelopes(draw: st.DrawFn, cls: type[EventData], *, keyed: bool = True) -> Envelope:
    """An envelope carrying `cls`; `keyed` makes sure it has what its Kafka key needs."""
    data = draw(event_data(cls))
    subject = draw(identifiers if keyed and cls.key_field == "subject" else st.none() | identifiers)
    return Envelope(
        id=draw(st.uuids()),
        type=cls.event_type,
        version=cls.version,
        occurred_at=draw(aware_datetimes),
        recorded_at=draw(aware_datetimes),
        district_id=draw(identifiers),
        school_id=draw(st.none() | identifiers),
        subject=subject,
        correlation_id=draw(st.uuids()),
        causation_id=draw(st.none() | st.uuids()),
        producer=draw(identifiers),
        data=data,
    )


def any_envelope() -> st.SearchStrategy[Envelope]:
    return st.sampled_from(all_event_classes()).flatmap(envelopes)


def sample_envelope(cls: type[EventData]) -> Envelope:
    """One generated envelope of `cls`, for tests that need an instance rather than a property."""
    once = settings(phases=[Phase.generate], database=None, max_examples=1, deadline=None)
    return find(envelopes(cls), lambda _: True, settings=once)
