"""Turn a block, its sessions and its students into the assignment problem both solvers share.

Hard limits become each student's allowed sessions and each session's capacity; everything
else (fit, requests, churn, balance) becomes a cost. A student who still fits where they were,
or whose data has not changed since, costs STAY_WEIGHT to move: more than any one move can
gain, so re-running with unchanged data moves nobody.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from mosaic_scheduling.domain.fit import FIT_MAX, Fit, FitTable, overall_need
from mosaic_scheduling.domain.model import FlexBlock, Participant, Placement, Priority, School, Session, Teacher

ANY_SESSION = "free to join any session"
STAY_WEIGHT = 1000
MOVE_WEIGHT = 20
BALANCE_WEIGHT = 2
STILL_FITS = 15
REQUEST_MISSED = 25
REQUEST_STEP = 8
CHOICE_MISSED = 35
OPEN_MISSED = 10


@dataclass
class StudentTerms:
    """One student's place in the problem: where they may go and what each place costs."""

    id: str
    allowed: tuple[int, ...]
    costs: tuple[int, ...]  # aligned with `allowed`
    fits: tuple[Fit, ...]  # aligned with `allowed`
    fit_key: str
    previous: int | None = None
    stays: bool = False
    binding: Placement | None = None
    why_restricted: str = ANY_SESSION
    best_unpinned: tuple[str, Fit] | None = None  # for a pinned student: the best fit without the pin

    def cost_of(self, session_index: int) -> int:
        return self.cost_by_session[session_index]

    @property
    def cost_by_session(self) -> dict[int, int]:
        cached = self.__dict__.get("_cost_by_session")
        if cached is None:
            cached = self.__dict__["_cost_by_session"] = dict(zip(self.allowed, self.costs, strict=True))
        return cached


@dataclass
class RegroupProblem:
    block: FlexBlock
    sessions: tuple[Session, ...]
    capacity: tuple[int, ...]
    target: tuple[int, ...]
    students: list[StudentTerms]
    notes: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    teachers: tuple[Teacher | None, ...] = ()  # aligned with `sessions`
    competencies: tuple[str, ...] = ()  # what the block's sessions work on
    fit_table: FitTable = field(default_factory=lambda: FitTable(()))

    def index_of(self, session_id: str) -> int | None:
        return next((j for j, s in enumerate(self.sessions) if s.id == session_id), None)


def build_problem(
    school: School, block_id: str, participants: list[Participant], placements: list[Placement]
) -> RegroupProblem:
    """The problem for one block; unusable sessions and contradictions are noted, not raised."""
    block = school.block(block_id)
    if block is None:
        raise KeyError(f"no block {block_id!r} in school {school.id}")
    offered = school.sessions_of(block_id)
    usable, notes = _usable_sessions(school, block, offered)
    capacity = tuple(_capacity(school, s) for s in usable)
    competencies = _block_competencies(offered)
    staff = {t.id: t for t in school.teachers}
    teachers = tuple(None if s.teacher_id is None else staff.get(s.teacher_id) for s in usable)
    problem = RegroupProblem(
        block,
        usable,
        capacity,
        _targets(capacity, len(participants)),
        [],
        notes,
        teachers=teachers,
        competencies=competencies,
        fit_table=FitTable(competencies),
    )
    effective = effective_placements(placements, block_id)
    binding = {sid: p for sid, p in effective.items() if p.priority.binding}
    members = _locked_members(usable, participants, binding)
    for student in sorted(participants, key=lambda p: p.id):
        problem.students.append(_terms(problem, student, effective.get(student.id), members))
    return problem


def _usable_sessions(
    school: School, block: FlexBlock, offered: tuple[Session, ...]
) -> tuple[tuple[Session, ...], list[str]]:
    usable, notes = [], []
    for session in offered:
        teacher = school.teacher(session.teacher_id)
        if school.room(session.room_id) is None:
            notes.append(f"{session.title} is not offered: it has no room")
        elif teacher is not None and not teacher.available_for(block):
            notes.append(
                f"{session.title} is not offered: {teacher.name} is not available "
                f"{block.weekday} {block.starts_at:%H:%M}-{block.ends_at:%H:%M}"
            )
        elif _capacity(school, session) <= 0:
            notes.append(f"{session.title} is not offered: it seats nobody")
        else:
            usable.append(session)
    return tuple(sorted(usable, key=lambda s: s.id)), notes


def _capacity(school: School, session: Session) -> int:
    room = school.room(session.room_id)
    seats = room.capacity if room is not None else 0
    return min(seats, session.capacity) if session.capacity is not None else seats


def _targets(capacity: tuple[int, ...], students: int) -> tuple[int, ...]:
    """Balanced sizes: each session's share of the students in proportion to its seats."""
    total = sum(capacity)
    if total == 0:
        return tuple(0 for _ in capacity)
    return tuple(min(c, round(students * c / total)) for c in capacity)


def _block_competencies(sessions: tuple[Session, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for session in sessions:
        for competency_id in session.competency_ids:
            seen.setdefault(competency_id)
    return tuple(seen)


def effective_placements(placements: list[Placement], block_id: str) -> dict[str, Placement]:
    """Each student's highest active placement in this block (a teacher's pin is one)."""
    best: dict[str, Placement] = {}
    for placement in placements:
        if placement.block_id != block_id or placement.state != "active":
            continue
        current = best.get(placement.student_id)
        if current is None or (placement.priority, placement.placed_at) > (current.priority, current.placed_at):
            best[placement.student_id] = placement
    return best


def _locked_members(
    usable: tuple[Session, ...], participants: list[Participant], binding: dict[str, Placement]
) -> dict[str, str]:
    """Student → locked session they were in; a locked group keeps its members and takes nobody new."""
    locked = {s.id for s in usable if s.locked}
    return {
        p.id: p.previous.session_id
        for p in participants
        if p.previous is not None and p.previous.session_id in locked and p.id not in binding
    }


def _terms(
    problem: RegroupProblem, student: Participant, placement: Placement | None, members: dict[str, str]
) -> StudentTerms:
    binding = placement if placement is not None and placement.priority.binding else None
    allowed, why = _allowed(problem, student, binding, members)
    need = overall_need(student, problem.competencies)
    fits = problem.fit_table.fits(student, problem.sessions, problem.teachers, need, allowed)
    preference = tuple(_preference_cost(student, placement, problem.sessions[j]) for j in allowed)
    fit_key = _fit_key(student, problem, allowed, fits, preference)
    last = student.previous
    previous = problem.index_of(last.session_id) if last else None
    stays = (
        last is not None
        and previous is not None
        and previous in allowed
        and (last.fit_key == fit_key or fits[allowed.index(previous)].cost <= STILL_FITS)
    )
    costs = tuple(f.cost + p + _churn(j, previous, stays) for j, f, p in zip(allowed, fits, preference, strict=True))
    terms = StudentTerms(student.id, allowed, costs, fits, fit_key, previous, stays, binding, why)
    if binding is not None and allowed:
        terms.best_unpinned = _best_without_pin(problem, student, allowed[0])
    return terms


def _best_without_pin(problem: RegroupProblem, student: Participant, pinned: int) -> tuple[str, Fit] | None:
    """Where the student would fit best if the pin were lifted (support plan still respected)."""
    plan = student.support_plan
    need = overall_need(student, problem.competencies)
    options = [
        (s.title, problem.fit_table.fit(student, s, problem.teachers[j], need))
        for j, s in enumerate(problem.sessions)
        if j != pinned and not s.locked and (plan is None or s.kind == plan.required_kind)
    ]
    return min(options, key=lambda option: option[1].cost, default=None)


def _allowed(
    problem: RegroupProblem, student: Participant, binding: Placement | None, members: dict[str, str]
) -> tuple[tuple[int, ...], str]:
    plan = student.support_plan
    if binding is not None:
        j = problem.index_of(binding.session_id)
        if j is None:
            problem.causes.append(
                f"student {student.id} is placed ({binding.priority.name.lower()}) by "
                f"{binding.placed_by} in session {binding.session_id}, which does not run "
                "in this block; cancel or move the placement"
            )
            return (), "placement"
        if plan is not None and problem.sessions[j].kind != plan.required_kind:
            problem.causes.append(
                f"student {student.id}'s support plan requires a {plan.required_kind} session "
                f"but {binding.placed_by} placed them in {problem.sessions[j].title} "
                f"({problem.sessions[j].kind}); move the placement to a {plan.required_kind} session"
            )
            return (), "placement"
        return (j,), f"placed in {problem.sessions[j].title}"
    locked_in = problem.index_of(members.get(student.id, ""))
    if locked_in is not None and (plan is None or problem.sessions[locked_in].kind == plan.required_kind):
        return (locked_in,), f"locked group {problem.sessions[locked_in].title}"
    open_to_all = tuple(j for j, s in enumerate(problem.sessions) if not s.locked)
    if plan is None:
        return open_to_all, ANY_SESSION
    allowed = tuple(j for j in open_to_all if problem.sessions[j].kind == plan.required_kind)
    if not allowed:
        problem.causes.append(
            f"student {student.id}'s support plan requires a {plan.required_kind} session "
            f"and block {problem.block.name} offers none that can run; add one or give it a room"
        )
    return allowed, f"support plan: {plan.required_kind}"


def _preference_cost(student: Participant, placement: Placement | None, session: Session) -> int:
    """Choices as costs: a student-choice or open placement, else the request (first choice free)."""
    if placement is not None:
        if placement.priority.binding or placement.session_id == session.id:
            return 0
        return CHOICE_MISSED if placement.priority == Priority.STUDENT_CHOICE else OPEN_MISSED
    if student.request is not None and student.request.session_ids:
        wanted = student.request.session_ids
        if session.id not in wanted:
            return REQUEST_MISSED
        return min(REQUEST_STEP * wanted.index(session.id), REQUEST_MISSED - 1)
    return 0


def _churn(j: int, previous: int | None, stays: bool) -> int:
    if previous is None or j == previous:
        return 0
    return STAY_WEIGHT if stays else MOVE_WEIGHT


def _fit_key(
    student: Participant,
    problem: RegroupProblem,
    allowed: tuple[int, ...],
    fits: tuple[Fit, ...],
    preference: tuple[int, ...],
) -> str:
    """A digest of everything the student's placement was decided on (not of other students)."""
    row = [(problem.sessions[j].id, f.cost, p) for j, f, p in zip(allowed, fits, preference, strict=True)]
    return hashlib.sha256(repr(row).encode()).hexdigest()[:16]


def per_student_gain_bound() -> int:
    """The most one student's move can lower the objective, churn aside (fit, request, balance)."""
    return FIT_MAX + max(REQUEST_MISSED, CHOICE_MISSED, OPEN_MISSED) + 2 * BALANCE_WEIGHT


assert per_student_gain_bound() < STAY_WEIGHT, "moving a student who still fits must never pay"
