"""Files for a generated district: a CASE JSON, a OneRoster 1.1 CSV bundle, evidence.csv and envelopes.

Every writer is deterministic (no clock, sorted keys where order is free), so the same seed gives
byte-identical files.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from mosaic_dev.district_generator.framework import Framework, case_package
from mosaic_dev.district_generator.learning import EVIDENCE_COLUMNS, EvidenceRow
from mosaic_dev.district_generator.roster import Roster
from mosaic_evidence.bulk.envelope import EnvelopeEncoder

LAST_MODIFIED = "2026-08-01T00:00:00.000Z"
GENERATOR_PRODUCER = "mosaic-evidence/generator"
USER_COLUMNS = (
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "metadata.preferredLanguage",
)
ONEROSTER_FILES = (
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItems",
    "orgs",
    "resources",
    "results",
    "users",
)
WRITTEN_FILES = frozenset({"academicSessions", "classes", "courses", "demographics", "enrollments", "orgs", "users"})


def write_case(path: Path, framework: Framework, *, creator: str) -> Path:
    package = case_package(framework, creator=creator)
    path.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_oneroster(directory: Path, roster: Roster) -> Path:
    """A OneRoster 1.1 bulk CSV bundle; guardians' language is in `metadata.preferredLanguage`."""
    directory.mkdir(parents=True, exist_ok=True)
    _csv(
        directory / "manifest.csv",
        ("propertyName", "value"),
        [
            ("manifest.version", "1.0"),
            ("oneroster.version", "1.1"),
            *((f"file.{name}", "bulk" if name in WRITTEN_FILES else "absent") for name in ONEROSTER_FILES),
            ("source.systemName", "Mosaic district generator"),
            ("source.systemCode", "MOSAICGEN"),
        ],
    )
    _csv(
        directory / "orgs.csv",
        ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
        [
            (o.id, "active", LAST_MODIFIED, o.name, o.type, o.identifier, o.parent_id)
            for o in [roster.district, *roster.schools]
        ],
    )
    _csv(
        directory / "academicSessions.csv",
        (
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "type",
            "startDate",
            "endDate",
            "parentSourcedId",
            "schoolYear",
        ),
        [
            (
                t.id,
                "active",
                LAST_MODIFIED,
                t.title,
                t.type,
                t.start.isoformat(),
                t.end.isoformat(),
                t.parent_id,
                str(roster.terms[0].end.year),
            )
            for t in roster.terms
        ],
    )
    year = roster.terms[0]
    _csv(
        directory / "courses.csv",
        (
            "sourcedId",
            "status",
            "dateLastModified",
            "schoolYearSourcedId",
            "title",
            "courseCode",
            "grades",
            "orgSourcedId",
            "subjects",
            "subjectCodes",
        ),
        [
            (c.id, "active", LAST_MODIFIED, year.id, c.title, c.code, "06", c.school_id, c.subject, "")
            for c in roster.courses
        ],
    )
    semesters = ",".join(t.id for t in roster.terms[1:])
    _csv(
        directory / "classes.csv",
        (
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "location",
            "schoolSourcedId",
            "termSourcedIds",
            "subjects",
            "subjectCodes",
            "periods",
        ),
        [
            (
                s.id,
                "active",
                LAST_MODIFIED,
                s.title,
                "06",
                s.course_id,
                s.code,
                "homeroom" if s.subject == "Advisory" else "scheduled",
                s.room,
                s.school_id,
                semesters,
                s.subject,
                "",
                str(s.period),
            )
            for s in roster.sections
        ],
    )
    _csv(directory / "users.csv", USER_COLUMNS, [_user_row(u) for u in roster.users])
    _csv(
        directory / "enrollments.csv",
        (
            "sourcedId",
            "status",
            "dateLastModified",
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ),
        [
            (
                e.id,
                "active",
                LAST_MODIFIED,
                e.section_id,
                e.school_id,
                e.user_id,
                e.role,
                str(e.primary).lower(),
                year.start.isoformat(),
                year.end.isoformat(),
            )
            for e in roster.enrollments
        ],
    )
    _csv(
        directory / "demographics.csv",
        ("sourcedId", "status", "dateLastModified", "birthDate", "sex"),
        [
            (u.id, "active", LAST_MODIFIED, u.birth_date.isoformat(), u.sex)
            for u in roster.users
            if u.birth_date is not None
        ],
    )
    return directory


def _user_row(user) -> tuple[str, ...]:
    user_ids = f"{{{'staff' if user.role == 'teacher' else 'sis'}:{user.identifier}}}" if user.identifier else ""
    return (
        user.id,
        "active",
        LAST_MODIFIED,
        "true",
        ",".join(user.school_ids),
        user.role,
        user.username,
        user_ids,
        user.given_name,
        user.family_name,
        "",
        user.identifier,
        user.email,
        user.sms,
        user.phone,
        ",".join(user.agent_ids),
        user.grades,
        "",
        user.preferred_language,
    )


def _csv(path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)  # OneRoster CSV: RFC 4180, CRLF line ends
        writer.writerow(header)
        writer.writerows(rows)


def write_evidence_csv(path: Path, rows: Iterable[EvidenceRow]) -> int:
    """Stream rows to evidence.csv; returns how many were written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EVIDENCE_COLUMNS)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_envelopes(path: Path, rows: Iterable[EvidenceRow], *, district_id: str, school_of: dict[str, str]) -> int:
    """EvidenceRecorded envelopes, one JSON per line, recorded the evening after each observation."""
    encoder = EnvelopeEncoder(district_id=district_id, producer=GENERATOR_PRODUCER)
    count = 0
    with path.open("wb") as out:
        for row in rows:
            recorded_at = f"{(row.observed_on + timedelta(days=1)).isoformat()}T02:00:00Z"
            out.write(encoder.encode_row(row, school_id=school_of.get(row.student_id), recorded_at=recorded_at))
            out.write(b"\n")
            count += 1
    return count
