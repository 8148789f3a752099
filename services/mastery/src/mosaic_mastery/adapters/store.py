"""Loads the slice of the projection a batch of facts touches, and writes back what the fold changed.

`LiveSlice` is the store's view of the plain `ProjectionState`: it knows what was loaded and tracks what the
fold changed, so the fold itself knows nothing of loading or saving.

District settings and reference data are cached per process and re-read when their version row moves,
so a batch costs a handful of queries whatever its size.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.catalog import PersonErased
from mosaic_mastery.adapters import codec, locks
from mosaic_mastery.adapters.tables import (
    district_references,
    district_settings,
    evidence_index,
    mastery_records,
    section_watches,
)
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings
from mosaic_mastery.domain.facts import EvidenceFact, Fact, ReferenceFact
from mosaic_mastery.domain.projection import EvidenceRef, ProjectionState, RecordKey, needed_competencies
from mosaic_mastery.domain.records import MasteryRecord
from mosaic_mastery.domain.reference import DistrictReference
from mosaic_mastery.domain.regroup import SectionWatch

CHUNK = 400


class NotLoaded(LookupError):
    """The live slice was asked for something it did not load: a bug in `needed_competencies`."""


@dataclass
class LiveSlice(ProjectionState):
    """The part of the projection a batch touches, as loaded; it remembers what the fold changed so `save`
    writes only that, and refuses to answer for rows it did not load (absent is not the same as unloaded)."""

    loaded: set[tuple[Any, ...]] = field(default_factory=set)
    whole_districts: set[str] = field(default_factory=set)  # districts whose every record is loaded
    dirty_records: set[RecordKey] = field(default_factory=set)
    dirty_evidence: set[tuple[str, str]] = field(default_factory=set)
    dirty_watches: set[tuple[str, str]] = field(default_factory=set)
    dirty_references: set[str] = field(default_factory=set)

    def reference(self, district_id: str) -> DistrictReference:
        if district_id not in self.references:
            self._check(("reference", district_id))
        return super().reference(district_id)

    def changed_reference(self, district_id: str) -> None:
        self.dirty_references.add(district_id)

    def record(self, key: RecordKey) -> MasteryRecord | None:
        if key not in self.records:
            self._check(("record", *key))
        return super().record(key)

    def record_or_new(self, key: RecordKey) -> MasteryRecord:
        self.record(key)  # refuses a record it did not load
        self.dirty_records.add(key)
        return super().record_or_new(key)

    def drop_record(self, key: RecordKey) -> None:
        self.dirty_records.add(key)
        super().drop_record(key)

    def evidence_ref(self, key: tuple[str, str]) -> EvidenceRef | None:
        if key not in self.evidence:
            self._check(("evidence", *key))
        return super().evidence_ref(key)

    def drop_evidence(self, key: tuple[str, str]) -> None:
        self.dirty_evidence.add(key)
        super().drop_evidence(key)

    def changed_evidence(self, key: tuple[str, str], ref: EvidenceRef) -> EvidenceRef:
        self.dirty_evidence.add(key)
        return super().changed_evidence(key, ref)

    def watch(self, district_id: str, section_id: str) -> SectionWatch:
        key = (district_id, section_id)
        if key not in self.watches:
            self._check(("watch", *key))
        self.dirty_watches.add(key)
        return super().watch(district_id, section_id)

    def _check(self, what: tuple[Any, ...]) -> None:
        if what in self.loaded or (what[0] == "record" and what[1] in self.whole_districts):
            return
        raise NotLoaded(f"the live slice did not load {what}; needed_competencies must include it")


class ProjectionStore:
    def __init__(self) -> None:
        self._references: dict[str, tuple[int, DistrictReference]] = {}
        self._configs: dict[str, tuple[int, DistrictConfig]] = {}

    # --- versioned, cached district data -----------------------------------------------------

    async def configs(self, session: AsyncSession, districts: Iterable[str]) -> dict[str, DistrictConfig]:
        t = district_settings
        query = select(t.c.district_id, t.c.version).where(t.c.district_id.in_(list(districts)))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(read=True)  # a settings change waits for this batch, and vice versa
        versions = {r.district_id: r.version for r in await session.execute(query)}
        found = {}
        for district in districts:
            version = versions.get(district, 0)
            cached = self._configs.get(district)
            if cached is None or cached[0] != version:
                body = await session.scalar(select(t.c.body).where(t.c.district_id == district)) if version else None
                settings = DistrictSettings.model_validate_json(body) if body else DistrictSettings()
                cached = self._configs[district] = (version, DistrictConfig(settings))
            found[district] = cached[1]
        return found

    async def settings_version(self, session: AsyncSession, district_id: str) -> int:
        t = district_settings
        return await session.scalar(select(t.c.version).where(t.c.district_id == district_id)) or 0

    async def save_settings(self, session: AsyncSession, district_id: str, settings: DistrictSettings) -> int:
        t = district_settings
        version = await self.settings_version(session, district_id)
        body = settings.model_dump_json()
        if version:
            await session.execute(
                update(t).where(t.c.district_id == district_id).values(version=version + 1, body=body)
            )
        else:
            await session.execute(insert(t).values(district_id=district_id, version=1, body=body))
        return version + 1

    async def references(self, session: AsyncSession, districts: Iterable[str]) -> dict[str, DistrictReference]:
        t = district_references
        districts = list(districts)
        versions = {
            r.district_id: r.version
            for r in await session.execute(select(t.c.district_id, t.c.version).where(t.c.district_id.in_(districts)))
        }
        found = {}
        for district in districts:
            version = versions.get(district, 0)
            cached = self._references.get(district)
            if cached is None or cached[0] != version:
                body = await session.scalar(select(t.c.body).where(t.c.district_id == district)) if version else None
                cached = self._references[district] = (
                    version,
                    codec.reference_from_body(body) if body else DistrictReference(),
                )
            found[district] = cached[1]
        return found

    # --- the slice a batch needs --------------------------------------------------------------

    async def load_slice(self, session: AsyncSession, facts: Sequence[Fact]) -> LiveSlice:
        """Lock, then load: a district's reference shared (exclusive when a fact changes it), then the watches
        of the sections the batch's students sit in, in one order, so replicas on other partitions wait."""
        districts = sorted({f.district_id for f in facts})
        changing = {f.district_id for f in facts if isinstance(f, ReferenceFact)}
        await locks.lock_districts(session, {d: d in changing for d in districts})
        state = LiveSlice()
        state.configs.update(await self.configs(session, districts))
        for district, ref in (await self.references(session, districts)).items():
            state.references[district] = copy.deepcopy(ref) if district in changing else ref
            state.loaded.add(("reference", district))
        evidence = [f for f in facts if isinstance(f, EvidenceFact)]
        await self._load_evidence(session, state, evidence)
        state.whole_districts = {
            f.district_id for f in facts if isinstance(f, ReferenceFact) and hasattr(f.data, "framework_id")
        }
        for district in state.whole_districts:
            await self._load_records(session, state, mastery_records.c.district_id == district)
        await self._load_needed_records(
            session, state, [f for f in evidence if f.district_id not in state.whole_districts]
        )
        for erased in [f for f in facts if isinstance(f, ReferenceFact) and isinstance(f.data, PersonErased)]:
            await self._load_person(session, state, erased.district_id, erased.data.person_id)
        for district in districts:
            watched = tuple(state.configs[district].settings.grouping_competencies)
            if district not in changing:  # the exclusive district lock already keeps every watch to this batch
                watched = _sections_of_students(state, district, evidence, watched)
                await locks.lock_sections(session, district, watched)
            await self._load_watches(session, state, district, watched)
        return state

    async def load_district(self, session: AsyncSession, district: str, settings: DistrictSettings) -> LiveSlice:
        """Every record of a district (for a recalculation), with its reference and the watched sections."""
        await locks.lock_districts(session, {district: True})
        state = LiveSlice(whole_districts={district})
        state.configs[district] = DistrictConfig(settings)
        state.references[district] = (await self.references(session, [district]))[district]
        state.loaded.add(("reference", district))
        await self._load_records(session, state, mastery_records.c.district_id == district)
        await self._load_watches(session, state, district, tuple(settings.grouping_competencies))
        return state

    async def _load_evidence(self, session: AsyncSession, state: LiveSlice, facts: Sequence[EvidenceFact]) -> None:
        t = evidence_index
        keys = sorted({(f.district_id, f.evidence_id) for f in facts})
        for chunk in _chunks(keys):
            rows = await session.execute(select(t).where(tuple_(t.c.district_id, t.c.evidence_id).in_(chunk)))
            for row in rows:
                state.evidence[(row.district_id, row.evidence_id)] = codec.evidence_from_row(row)
        state.loaded.update(("evidence", *k) for k in keys)

    async def _load_needed_records(
        self, session: AsyncSession, state: LiveSlice, facts: Sequence[EvidenceFact]
    ) -> None:
        keys: set[tuple[str, str, str]] = set()
        for f in facts:
            known = state.evidence.get((f.district_id, f.evidence_id))
            competencies = (*f.competency_ids, *(known.competency_ids if known else ()))
            for competency in needed_competencies(state.references[f.district_id], competencies):
                keys.add((f.district_id, f.student_id, competency))
        t = mastery_records
        for chunk in _chunks(sorted(keys)):
            await self._load_records(
                session, state, tuple_(t.c.district_id, t.c.student_id, t.c.competency_id).in_(chunk)
            )
        state.loaded.update(("record", *k) for k in keys)

    async def _load_person(self, session: AsyncSession, state: LiveSlice, district: str, person_id: str) -> None:
        """Everything the fold holds about one person: their records and their evidence index."""
        await self._load_records(
            session, state, (mastery_records.c.district_id == district) & (mastery_records.c.student_id == person_id)
        )
        rows = await session.execute(
            select(evidence_index).where(
                evidence_index.c.district_id == district, evidence_index.c.student_id == person_id
            )
        )
        for row in rows:
            state.evidence[(row.district_id, row.evidence_id)] = codec.evidence_from_row(row)
            state.loaded.add(("evidence", row.district_id, row.evidence_id))

    async def _load_records(self, session: AsyncSession, state: ProjectionState, where: Any) -> None:
        for row in await session.execute(select(mastery_records).where(where)):
            record = codec.record_from_row(row)
            state.records[record.key] = record

    async def _load_watches(
        self, session: AsyncSession, state: LiveSlice, district: str, sections: tuple[str, ...]
    ) -> None:
        t = section_watches
        for chunk in _chunks(list(sections)):
            rows = await session.execute(select(t).where(t.c.district_id == district, t.c.section_id.in_(chunk)))
            for row in rows:
                state.watches[(district, row.section_id)] = codec.watch_from_body(district, row.section_id, row.body)
        state.loaded.update(("watch", district, s) for s in sections)

    # --- writing back -------------------------------------------------------------------------

    async def save(self, session: AsyncSession, state: LiveSlice) -> None:
        """Replace every row the fold touched (delete + insert works the same on SQLite and PostgreSQL)."""
        await _replace(
            session,
            mastery_records,
            ("district_id", "student_id", "competency_id"),
            state.dirty_records,
            [codec.record_row(state.records[k]) for k in sorted(state.dirty_records) if k in state.records],
        )
        await _replace(
            session,
            evidence_index,
            ("district_id", "evidence_id"),
            state.dirty_evidence,
            [codec.evidence_row(*k, state.evidence[k]) for k in sorted(state.dirty_evidence) if k in state.evidence],
        )
        await _replace(
            session,
            section_watches,
            ("district_id", "section_id"),
            state.dirty_watches,
            [
                {"district_id": d, "section_id": s, "body": codec.watch_body(state.watches[(d, s)])}
                for d, s in sorted(state.dirty_watches)
            ],
        )
        for district in sorted(state.dirty_references):
            await self._save_reference(session, district, state.references[district])
        state.dirty_records.clear()
        state.dirty_evidence.clear()
        state.dirty_watches.clear()
        state.dirty_references.clear()

    async def _save_reference(self, session: AsyncSession, district: str, ref: DistrictReference) -> None:
        t = district_references
        version = await session.scalar(select(t.c.version).where(t.c.district_id == district)) or 0
        body = codec.reference_body(ref)
        if version:
            await session.execute(update(t).where(t.c.district_id == district).values(version=version + 1, body=body))
        else:
            await session.execute(insert(t).values(district_id=district, version=1, body=body))
        self._references.pop(district, None)  # re-read after commit; a rollback must not leave it cached


async def _replace(
    session: AsyncSession, table: Table, key_columns: tuple[str, ...], keys: Iterable[tuple], rows: list[dict[str, Any]]
) -> None:
    key = tuple_(*(table.c[c] for c in key_columns))
    for chunk in _chunks(sorted(keys)):
        await session.execute(delete(table).where(key.in_(chunk)))
    for chunk in _chunks(rows, 2000):
        await session.execute(insert(table), chunk)


def _sections_of_students(
    state: LiveSlice, district: str, facts: Sequence[EvidenceFact], watched: tuple[str, ...]
) -> tuple[str, ...]:
    """The watched sections whose watch the batch's evidence may change: those its students sit in."""
    ref = state.references[district]
    students = set()
    for f in facts:
        if f.district_id == district:
            students.add(f.student_id)
            known = state.evidence.get((district, f.evidence_id))
            if known is not None:
                students.add(known.student_id)
    sitting = {section for student in students for section in ref.sections_of(student)}
    return tuple(sorted(s for s in watched if s in sitting))


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
