"""The regrouping engine on small schools a teacher would recognise."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

from mosaic_scheduling.domain.model import (
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
from mosaic_scheduling.domain.regroup import RegroupResult, regroup

WIN = FlexBlock("win", "s", "WIN", "TH", time(10), 45, date(2026, 9, 3))
THURSDAY = (AvailabilityWindow("TH", time(8), time(15)),)
LABELS = ("Beginning", "Developing", "Proficient", "Advanced")
RATIOS, RATES = "c-ratios", "c-rates"


def teacher(tid: str, *expertise: str, free: bool = True) -> Teacher:
    return Teacher(tid, "s", f"Teacher {tid}", frozenset(expertise), THURSDAY if free else ())


def school(*sessions: Session, seats: int = 4, teachers: tuple[Teacher, ...] = ()) -> School:
    rooms = tuple(Room(s.room_id, "s", s.room_id, seats) for s in sessions)
    staff = teachers or tuple(teacher(s.teacher_id) for s in sessions)
    return School("s", (WIN,), sessions, rooms, staff)


def group(sid: str, title: str, low: int, high: int, competency: str = RATIOS) -> Session:
    return Session(sid, "win", title, "skill_group", f"room-{sid}", f"t-{sid}", (competency,), LevelBand(low, high))


def student(sid: str, rank: int | None = None, competency: str = RATIOS, **kw) -> Participant:
    levels = (
        {}
        if rank is None
        else {competency: Level(rank, LABELS[rank], "6.RP.A.1" if competency == RATIOS else "6.RP.A.2")}
    )
    return Participant(sid, levels, **kw)


def placed(result: RegroupResult) -> dict[str, str]:
    return {d.student_id: d.session_id for d in result.decisions}


def republished(students: list[Participant], result: RegroupResult) -> list[Participant]:
    by_id = {d.student_id: d for d in result.decisions}
    return [replace(p, previous=PreviousAssignment(by_id[p.id].session_id, by_id[p.id].fit_key)) for p in students]


TWO_BANDS = school(group("low", "Ratios", 0, 1), group("high", "Ratios+", 2, 3))


def test_students_needing_the_same_competency_at_the_same_band_are_grouped_together() -> None:
    students = [student(f"s{i}", rank) for i, rank in enumerate([0, 1, 2, 3, 1, 2])]
    result = regroup(TWO_BANDS, "win", students, [])
    assert result.status == "optimal"
    assert placed(result) == {"s0": "low", "s1": "low", "s4": "low", "s2": "high", "s3": "high", "s5": "high"}


def test_each_assignment_is_explained_in_words() -> None:
    result = regroup(TWO_BANDS, "win", [student("ana", 1)], [])
    assert result.decisions[0].reason == "in Ratios group: Developing on 6.RP.A.1"


def test_a_teacher_with_expertise_in_the_students_need_is_preferred() -> None:
    studio_a = Session("a", "win", "Studio A", "open_studio", "ra", "ta")
    studio_b = Session("b", "win", "Studio B", "open_studio", "rb", "tb")
    sch = school(studio_a, studio_b, seats=4, teachers=(teacher("ta"), teacher("tb", RATIOS)))
    result = regroup(sch, "win", [student("ana", 0)], [])
    assert placed(result) == {"ana": "b"}
    assert "Teacher tb teaches 6.RP.A.1" in result.decisions[0].reason


def test_support_plans_are_placed_first_even_when_others_fit_the_session_better() -> None:
    help_ = Session("help", "win", "Reading help", "intervention", "r-help", "t-help", (RATIOS,))
    studio = Session("studio", "win", "Studio", "open_studio", "r-studio", "t-studio")
    sch = school(help_, studio, seats=2)
    needy = [student("n1", 0), student("n2", 0)]
    planned = [
        student("p1", 3, support_plan=SupportPlan("p1", "intervention")),
        student("p2", 3, support_plan=SupportPlan("p2", "intervention")),
    ]
    result = regroup(sch, "win", needy + planned, [])
    assert placed(result) == {"p1": "help", "p2": "help", "n1": "studio", "n2": "studio"}
    assert "support plan: intervention" in {d.student_id: d.reason for d in result.decisions}["p1"]


def test_rerunning_with_unchanged_data_moves_nobody() -> None:
    students = [student(f"s{i}", i % 4) for i in range(8)]
    first = regroup(TWO_BANDS, "win", students, [])
    second = regroup(TWO_BANDS, "win", republished(students, first), [])
    assert placed(second) == placed(first)
    assert not any(d.moved for d in second.decisions)


def test_only_the_student_whose_level_moved_out_of_the_band_changes_group() -> None:
    roomy = school(group("low", "Ratios", 0, 1), group("high", "Ratios+", 2, 3), seats=6)
    students = [student(f"s{i}", i % 4) for i in range(8)]
    before = republished(students, regroup(roomy, "win", students, []))
    grown = replace(before[0], levels={RATIOS: Level(3, "Advanced", "6.RP.A.1")})
    after = regroup(roomy, "win", [grown, *before[1:]], [])
    moved = {d.student_id: (d.previous_session_id, d.session_id) for d in after.decisions if d.moved}
    assert moved == {"s0": ("low", "high")}


def test_requests_are_honoured_when_there_is_room() -> None:
    art = Session("art", "win", "Art", "enrichment", "r-art", "t-art")
    chess = Session("chess", "win", "Chess", "enrichment", "r-chess", "t-chess")
    sch = school(art, chess, seats=2)
    wants_chess = [student(f"s{i}", request=StudentRequest(f"s{i}", ("chess", "art"))) for i in range(3)]
    result = regroup(sch, "win", wants_chess, [])
    assert sorted(placed(result).values()) == ["art", "chess", "chess"]


def test_a_pin_is_kept_and_a_worse_fit_is_noted() -> None:
    pin = Placement("pin1", "win", "ana", "low", Priority.TEACHER_PRIORITY, "Ms Ito", datetime(2026, 9, 1, tzinfo=UTC))
    result = regroup(TWO_BANDS, "win", [student("ana", 3)], [pin])
    decision = result.decisions[0]
    assert (decision.session_id, decision.pinned) == ("low", True)
    assert "placed by Ms Ito (teacher_priority)" in decision.reason
    assert decision.notes[0].startswith("pin forces a worse fit: Ratios+ would fit better")


def test_a_student_choice_placement_is_a_preference_not_a_pin() -> None:
    choice = Placement("c1", "win", "ana", "low", Priority.STUDENT_CHOICE, "ana", datetime(2026, 9, 1, tzinfo=UTC))
    result = regroup(TWO_BANDS, "win", [student("ana", 2)], [choice])
    assert result.decisions[0].pinned is False


def test_a_locked_group_keeps_its_members_and_takes_nobody_new() -> None:
    sch = school(replace(group("low", "Ratios", 0, 1), locked=True), group("high", "Ratios+", 2, 3), seats=4)
    keeper = student("keep", 3, previous=PreviousAssignment("low"))
    newcomer = student("new", 0)
    result = regroup(sch, "win", [keeper, newcomer], [])
    assert placed(result) == {"keep": "low", "new": "high"}
    assert "locked group Ratios" in result.decisions[0].reason


def test_a_session_whose_teacher_is_away_is_not_offered() -> None:
    sch = school(
        group("low", "Ratios", 0, 1),
        group("high", "Ratios+", 2, 3),
        teachers=(teacher("t-low", free=False), teacher("t-high")),
    )
    result = regroup(sch, "win", [student("ana", 0)], [])
    assert placed(result) == {"ana": "high"}
    assert result.notes == ("Ratios is not offered: Teacher t-low is not available TH 10:00-10:45",)


def test_more_students_than_seats_is_infeasible_with_the_numbers() -> None:
    result = regroup(TWO_BANDS, "win", [student(f"s{i}", 1) for i in range(9)], [])
    assert result.status == "infeasible"
    assert result.causes[0].startswith("9 students can only go to sessions that seat 8 in block WIN")


def test_support_plans_beyond_the_intervention_seats_are_infeasible_with_the_cause() -> None:
    help_ = Session("help", "win", "Reading help", "intervention", "r-help", "t-help")
    sch = school(help_, group("low", "Ratios", 0, 1), seats=2)
    planned = [student(f"p{i}", support_plan=SupportPlan(f"p{i}", "intervention")) for i in range(3)]
    result = regroup(sch, "win", planned, [])
    assert result.causes == (
        "3 students can only go to sessions that seat 2 in block WIN "
        "[3 support plan: intervention]; sessions: Reading help (2). "
        "Add seats or sessions, or lift placements",
    )


def test_a_support_plan_no_session_can_meet_is_the_cause() -> None:
    result = regroup(TWO_BANDS, "win", [student("ana", support_plan=SupportPlan("ana", "intervention"))], [])
    assert result.causes == (
        "student ana's support plan requires a intervention session and block WIN offers "
        "none that can run; add one or give it a room",
    )


def test_an_empty_block_is_scheduled_trivially() -> None:
    result = regroup(TWO_BANDS, "win", [], [])
    assert (result.status, result.decisions) == ("optimal", ())


def test_a_higher_placement_takes_the_seat_of_a_lower_one() -> None:
    art = Session("art", "win", "Art", "enrichment", "r-art", "t-art")
    chess = Session("chess", "win", "Chess", "enrichment", "r-chess", "t-chess")
    sch = school(art, chess, seats=1)
    at = datetime(2026, 9, 1, tzinfo=UTC)
    wish = Placement("w", "win", "ana", "art", Priority.STUDENT_CHOICE, "ana", at)
    required = Placement("r", "win", "ben", "art", Priority.ADMIN_REQUIRED, "principal", at)
    result = regroup(sch, "win", [student("ana"), student("ben")], [wish, required])
    assert placed(result) == {"ben": "art", "ana": "chess"}
