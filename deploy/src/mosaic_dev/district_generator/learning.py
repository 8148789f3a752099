"""Months of evidence with learning curves: each student×competency has a latent ability that grows.

Ability (in logits) = the student's general level + their strength in the domain + in the competency
- the competency's difficulty + growth since it was taught, at the student's own rate, with diminishing
returns. Scores are that ability seen through noise on the scale of the kind of evidence. A week of
evidence is drawn at once with numpy, so a million rows take seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from mosaic_dev.district_generator.framework import Framework
from mosaic_dev.district_generator.ids import stable_id
from mosaic_dev.district_generator.roster import StudentPlacement

KINDS = ("assessment_score", "rubric_rating", "observation", "self_assessment")
ASSESSMENT, RUBRIC, OBSERVATION, SELF = range(4)
STANDARD_KIND_SHARES = (0.45, 0.40, 0.15, 0.0)
DISPOSITION_KIND_SHARES = (0.0, 0.25, 0.60, 0.15)
DISPOSITION_SHARE = 0.2
GROWTH_HORIZON_WEEKS = 8.0
SELF_RATING_BIAS = 0.4  # students tend to rate themselves a little higher
RUBRIC_COMMENT_SHARE = 0.15
RUBRIC_COMMENTS = (
    "Not yet: let's revisit this together.",
    "Partly right; check the steps again.",
    "Meets the target, explained clearly.",
    "Goes beyond the target: explained it to classmates.",
)
OBSERVATION_COMMENTS = (
    "Struggled today; needed several prompts.",
    "Some progress, still needs reminders.",
    "Showed this consistently in class.",
    "A model for the group today.",
)


class EvidenceRow(NamedTuple):
    """One row of evidence.csv, in its column order."""

    evidence_id: str
    student_id: str
    competency_id: str
    kind: str
    observed_on: date
    recorded_by: str
    score: int
    scale_min: int
    scale_max: int
    section_id: str
    comment: str


EVIDENCE_COLUMNS: tuple[str, ...] = EvidenceRow._fields


@dataclass(frozen=True)
class Cohort:
    """The hidden truth behind every student's scores, one array entry per student (or student×competency)."""

    level: np.ndarray  # (students,)
    rate: np.ndarray  # (students,) logits per week while a competency is taught
    noise: np.ndarray  # (students,) how erratic their scores are
    strength: np.ndarray  # (students, competencies): domain strength + competency strength (jagged profiles)


@dataclass(frozen=True)
class Curriculum:
    ids: list[str]
    is_disposition: np.ndarray  # (competencies,) bool
    difficulty: np.ndarray  # (competencies,)
    intro_week: np.ndarray  # (competencies,) when it is first taught


def make_curriculum(seed: int, framework: Framework, weeks: int) -> Curriculum:
    items = framework.assessable
    rng = np.random.default_rng(_seed_int(seed, "difficulty"))
    is_disposition = np.array([item.is_disposition for item in items])
    difficulty = np.where(is_disposition, rng.normal(0.3, 0.4, len(items)), rng.normal(0.9, 0.5, len(items)))
    standard_rank = np.cumsum(~is_disposition) - 1
    span = max(1, round(weeks * 0.85))
    intro = np.where(is_disposition, 0, (standard_rank * span) // max(1, int((~is_disposition).sum())))
    return Curriculum([item.id for item in items], is_disposition, difficulty, intro)


def make_cohort(seed: int, students: int, framework: Framework) -> Cohort:
    rng = np.random.default_rng(_seed_int(seed, "learners"))
    items = framework.assessable
    domains = sorted({item.domain for item in items})
    domain_index = np.array([domains.index(item.domain) for item in items])
    domain_strength = rng.normal(0.0, 0.7, (students, len(domains)))
    return Cohort(
        level=rng.normal(0.0, 1.0, students),
        rate=0.25 * rng.lognormal(0.0, 0.45, students),
        noise=rng.uniform(0.35, 0.9, students),
        strength=domain_strength[:, domain_index] + rng.normal(0.0, 0.35, (students, len(items))),
    )


def ability(
    cohort: Cohort, curriculum: Curriculum, student: np.ndarray, item: np.ndarray, weeks_taught: np.ndarray
) -> np.ndarray:
    """The latent ability (logits) of each (student, competency) pair after `weeks_taught` weeks."""
    rate = cohort.rate[student] * np.where(curriculum.is_disposition[item], 0.5, 1.0)
    growth = rate * GROWTH_HORIZON_WEEKS * (1.0 - np.exp(-weeks_taught / GROWTH_HORIZON_WEEKS))
    return cohort.level[student] + cohort.strength[student, item] - curriculum.difficulty[item] + growth


def iter_evidence(
    seed: int,
    framework: Framework,
    placements: list[StudentPlacement],
    *,
    weeks: int,
    evidence_per_week: float,
    start: date,
    max_rows: int | None = None,
) -> Iterator[EvidenceRow]:
    """Evidence in date order, week by week; only one week is ever held in memory."""
    curriculum = make_curriculum(seed, framework, weeks)
    cohort = make_cohort(seed, len(placements), framework)
    rng = np.random.default_rng(_seed_int(seed, "evidence"))
    produced = 0
    for week in range(weeks):
        for row in _week(rng, week, cohort, curriculum, placements, evidence_per_week, start):
            if max_rows is not None and produced >= max_rows:
                return
            produced += 1
            yield row


def _week(
    rng: np.random.Generator,
    week: int,
    cohort: Cohort,
    curriculum: Curriculum,
    placements: list[StudentPlacement],
    per_week: float,
    start: date,
) -> list[EvidenceRow]:
    student = np.repeat(np.arange(len(placements)), rng.poisson(per_week, len(placements)))
    count = len(student)
    item = _competencies(rng, week, curriculum, count)
    disposition = curriculum.is_disposition[item]
    shares = np.where(disposition[:, None], DISPOSITION_KIND_SHARES, STANDARD_KIND_SHARES)
    kind = (rng.random(count)[:, None] > np.cumsum(shares, axis=1)).sum(axis=1).clip(0, len(KINDS) - 1)
    theta = ability(cohort, curriculum, student, item, week - curriculum.intro_week[item] + 0.5)
    theta = theta + np.where(kind == SELF, SELF_RATING_BIAS, 0.0)
    seen = theta + rng.normal(0.0, 1.0, count) * cohort.noise[student] * np.where(kind == OBSERVATION, 1.4, 1.0)
    chance = 1.0 / (1.0 + np.exp(-seen))
    score = np.where(kind == ASSESSMENT, np.rint(100 * chance), 1 + np.floor(4 * chance).clip(0, 3)).astype(int)
    by_advisor = disposition & (rng.random(count) < 0.7)
    day = rng.integers(0, 5, count)
    wants_comment = (kind == OBSERVATION) | ((kind == RUBRIC) & (rng.random(count) < RUBRIC_COMMENT_SHARE))
    evidence_ids = _uuid4_strings(rng, count)
    order = np.argsort(day, kind="stable")
    days = [start + timedelta(days=7 * week + d) for d in range(5)]
    columns = (
        student[order].tolist(),
        item[order].tolist(),
        kind[order].tolist(),
        day[order].tolist(),
        score[order].tolist(),
        by_advisor[order].tolist(),
        wants_comment[order].tolist(),
        order.tolist(),
    )
    return [
        _row(placements[s], curriculum.ids[i], k, days[d], sc, adv, com, evidence_ids[o])
        for s, i, k, d, sc, adv, com, o in zip(*columns, strict=True)
    ]


def _uuid4_strings(rng: np.random.Generator, count: int) -> list[str]:
    """Random (seeded) UUIDv4 strings, without a uuid.UUID object per row."""
    raw = np.frombuffer(rng.bytes(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    return [
        f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in (text[32 * n : 32 * n + 32] for n in range(count))
    ]


def _competencies(rng: np.random.Generator, week: int, curriculum: Curriculum, count: int) -> np.ndarray:
    """Mostly standards taught recently (three times as likely) or before, sometimes a disposition."""
    taught = ~curriculum.is_disposition & (curriculum.intro_week <= week)
    weights = np.where(taught, np.where(week - curriculum.intro_week < 3, 3.0, 1.0), 0.0)
    dispositions = curriculum.is_disposition.astype(float)
    if weights.sum() == 0:
        weights = dispositions
    standard_pick = rng.choice(len(weights), count, p=weights / weights.sum())
    disposition_pick = (
        rng.choice(len(weights), count, p=dispositions / dispositions.sum()) if dispositions.any() else standard_pick
    )
    return np.where(rng.random(count) < DISPOSITION_SHARE, disposition_pick, standard_pick)


def _row(
    place: StudentPlacement,
    competency_id: str,
    kind: int,
    day: date,
    score: int,
    by_advisor: bool,
    wants_comment: bool,
    evidence_id: str,
) -> EvidenceRow:
    if kind == SELF:
        recorder, section = place.student_id, place.advisory_section_id
    elif by_advisor:
        recorder, section = place.advisory_teacher_id, place.advisory_section_id
    else:
        recorder, section = place.math_teacher_id, place.math_section_id
    low, high = (0, 100) if kind == ASSESSMENT else (1, 4)
    comment = ""
    if wants_comment:
        comment = (OBSERVATION_COMMENTS if kind == OBSERVATION else RUBRIC_COMMENTS)[score - 1]
    return EvidenceRow(
        evidence_id, place.student_id, competency_id, KINDS[kind], day, recorder, score, low, high, section, comment
    )


def _seed_int(seed: int, purpose: str) -> int:
    return uuid.UUID(stable_id(seed, "rng", purpose)).int
