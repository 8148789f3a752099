"""The role groups of the access policy, spelled out once (OneRoster roles and our service accounts).

Part of the shared vocabulary (rosters carry OneRoster roles): the access policy in mosaic_runtime and the services'
pure domains read them, and a domain imports no chassis.
"""

from __future__ import annotations

from enum import StrEnum


class Group(StrEnum):
    """Who a caller is to the policy, whatever their identity provider calls the role."""

    DISTRICT_ADMIN = "district administrator"
    SCHOOL_ADMIN = "school administrator"
    TEACHER = "teacher"
    STUDENT = "student"
    GUARDIAN = "guardian"
    SERVICE = "service account"


ROLES: dict[Group, frozenset[str]] = {
    Group.DISTRICT_ADMIN: frozenset({"districtAdministrator", "administrator"}),
    Group.SCHOOL_ADMIN: frozenset({"siteAdministrator", "principal", "counselor"}),
    Group.TEACHER: frozenset({"teacher", "aide", "proctor"}),
    Group.STUDENT: frozenset({"student"}),
    Group.GUARDIAN: frozenset({"guardian", "parent", "relative"}),
    Group.SERVICE: frozenset({"system", "integration", "portal"}),
}

DISTRICT_ADMIN_ROLES = ROLES[Group.DISTRICT_ADMIN]
SCHOOL_ADMIN_ROLES = ROLES[Group.SCHOOL_ADMIN]
TEACHER_ROLES = ROLES[Group.TEACHER]
GUARDIAN_ROLES = ROLES[Group.GUARDIAN]
SERVICE_ROLES = ROLES[Group.SERVICE]


def groups_of(roles: frozenset[str] | set[str]) -> frozenset[Group]:
    """Every group a set of roles puts a caller in (a token may carry several roles)."""
    return frozenset(group for group, names in ROLES.items() if names & roles)
