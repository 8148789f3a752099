"""The live path on a real database: the chassis' batch applier, the store's slices and the fold.

Batches of any size give the same stored projection as folding everything in memory and writing it
in bulk (what the rebuild does), and the emitted MasteryChanged land in the outbox with derived ids.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from mosaic_dev import synthetic_events as synthetic
from mosaic_events import decode
from mosaic_mastery.adapters.checksum import projection_checksum
from mosaic_mastery.adapters.rebuild import write_state
from mosaic_mastery.adapters.store import LiveSlice, NotLoaded, ProjectionStore
from mosaic_mastery.consumers import HANDLERS
from mosaic_mastery.domain.config import DistrictSettings
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.projection import ProjectionState, apply
from mosaic_runtime.consumer import BatchApplier
from mosaic_runtime.outbox import outbox_table

from .conftest import as_records


async def test_batches_of_any_size_store_what_a_bulk_replay_stores(sessions):
    async with sessions() as session, session.begin():
        await ProjectionStore().save_settings(
            session,
            "d1",
            DistrictSettings(
                grouping_competencies={"d1-sec0000": ("math-6.S0.T0", "math-6.S0.T1")}, regroup_threshold=0.2
            ),
        )
    reference, stream = synthetic.district("d1", students=40, events=700, section_size=20)
    envelopes = reference + list(stream)
    records = as_records(envelopes)
    applier = BatchApplier("mastery-test", HANDLERS, sessions, deps=ProjectionStore())
    rng = random.Random(3)
    start = 0
    while start < len(records):
        size = rng.choice((1, 7, 50, 400))
        assert await applier.apply(records[start : start + size]) == []
        start += size
    async with sessions() as session:
        live = await projection_checksum(session)
        emitted = [decode(v) for v in await session.scalars(select(outbox_table().c.value))]

    async with sessions() as session:
        config = await ProjectionStore().configs(session, ["d1"])
    state = ProjectionState(configs=dict(config))
    expected_changes = sum(len(apply(state, from_envelope(e))) for e in envelopes)
    async with sessions() as session, session.begin():
        await write_state(session, state)
    async with sessions() as session:
        assert await projection_checksum(session) == live
    assert live[1] > 500
    assert len(emitted) == expected_changes
    assert len({e.id for e in emitted}) == len(emitted)
    assert {e.type for e in emitted} == {"MasteryChanged", "RegroupNeeded"}
    assert all(e.causation_id is not None and e.producer == "mastery" for e in emitted)


async def test_a_redelivered_batch_changes_nothing_and_emits_nothing_new(sessions):
    reference, stream = synthetic.district("d2", students=10, events=120)
    envelopes = reference + list(stream)
    records = as_records(envelopes)
    applier = BatchApplier("mastery-test", HANDLERS, sessions, deps=ProjectionStore())
    await applier.apply(records[:60])
    await applier.apply(records[:90])  # Kafka redelivers the first 60 with 30 new ones
    await applier.apply(records[60:])
    async with sessions() as session:
        live = await projection_checksum(session)
        outbox = list(await session.scalars(select(outbox_table().c.event_id)))
    state = ProjectionState()
    expected = [e for envelope in envelopes for e in apply(state, from_envelope(envelope))]
    async with sessions() as session, session.begin():
        await write_state(session, state)
    async with sessions() as session:
        assert await projection_checksum(session) == live
    assert len(outbox) == len(set(outbox)) == len(expected)


def test_a_live_slice_refuses_what_it_did_not_load_and_remembers_what_the_fold_changed():
    loaded = ("d1", "ana", "c1")
    live = LiveSlice(loaded={("record", *loaded)})
    assert live.record(loaded) is None  # loaded, and absent
    with pytest.raises(NotLoaded):
        live.record(("d1", "ana", "c2"))
    created = live.record_or_new(loaded)
    assert live.dirty_records == {loaded} and live.records[loaded] is created


@pytest.mark.parametrize("on", ["math-6.S0", "math-6.S0.T1"])
async def test_retracting_evidence_on_a_strand_or_a_target_folds_in_later_batches(sessions, on):
    """A strand with evidence of its own falls back to its targets' roll-up when that evidence goes: the slice
    loads the strand's children too (it crash-looped the consumer with NotLoaded)."""
    from datetime import date

    rng = random.Random(11)
    sections = {"sec-1": ["s1", "s2"]}
    first = [
        synthetic.framework("d3"),
        synthetic.roster("d3", "school-1", sections),
        synthetic.evidence("d3", "s1", ("math-6.S0.T0",), 3, evidence_id="e-target", observed_on=date(2026, 9, 1)),
        synthetic.evidence("d3", "s1", (on,), 4, evidence_id="e-own", observed_on=date(2026, 9, 2)),
    ]
    later = [synthetic.retraction("d3", "s1", "e-own", (on,), rng=rng)]
    applier = BatchApplier("mastery-test", HANDLERS, sessions, deps=ProjectionStore())
    assert await applier.apply(as_records(first)) == []
    assert await applier.apply(as_records(first + later)[len(first) :]) == []
    async with sessions() as session:
        live = await projection_checksum(session)
    state = ProjectionState()
    for envelope in first + later:
        apply(state, from_envelope(envelope))
    async with sessions() as session, session.begin():
        await write_state(session, state)
    async with sessions() as session:
        assert await projection_checksum(session) == live
