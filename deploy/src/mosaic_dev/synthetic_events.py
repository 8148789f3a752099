"""Envelopes of a synthetic district — a framework with progressions, a roster and evidence — for tests
and the replay benchmark. Seeded, so the same arguments give the same events (ids included)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from mosaic_events import Envelope, new_envelope
from mosaic_events.catalog import (
    Competency,
    CompetencyLink,
    Enrollment,
    EvidenceCorrected,
    EvidenceRecorded,
    EvidenceRetracted,
    FrameworkPublished,
    Person,
    RosterChanged,
    Score,
    Section,
)

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def seeded_id(rng: random.Random) -> uuid.UUID:
    """A UUIDv7-shaped id from the seeded generator (version and variant bits set by hand)."""
    value = rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)
    return uuid.UUID(int=value | (0x7000 << 64) | (0x8000 << 48))


def framework(
    district_id: str,
    strands: int = 3,
    per_strand: int = 4,
    *,
    framework_id: str = "math-6",
    rng: random.Random | None = None,
    at: datetime = T0,
) -> Envelope:
    """Strands (roll-up parents) of learning targets, each target a prerequisite of the next in its strand."""
    rng = rng or random.Random(f"{district_id}/framework/{framework_id}/{at.isoformat()}")
    competencies, links = [], []
    for s in range(strands):
        parent = f"{framework_id}.S{s}"
        competencies.append(Competency(id=parent, code=f"6.S{s}", statement=f"Strand {s}", sequence=s * 100))
        for t in range(per_strand):
            cid = f"{parent}.T{t}"
            competencies.append(
                Competency(
                    id=cid,
                    code=f"6.S{s}.{t}",
                    statement=f"Target {t} of strand {s}",
                    parent_id=parent,
                    sequence=s * 100 + t + 1,
                )
            )
            if t:
                links.append(
                    CompetencyLink(
                        origin_id=f"{parent}.T{t - 1}", destination_id=cid, association_type="isPrerequisiteOf"
                    )
                )
    data = FrameworkPublished(
        framework_id=framework_id, title="Grade 6 math", competencies=tuple(competencies), links=tuple(links)
    )
    return new_envelope(data, district_id=district_id, producer="evidence", occurred_at=at, event_id=seeded_id(rng))


def roster(
    district_id: str,
    school_id: str,
    sections: dict[str, list[str]],
    *,
    rng: random.Random | None = None,
    at: datetime = T0,
    mode: str = "full",
    part: int = 1,
    parts: int = 1,
    teacher: str = "teacher-1",
) -> Envelope:
    """One roster part: sections (id -> student ids), `teacher` teaching each."""
    rng = rng or random.Random(f"{district_id}/roster/{school_id}/{at.isoformat()}/{part}")
    students = sorted({s for members in sections.values() for s in members})
    people = [Person(id=s, role="student", school_ids=(school_id,)) for s in students]
    people.append(
        Person(id=teacher, role="teacher", given_name="Teacher", family_name=teacher, school_ids=(school_id,))
    )
    enrollments = [
        Enrollment(section_id=sec, user_id=s, role="student")
        for sec, members in sorted(sections.items())
        for s in members
    ]
    enrollments += [
        Enrollment(section_id=sec, user_id=teacher, role="teacher", primary=True) for sec in sorted(sections)
    ]
    data = RosterChanged(
        import_id=f"import-{school_id}",
        school_id=school_id,
        mode=mode,
        part=part,
        parts=parts,
        sections=tuple(Section(id=sec, school_id=school_id, title=sec) for sec in sorted(sections)),
        people=tuple(people),
        enrollments=tuple(enrollments),
    )
    return new_envelope(
        data, district_id=district_id, school_id=school_id, producer="evidence", occurred_at=at, event_id=seeded_id(rng)
    )


def evidence(
    district_id: str,
    student_id: str,
    competency_ids: tuple[str, ...],
    score: float,
    *,
    evidence_id: str,
    observed_on: date,
    rng: random.Random | None = None,
    at: datetime = T0,
    kind: str = "assessment_score",
    section_id: str | None = None,
    school_id: str | None = None,
) -> Envelope:
    """EvidenceRecorded with a 0..4 rubric score."""
    rng = rng or random.Random(f"{district_id}/evidence/{evidence_id}")
    data = EvidenceRecorded(
        evidence_id=evidence_id,
        student_id=student_id,
        competency_ids=competency_ids,
        kind=kind,
        observed_on=observed_on,
        recorded_by="teacher-1",
        score=Score(value=score, maximum=4),
        section_id=section_id,
    )
    return new_envelope(
        data,
        district_id=district_id,
        school_id=school_id,
        subject=student_id,
        producer="evidence",
        occurred_at=at,
        event_id=seeded_id(rng),
    )


def correction(
    district_id: str,
    student_id: str,
    evidence_id: str,
    competency_ids: tuple[str, ...],
    score: float,
    observed_on: date,
    *,
    rng: random.Random,
    at: datetime = T0,
) -> Envelope:
    data = EvidenceCorrected(
        evidence_id=evidence_id,
        student_id=student_id,
        competency_ids=competency_ids,
        observed_on=observed_on,
        score=Score(value=score, maximum=4),
        reason="typo",
        corrected_by="teacher-1",
    )
    return new_envelope(
        data, district_id=district_id, subject=student_id, producer="evidence", occurred_at=at, event_id=seeded_id(rng)
    )


def retraction(
    district_id: str,
    student_id: str,
    evidence_id: str,
    competency_ids: tuple[str, ...],
    *,
    rng: random.Random,
    at: datetime = T0,
) -> Envelope:
    data = EvidenceRetracted(
        evidence_id=evidence_id,
        student_id=student_id,
        competency_ids=competency_ids,
        reason="wrong student",
        retracted_by="teacher-1",
    )
    return new_envelope(
        data, district_id=district_id, subject=student_id, producer="evidence", occurred_at=at, event_id=seeded_id(rng)
    )


def district(
    district_id: str,
    *,
    students: int,
    events: int,
    seed: int = 7,
    section_size: int = 25,
    strands: int = 4,
    per_strand: int = 5,
) -> tuple[list[Envelope], Iterator[Envelope]]:
    """(reference envelopes, a stream of `events` evidence envelopes): students learning along the progression,
    with ~2% corrections and ~1% retractions."""
    rng = random.Random(seed)
    school = f"{district_id}-school-1"
    ids = [f"{district_id}-st{i:06d}" for i in range(students)]
    sections = {
        f"{district_id}-sec{j:04d}": ids[j * section_size : (j + 1) * section_size]
        for j in range((students + section_size - 1) // section_size)
    }
    names = sorted(sections)
    chunks = [names[i : i + 40] for i in range(0, len(names), 40)]  # large rosters come in parts
    reference = [framework(district_id, strands, per_strand, rng=rng)] + [
        roster(district_id, school, {n: sections[n] for n in chunk}, rng=rng, part=i + 1, parts=len(chunks))
        for i, chunk in enumerate(chunks)
    ]
    targets = [f"math-6.S{s}.T{t}" for s in range(strands) for t in range(per_strand)]
    section_of = {s: sec for sec, members in sections.items() for s in members}
    return reference, _evidence_stream(district_id, school, ids, targets, section_of, events, rng)


def _evidence_stream(
    district_id: str,
    school: str,
    students: list[str],
    targets: list[str],
    section_of: dict[str, str],
    count: int,
    rng: random.Random,
) -> Iterator[Envelope]:
    ability = {s: rng.random() for s in students}
    recorded: list[tuple[str, str, tuple[str, ...], date]] = []
    for n in range(count):
        at = T0 + timedelta(seconds=n)
        day = date(2026, 9, 1) + timedelta(days=n * 180 // max(count, 1))
        roll = rng.random()
        if recorded and roll < 0.02:
            student, eid, comps, _ = rng.choice(recorded)
            yield correction(district_id, student, eid, comps, float(rng.randint(0, 4)), day, rng=rng, at=at)
            continue
        if recorded and roll < 0.03:
            student, eid, comps, _ = recorded.pop(rng.randrange(len(recorded)))
            yield retraction(district_id, student, eid, comps, rng=rng, at=at)
            continue
        student = rng.choice(students)
        comps = (rng.choice(targets),) if rng.random() < 0.9 else tuple(sorted(set(rng.sample(targets, 2))))
        ability[student] = min(1.0, ability[student] + 0.002)
        score = float(min(4, max(0, round(rng.gauss(ability[student] * 4, 0.8)))))
        kind = "assessment_score" if rng.random() < 0.8 else rng.choice(("observation", "out_of_school"))
        eid = f"{district_id}-ev{n:07d}"
        recorded.append((student, eid, comps, day))
        yield evidence(
            district_id,
            student,
            comps,
            score,
            evidence_id=eid,
            observed_on=day,
            rng=rng,
            at=at,
            kind=kind,
            section_id=section_of[student],
            school_id=school,
        )
