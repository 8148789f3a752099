"""Synthetic schools with realistic flex blocks, for the benchmark and for demos.

A school offers skill groups on its competencies at each level band, intervention, enrichment,
project teams and open studio; students have correlated levels, some have support plans,
requests and teacher pins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
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

LABELS = ("Beginning", "Developing", "Proficient", "Advanced")
THURSDAY = (AvailabilityWindow("TH", time(8), time(15, 30)),)
PLACED_AT = datetime(2026, 9, 1, 8, tzinfo=UTC)
SUPPORT_PLAN_SHARE = 0.06


@dataclass(frozen=True)
class SyntheticBlock:
    school: School
    block_id: str
    students: list[Participant]
    placements: list[Placement]


def synthetic_block(
    seed: int, students: int, sessions: int, competencies: int = 10, school_id: str = "school-1"
) -> SyntheticBlock:
    rng = random.Random(seed)
    block = FlexBlock(f"{school_id}-win", school_id, "WIN", "TH", time(10), 45, date(2026, 9, 3))
    codes = [f"6.RP.A.{i + 1}" for i in range(competencies)]
    offered = _sessions(rng, block, sessions, codes)
    seats_needed = students * 1.08
    per_room = seats_needed / len(offered)
    # Schools plan intervention seats for their support plans (about 6% of students), with a margin.
    interventions = sum(1 for s in offered if s.kind == "intervention")
    per_intervention = max(per_room, students * SUPPORT_PLAN_SHARE * 1.5 / max(1, interventions))
    seats = [
        max(8, round((per_intervention if s.kind == "intervention" else per_room) * rng.uniform(0.8, 1.2)))
        for s in offered
    ]
    for j in range(max(0, round(seats_needed) - sum(seats))):  # a school has seats for everyone, with a margin
        seats[j % len(seats)] += 1
    rooms = tuple(Room(s.room_id, school_id, s.room_id, n) for s, n in zip(offered, seats, strict=True))
    teachers = tuple(
        Teacher(s.teacher_id, school_id, f"Teacher {j}", frozenset(rng.sample(codes, 2)), THURSDAY)
        for j, s in enumerate(offered)
    )
    school = School(school_id, (block,), tuple(offered), rooms, teachers)
    people = [_student(rng, f"{school_id}-st{i:05d}", codes, offered) for i in range(students)]
    pins = [
        Placement(
            f"pin-{p.id}",
            block.id,
            p.id,
            rng.choice([s for s in offered if s.kind == "skill_group"]).id,
            Priority.TEACHER_PRIORITY,
            "teacher",
            PLACED_AT,
        )
        for p in people
        if p.support_plan is None and rng.random() < 0.02
    ]
    return SyntheticBlock(school, block.id, people, pins)


def _sessions(rng: random.Random, block: FlexBlock, count: int, codes: list[str]) -> list[Session]:
    kinds = (
        ["intervention"] * max(1, count // 8)
        + ["enrichment"] * max(1, count // 10)
        + ["project_team"] * max(1, count // 20)
        + ["open_studio"] * max(1, count // 20)
    )
    skill_groups = max(0, count - len(kinds))
    made = []
    for j in range(skill_groups):
        code = codes[(j // 4) % len(codes)]
        band = j % 4
        made.append(
            Session(
                f"{block.id}-g{j:02d}",
                block.id,
                f"{code} {LABELS[band]}",
                "skill_group",
                f"{block.id}-room{j:02d}",
                f"{block.id}-t{j:02d}",
                (code,),
                LevelBand(band, band),
            )
        )
    for j, kind in enumerate(kinds, start=skill_groups):
        focus = (rng.choice(codes),) if kind == "intervention" else ()
        made.append(
            Session(
                f"{block.id}-{kind[:3]}{j:02d}",
                block.id,
                f"{kind.replace('_', ' ').title()} {j}",
                kind,
                f"{block.id}-room{j:02d}",
                f"{block.id}-t{j:02d}",
                focus,
            )
        )
    return made[:count]


def _student(rng: random.Random, student_id: str, codes: list[str], offered: list[Session]) -> Participant:
    ability = rng.gauss(1.5, 0.8)
    levels = {}
    for code in codes:
        if rng.random() < 0.9:
            rank = min(3, max(0, round(ability + rng.gauss(0, 0.7))))
            levels[code] = Level(rank, LABELS[rank], code)
    plan = SupportPlan(student_id, "intervention") if rng.random() < SUPPORT_PLAN_SHARE else None
    request = None
    if rng.random() < 0.2:
        choices = [s.id for s in offered if s.kind in ("enrichment", "project_team", "open_studio")]
        request = StudentRequest(student_id, tuple(rng.sample(choices, min(2, len(choices)))))
    return Participant(student_id, levels, plan, request)


def after_a_week_of_evidence(
    rng_seed: int, block: SyntheticBlock, published: dict[str, tuple[str, str]], share_changed: float = 0.1
) -> SyntheticBlock:
    """The same block a week later: everyone has their last placement, some students' levels moved."""
    rng = random.Random(rng_seed)
    students = []
    for p in block.students:
        session_id, fit_key = published[p.id]
        levels = dict(p.levels)
        if levels and rng.random() < share_changed:
            code = rng.choice(sorted(levels))
            rank = min(3, levels[code].rank + 1)
            levels[code] = Level(rank, LABELS[rank], code)
        students.append(replace(p, levels=levels, previous=PreviousAssignment(session_id, fit_key)))
    return replace(block, students=students)
