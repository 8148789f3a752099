"""The generated district's roster: schools, terms, courses, sections, teachers, students and guardians."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from mosaic_dev.district_generator.ids import stable_id
from mosaic_dev.district_generator.people import GUARDIAN_RELATIONS, home_language, person_name, username

DISTRICT_NAMES = ("Maplewood", "Riverbend", "Cedar Falls", "Northgate", "Lakeshore", "Pinecrest", "Harbor View")
SCHOOL_NAMES = (
    "Jefferson",
    "Roosevelt",
    "Sojourner Truth",
    "César Chávez",
    "Lincoln",
    "Ellen Ochoa",
    "Frederick Douglass",
    "Sally Ride",
    "Dolores Huerta",
    "Katherine Johnson",
    "Mae Jemison",
    "Wilson",
)
SECTION_SIZE = 28
MATH_SECTIONS_PER_TEACHER = 5


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    type: str  # district | school
    identifier: str
    parent_id: str = ""


@dataclass(frozen=True)
class Term:
    id: str
    title: str
    type: str  # schoolYear | semester
    start: date
    end: date
    parent_id: str = ""


@dataclass(frozen=True)
class Course:
    id: str
    school_id: str
    title: str
    code: str
    subject: str


@dataclass(frozen=True)
class Section:
    id: str
    school_id: str
    course_id: str
    title: str
    code: str
    period: int
    room: str
    subject: str


@dataclass
class User:
    id: str
    role: str  # teacher | student | parent | guardian
    given_name: str
    family_name: str
    username: str
    identifier: str
    school_ids: tuple[str, ...]
    email: str = ""
    phone: str = ""
    sms: str = ""
    grades: str = ""
    preferred_language: str = "en"
    agent_ids: list[str] = field(default_factory=list)
    birth_date: date | None = None
    sex: str = ""


@dataclass(frozen=True)
class Enrollment:
    id: str
    section_id: str
    school_id: str
    user_id: str
    role: str
    primary: bool


@dataclass(frozen=True)
class StudentPlacement:
    """Where a student learns: their school, math section and advisory, and who teaches them."""

    student_id: str
    school_id: str
    math_section_id: str
    math_teacher_id: str
    advisory_section_id: str
    advisory_teacher_id: str


@dataclass
class Roster:
    district: Org
    schools: list[Org]
    terms: list[Term]
    courses: list[Course]
    sections: list[Section]
    users: list[User]
    enrollments: list[Enrollment]
    placements: list[StudentPlacement]

    def users_with_role(self, *roles: str) -> list[User]:
        return [user for user in self.users if user.role in roles]


def build_roster(seed: int, *, schools: int, students_per_school: int, year_start: date) -> Roster:
    rng = random.Random(f"{seed}|roster")
    district_name = f"{rng.choice(DISTRICT_NAMES)} Unified School District"
    district = Org(
        stable_id(seed, "org", "district"),
        district_name,
        "district",
        "".join(w[0] for w in district_name.split()).upper(),
    )
    orgs = [
        Org(
            stable_id(seed, "org", "school", n),
            f"{SCHOOL_NAMES[n % len(SCHOOL_NAMES)]} Middle School"
            + (f" {n // len(SCHOOL_NAMES) + 1}" if n >= len(SCHOOL_NAMES) else ""),
            "school",
            f"S{n + 1:02d}",
            district.id,
        )
        for n in range(schools)
    ]
    roster = Roster(district, orgs, _terms(seed, year_start), [], [], [], [], [])
    for number, school in enumerate(orgs):
        _add_school(roster, rng, seed, number, school, students_per_school)
    return roster


def _terms(seed: int, start: date) -> list[Term]:
    end = start + timedelta(weeks=42)
    year = Term(stable_id(seed, "term", "year"), f"{start.year}-{end.year}", "schoolYear", start, end)
    middle = start + timedelta(weeks=21)
    return [
        year,
        Term(stable_id(seed, "term", "fall"), f"Fall {start.year}", "semester", start, middle, year.id),
        Term(
            stable_id(seed, "term", "spring"),
            f"Spring {end.year}",
            "semester",
            middle + timedelta(days=3),
            end,
            year.id,
        ),
    ]


def _add_school(roster: Roster, rng: random.Random, seed: int, number: int, school: Org, students: int) -> None:
    math_course = Course(stable_id(seed, "course", number, "math"), school.id, "Mathematics 6", "MATH6", "Mathematics")
    advisory_course = Course(stable_id(seed, "course", number, "advisory"), school.id, "Advisory 6", "ADV6", "Advisory")
    roster.courses += [math_course, advisory_course]
    count = max(1, math.ceil(students / SECTION_SIZE))
    math_sections = _sections(seed, number, school, math_course, count, "Mathematics 6")
    advisories = _sections(seed, number, school, advisory_course, count, "Advisory 6")
    roster.sections += math_sections + advisories
    teachers_needed = math.ceil(count / MATH_SECTIONS_PER_TEACHER)
    math_teachers = [_teacher(rng, seed, school, number, t) for t in range(teachers_needed)]
    advisors = [_teacher(rng, seed, school, number, len(math_teachers) + t) for t in range(count)]
    roster.users += math_teachers + advisors
    teacher_of: dict[str, str] = {}
    for index, section in enumerate(math_sections):
        teacher_of[section.id] = math_teachers[index // MATH_SECTIONS_PER_TEACHER].id
    for section, advisor in zip(advisories, advisors, strict=True):
        teacher_of[section.id] = advisor.id
    for section in math_sections + advisories:
        roster.enrollments.append(_enrollment(seed, section, teacher_of[section.id], "teacher", True))
    advisory_order = list(range(students))
    rng.shuffle(advisory_order)
    for index in range(students):
        student = _student_with_family(roster, rng, seed, school, number, index)
        math_section = math_sections[index % count]
        advisory = advisories[advisory_order[index] % count]
        roster.enrollments += [
            _enrollment(seed, math_section, student.id, "student", False),
            _enrollment(seed, advisory, student.id, "student", False),
        ]
        roster.placements.append(
            StudentPlacement(
                student.id,
                school.id,
                math_section.id,
                teacher_of[math_section.id],
                advisory.id,
                teacher_of[advisory.id],
            )
        )


def _sections(seed: int, number: int, school: Org, course: Course, count: int, title: str) -> list[Section]:
    return [
        Section(
            stable_id(seed, "section", number, course.code, n),
            school.id,
            course.id,
            f"{title} - Period {n % 7 + 1}" + (f" ({n // 7 + 1})" if n >= 7 else ""),
            f"{course.code}-{n + 1}",
            n % 7 + 1,
            f"Room {100 * (number + 1) + n}",
            course.subject,
        )
        for n in range(count)
    ]


def _teacher(rng: random.Random, seed: int, school: Org, number: int, index: int) -> User:
    given, family = person_name(rng)
    teacher_id = stable_id(seed, "teacher", number, index)
    code = f"T{number + 1:02d}{index:03d}"
    return User(
        teacher_id,
        "teacher",
        given,
        family,
        username(given, family, number * 1000 + index),
        code,
        (school.id,),
        email=f"{code.lower()}@{_domain(school)}",
        phone=_phone(rng),
        preferred_language="en",
    )


def _student_with_family(roster: Roster, rng: random.Random, seed: int, school: Org, number: int, index: int) -> User:
    given, family = person_name(rng)
    language = home_language(rng, family)
    code = f"{number + 1:02d}{index:05d}"
    birth = date(2014, 9, 1) + timedelta(days=rng.randrange(365))
    student = User(
        stable_id(seed, "student", number, index),
        "student",
        given,
        family,
        username(given, family, int(code)),
        code,
        (school.id,),
        email=f"s{code}@students.{_domain(school)}",
        grades="06",
        preferred_language=language if rng.random() < 0.3 else "en",
        birth_date=birth,
        sex=rng.choice(("female", "male")),
    )
    roster.users.append(student)
    for g in range(1 if rng.random() < 0.4 else 2):
        guardian_given, guardian_family = person_name(rng, family if rng.random() < 0.85 else None)
        phone = _phone(rng)
        guardian = User(
            stable_id(seed, "guardian", number, index, g),
            rng.choice(GUARDIAN_RELATIONS),
            guardian_given,
            guardian_family,
            username(guardian_given, guardian_family, int(code) * 10 + g),
            "",
            (school.id,),
            email=f"family{code}.{g}@mail.example",
            phone=phone,
            sms=phone if rng.random() < 0.7 else "",
            preferred_language=language if rng.random() < 0.9 else "en",
            agent_ids=[student.id],
        )
        student.agent_ids.append(guardian.id)
        roster.users.append(guardian)
    return student


def _enrollment(seed: int, section: Section, user_id: str, role: str, primary: bool) -> Enrollment:
    return Enrollment(
        stable_id(seed, "enrollment", section.id, user_id), section.id, section.school_id, user_id, role, primary
    )


def _phone(rng: random.Random) -> str:
    return f"+1555{rng.randrange(10**7):07d}"


def _domain(school: Org) -> str:
    return f"{school.identifier.lower()}.schools.example"
