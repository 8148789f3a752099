"""scheduling's view of mastery levels reads both versions of MasteryChanged: a v1 or v2 level is kept, and a
v2 change without a level (its evidence retracted) forgets it, as if the student had not been assessed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mosaic_events import new_envelope
from mosaic_events.catalog import MasteryChanged, MasteryChangedV1
from mosaic_events.upcasting import upcast
from mosaic_runtime.consumer import UnitOfWork
from mosaic_runtime.db import make_engine, make_session_factory
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.consumers import keep_mastery_level

BASE = {
    "student_id": "s-1",
    "competency_id": "c-1",
    "old_level": None,
    "method": "latest",
    "cause_evidence_ids": ("e-1",),
}


async def levels(sessions) -> list[tuple]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        rows = await session.execute(
            select(t.mastery_levels.c.student_id, t.mastery_levels.c.rank, t.mastery_levels.c.label)
        )
        return [tuple(r) for r in rows]


async def test_a_level_from_either_version_is_kept_and_an_absent_one_forgotten(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'scheduling.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(t.metadata.create_all)
    sessions = make_session_factory(engine)
    changes = [
        MasteryChangedV1(**BASE, new_level="Developing", new_rank=1, mastered=False, estimate=0.4, evidence_count=1),
        MasteryChanged(**BASE, new_level="Proficient", new_rank=2, mastered=True, estimate=0.8, evidence_count=2),
        MasteryChanged(**BASE, new_level=None, new_rank=None, mastered=False, estimate=None, evidence_count=0),
    ]
    seen = []
    try:
        for change in changes:
            envelope = upcast(new_envelope(change, district_id="d-1", producer="test", subject="s-1"))
            async with sessions() as session, session.begin():
                await keep_mastery_level(UnitOfWork(session), envelope.data, envelope)  # type: ignore[arg-type]
            seen.append(await levels(sessions))
    finally:
        await engine.dispose()
    assert seen == [[("s-1", 1, "Developing")], [("s-1", 2, "Proficient")], []]
