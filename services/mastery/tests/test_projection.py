"""The projection fold: evidence in, records and level changes out; corrections, retractions, roll-ups."""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_dev import synthetic_events as synthetic
from mosaic_events import encode, new_envelope
from mosaic_events.catalog import PersonErased
from mosaic_mastery.adapters.rebuild import fold_record
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings, MethodSettings
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.projection import LevelChanged, ProjectionState, apply, recalculate, settle
from mosaic_mastery.domain.records import MasteryRecord, replay_record

D = "d1"
T0 = "math-6.S0.T0"
T1 = "math-6.S0.T1"
PARENT = "math-6.S0"
DAY = date(2026, 9, 1)


def fold(state: ProjectionState, *envelopes) -> list:
    out = []
    for envelope in envelopes:
        out += apply(state, from_envelope(envelope))
    return out


def state_with_framework(config: DistrictConfig | None = None) -> ProjectionState:
    state = ProjectionState(configs={D: config or DistrictConfig()})
    fold(state, synthetic.framework(D, strands=1, per_strand=2))
    return state


def scored(student: str, competency: str, score: float, n: int, **kw):
    return synthetic.evidence(
        D,
        student,
        (competency,),
        score,
        evidence_id=f"e{n}",
        observed_on=DAY + timedelta(n),
        rng=random.Random(n),
        **kw,
    )


def test_first_evidence_gives_a_level_and_one_mastery_change_per_competency():
    state = state_with_framework()
    changes = fold(state, scored("ana", T0, 4, 1))
    record = state.records[(D, "ana", T0)]
    assert record.estimate == 1.0 and record.level == "Advanced" and record.evidence_count == 1
    assert record.evidence_ids == ("e1",)
    mine = [c for c in changes if c.competency_id == T0]
    assert len(mine) == 1 and mine[0].old_level is None and mine[0].new_level == "Advanced"
    assert mine[0].mastered and mine[0].cause_evidence_ids == ("e1",) and not mine[0].recalculation


def test_one_noisy_score_does_not_flip_a_level_thanks_to_hysteresis():
    config = DistrictConfig(DistrictSettings(method=MethodSettings(name="average")))
    state = state_with_framework(config)
    fold(state, *(scored("ana", T0, 3.2, n) for n in range(4)))  # 0.8 each
    assert state.records[(D, "ana", T0)].level == "Proficient"
    changes = fold(state, scored("ana", T0, 2.4, 9))  # mean falls to 0.76, above 0.75 - margin
    assert state.records[(D, "ana", T0)].level == "Proficient"
    assert not [c for c in changes if c.competency_id == T0]


def test_a_resent_evidence_id_changes_nothing():
    state = state_with_framework()
    fold(state, scored("ana", T0, 2, 1))
    assert fold(state, scored("ana", T0, 4, 1)) == []
    assert state.records[(D, "ana", T0)].evidence_count == 1


def test_a_correction_recomputes_from_the_remaining_evidence():
    state = state_with_framework()
    fold(state, scored("ana", T0, 1, 1), scored("ana", T0, 2, 2), scored("ana", T0, 1, 3))
    fold(state, synthetic.correction(D, "ana", "e2", (T0,), 4, DAY + timedelta(2), rng=random.Random(5)))
    record = state.records[(D, "ana", T0)]
    fresh = MasteryRecord(D, "ana", T0, observations=list(record.observations))
    replay_record(fresh, state.config(D))
    assert [o.score for o in record.observations] == [0.25, 1.0, 0.25]
    assert (record.estimate, record.level, record.previous_estimate) == (
        fresh.estimate,
        fresh.level,
        fresh.previous_estimate,
    )


def test_a_correction_can_move_evidence_to_another_competency():
    state = state_with_framework()
    fold(state, scored("ana", T0, 4, 1), scored("ana", T0, 0, 2))
    fold(state, synthetic.correction(D, "ana", "e2", (T1,), 0, DAY + timedelta(2), rng=random.Random(5)))
    assert state.records[(D, "ana", T0)].evidence_ids == ("e1",)
    assert state.records[(D, "ana", T1)].evidence_ids == ("e2",)


def test_retracting_the_only_evidence_removes_the_record_and_its_roll_up():
    state = state_with_framework()
    fold(state, scored("ana", T0, 4, 1))
    assert (D, "ana", PARENT) in state.records
    fold(state, synthetic.retraction(D, "ana", "e1", (T0,), rng=random.Random(3)))
    assert (D, "ana", T0) not in state.records and (D, "ana", PARENT) not in state.records
    assert fold(state, synthetic.correction(D, "ana", "e1", (T0,), 4, DAY, rng=random.Random(4))) == []


def test_a_parent_rolls_up_its_children_and_emits_its_own_change():
    state = state_with_framework()
    fold(state, scored("ana", T0, 4, 1))
    changes = fold(state, scored("ana", T1, 2, 2))
    parent = state.records[(D, "ana", PARENT)]
    assert parent.estimate == 0.75 and parent.method == "rollup:mean_of_children" and parent.evidence_count == 2
    assert any(c.competency_id == PARENT and c.old_level == "Advanced" for c in changes)


def test_evidence_on_the_parent_itself_wins_over_the_roll_up():
    state = state_with_framework()
    fold(state, scored("ana", T0, 4, 1), scored("ana", PARENT, 0, 2))
    assert state.records[(D, "ana", PARENT)].estimate == 0.0


def test_a_method_change_recalculates_every_record_and_marks_the_changes():
    state = state_with_framework()
    fold(state, scored("ana", T0, 4, 1), scored("ana", T0, 0, 2))  # decaying average: 0.35
    new = DistrictConfig(DistrictSettings(method=MethodSettings(name="highest")))
    emitted = recalculate(state, D, new, now=synthetic.T0)
    changes = [e for e in emitted if isinstance(e, LevelChanged) and e.competency_id == T0]
    assert len(changes) == 1 and changes[0].recalculation and changes[0].new_level == "Advanced"
    assert state.records[(D, "ana", T0)].method == "highest"


actions = st.lists(
    st.tuples(
        st.sampled_from(["record", "record", "record", "correct", "retract"]),
        st.sampled_from([T0, T1]),
        st.integers(0, 4),
        st.integers(0, 30),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(actions, st.sampled_from(["decaying_average", "weighted_average", "n_mastery", "bkt", "latest"]))
def test_the_live_fold_equals_a_replay_of_what_remains(steps, method):
    """Whatever order evidence, corrections and retractions come in, each record is what replaying its
    remaining evidence under the config gives — the property that makes a rebuild equal the live state."""
    config = DistrictConfig(DistrictSettings(method=MethodSettings(name=method)))
    state = state_with_framework(config)
    rng = random.Random(0)
    live: dict[str, tuple[str, int]] = {}
    for n, (action, competency, score, day) in enumerate(steps):
        on = DAY + timedelta(day)
        if action == "record" or not live:
            fold(
                state, synthetic.evidence(D, "ana", (competency,), score, evidence_id=f"e{n}", observed_on=on, rng=rng)
            )
            live[f"e{n}"] = (competency, score)
        else:
            eid = rng.choice(sorted(live))
            if action == "correct":
                fold(state, synthetic.correction(D, "ana", eid, (competency,), score, on, rng=rng))
                live[eid] = (competency, score)
            else:
                fold(state, synthetic.retraction(D, "ana", eid, (live.pop(eid)[0],), rng=rng))
    for competency in (T0, T1):
        record = state.records.get((D, "ana", competency))
        expected = sorted(e for e, (c, _) in live.items() if c == competency)
        assert sorted(record.evidence_ids if record else ()) == expected
        if record is not None:
            fresh = MasteryRecord(D, "ana", competency, observations=list(record.observations))
            replay_record(fresh, config)
            assert (record.estimate, record.previous_estimate, record.level) == (
                fresh.estimate,
                fresh.previous_estimate,
                fresh.level,
            )


@settings(max_examples=40, deadline=None)
@given(actions)
def test_a_deferred_replay_settled_at_the_end_equals_the_live_fold(steps):
    """The rebuild gathers observations and settles each record once; the result is the live fold's."""
    live, deferred = state_with_framework(), state_with_framework()
    deferred.deferred = True
    rng = random.Random(1)
    recorded: list[tuple[str, str]] = []
    for n, (action, competency, score, day) in enumerate(steps):
        on = DAY + timedelta(day)
        if action == "record" or not recorded:
            envelope = synthetic.evidence(D, "ana", (competency,), score, evidence_id=f"e{n}", observed_on=on, rng=rng)
            recorded.append((f"e{n}", competency))
        elif action == "correct":
            eid, _ = rng.choice(recorded)
            envelope = synthetic.correction(D, "ana", eid, (competency,), score, on, rng=rng)
        else:
            eid, old = recorded.pop(rng.randrange(len(recorded)))
            envelope = synthetic.retraction(D, "ana", eid, (old,), rng=rng)
        fact = from_envelope(envelope)
        apply(live, fact)
        apply(deferred, fact)
    settle(deferred)
    assert set(live.records) == set(deferred.records)
    for key, record in live.records.items():
        other = deferred.records[key]
        assert (
            record.observations,
            record.estimate,
            record.previous_estimate,
            record.level,
            record.method,
            record.evidence_count,
            record.next_sequence,
        ) == (
            other.observations,
            other.estimate,
            other.previous_estimate,
            other.level,
            other.method,
            other.evidence_count,
            other.next_sequence,
        )


@settings(max_examples=40, deadline=None)
@given(actions)
def test_the_rebuilds_short_path_over_raw_records_equals_the_live_fold(steps):
    """`fold_record` (raw bytes, new evidence gathered as tuples, built and ordered when read or settled) gives what
    the live fold gives, back-dated evidence, corrections, retractions and re-sends included."""
    live, rebuilt = state_with_framework(), state_with_framework()
    rebuilt.deferred = True
    rng = random.Random(1)
    recorded: list[tuple[str, str]] = []
    for n, (action, competency, score, day) in enumerate(steps):
        on = DAY + timedelta(day)
        if action == "record" or not recorded:
            envelope = synthetic.evidence(D, "ana", (competency,), score, evidence_id=f"e{n}", observed_on=on, rng=rng)
            recorded.append((f"e{n}", competency))
        elif action == "correct":
            eid, _ = rng.choice(recorded)
            envelope = synthetic.correction(D, "ana", eid, (competency,), score, on, rng=rng)
        else:
            eid, old = recorded.pop(rng.randrange(len(recorded)))
            envelope = synthetic.retraction(D, "ana", eid, (old,), rng=rng)
        apply(live, from_envelope(envelope))
        for _ in range(1 + n % 2):  # every other record twice: a re-send changes nothing
            assert fold_record(rebuilt, encode(envelope))
    settle(rebuilt)
    assert set(live.records) == set(rebuilt.records)
    for key, record in live.records.items():
        other = rebuilt.records[key]
        assert (
            record.observations,
            record.estimate,
            record.previous_estimate,
            record.level,
            record.method,
            record.evidence_count,
            record.next_sequence,
        ) == (
            other.observations,
            other.estimate,
            other.previous_estimate,
            other.level,
            other.method,
            other.evidence_count,
            other.next_sequence,
        )
    assert live.evidence == rebuilt.evidence


def erased(student: str):
    return new_envelope(
        PersonErased(person_id=student, erasure_id=f"erasure-{student}", role="student"),
        district_id=D,
        producer="evidence",
    )


def _records(state: ProjectionState) -> dict:
    return {k: (r.observations, r.estimate, r.level, r.evidence_count) for k, r in state.records.items()}


def test_an_erased_student_leaves_no_record_and_later_evidence_about_them_is_not_folded():
    state = state_with_framework()
    fold(state, scored("ana", T0, 4, 1), scored("ana", T1, 2, 2), scored("ben", T0, 3, 3))
    assert fold(state, erased("ana")) == []
    assert {k[1] for k in state.records} == {"ben"}
    assert all(ref.student_id != "ana" for ref in state.evidence.values())
    assert fold(state, scored("ana", T0, 1, 4)) == [] and {k[1] for k in state.records} == {"ben"}
    assert "ana" in state.references[D].erased


def test_a_replay_with_the_erasure_anywhere_in_it_equals_the_live_fold():
    """The rebuild reads topics in its own order: the erasure may come before or after the evidence."""
    events = [scored("ana", T0, 4, 1), scored("ben", T0, 3, 2), scored("ana", T1, 2, 3)]
    live = state_with_framework()
    fold(live, *events, erased("ana"))
    for position in range(len(events) + 1):
        replay = state_with_framework()
        replay.deferred = True
        order = [*events[:position], erased("ana"), *events[position:]]
        for envelope in order:
            apply(replay, from_envelope(envelope))
        settle(replay)
        assert _records(replay) == _records(live), f"erasure replayed at position {position}"
