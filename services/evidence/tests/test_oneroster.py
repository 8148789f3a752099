"""OneRoster import: the Northfield 1.1 bundle counted, real-export quirks accepted, bad rows named."""

import csv
import io
from collections import Counter
from pathlib import Path

import pytest

from mosaic_evidence.domain.oneroster import KnownIds, read_bundle
from mosaic_evidence.domain.roster import RosterState, plan_roster, to_events

from . import small_district

NORTHFIELD = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "oneroster" / "northfield-1.1"
RIVERSIDE, LAKEVIEW = "f49effb3-8322-5ad6-9d94-9ad6365874b2", "033735c2-9cb9-586a-a049-40368d59c9e4"


def northfield() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in NORTHFIELD.glob("*.csv")}


def table(files: dict[str, bytes], name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[name].decode("utf-8-sig"), newline="")))


def write(rows: list[dict[str, str]], columns: list[str] | None = None, *, bom=False, crlf=False) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(
        out, fieldnames=columns or list(rows[0]), lineterminator="\r\n" if crlf else "\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def problems_of(files) -> list[tuple[str, int, str]]:
    return [(p.file, p.line, p.field) for p in read_bundle(files)[1]]


def test_northfield_imports_clean_with_its_counts():
    files = northfield()
    bundle, problems = read_bundle(files)
    assert problems == []
    raw_roles = Counter(r["role"] for r in table(files, "users.csv"))
    assert raw_roles == {"student": 60, "parent": 60, "guardian": 20, "teacher": 12}
    change = plan_roster(bundle, "imp-1")
    people = change.all_people()
    assert Counter(p.role for p in people.values()) == raw_roles
    assert change.mode == "full" and set(change.schools) == {RIVERSIDE, LAKEVIEW}
    assert sum(len(s.sections) for s in change.schools.values()) == len(table(files, "classes.csv")) == 24
    enrollments = [e for s in change.schools.values() for e in s.enrollments.values()]
    assert Counter(e.role for e in enrollments) == Counter(r["role"] for r in table(files, "enrollments.csv"))
    assert Counter(e.role for e in enrollments) == {"student": 120, "teacher": 24}
    assert sum(e.primary for e in enrollments) == 24
    assert len(bundle.of("demographics")) == 60 and len(bundle.of("academicSessions")) == 3
    assert {s: len(c.people) for s, c in change.schools.items()} == {RIVERSIDE: 76, LAKEVIEW: 76}


def test_guardians_and_students_are_linked_both_ways():
    change = plan_roster(read_bundle(northfield())[0], "imp-1")
    people = change.all_people()
    guardians = [p for p in people.values() if p.role in ("parent", "guardian")]
    assert all(p.related_ids and all(people[s].role == "student" for s in p.related_ids) for p in guardians)
    for guardian in guardians:
        for student_id in guardian.related_ids:
            assert guardian.id in people[student_id].related_ids
    noah = next(p for p in people.values() if p.given_name == "Noah" and p.family_name == "Müller")
    assert noah.grades == ("06",) and noah.school_ids == (RIVERSIDE,)


def test_roster_changed_parts_stay_under_the_size_limit_and_carry_everything():
    change = plan_roster(read_bundle(northfield())[0], "imp-1")
    events = to_events(change, max_bytes=20_000)
    assert all(len(e.model_dump_json()) < 20_000 for e in events)
    by_school = Counter(e.school_id for e in events)
    assert all(n > 1 for n in by_school.values())
    assert all(e.parts == by_school[e.school_id] for e in events)
    assert sum(len(e.people) for e in events) == 152 and sum(len(e.enrollments) for e in events) == 144
    assert len(to_events(change)) == 2  # one part per school at the normal limit


def test_bom_crlf_quoted_commas_and_accents_are_accepted():
    files = northfield()
    classes = table(files, "classes.csv")
    classes[0]["title"] = 'Mathematics 6, Period 1 "Honors"'
    users = table(files, "users.csv")
    users[0]["givenName"], users[0]["familyName"] = "Zoë", "Ñúñez-D'Árcy"
    rewritten = {name: write(table(files, name), bom=True, crlf=True) for name in files}
    rewritten["classes.csv"] = write(classes, bom=True, crlf=True)
    rewritten["users.csv"] = write(users, bom=True, crlf=True)
    assert b"\r\n" in rewritten["users.csv"] and rewritten["users.csv"].startswith(b"\xef\xbb\xbf")
    bundle, problems = read_bundle(rewritten)
    assert problems == []
    people = plan_roster(bundle, "i").all_people()
    assert people[users[0]["sourcedId"]].family_name == "Ñúñez-D'Árcy"
    sections = {sid: s for c in plan_roster(bundle, "i").schools.values() for sid, s in c.sections.items()}
    assert sections[classes[0]["sourcedId"]].title == 'Mathematics 6, Period 1 "Honors"'


def test_a_quoted_field_with_a_line_break_keeps_line_numbers_right():
    files = northfield()
    classes = table(files, "classes.csv")
    classes[0]["location"] = "Room 100\nEast wing"
    classes[2]["courseSourcedId"] = "nope"
    files["classes.csv"] = write(classes)
    assert problems_of(files) == [("classes.csv", 5, "courseSourcedId")]  # header 1, row 0 spans lines 2-3


def test_oneroster_1_2_users_with_a_roles_file_or_a_roles_column_are_accepted():
    files = northfield()
    users = table(files, "users.csv")
    columns_12 = [
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
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
        "userMasterIdentifier",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "primaryOrgSourcedId",
        "pronouns",
    ]
    for user in users:
        user["primaryOrgSourcedId"] = user["orgSourcedIds"]
    roles = [
        {
            "sourcedId": f"r{n}",
            "status": "active",
            "dateLastModified": "",
            "userSourcedId": u["sourcedId"],
            "roleType": "primary",
            "role": u["role"],
            "beginDate": "",
            "endDate": "",
            "orgSourcedId": u["orgSourcedIds"],
            "userProfileSourcedId": "",
        }
        for n, u in enumerate(users)
    ]
    users[0]["preferredGivenName"] = "Pri"
    with_file = {**files, "users.csv": write(users, columns_12), "roles.csv": write(roles)}
    bundle, problems = read_bundle(with_file)
    assert problems == []
    people = plan_roster(bundle, "i").all_people()
    assert Counter(p.role for p in people.values()) == {"student": 60, "parent": 60, "guardian": 20, "teacher": 12}
    assert people[users[0]["sourcedId"]].given_name == "Pri"
    for user in users:
        user["roles"] = user["role"]
    with_column = {**files, "users.csv": write(users, [*columns_12, "roles"])}
    assert problems_of(with_column) == []
    people = plan_roster(read_bundle(with_column)[0], "i").all_people()
    assert Counter(p.role for p in people.values())["guardian"] == 20


def test_a_delta_file_removes_tobedeleted_rows():
    files = northfield()
    users, enrollments = table(files, "users.csv"), table(files, "enrollments.csv")
    gone_student = next(u for u in users if u["role"] == "student")
    gone_student["status"] = "tobedeleted"
    enrollments[0]["status"] = "tobedeleted"
    manifest = (
        files["manifest.csv"]
        .replace(b"file.users,bulk", b"file.users,delta")
        .replace(b"file.enrollments,bulk", b"file.enrollments,delta")
    )
    renamed = next(u for u in users if u["role"] == "teacher")
    renamed["familyName"] = "Okafor-Brown"
    delta = {
        "manifest.csv": manifest,
        "users.csv": write([gone_student, renamed]),
        "enrollments.csv": write([enrollments[0]]),
    }
    assert [p.field for p in read_bundle(delta)[1]] == ["orgSourcedIds"]  # the school is not known yet
    known = KnownIds(orgs=frozenset({RIVERSIDE, LAKEVIEW}), users=frozenset(u["sourcedId"] for u in users))
    bundle, problems = read_bundle(delta, known)
    assert problems == []
    change = plan_roster(bundle, "d1", known_schools=frozenset({RIVERSIDE, LAKEVIEW}))
    assert change.mode == "delta"
    school = change.schools[RIVERSIDE]
    assert school.removed_people == {gone_student["sourcedId"]}
    assert school.people[renamed["sourcedId"]].family_name == "Okafor-Brown"
    assert school.removed_enrollments == {(enrollments[0]["classSourcedId"], enrollments[0]["userSourcedId"])}
    event = to_events(change)[0]
    assert event.mode == "delta" and event.removed.people == (gone_student["sourcedId"],)


def test_a_full_import_removes_what_a_school_no_longer_lists():
    current = RosterState()
    current.people[RIVERSIDE] = {"left-the-school"}
    current.sections[RIVERSIDE] = {"closed-section"}
    change = plan_roster(read_bundle(northfield())[0], "imp-2", current)
    assert change.schools[RIVERSIDE].removed_people == {"left-the-school"}
    assert change.schools[RIVERSIDE].removed_sections == {"closed-section"}


def test_malformed_rows_are_each_reported_with_file_line_and_reason():
    files = northfield()
    users, enrollments = table(files, "users.csv"), table(files, "enrollments.csv")
    sessions = table(files, "academicSessions.csv")
    users[3]["role"] = "wizard"  # users.csv line 5
    users[7]["sourcedId"] = users[6]["sourcedId"]  # users.csv line 9: duplicate
    enrollments[10]["classSourcedId"] = "no-such-class"  # enrollments.csv line 12
    sessions[1]["startDate"] = "2026-13-45"  # academicSessions.csv line 3
    files.update(
        {"users.csv": write(users), "enrollments.csv": write(enrollments), "academicSessions.csv": write(sessions)}
    )
    problems = read_bundle(files)[1]
    found = {(p.file, p.line, p.field) for p in problems}
    assert {
        ("users.csv", 5, "role"),
        ("users.csv", 9, "sourcedId"),
        ("enrollments.csv", 12, "classSourcedId"),
        ("academicSessions.csv", 3, "startDate"),
    } <= found
    reasons = {(p.file, p.field): p.reason for p in problems}
    assert "'wizard' is not" in reasons[("users.csv", "role")]
    assert "duplicate sourcedId" in reasons[("users.csv", "sourcedId")]
    assert "no class 'no-such-class'" in reasons[("enrollments.csv", "classSourcedId")]
    assert "not a date" in reasons[("academicSessions.csv", "startDate")]


def test_a_missing_required_column_is_reported_on_the_header_line():
    files = northfield()
    enrollments = table(files, "enrollments.csv")
    files["enrollments.csv"] = write(enrollments, [c for c in enrollments[0] if c != "userSourcedId"])
    problems = read_bundle(files)[1]
    assert [(p.file, p.line, p.field) for p in problems] == [("enrollments.csv", 1, "header")]
    assert "userSourcedId" in problems[0].reason


@pytest.mark.parametrize(
    ("name", "column", "value", "field"),
    [
        ("users.csv", "enabledUser", "maybe", "enabledUser"),
        ("users.csv", "agentSourcedIds", "ghost-guardian", "agentSourcedIds"),
        ("enrollments.csv", "userSourcedId", "ghost-user", "userSourcedId"),
        ("enrollments.csv", "beginDate", "17/08/2026", "beginDate"),
        ("classes.csv", "schoolSourcedId", "ghost-school", "schoolSourcedId"),
        ("orgs.csv", "type", "galaxy", "type"),
        ("demographics.csv", "birthDate", "yesterday", "birthDate"),
    ],
)
def test_each_kind_of_bad_value_is_refused(name, column, value, field):
    files = northfield()
    rows = table(files, name)
    rows[-1][column] = value
    files[name] = write(rows)
    assert (name, len(rows) + 1, field) in problems_of(files)


def test_non_utf8_and_ragged_rows_are_reported():
    files = northfield()
    files["orgs.csv"] = files["orgs.csv"].replace(b"Riverside", "Rivérside".encode("latin-1"))
    files["courses.csv"] += b"x,active,2026-08-01T00:00:00.000Z,only-four\n"
    found = problems_of(files)
    assert ("orgs.csv", 0, "file") in found and ("courses.csv", 14, "row") in found


def small_bundle(**changes: list[dict[str, str]]) -> dict[str, bytes]:
    """The small district's bundle with some tables replaced (written here, not from shared files)."""
    files = small_district.roster_files()
    files.update({f"{name}.csv": small_district.write(table) for name, table in changes.items()})
    return files


def small_table(name: str) -> list[dict[str, str]]:
    return table(small_district.roster_files(), f"{name}.csv")


def test_an_enrollment_both_active_and_tobedeleted_is_a_contradiction_not_a_guess():
    enrollments = small_table("enrollments")
    enrollments.append({**enrollments[1], "sourcedId": "e-ana-again", "status": "tobedeleted"})  # line 5
    problems = read_bundle(small_bundle(enrollments=enrollments))[1]
    assert [(p.file, p.line, p.field) for p in problems] == [("enrollments.csv", 5, "status")]
    assert "active on line 3 and tobedeleted on line 5" in problems[0].reason
    assert small_district.STUDENT in problems[0].reason and small_district.CLASS in problems[0].reason


def test_the_same_sourced_id_active_and_tobedeleted_is_a_contradiction():
    users = small_table("users")
    users.append({**users[2], "status": "tobedeleted"})  # line 5, same sourcedId as line 4
    classes = small_table("classes")
    classes.append({**classes[0], "status": "tobedeleted"})  # line 3, same as line 2
    problems = read_bundle(small_bundle(users=users, classes=classes))[1]
    found = {(p.file, p.line, p.field): p.reason for p in problems}
    assert ("users.csv", 5, "status") in found and ("classes.csv", 3, "status") in found
    assert "active on line 4 and tobedeleted on line 5" in found[("users.csv", 5, "status")]
    assert "duplicate sourcedId" not in " ".join(found.values())  # said once, as what it is


def test_an_active_enrollment_of_a_deleted_user_or_class_is_reported():
    users, classes = small_table("users"), small_table("classes")
    users[1]["status"] = "tobedeleted"  # Ana, users.csv line 3; her enrollment stays active
    problems = read_bundle(small_bundle(users=users))[1]
    assert [(p.file, p.line, p.field) for p in problems] == [("enrollments.csv", 3, "userSourcedId")]
    assert "users.csv line 3" in problems[0].reason
    classes[0]["status"] = "tobedeleted"
    found = {(p.file, p.line, p.field) for p in read_bundle(small_bundle(classes=classes))[1]}
    assert found == {("enrollments.csv", n, "classSourcedId") for n in (2, 3, 4)}


@pytest.mark.parametrize(
    ("name", "column", "value"),
    [
        ("enrollments", "beginDate", "17/08/2026"),
        ("enrollments", "primary", "yes"),
        ("enrollments", "role", "wizard"),
        ("users", "enabledUser", "maybe"),
        ("users", "role", "wizard"),
        ("academicSessions", "endDate", "2027-13-01"),
        ("orgs", "type", "galaxy"),
        ("classes", "classType", "lecture"),
    ],
)
def test_a_tobedeleted_row_gets_its_fields_checked_too(name, column, value):
    rows = small_table(name)
    deleted = {**rows[-1], "sourcedId": "extra", "status": "tobedeleted", column: value}
    if name == "enrollments":
        deleted["userSourcedId"] = "u-left-last-year"  # not the pair of an active enrollment
    problems = read_bundle(small_bundle(**{name: [*rows, deleted]}))[1]
    assert [(p.file, p.line, p.field) for p in problems] == [(f"{name}.csv", len(rows) + 2, column)]
    assert repr(value) in problems[0].reason


def test_a_tobedeleted_row_may_leave_its_other_fields_empty():
    enrollments = small_table("enrollments")
    enrollments[2] = {k: "" for k in enrollments[2]} | {
        "sourcedId": "e-ben",
        "status": "tobedeleted",
        "classSourcedId": small_district.CLASS,
        "userSourcedId": small_district.OTHER_STUDENT,
    }
    assert read_bundle(small_bundle(enrollments=enrollments))[1] == []
