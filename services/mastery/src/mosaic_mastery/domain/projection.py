"""The mastery projection as a fold: `apply(state, fact) -> emissions`, shared by the live consumer and the rebuild.

The state holds records (student × competency), the evidence index (for corrections and retractions),
each district's reference data and the section watches, as plain data. The live consumer folds into a
slice the store loaded for the batch (`needed_competencies` says which records) and writes back what the
fold said it changed; the rebuild folds into the whole state in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from operator import attrgetter

from mosaic_events.catalog import PersonErased
from mosaic_mastery.domain.config import DistrictConfig
from mosaic_mastery.domain.facts import EvidenceFact, Fact, NewEvidence, ReferenceFact
from mosaic_mastery.domain.observations import Observation
from mosaic_mastery.domain.records import (
    MasteryRecord,
    append,
    gather,
    replay_record,
    replayed_record,
    roll_up_record,
)
from mosaic_mastery.domain.reference import DistrictReference, apply_erasure, apply_framework, apply_roster
from mosaic_mastery.domain.regroup import RegroupDue, SectionWatch, note_change, regroup_if_due

RecordKey = tuple[str, str, str]  # district, student, competency
Gathered = tuple[str, date, float, str]  # evidence id, observed on, score, kind: an observation not yet built
_BY_DATE_THEN_SEQUENCE = attrgetter("observed_on", "sequence")


@dataclass(slots=True)
class EvidenceRef:
    """What a later correction or retraction needs to know about a piece of evidence."""

    student_id: str
    kind: str
    competency_ids: tuple[str, ...]
    section_id: str | None = None
    retracted: bool = False


@dataclass(frozen=True, slots=True)
class LevelChanged:
    """A record's level changed; becomes a MasteryChanged."""

    district_id: str
    student_id: str
    competency_id: str
    competency_code: str | None
    competency_name: str | None
    old_level: str | None
    new_level: str
    old_rank: int | None
    new_rank: int
    mastered: bool
    estimate: float
    method: str
    evidence_count: int
    cause_evidence_ids: tuple[str, ...]
    section_ids: tuple[str, ...]
    recalculation: bool = False


Emission = LevelChanged | RegroupDue


@dataclass
class ProjectionState:
    """The projection's data, plain: records, the evidence index, each district's reference data, the section
    watches and the districts' configs. The fold reads through `record`, `evidence_ref` and `reference`, and
    says what it changes through `record_or_new`, `drop_record`, `changed_evidence`, `watch` and
    `changed_reference`: a store that loads a slice (adapters/store.py) tracks those; the rebuild does not.
    `deferred` (a replay) only gathers each record's observations; `settle` computes them once at the end.
    In a deferred replay new evidence waits in `gathered` as plain tuples, in recording order (a record's
    sequence is its index), and becomes a record when the fold reads it (`record`) or at `settle`."""

    deferred: bool = False
    records: dict[RecordKey, MasteryRecord] = field(default_factory=dict)
    evidence: dict[tuple[str, str], EvidenceRef] = field(default_factory=dict)
    references: dict[str, DistrictReference] = field(default_factory=dict)
    watches: dict[tuple[str, str], SectionWatch] = field(default_factory=dict)
    configs: dict[str, DistrictConfig] = field(default_factory=dict)
    gathered: dict[RecordKey, list[Gathered]] = field(default_factory=dict)

    def config(self, district_id: str) -> DistrictConfig:
        config = self.configs.get(district_id)
        if config is None:
            config = self.configs[district_id] = DistrictConfig()
        return config

    def reference(self, district_id: str) -> DistrictReference:
        ref = self.references.get(district_id)
        if ref is None:
            ref = self.references[district_id] = DistrictReference()
        return ref

    def changed_reference(self, district_id: str) -> None:
        """The fold changed this district's reference data."""

    def record(self, key: RecordKey) -> MasteryRecord | None:
        found = self.records.get(key)
        if found is None and self.gathered and key in self.gathered:
            found = self.build_record(key)
        return found

    def record_or_new(self, key: RecordKey) -> MasteryRecord:
        """The record the fold is about to change, created if absent."""
        found = self.record(key)
        if found is None:
            found = self.records[key] = MasteryRecord(*key)
        return found

    def drop_record(self, key: RecordKey) -> None:
        self.records.pop(key, None)
        self.gathered.pop(key, None)

    def build_record(self, key: RecordKey) -> MasteryRecord:
        """The record of `gathered` observations, unsettled, oldest first (the key must be gathered)."""
        pending = self.gathered.pop(key)
        record = self.records[key] = MasteryRecord(*key, _in_order(pending), next_sequence=len(pending))
        return record

    def evidence_ref(self, key: tuple[str, str]) -> EvidenceRef | None:
        return self.evidence.get(key)

    def drop_evidence(self, key: tuple[str, str]) -> None:
        self.evidence.pop(key, None)

    def changed_evidence(self, key: tuple[str, str], ref: EvidenceRef) -> EvidenceRef:
        """The entry the fold is about to change (or adds)."""
        self.evidence[key] = ref
        return ref

    def watch(self, district_id: str, section_id: str) -> SectionWatch:
        """The section's watch the fold is about to change, created if absent."""
        key = (district_id, section_id)
        found = self.watches.get(key)
        if found is None:
            found = self.watches[key] = SectionWatch(district_id, section_id)
        return found


def _in_order(pending: list[Gathered]) -> list[Observation]:
    """Gathered tuples as observations, oldest first (a tuple's index is its recording sequence)."""
    observations = [Observation(e, on, i, score, kind) for i, (e, on, score, kind) in enumerate(pending)]
    if len(observations) > 1:
        observations.sort(key=_BY_DATE_THEN_SEQUENCE)
    return observations


def settled_record(key: RecordKey, pending: list[Gathered], config: DistrictConfig) -> MasteryRecord:
    """The record of gathered observations, settled (`settle` for a record nothing read during the replay)."""
    return replayed_record(key, _in_order(pending), len(pending), config)


def needed_competencies(ref: DistrictReference, competency_ids: Iterable[str]) -> set[str]:
    """The records a change to these competencies reads: them, their children (a strand whose own evidence goes
    falls back to their roll-up), their ancestors and the ancestors' children."""
    needed = set(competency_ids)
    for competency in list(needed):
        needed.update(ref.children(competency))
        for ancestor in ref.ancestors(competency):
            needed.add(ancestor)
            needed.update(ref.children(ancestor))
    return needed


def apply(state: ProjectionState, fact: Fact) -> list[Emission]:
    """Fold one fact into the state; returns what to emit because of it."""
    if isinstance(fact, ReferenceFact):
        return apply_reference(state, fact)
    return apply_evidence(state, fact)


def apply_reference(state: ProjectionState, fact: ReferenceFact) -> list[Emission]:
    ref = state.reference(fact.district_id)
    data = fact.data
    if isinstance(data, PersonErased):
        erase_person(state, fact.district_id, data.person_id)
    elif hasattr(data, "framework_id"):
        apply_framework(ref, data)  # type: ignore[arg-type]
        refresh_rollups(state, fact.district_id)  # roll-ups follow the tree (a slice holds the whole district)
    else:
        apply_roster(ref, data)
    state.changed_reference(fact.district_id)
    return []


def erase_person(state: ProjectionState, district_id: str, person_id: str) -> None:
    """A district erased the person: drop their records and evidence index; the reference remembers the id."""
    apply_erasure(state.reference(district_id), person_id)
    for record_key in [k for k in (*state.records, *state.gathered) if k[0] == district_id and k[1] == person_id]:
        state.drop_record(record_key)
    for evidence_key in [k for k, ref in state.evidence.items() if k[0] == district_id and ref.student_id == person_id]:
        state.drop_evidence(evidence_key)


def apply_evidence(state: ProjectionState, fact: EvidenceFact) -> list[Emission]:
    if state.deferred and fact.action == "recorded":
        gather_recorded(state, NewEvidence.of(fact))
        return []
    if fact.student_id in state.reference(fact.district_id).erased:
        return []  # evidence about an erased person (arriving late, or replayed) is not folded
    config = state.config(fact.district_id)
    key = (fact.district_id, fact.evidence_id)
    known = state.evidence_ref(key)
    if fact.action == "recorded":
        if known is not None:
            return []  # this evidence id is already folded: a re-send
        known = EvidenceRef(fact.student_id, fact.kind or "", (), fact.section_id)
    elif known is None or known.retracted or known.student_id != fact.student_id:
        return []  # nothing of this student's to correct or retract (refused upstream; never folded)
    state.changed_evidence(key, known)
    if state.deferred:
        _change_observations(state, fact, known, config)
        return []
    ref = state.reference(fact.district_id)
    may_change = {*known.competency_ids, *fact.competency_ids}
    may_change.update(a for c in list(may_change) for a in ref.ancestors(c))
    before = {c: _level_of(state.record((fact.district_id, fact.student_id, c))) for c in may_change}
    touched = _change_observations(state, fact, known, config)
    _settle_rollups(state, fact.district_id, fact.student_id, touched, config)
    changes = _level_changes(state, fact.district_id, fact.student_id, before, (fact.evidence_id,), False)
    return [*changes, *_watch(state, changes, fact.occurred_at)]


def gather_recorded(state: ProjectionState, evidence: NewEvidence) -> None:
    """New evidence in a deferred replay (the rebuild's hot path): its evidence index entry, and per competency
    its observation as a plain tuple (`gathered`) until the record is read or settled. What `apply_evidence`
    does for it, without the generality corrections need; `test_a_deferred_replay_settled_at_the_end_equals_the
    _live_fold` holds it to the live fold."""
    district_id, student_id, evidence_id = evidence.district_id, evidence.student_id, evidence.evidence_id
    key = (district_id, evidence_id)
    if key in state.evidence:
        return  # this evidence id is already folded: a re-send
    if student_id in state.reference(district_id).erased:
        return  # evidence about an erased person (arriving late, or replayed) is not folded
    competencies = tuple(dict.fromkeys(evidence.competency_ids))
    kind = evidence.kind
    state.changed_evidence(key, EvidenceRef(student_id, kind, competencies, evidence.section_id))
    records, gathered = state.records, state.gathered
    observation = (evidence_id, evidence.observed_on, evidence.score, kind)
    for competency in competencies:
        record_key = (district_id, student_id, competency)
        record = records.get(record_key)
        if record is not None:  # built already (a correction read it): sorted at `settle`
            record.observations.append(
                Observation(evidence_id, evidence.observed_on, record.take_sequence(), evidence.score, kind)
            )
            continue
        pending = gathered.get(record_key)
        if pending is None:
            gathered[record_key] = [observation]
        else:
            pending.append(observation)


def _observation(fact: EvidenceFact, sequence: int, kind: str) -> Observation:
    """What recorded or corrected evidence gives the methods; a retraction carries no date or score."""
    if fact.observed_on is None or fact.score is None:
        raise ValueError(f"evidence {fact.evidence_id} was {fact.action} without a date and a score")
    return Observation(fact.evidence_id, fact.observed_on, sequence, fact.score, kind)


def _level_of(record: MasteryRecord | None) -> str | None:
    return None if record is None else record.level


def _change_observations(
    state: ProjectionState, fact: EvidenceFact, known: EvidenceRef, config: DistrictConfig
) -> set[str]:
    """Add, replace or remove this evidence's observations; returns the competencies whose records changed."""
    old = dict.fromkeys(known.competency_ids)
    new = dict.fromkeys(() if fact.action == "retracted" else fact.competency_ids)
    for competency in dict.fromkeys([*old, *new]):
        key = (fact.district_id, fact.student_id, competency)
        record = state.record_or_new(key)
        fresh = fact.action == "recorded"  # a new evidence id: nothing of it to replace
        kept = record.observations if fresh else [o for o in record.observations if o.evidence_id != fact.evidence_id]
        replaced = len(kept) != len(record.observations)
        if competency in new:
            sequence = (
                None
                if fresh
                else next((o.sequence for o in record.observations if o.evidence_id == fact.evidence_id), None)
            )
            observation = _observation(fact, sequence if sequence is not None else record.take_sequence(), known.kind)
            if not replaced:
                if state.deferred:
                    gather(record, observation)
                else:
                    append(record, observation, config)
                continue
            kept.append(observation)
            kept.sort(key=lambda o: o.order_key)
        record.observations = kept
        if kept:
            if not state.deferred:
                replay_record(record, config)
        elif not state.reference(fact.district_id).children(competency):
            state.drop_record(key)
        else:
            record.method_state = type(record.method_state)()
    known.competency_ids = tuple(new) if fact.action != "retracted" else known.competency_ids
    known.retracted = fact.action == "retracted"
    return set(old) | set(new)


def _settle_rollups(
    state: ProjectionState, district_id: str, student_id: str, touched: Iterable[str], config: DistrictConfig
) -> None:
    """Refresh the roll-up of every ancestor without evidence of its own, deepest first."""
    _roll_up(state, district_id, student_id, _deepest_first(state.reference(district_id), touched), config)


def _deepest_first(ref: DistrictReference, touched: Iterable[str]) -> list[str]:
    """The parents a change to `touched` competencies rolls up to, deepest first."""
    parents = {a for c in touched for a in ref.ancestors(c)} | {c for c in touched if ref.children(c)}
    return sorted(parents, key=lambda p: (-len(ref.ancestors(p)), p))


def _roll_up(
    state: ProjectionState, district_id: str, student_id: str, parents: list[str], config: DistrictConfig
) -> None:
    ref = state.reference(district_id)
    for parent in parents:
        key = (district_id, student_id, parent)
        existing = state.record(key)
        if existing is not None and existing.observations:
            continue  # evidence of its own wins over the roll-up
        children = ref.children(parent)
        child_records = [state.record((district_id, student_id, c)) for c in children]
        if all(c is None for c in child_records):
            if existing is not None:
                state.drop_record(key)
            continue
        roll_up_record(state.record_or_new(key), child_records, len(children), config)


def settle(state: ProjectionState) -> None:
    """End of a deferred replay: each record is the replay of its observations (oldest first), then every
    roll-up."""
    state.deferred = False
    for record in state.records.values():
        if record.observations:
            record.observations.sort(key=_BY_DATE_THEN_SEQUENCE)
            replay_record(record, state.config(record.district_id))
    records, gathered = state.records, state.gathered
    for key, pending in gathered.items():
        records[key] = settled_record(key, pending, state.config(key[0]))
    gathered.clear()
    for district_id in sorted({key[0] for key in state.records}):
        refresh_rollups(state, district_id)


def refresh_rollups(state: ProjectionState, district_id: str) -> None:
    """After the tree changed: every student's roll-ups from their records (state must hold the district)."""
    config = state.config(district_id)
    ref = state.reference(district_id)
    students = {k[1] for k in (*state.records, *state.gathered) if k[0] == district_id}
    parents = _deepest_first(ref, [c for c in ref.competencies if not ref.children(c)])
    for student in sorted(students):
        _roll_up(state, district_id, student, parents, config)


def _level_changes(
    state: ProjectionState,
    district_id: str,
    student_id: str,
    before: dict[str, str | None],
    cause_ids: tuple[str, ...],
    recalculation: bool,
) -> list[LevelChanged]:
    config, ref = state.config(district_id), state.reference(district_id)
    ranks, mastery_rank = config.ranks, config.mastery_rank
    changes = []
    for competency, old_level in sorted(before.items()):
        record = state.record((district_id, student_id, competency))
        if record is None or record.level is None or record.level == old_level or record.estimate is None:
            continue
        node = ref.competencies.get(competency)
        new_rank = ranks[record.level]
        changes.append(
            LevelChanged(
                district_id=district_id,
                student_id=student_id,
                competency_id=competency,
                competency_code=node.code if node else None,
                competency_name=node.statement if node else None,
                old_level=old_level,
                new_level=record.level,
                old_rank=ranks.get(old_level),
                new_rank=new_rank,
                mastered=new_rank >= mastery_rank,
                estimate=min(1.0, max(0.0, record.estimate)),
                method=record.method,
                evidence_count=record.evidence_count,
                cause_evidence_ids=cause_ids or record.evidence_ids,
                section_ids=ref.sections_of(student_id),
                recalculation=recalculation,
            )
        )
    return changes


def _watch(state: ProjectionState, changes: list[LevelChanged], now: datetime) -> list[RegroupDue]:
    """Note level changes in the watches of the sections that group by those competencies; regroup if due."""
    touched: dict[tuple[str, str], SectionWatch] = {}
    for change in changes:
        config, ref = state.config(change.district_id), state.reference(change.district_id)
        for section in ref.sections_of(change.student_id):
            if change.competency_id in config.follows(section):
                watch = state.watch(change.district_id, section)
                note_change(watch, change.student_id, change.competency_id, change.old_level, change.new_level, now)
                touched[(change.district_id, section)] = watch
    due = []
    for (district_id, section), watch in sorted(touched.items()):
        config, ref = state.config(district_id), state.reference(district_id)
        info = ref.sections.get(section)
        decision = regroup_if_due(
            watch,
            enrolled=ref.students_in(section),
            followed=config.follows(section),
            threshold=config.settings.regroup_threshold,
            debounce=config.debounce,
            now=now,
            school_id=info.school_id if info else None,
        )
        if decision is not None:
            due.append(replace(decision, level_ranks=config.ranks))
    return due


def recalculate(
    state: ProjectionState, district_id: str, config: DistrictConfig, now: datetime, cause_ids: tuple[str, ...] = ()
) -> list[Emission]:
    """The district changed its method or scale: replay every record under the new config (state must hold
    the whole district) and report the level changes as recalculations."""
    state.configs[district_id] = config
    ref = state.reference(district_id)
    by_student: dict[str, dict[str, str | None]] = {}
    for key, record in list(state.records.items()):
        if key[0] == district_id:
            by_student.setdefault(key[1], {})[key[2]] = record.level
            if record.observations:
                replay_record(state.record_or_new(key), config)
    changes: list[LevelChanged] = []
    leaves = [c for c in ref.competencies if not ref.children(c)]
    for student, before in sorted(by_student.items()):
        _settle_rollups(state, district_id, student, [*leaves, *before], config)
        for key in [k for k in state.records if k[0] == district_id and k[1] == student]:
            state.record_or_new(key)  # a roll-up may have moved without a level change
        changes += _level_changes(state, district_id, student, before, cause_ids, True)
    return [*changes, *_watch(state, changes, now)]
