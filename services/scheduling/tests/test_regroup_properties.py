"""Properties of the regrouping engine over generated schools (hypothesis)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from mosaic_scheduling.domain.cpsat import solve_with_cpsat
from mosaic_scheduling.domain.feasibility import infeasibility_causes
from mosaic_scheduling.domain.greedy import objective
from mosaic_scheduling.domain.model import (
    SESSION_KINDS,
    AvailabilityWindow,
    FlexBlock,
    Level,
    LevelBand,
    Participant,
    Placement,
    PreviousAssignment,
    Priority,
    Room,
    School,
    Session,
    StudentRequest,
    SupportPlan,
    Teacher,
)
from mosaic_scheduling.domain.problem import build_problem
from mosaic_scheduling.domain.regroup import RegroupResult, SolverSettings, regroup
from mosaic_scheduling.domain.relaxation import flow_relaxation

BLOCK = FlexBlock("b", "s", "WIN", "TH", time(10), 45, date(2026, 9, 3))
COMPETENCIES = ("c1", "c2", "c3")
LABELS = ("Beginning", "Developing", "Proficient", "Advanced")
ON_THURSDAY = (AvailabilityWindow("TH", time(8), time(15)),)
ON_MONDAY = (AvailabilityWindow("MO", time(8), time(15)),)
FAST = SolverSettings(time_limit_seconds=5.0, workers=1)
GREEDY_ONLY = SolverSettings(max_solver_decisions=0)


@st.composite
def sessions(draw: st.DrawFn, n: int) -> list[Session]:
    made = []
    for j in range(n):
        kind = draw(st.sampled_from(SESSION_KINDS))
        competencies = tuple(draw(st.lists(st.sampled_from(COMPETENCIES), min_size=1, max_size=2, unique=True)))
        low = draw(st.integers(0, 3))
        band = LevelBand(low, draw(st.integers(low, 3)))
        made.append(
            Session(
                f"x{j}",
                BLOCK.id,
                f"Session {j}",
                kind,
                f"r{j}",
                f"t{j}",
                competencies if kind in ("skill_group", "intervention") else (),
                band if kind == "skill_group" else None,
                capacity=draw(st.none() | st.integers(1, 8)),
                locked=draw(st.booleans()) and j == 0,
            )
        )
    return made


@st.composite
def schools(draw: st.DrawFn) -> tuple[School, list[Participant], list[Placement]]:
    n_sessions = draw(st.integers(1, 6))
    offered = draw(sessions(n_sessions))
    rooms = tuple(Room(f"r{j}", "s", f"Room {j}", draw(st.integers(1, 10))) for j in range(n_sessions))
    teachers = tuple(
        Teacher(
            f"t{j}",
            "s",
            f"Teacher {j}",
            frozenset(draw(st.sets(st.sampled_from(COMPETENCIES)))),
            ON_THURSDAY if draw(st.integers(0, 5)) else ON_MONDAY,
        )
        for j in range(n_sessions)
    )
    school = School("s", (BLOCK,), tuple(offered), rooms, teachers)
    students = [
        draw(participants(f"p{i:02d}", [s.id for s in offered], [s.kind for s in offered]))
        for i in range(draw(st.integers(0, 30)))
    ]
    pins = [
        Placement(
            f"pin{i}",
            BLOCK.id,
            student.id,
            draw(st.sampled_from(offered)).id,
            draw(st.sampled_from(list(Priority))),
            "t0",
            datetime(2026, 9, 1, tzinfo=UTC),
        )
        for i, student in enumerate(students)
        if draw(st.integers(0, 9)) == 0
    ]
    return school, students, pins


@st.composite
def participants(draw: st.DrawFn, student_id: str, session_ids: list[str], kinds: list[str]) -> Participant:
    levels = {}
    for c in draw(st.sets(st.sampled_from(COMPETENCIES))):
        rank = draw(st.integers(0, 3))
        levels[c] = Level(rank, LABELS[rank], f"CODE.{c}")
    plan = SupportPlan(student_id, draw(st.sampled_from(kinds))) if draw(st.integers(0, 7)) == 0 else None
    wanted = draw(st.lists(st.sampled_from(session_ids), max_size=2, unique=True))
    previous = PreviousAssignment(draw(st.sampled_from(session_ids))) if draw(st.booleans()) else None
    return Participant(
        student_id, levels, plan, StudentRequest(student_id, tuple(wanted)) if wanted else None, previous
    )


def hard_limits_hold(school: School, students: list[Participant], pins: list[Placement], result: RegroupResult) -> None:
    by_id = {s.id: s for s in school.sessions}
    assert sorted(d.student_id for d in result.decisions) == sorted(p.id for p in students)
    sizes = Counter(d.session_id for d in result.decisions)
    for session_id, size in sizes.items():
        session = by_id[session_id]
        room = school.room(session.room_id)
        assert size <= min(room.capacity, session.capacity or room.capacity), f"{session_id} over capacity"
        assert school.teacher(session.teacher_id).available_for(BLOCK), f"{session_id} has no teacher then"
    plans = {p.id: p.support_plan for p in students if p.support_plan}
    for decision in result.decisions:
        if decision.student_id in plans:
            assert by_id[decision.session_id].kind == plans[decision.student_id].required_kind


def binding_pins(pins: list[Placement]) -> dict[str, str]:
    return {p.student_id: p.session_id for p in pins if p.priority.binding}


def has_any_assignment(school: School, students: list[Participant], pins: list[Placement]) -> bool:
    """An independent check of the hard limits alone: one boolean per student and session."""
    model = cp_model.CpModel()
    pinned = binding_pins(pins)
    usable = [s for s in school.sessions if school.teacher(s.teacher_id).available_for(BLOCK)]
    x = {}
    for p in students:
        options = []
        for s in usable:
            if p.id in pinned and pinned[p.id] != s.id:
                continue
            if p.support_plan and s.kind != p.support_plan.required_kind:
                continue
            if p.id not in pinned and s.locked and locked_group_of(p, usable) != s.id:
                continue
            if p.id not in pinned and locked_group_of(p, usable) not in (None, s.id):
                continue
            x[p.id, s.id] = model.new_bool_var(f"{p.id}_{s.id}")
            options.append(x[p.id, s.id])
        model.add_exactly_one(options)
    for s in usable:
        room = school.room(s.room_id)
        model.add(sum(v for (_, sid), v in x.items() if sid == s.id) <= min(room.capacity, s.capacity or 10**6))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 10
    return solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def locked_group_of(p: Participant, usable: list[Session]) -> str | None:
    """The locked session a student stays in: they were there and their support plan allows it."""
    for s in usable:
        if (
            s.locked
            and p.previous is not None
            and p.previous.session_id == s.id
            and (p.support_plan is None or p.support_plan.required_kind == s.kind)
        ):
            return s.id
    return None


PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(schools(), st.sampled_from([FAST, GREEDY_ONLY]))
def test_hard_limits_are_never_broken_and_pins_are_kept(case, solver: SolverSettings) -> None:
    school, students, pins = case
    result = regroup(school, BLOCK.id, students, pins, solver)
    if result.status == "infeasible":
        assert result.causes and not result.decisions
        return
    if students and solver is GREEDY_ONLY:  # without CP-SAT the better of the two fast answers wins
        assert result.method in ("greedy", "flow relaxation")
    hard_limits_hold(school, students, pins, result)
    placed = {d.student_id: d.session_id for d in result.decisions}
    for student_id, session_id in binding_pins(pins).items():
        assert placed[student_id] == session_id


@PROPERTY
@given(schools())
def test_infeasible_exactly_when_no_assignment_exists_and_the_cause_is_said(case) -> None:
    school, students, pins = case
    result = regroup(school, BLOCK.id, students, pins, FAST)
    assert (result.status == "infeasible") == (not has_any_assignment(school, students, pins))
    for cause in result.causes:
        assert "student" in cause and len(cause) > 40


@PROPERTY
@given(schools(), st.booleans())
def test_rerunning_with_unchanged_data_moves_nobody(case, greedy: bool) -> None:
    school, students, pins = case
    first = regroup(school, BLOCK.id, students, pins, GREEDY_ONLY if greedy else FAST)
    if first.status == "infeasible":
        return
    published = {d.student_id: d for d in first.decisions}
    again = [
        Participant(
            p.id,
            p.levels,
            p.support_plan,
            p.request,
            PreviousAssignment(published[p.id].session_id, published[p.id].fit_key),
        )
        for p in students
    ]
    second = regroup(school, BLOCK.id, again, pins, FAST)
    assert [d for d in second.decisions if d.moved] == []


@PROPERTY
@given(schools())
def test_every_schedule_is_proven_within_the_gap_limit(case) -> None:
    school, students, pins = case
    result = regroup(school, BLOCK.id, students, pins, FAST)
    if result.status == "infeasible" or not students:
        return
    assert result.bound is not None and result.cost is not None
    assert result.cost - result.bound <= FAST.gap_limit * result.cost


@PROPERTY
@given(schools())
def test_cpsat_finds_nothing_cheaper_than_the_flow(case) -> None:
    """The flow is exact, not just a bound: CP-SAT solving to optimality lands on the flow's cost."""
    school, students, pins = case
    problem = build_problem(school, BLOCK.id, students, pins)
    if not students or infeasibility_causes(problem):
        return
    relaxation = flow_relaxation(problem)
    assert relaxation is not None
    assert objective(problem, relaxation.solution) == relaxation.bound
    outcome = solve_with_cpsat(problem, 10.0, workers=1)
    assert outcome.status == "OPTIMAL"
    assert objective(problem, outcome.solution) == relaxation.bound
