"""OneRoster 1.1 / 1.2 CSV bundles: read every file, check every row, report every problem.

Accepts what student information systems really export: a UTF-8 byte-order mark, CRLF line
ends, quoted fields holding commas or line breaks, accented names, 1.2 columns (a `roles`
column or a roles.csv, `primaryOrgSourcedId`, preferred names) and delta files whose rows
say `tobedeleted`. Nothing is applied unless the whole bundle is clean: a tobedeleted row's values
are checked too, and rows that both keep and delete the same thing are a problem, not a guess.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime

USER_ROLES = frozenset(
    {
        "administrator",
        "aide",
        "guardian",
        "parent",
        "proctor",
        "relative",
        "student",
        "teacher",
        "counselor",
        "districtAdministrator",
        "principal",
        "siteAdministrator",
        "systemAdministrator",
    }
)
ENROLLMENT_ROLES = frozenset({"administrator", "aide", "proctor", "student", "teacher", "guardian", "parent"})
ORG_TYPES = frozenset({"department", "school", "district", "local", "state", "national"})
SESSION_TYPES = frozenset({"gradingPeriod", "semester", "schoolYear", "term"})
CLASS_TYPES = frozenset({"homeroom", "scheduled"})
STATUSES = frozenset({"", "active", "tobedeleted", "inactive"})
SEXES = frozenset({"", "male", "female", "other", "unspecified"})
BOOLEANS = {"true": True, "false": False, "": False}

# Required columns per file.
REQUIRED: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "name", "type"),
    "academicSessions": ("sourcedId", "title", "type", "startDate", "endDate"),
    "courses": ("sourcedId", "title", "orgSourcedId"),
    "classes": ("sourcedId", "title", "courseSourcedId", "schoolSourcedId"),
    "users": ("sourcedId", "givenName", "familyName"),
    "enrollments": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
    "demographics": ("sourcedId",),
    "roles": ("userSourcedId", "role"),
}
FILES = tuple(REQUIRED)  # read in this order so references can be checked


@dataclass(frozen=True)
class RosterProblem:
    """One bad row (or file): where it is and what is wrong with it."""

    file: str
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


@dataclass
class Row:
    """One CSV record with its file and first line number, for error messages."""

    file: str
    line: int
    values: dict[str, str]

    def get(self, name: str) -> str:
        return (self.values.get(name) or "").strip()

    @property
    def deleted(self) -> bool:
        return self.get("status") in ("tobedeleted", "inactive")


@dataclass
class RosterBundle:
    """The rows of a bundle, by file (e.g. `users`), plus the manifest's version and modes."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    version: str = "1.1"
    modes: dict[str, str] = field(default_factory=dict)

    @property
    def delta(self) -> bool:
        return any(mode == "delta" for mode in self.modes.values())

    def of(self, name: str) -> list[Row]:
        return self.rows.get(name, [])

    def live(self, name: str) -> list[Row]:
        return [r for r in self.of(name) if not r.deleted]


@dataclass(frozen=True)
class KnownIds:
    """Ids already in the district's roster, so a delta may refer to them."""

    orgs: frozenset[str] = frozenset()
    sessions: frozenset[str] = frozenset()
    courses: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()


def read_bundle(files: dict[str, bytes], known: KnownIds | None = None) -> tuple[RosterBundle, list[RosterProblem]]:
    """Parse and check a bundle given as {file name: bytes}; problems empty means it can be applied."""
    problems: list[RosterProblem] = []
    named = {_stem(name): content for name, content in files.items()}
    bundle = RosterBundle()
    if "manifest" in named:
        _read_manifest(named.pop("manifest"), bundle, problems)
    unknown = sorted(set(named) - set(FILES))
    for stem in unknown:
        if not bundle.modes.get(stem) and stem not in _IGNORED:
            problems.append(RosterProblem(f"{stem}.csv", 0, "file", "not a OneRoster file this importer reads"))
    if "users" not in named and "enrollments" not in named and "orgs" not in named:
        problems.append(RosterProblem("manifest.csv", 0, "file", "the bundle has no orgs, users or enrollments"))
    for stem in FILES:
        if stem in named:
            bundle.rows[stem] = _read_csv(f"{stem}.csv", named[stem], REQUIRED[stem], problems)
    _check_rows(bundle, known or KnownIds(), problems)
    return bundle, problems


_IGNORED = frozenset(
    {
        "categories",
        "classResources",
        "courseResources",
        "lineItems",
        "resources",
        "results",
        "scoreScales",
        "lineItemLearningObjectiveIds",
        "resultLearningObjectiveIds",
        "userProfiles",
    }
)


def _stem(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base[:-4] if base.lower().endswith(".csv") else base


def _read_manifest(content: bytes, bundle: RosterBundle, problems: list[RosterProblem]) -> None:
    for row in _read_csv("manifest.csv", content, ("propertyName", "value"), problems):
        name, value = row.get("propertyName"), row.get("value")
        if name == "oneroster.version":
            bundle.version = value
        elif name.startswith("file."):
            bundle.modes[name[5:]] = value


def _read_csv(file: str, content: bytes, required: tuple[str, ...], problems: list[RosterProblem]) -> list[Row]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(RosterProblem(file, 0, "file", f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        problems.append(RosterProblem(file, 1, "header", "the file is empty; it needs at least a header line"))
        return []
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(RosterProblem(file, 1, "header", f"missing required column(s): {', '.join(missing)}"))
        return []
    rows, previous_end = [], reader.line_num
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(v.strip() for v in record):
                continue
            if len(record) != len(header):
                problems.append(
                    RosterProblem(
                        file,
                        start,
                        "row",
                        f"has {len(record)} fields, the header has {len(header)} (an unquoted comma?)",
                    )
                )
                continue
            rows.append(Row(file, start, dict(zip(header, record, strict=True))))
    except csv.Error as exc:
        problems.append(RosterProblem(file, reader.line_num, "row", f"unreadable CSV: {exc}"))
    return rows


def _check_rows(bundle: RosterBundle, known: KnownIds, problems: list[RosterProblem]) -> None:
    ids = {stem: {r.get("sourcedId") for r in bundle.of(stem)} for stem in FILES}
    orgs = ids["orgs"] | known.orgs
    sessions = ids["academicSessions"] | known.sessions
    courses = ids["courses"] | known.courses
    classes = ids["classes"] | known.classes
    users = ids["users"] | known.users
    roles_by_user = _roles_by_user(bundle)
    for stem in FILES:
        seen: dict[str, Row] = {}
        for row in bundle.of(stem):
            if stem != "roles":
                _check_common(row, seen, problems)
            if row.deleted:
                problems += [RosterProblem(row.file, row.line, fld, reason) for fld, reason in _check_forms(stem, row)]
                continue
            check = _ROW_CHECKS[stem]
            for fld, reason in check(
                row,
                orgs=orgs,
                sessions=sessions,
                courses=courses,
                classes=classes,
                users=users,
                roles_by_user=roles_by_user,
            ):
                problems.append(RosterProblem(row.file, row.line, fld, reason))
    problems += _contradictions(bundle)


def _check_common(row: Row, seen: dict[str, Row], problems: list[RosterProblem]) -> None:
    sourced_id = row.get("sourcedId")
    if not sourced_id:
        problems.append(RosterProblem(row.file, row.line, "sourcedId", "is empty"))
    elif sourced_id in seen and seen[sourced_id].deleted != row.deleted:
        problems.append(
            RosterProblem(row.file, row.line, "status", _contradiction(f"{sourced_id}", seen[sourced_id], row))
        )
    elif sourced_id in seen:
        problems.append(
            RosterProblem(
                row.file,
                row.line,
                "sourcedId",
                f"duplicate sourcedId {sourced_id} (first on line {seen[sourced_id].line})",
            )
        )
    else:
        seen[sourced_id] = row
    if row.get("status") not in STATUSES:
        problems.append(
            RosterProblem(row.file, row.line, "status", f"{row.get('status')!r} is not active or tobedeleted")
        )
    if row.get("dateLastModified") and _datetime(row.get("dateLastModified")) is None:
        problems.append(
            RosterProblem(
                row.file, row.line, "dateLastModified", f"{row.get('dateLastModified')!r} is not an ISO 8601 date-time"
            )
        )


Ids = Collection[str]  # the sourcedIds a row may refer to
RolesByUser = dict[str, list[Row]]


def _check_org(row: Row, *, orgs: Ids, **_: object) -> list[tuple[str, str]]:
    problems = _enum(row, "type", ORG_TYPES)
    parent = row.get("parentSourcedId")
    if parent and parent not in orgs:
        problems.append(("parentSourcedId", f"no org {parent} in orgs.csv"))
    return problems + _nonempty(row, "name")


def _check_session(row: Row, *, sessions: Ids, **_: object) -> list[tuple[str, str]]:
    problems = _enum(row, "type", SESSION_TYPES) + _dates(row, "startDate", "endDate") + _nonempty(row, "title")
    start, end = _date(row.get("startDate")), _date(row.get("endDate"))
    if start and end and end < start:
        problems.append(("endDate", f"{end} is before startDate {start}"))
    parent = row.get("parentSourcedId")
    if parent and parent not in sessions:
        problems.append(("parentSourcedId", f"no academic session {parent}"))
    return problems


def _check_course(row: Row, *, orgs: Ids, **_: object) -> list[tuple[str, str]]:
    problems = _nonempty(row, "title")
    if row.get("orgSourcedId") not in orgs:
        problems.append(("orgSourcedId", f"no org {row.get('orgSourcedId')!r} in orgs.csv"))
    return problems


def _check_class(row: Row, *, orgs: Ids, sessions: Ids, courses: Ids, **_: object) -> list[tuple[str, str]]:
    problems = _nonempty(row, "title")
    if row.get("classType"):
        problems += _enum(row, "classType", CLASS_TYPES)
    if row.get("courseSourcedId") not in courses:
        problems.append(("courseSourcedId", f"no course {row.get('courseSourcedId')!r} in courses.csv"))
    if row.get("schoolSourcedId") not in orgs:
        problems.append(("schoolSourcedId", f"no school {row.get('schoolSourcedId')!r} in orgs.csv"))
    for term in split_list(row.get("termSourcedIds")):
        if term not in sessions:
            problems.append(("termSourcedIds", f"no academic session {term} in academicSessions.csv"))
    return problems


def _check_user(row: Row, *, orgs: Ids, users: Ids, roles_by_user: RolesByUser, **_: object) -> list[tuple[str, str]]:
    problems = _nonempty(row, "givenName") + _nonempty(row, "familyName")
    roles = user_roles(row, roles_by_user)
    if not roles:
        problems.append(("role", "no role: give a role (1.1), a roles column or roles.csv rows (1.2)"))
    for role in roles:
        if role not in USER_ROLES:
            problems.append(("role", f"{role!r} is not a OneRoster role ({', '.join(sorted(USER_ROLES))})"))
    if row.get("enabledUser").lower() not in BOOLEANS:
        problems.append(("enabledUser", f"{row.get('enabledUser')!r} is not true or false"))
    for org in user_orgs(row, roles_by_user):
        if org not in orgs:
            problems.append(("orgSourcedIds", f"no org {org} in orgs.csv"))
    for agent in split_list(row.get("agentSourcedIds")):
        if agent not in users:
            problems.append(("agentSourcedIds", f"no user {agent} in users.csv"))
    return problems


def _check_enrollment(row: Row, *, orgs: Ids, classes: Ids, users: Ids, **_: object) -> list[tuple[str, str]]:
    problems = _enum(row, "role", ENROLLMENT_ROLES) + _dates(row, "beginDate", "endDate")
    if row.get("classSourcedId") not in classes:
        problems.append(("classSourcedId", f"no class {row.get('classSourcedId')!r} in classes.csv"))
    if row.get("userSourcedId") not in users:
        problems.append(("userSourcedId", f"no user {row.get('userSourcedId')!r} in users.csv"))
    school = row.get("schoolSourcedId")
    if school and school not in orgs:
        problems.append(("schoolSourcedId", f"no school {school} in orgs.csv"))
    if row.get("primary").lower() not in BOOLEANS:
        problems.append(("primary", f"{row.get('primary')!r} is not true or false"))
    return problems


def _check_demographics(row: Row, *, users: Ids, **_: object) -> list[tuple[str, str]]:
    problems = _dates(row, "birthDate") + _enum(row, "sex", SEXES)
    if row.get("sourcedId") not in users:
        problems.append(("sourcedId", f"demographics for unknown user {row.get('sourcedId')}"))
    return problems


def _check_role(row: Row, *, orgs: Ids, users: Ids, **_: object) -> list[tuple[str, str]]:
    problems = _enum(row, "role", USER_ROLES)
    if row.get("userSourcedId") not in users:
        problems.append(("userSourcedId", f"no user {row.get('userSourcedId')!r} in users.csv"))
    if row.get("orgSourcedId") and row.get("orgSourcedId") not in orgs:
        problems.append(("orgSourcedId", f"no org {row.get('orgSourcedId')} in orgs.csv"))
    return problems


# What a tobedeleted row must still get right: any value it gives has the right form.
_FORMS: dict[str, dict[str, frozenset[str]]] = {
    "orgs": {"type": ORG_TYPES},
    "academicSessions": {"type": SESSION_TYPES},
    "classes": {"classType": CLASS_TYPES},
    "users": {"role": USER_ROLES},
    "enrollments": {"role": ENROLLMENT_ROLES},
    "demographics": {"sex": SEXES},
    "roles": {"role": USER_ROLES},
}


def _check_forms(stem: str, row: Row) -> list[tuple[str, str]]:
    """A tobedeleted row may leave fields empty, but what it fills in is checked like any other row."""
    problems = _dates(row, "startDate", "endDate", "beginDate", "birthDate")
    problems += [
        (n, f"{row.get(n)!r} is not true or false")
        for n in ("enabledUser", "primary")
        if row.get(n) and row.get(n).lower() not in BOOLEANS
    ]
    for name, allowed in _FORMS.get(stem, {}).items():
        problems += _enum(row, name, allowed) if row.get(name) else []
    return problems


def _contradiction(what: str, first: Row, later: Row) -> str:
    states = {
        first.line: "tobedeleted" if first.deleted else "active",
        later.line: "tobedeleted" if later.deleted else "active",
    }
    return (
        f"{what} is {states[first.line]} on line {first.line} and {states[later.line]} on line {later.line} "
        "of this bundle; send one row for it, with the status you mean"
    )


def _contradictions(bundle: RosterBundle) -> list[RosterProblem]:
    """Rows of one bundle that both keep and delete the same thing: an enrollment (class and user) listed
    active and tobedeleted, or an active enrollment of a user or class the bundle deletes."""
    problems: list[RosterProblem] = []
    pairs: dict[tuple[str, str], Row] = {}
    for row in bundle.of("enrollments"):
        key = (row.get("classSourcedId"), row.get("userSourcedId"))
        first = pairs.setdefault(key, row)
        if first.deleted != row.deleted and first.get("sourcedId") != row.get("sourcedId"):
            problems.append(
                RosterProblem(
                    row.file,
                    row.line,
                    "status",
                    _contradiction(f"the enrollment of user {key[1]} in class {key[0]}", first, row),
                )
            )
    deleted = {stem: {r.get("sourcedId"): r for r in bundle.of(stem) if r.deleted} for stem in ("users", "classes")}
    for row in bundle.live("enrollments"):
        for stem, column in (("users", "userSourcedId"), ("classes", "classSourcedId")):
            gone = deleted[stem].get(row.get(column))
            if gone is not None:
                problems.append(
                    RosterProblem(
                        row.file,
                        row.line,
                        column,
                        (
                            f"{stem[:-1]} {row.get(column)} is tobedeleted ({gone.file} line {gone.line}) but this "
                            "enrollment keeps it active; delete the enrollment too or keep the " + stem[:-1]
                        ),
                    )
                )
    return problems


_ROW_CHECKS: dict[str, Callable[..., list[tuple[str, str]]]] = {
    "orgs": _check_org,
    "academicSessions": _check_session,
    "courses": _check_course,
    "classes": _check_class,
    "users": _check_user,
    "enrollments": _check_enrollment,
    "demographics": _check_demographics,
    "roles": _check_role,
}


def _roles_by_user(bundle: RosterBundle) -> dict[str, list[Row]]:
    """1.2 roles.csv rows per user, primary role first."""
    by_user: dict[str, list[Row]] = defaultdict(list)
    for row in bundle.live("roles"):
        by_user[row.get("userSourcedId")].append(row)
    for rows in by_user.values():
        rows.sort(key=lambda r: r.get("roleType") != "primary")
    return by_user


def user_roles(row: Row, roles_by_user: dict[str, list[Row]]) -> list[str]:
    """A user's roles, primary first: 1.1 `role`, a 1.2 `roles` column, or 1.2 roles.csv."""
    if row.get("role"):
        return [row.get("role")]
    if row.get("roles"):
        return [r.split(":")[-1].strip() for r in split_list(row.get("roles"))]
    return [r.get("role") for r in roles_by_user.get(row.get("sourcedId"), ())]


def user_orgs(row: Row, roles_by_user: dict[str, list[Row]]) -> list[str]:
    orgs = split_list(row.get("orgSourcedIds")) or split_list(row.get("primaryOrgSourcedId"))
    orgs += [r.get("orgSourcedId") for r in roles_by_user.get(row.get("sourcedId"), ()) if r.get("orgSourcedId")]
    return list(dict.fromkeys(orgs))


def split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", value or "") if part.strip()]


def _enum(row: Row, name: str, allowed: frozenset[str]) -> list[tuple[str, str]]:
    value = row.get(name)
    if value in allowed:
        return []
    return [(name, f"{value!r} is not one of {', '.join(sorted(v for v in allowed if v))}")]


def _nonempty(row: Row, name: str) -> list[tuple[str, str]]:
    return [] if row.get(name) else [(name, "is empty")]


def _dates(row: Row, *names: str) -> list[tuple[str, str]]:
    return [
        (n, f"{row.get(n)!r} is not a date (YYYY-MM-DD)") for n in names if row.get(n) and _date(row.get(n)) is None
    ]


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else _datetime(value).date()  # type: ignore[union-attr]
    except (ValueError, AttributeError):
        return None


def _datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
