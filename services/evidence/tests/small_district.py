"""A district small enough to read at a glance, written here (no shared files): one school, one class,
a teacher, two students, and a two-competency CASE framework."""

from __future__ import annotations

import csv
import io
import zipfile

DISTRICT_ORG, SCHOOL = "org-district", "org-school"
SESSION, COURSE, CLASS = "term-1", "course-math", "class-math-1"
TEACHER, STUDENT, OTHER_STUDENT = "u-teacher", "u-ana", "u-ben"
STUDENT_EMAIL = "ana@school.example"
STAMP = "2026-08-01T00:00:00.000Z"
COMPETENCY = "RATIO.1"


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.strip() + "\n")))


def write(table: list[dict[str, str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue().encode("utf-8")


def roster_files() -> dict[str, bytes]:
    """A OneRoster 1.1 bulk bundle, file name → CSV bytes."""
    return {
        "manifest.csv": b"propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n",
        "orgs.csv": write(
            rows(f"""
sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
{DISTRICT_ORG},active,{STAMP},Small District,district,SD,
{SCHOOL},active,{STAMP},Small School,school,S1,{DISTRICT_ORG}""")
        ),
        "academicSessions.csv": write(
            rows(f"""
sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
{SESSION},active,{STAMP},2026-2027,schoolYear,2026-08-17,2027-06-11,,2027""")
        ),
        "courses.csv": write(
            rows(f"""
sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
{COURSE},active,{STAMP},{SESSION},Mathematics 6,MATH6,06,{SCHOOL},Mathematics,""")
        ),
        "classes.csv": write(
            rows(f"""
sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
{CLASS},active,{STAMP},Math 6 P1,06,{COURSE},M6-1,scheduled,Room 1,{SCHOOL},{SESSION},Mathematics,,1""")
        ),
        "users.csv": write(
            rows(f"""
sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
{TEACHER},active,{STAMP},true,{SCHOOL},teacher,tea,,Tess,Teacher,,T1,tess@school.example,,,,,
{STUDENT},active,{STAMP},true,{SCHOOL},student,ana,,Ana,Alvarez,,S1,{STUDENT_EMAIL},,,,06,
{OTHER_STUDENT},active,{STAMP},true,{SCHOOL},student,ben,,Ben,Baker,,S2,ben@school.example,,,,06,""")
        ),
        "enrollments.csv": write(
            rows(f"""
sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
e-teacher,active,{STAMP},{CLASS},{SCHOOL},{TEACHER},teacher,true,2026-08-17,2027-06-11
e-ana,active,{STAMP},{CLASS},{SCHOOL},{STUDENT},student,false,2026-08-17,2027-06-11
e-ben,active,{STAMP},{CLASS},{SCHOOL},{OTHER_STUDENT},student,false,2026-08-17,2027-06-11""")
        ),
    }


def roster_zip(files: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in sorted((files or roster_files()).items()):
            archive.writestr(name, content)
    return buffer.getvalue()


def framework() -> dict:
    """A CASE CFPackage with one domain and two standards."""

    def item(ident: str, code: str, text: str, kind: str) -> dict:
        return {"identifier": ident, "humanCodingScheme": code, "fullStatement": text, "CFItemType": kind}

    def child(ident: str, origin: str, parent: str, seq: int) -> dict:
        return {
            "identifier": ident,
            "originNodeURI": {"identifier": origin},
            "associationType": "isChildOf",
            "destinationNodeURI": {"identifier": parent},
            "sequenceNumber": seq,
        }

    return {
        "CFDocument": {"identifier": "small-doc", "title": "Small Competencies", "version": "1"},
        "CFItems": [
            item("dom", "RATIO", "Ratios", "Domain"),
            item("r1", COMPETENCY, "Uses ratio language", "Standard"),
            item("r2", "RATIO.2", "Finds unit rates", "Standard"),
        ],
        "CFAssociations": [
            child("a1", "dom", "small-doc", 1),
            child("a2", "r1", "dom", 1),
            child("a3", "r2", "dom", 2),
        ],
    }
