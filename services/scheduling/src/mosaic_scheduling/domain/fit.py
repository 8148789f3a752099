"""How well a session fits a student's need, as a cost (0 = the right place) and a sentence why.

Skill groups fit students whose level on the group's competencies is inside the group's band;
intervention fits the lowest levels, enrichment those at mastery; project teams and open studio
fit anyone moderately. A teacher with expertise in the student's most pressing need fits better.
"""

from __future__ import annotations

from dataclasses import dataclass

from mosaic_scheduling.domain.model import Level, Participant, Session, Teacher

FIT_MAX = 100
NO_EVIDENCE = 60
NEUTRAL = 50
EXPERTISE_BONUS = 10
MASTERY_RANK = 2  # "Proficient" on the usual four-level scale; enrichment is for students at or above it


@dataclass(frozen=True)
class Fit:
    cost: int
    reason: str


@dataclass(frozen=True)
class Need:
    """A student's most pressing competency among those the block works on."""

    competency_id: str
    level: Level

    def describe(self) -> str:
        return f"{self.level.label} on {self.level.code or self.competency_id}"


def most_pressing_need(student: Participant, competency_ids: tuple[str, ...]) -> Need | None:
    """The competency with the lowest level (ties: the first listed) the student has evidence on."""
    known = [(student.levels[c].rank, i, c) for i, c in enumerate(competency_ids) if c in student.levels]
    if not known:
        return None
    _, _, competency_id = min(known)
    return Need(competency_id, student.levels[competency_id])


def overall_need(student: Participant, block_competencies: tuple[str, ...]) -> Need | None:
    """The student's most pressing need among the block's competencies, else among all they have."""
    return most_pressing_need(student, block_competencies or tuple(sorted(student.levels)))


def session_fit(
    student: Participant,
    session: Session,
    teacher: Teacher | None,
    block_competencies: tuple[str, ...],
    need: Need | None,
) -> Fit:
    """The cost of `student` in `session` (whose overall need is `need`), and the sentence that explains it."""
    base = _kind_fit(student, session, block_competencies, need)
    if need is not None and teacher is not None and _teacher_knows(teacher, need):
        return Fit(max(0, base.cost - EXPERTISE_BONUS), f"{base.reason}; {teacher.name} teaches {_code(need)}")
    return base


def _kind_fit(student: Participant, session: Session, block_competencies: tuple[str, ...], overall: Need | None) -> Fit:
    if session.kind == "skill_group":
        return _skill_group_fit(student, session, overall)
    if session.kind in ("intervention", "enrichment"):
        need = most_pressing_need(student, session.competency_ids or block_competencies)
        if need is None:
            return Fit(NEUTRAL, f"in {session.title}: no evidence yet on its competencies")
        if session.kind == "intervention":
            return Fit(min(FIT_MAX, 20 * need.level.rank), f"in {session.title}: intervention, {need.describe()}")
        return Fit(
            min(FIT_MAX, 25 * max(0, MASTERY_RANK - need.level.rank)),
            f"in {session.title}: enrichment, {need.describe()}",
        )
    words = "project team" if session.kind == "project_team" else "open studio"
    return Fit(NEUTRAL, f"in {session.title}: {words}")


def _skill_group_fit(student: Participant, session: Session, overall: Need | None) -> Fit:
    need_here = most_pressing_need(student, session.competency_ids)
    name = session.title if session.title.lower().endswith("group") else f"{session.title} group"
    if need_here is None:
        return Fit(NO_EVIDENCE, f"in {name}: no evidence yet on {', '.join(session.competency_ids)}")
    band = session.band
    distance = band.distance(need_here.level.rank) if band is not None else 0
    reason = f"in {name}: {need_here.describe()}"
    if distance > 0:
        return Fit(min(FIT_MAX, 30 + 25 * (distance - 1)), f"{reason} (outside the group's band)")
    if (
        overall is not None
        and overall.competency_id != need_here.competency_id
        and overall.level.rank < need_here.level.rank
    ):
        return Fit(15, f"{reason} (more pressing: {overall.describe()})")
    return Fit(0, reason)


def _teacher_knows(teacher: Teacher, need: Need) -> bool:
    return need.competency_id in teacher.expertise or (
        need.level.code is not None and need.level.code in teacher.expertise
    )


def _code(need: Need) -> str:
    return need.level.code or need.competency_id


class FitTable:
    """Memoised `session_fit` for one block: students with the same levels on what a session works
    on (and the same most pressing need) fit it the same, so each case is computed once."""

    def __init__(self, block_competencies: tuple[str, ...]):
        self.block_competencies = block_competencies
        self._known: dict[tuple[object, ...], Fit] = {}

    def fit(self, student: Participant, session: Session, teacher: Teacher | None, need: Need | None) -> Fit:
        levels = student.levels
        relevant = _relevant_competencies(session, self.block_competencies)
        key = (
            session.id,
            tuple(levels[c].rank if c in levels else -1 for c in relevant),
            None if need is None else (need.competency_id, need.level.rank),
        )
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = session_fit(student, session, teacher, self.block_competencies, need)
        return found

    def fits(
        self,
        student: Participant,
        sessions: tuple[Session, ...],
        teachers: tuple[Teacher | None, ...],
        need: Need | None,
        indices: tuple[int, ...],
    ) -> tuple[Fit, ...]:
        """`fit` for each session index at once: the student's levels are looked up once per distinct set
        of competencies the sessions work on, not once per session."""
        levels, known = student.levels, self._known
        ranks_by: dict[tuple[str, ...], tuple[int, ...]] = {}
        need_key = None if need is None else (need.competency_id, need.level.rank)
        found = []
        for j in indices:
            session = sessions[j]
            relevant = _relevant_competencies(session, self.block_competencies)
            ranks = ranks_by.get(relevant)
            if ranks is None:
                ranks = ranks_by[relevant] = tuple(levels[c].rank if c in levels else -1 for c in relevant)
            key = (session.id, ranks, need_key)
            fit = known.get(key)
            if fit is None:
                fit = known[key] = session_fit(student, session, teachers[j], self.block_competencies, need)
            found.append(fit)
        return tuple(found)


def _relevant_competencies(session: Session, block_competencies: tuple[str, ...]) -> tuple[str, ...]:
    if session.kind == "skill_group":
        return session.competency_ids
    if session.kind in ("intervention", "enrichment"):
        return session.competency_ids or block_competencies
    return ()
