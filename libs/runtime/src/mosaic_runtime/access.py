"""One access policy for every route of every service (invariant 10: need to know).

`POLICY` is the table: for each kind of data (a `Rule`), which group of callers may reach it and how far
(`Scope`). A route declares its rule with `dependencies=[Depends(allow(Rule.STUDENT_DATA))]`; the service
supplies the relationships it knows (who teaches whom, whose guardian is whom, which school a thing is in)
through `Relationships`. A caller denied a student's data gets the 404 an unknown student would get.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.roles import Group, groups_of
from mosaic_runtime.auth import Principal, district_principal


class Scope(StrEnum):
    """How far a group's grant reaches."""

    DISTRICT = "anywhere"
    THEIR_SCHOOLS = "in their schools"
    THEIR_SECTIONS = "in the sections they teach"
    THEMSELF = "themself"
    THEIR_CHILDREN = "their own children"


class Rule(StrEnum):
    """A kind of data or action a route touches; the value reads in a sentence."""

    DISTRICT_INFO = "the district's frameworks, rules and settings"
    DISTRICT_SETUP = "the district's settings and notification rules"
    IMPORT = "importing frameworks and rosters, and the xAPI/Caliper mapping"
    DIRECTORY = "the roster's people with their contacts"
    SECTION_LIST = "the list of the district's sections"
    RECORD_EVIDENCE = "recording evidence (each item is checked against the roster)"
    STUDENT_DATA = "a student's data"
    STUDENT_REQUEST = "a student's session requests"
    STUDENT_PLAN = "a student's support plan"
    LEARNER_PLAN = "a student's learner plan (goals, interests, comments, reviews)"
    PLAN_WRITING = "writing a learner plan (interests, goals, reflections)"
    PLAN_COMMENT = "commenting on a learner plan"
    PLAN_REVIEW = "a conference review on a learner plan"
    SECTION_DATA = "a section and its students"
    SCHOOL_DATA = "a school's mastery summaries"
    SCHOOL_OFFER = "a school's flex-time offer (blocks, sessions, rooms, who leads them)"
    SCHOOL_SETUP = "changing a school's flex time (definitions, approvals)"
    BLOCK_DATA = "a flex block's schedules, placements and attendance"
    BLOCK_WORK = "running a flex block (regrouping, drafts, placements, attendance)"
    PLACEMENT = "placing a student in a flex session"
    TEACHER_SCHEDULE = "a teacher's flex-time calendar"
    GUARDIAN_DATA = "a guardian's preferences and delivery log"
    AUDIT = "the audit trail"
    ERASURE = "erasing a person's data (ADR 0019)"


D, SA, T, ST, G, SV = (
    Group.DISTRICT_ADMIN,
    Group.SCHOOL_ADMIN,
    Group.TEACHER,
    Group.STUDENT,
    Group.GUARDIAN,
    Group.SERVICE,
)
ANY, SCHOOLS, SECTIONS, SELF, CHILDREN = (
    Scope.DISTRICT,
    Scope.THEIR_SCHOOLS,
    Scope.THEIR_SECTIONS,
    Scope.THEMSELF,
    Scope.THEIR_CHILDREN,
)

# The table (docs/access.md prints it). A group missing from a row may not reach that data at all.
# fmt: off
POLICY: dict[Rule, dict[Group, Scope]] = {
    Rule.DISTRICT_INFO:    {D: ANY, SA: ANY, T: ANY, ST: ANY, G: ANY, SV: ANY},
    Rule.DISTRICT_SETUP:   {D: ANY},
    Rule.IMPORT:           {D: ANY, SV: ANY},
    Rule.DIRECTORY:        {D: ANY, SV: ANY},
    Rule.SECTION_LIST:     {D: ANY, SA: ANY, T: ANY, SV: ANY},
    Rule.RECORD_EVIDENCE:  {D: ANY, SA: ANY, T: ANY, ST: ANY, SV: ANY},
    Rule.STUDENT_DATA:     {D: ANY, SA: SCHOOLS, T: SECTIONS, ST: SELF, G: CHILDREN, SV: ANY},
    Rule.STUDENT_REQUEST:  {D: ANY, SA: SCHOOLS, T: SECTIONS, ST: SELF, SV: ANY},
    Rule.STUDENT_PLAN:     {D: ANY, SA: SCHOOLS, SV: ANY},
    Rule.LEARNER_PLAN:     {D: ANY, T: SECTIONS, ST: SELF, G: CHILDREN, SV: ANY},
    Rule.PLAN_WRITING:     {ST: SELF},
    Rule.PLAN_COMMENT:     {T: SECTIONS, G: CHILDREN},
    Rule.PLAN_REVIEW:      {T: SECTIONS},
    Rule.SECTION_DATA:     {D: ANY, SA: SCHOOLS, T: SECTIONS, SV: ANY},
    Rule.SCHOOL_DATA:      {D: ANY, SA: SCHOOLS, T: SCHOOLS, SV: ANY},
    Rule.SCHOOL_OFFER:     {D: ANY, SA: SCHOOLS, T: SCHOOLS, ST: SCHOOLS, G: SCHOOLS, SV: ANY},
    Rule.SCHOOL_SETUP:     {D: ANY, SA: SCHOOLS, SV: ANY},
    Rule.BLOCK_DATA:       {D: ANY, SA: SCHOOLS, T: SECTIONS, SV: ANY},
    Rule.BLOCK_WORK:       {D: ANY, SA: SCHOOLS, T: SECTIONS, SV: ANY},
    Rule.PLACEMENT:        {D: ANY, SA: SCHOOLS, T: SECTIONS, ST: SELF, SV: ANY},
    Rule.TEACHER_SCHEDULE: {D: ANY, SA: SCHOOLS, T: SELF, SV: ANY},
    Rule.GUARDIAN_DATA:    {D: ANY, G: SELF, SV: ANY},
    Rule.AUDIT:            {D: ANY},
    Rule.ERASURE:          {D: ANY},
}
# fmt: on

# Path parameters that name what a request is about, most specific first.
TARGET_PARAMS = (
    "student_id",
    "person_id",
    "guardian_id",
    "evidence_id",
    "section_id",
    "block_id",
    "session_id",
    "teacher_id",
    "room_id",
    "school_id",
)
# A denied caller learns nothing about these: the answer is the 404 an unknown one gets.
PERSONAL_KINDS = frozenset({"student", "person", "guardian", "evidence"})


@dataclass(frozen=True)
class Target:
    """What a request is about, and what it belongs to."""

    kind: str
    id: str | None = None
    schools: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()
    leaders: frozenset[str] = frozenset()
    required_schools: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CallerLinks:
    """What the roster says about the caller: their schools, the sections they teach, their children."""

    schools: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()
    children: frozenset[str] = frozenset()


class Relationships(Protocol):
    """What a service knows of who relates to whom, from its own tables."""

    async def caller(self, person_id: str) -> CallerLinks: ...

    async def target(self, kind: str, target_id: str) -> Target | None:
        """`kind` is a TARGET_PARAMS name without `_id`; None when the service does not know it."""
        ...


RelationshipsFactory = Callable[[AsyncSession, str], Relationships]


@dataclass(frozen=True)
class Decision:
    """Who asked, for what, and whether the table let them."""

    rule: Rule
    principal: Principal
    groups: frozenset[Group]
    caller: CallerLinks
    target: Target
    allowed: bool

    def permits(self, rule: Rule) -> bool:
        """Would the same caller be allowed `rule` on the same target (for checks a body field decides)?"""
        return permitted(rule, self.principal, self.groups, self.caller, self.target)


def insist(decision: Decision, rule: Rule, what: str) -> None:
    """A 403 unless the caller also has `rule` on the same target (a body field asked for more)."""
    if not decision.permits(rule):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"{what} needs {rule.value}, which is for {describe(rule)}; "
            f"your roles {sorted(decision.principal.roles)} and the roster do not give you that",
        )


def permitted(rule: Rule, principal: Principal, groups: frozenset[Group], caller: CallerLinks, target: Target) -> bool:
    grants = POLICY[rule]
    return any(reaches(grants[g], principal.user_id, caller, target) for g in groups if g in grants)


def reaches(scope: Scope, user_id: str, caller: CallerLinks, target: Target) -> bool:
    """Does a grant of `scope` cover `target` for this caller?"""
    if scope is Scope.DISTRICT:
        return True
    if scope is Scope.THEIR_SCHOOLS:
        named = target.schools & caller.schools if target.schools else bool(target.required_schools)
        return bool(named) and target.required_schools <= caller.schools
    if scope is Scope.THEIR_SECTIONS:
        return bool(target.sections & caller.sections) or user_id in target.leaders
    if scope is Scope.THEMSELF:
        return target.people == {user_id}
    return bool(target.people) and target.people <= caller.children


def describe(rule: Rule) -> str:
    """'district administrators anywhere in their district, teachers in the sections they teach, …'"""
    return ", ".join(
        f"{group.value}s {scope.value}" if scope is not Scope.THEMSELF else f"a {group.value} for {scope.value}"
        for group, scope in POLICY[rule].items()
    )


async def resolve_target(request: Request, relationships: Relationships) -> Target:
    """The target a request's path (and, for a few writes, its body's student_id/school_id) names."""
    params = request.path_params
    kind, target_id = _named(params)
    body = await _body_fields(request)
    target = Target("district")
    if kind is not None and target_id is not None:
        target = await relationships.target(kind, target_id) or Target(kind, target_id)
        if kind in ("student", "person", "guardian", "teacher") and not target.people:
            target = _with(target, people=frozenset({target_id}))
    if body.get("student_id") and not target.people:
        student = await relationships.target("student", body["student_id"])
        target = _with(
            target,
            people=frozenset({body["student_id"]}),
            sections=target.sections or (student.sections if student else frozenset()),
        )
    if body.get("school_id"):
        target = _with(target, required_schools=frozenset({body["school_id"]}))
    return target


def _named(params: dict[str, Any]) -> tuple[str | None, str | None]:
    if "kind" in params and "item_id" in params:  # DELETE /{kind}/{item_id}: blocks, rooms, teachers
        return str(params["kind"]).removesuffix("s"), str(params["item_id"])
    for name in TARGET_PARAMS:
        if name in params:
            return name.removesuffix("_id"), str(params[name])
    return None, None


async def _body_fields(request: Request) -> dict[str, str]:
    if request.method not in ("POST", "PUT", "PATCH") or "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {k: v for k in ("student_id", "school_id") if isinstance(v := body.get(k), str) and v}


def _with(target: Target, **changes: Any) -> Target:
    return replace(target, **changes)


def _denied(decision: Decision, district_id: str) -> HTTPException:
    target = decision.target
    if target.kind in PERSONAL_KINDS:
        return HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no {target.kind} {target.id!r} in district {district_id!r} that you may see",
        )
    roles = sorted(decision.principal.roles)
    where = f" ({target.kind} {target.id!r})" if target.id else ""
    return HTTPException(
        status.HTTP_403_FORBIDDEN,
        detail=f"{decision.rule.value}{where} is for {describe(decision.rule)}; "
        f"your roles {roles} and the roster do not give you that",
    )


PrincipalSource = Callable[..., Awaitable[Principal]]


def allow(rule: Rule, *, principal_from: PrincipalSource = district_principal) -> Callable[..., Awaitable[Decision]]:
    """The dependency a route declares: admits the caller the table allows `rule` on the path's target."""

    async def check(request: Request, principal: Annotated[Principal, Depends(principal_from)]) -> Decision:
        district_id = str(request.path_params.get("district_id", principal.district_id))
        groups = groups_of(principal.roles)
        factory: RelationshipsFactory = request.app.state.relationships
        async with request.app.state.ctx.sessions() as session:
            relationships = factory(session, district_id)
            target = await resolve_target(request, relationships)
            caller = (
                await relationships.caller(principal.user_id)
                if groups - {Group.DISTRICT_ADMIN, Group.SERVICE}
                else CallerLinks()
            )
        allowed = permitted(rule, principal, groups, caller, target)
        decision = Decision(rule, principal, groups, caller, target, allowed)
        request.state.access = decision
        if not allowed:
            raise _denied(decision, district_id)
        return decision

    # The principal's source is a closure variable, which string annotations cannot name: spell the signature out.
    check.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
            inspect.Parameter(
                "principal",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[Principal, Depends(principal_from)],
            ),
        ],
        return_annotation=Decision,
    )
    check.access_rule = rule  # type: ignore[attr-defined]
    return check


def declared_rule(route: Any) -> Rule | None:
    """The rule a route declared through `allow`, if any (the access matrix test walks these)."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        rule = getattr(dependant.call, "access_rule", None)
        if rule is not None:
            return rule
        pending.extend(dependant.dependencies)
    return None


def public(reason: str) -> Callable[[], None]:
    """Declares a route that takes no bearer token because it checks a signature of its own (`reason`)."""

    def no_token() -> None:
        return None

    no_token.access_rule = f"public: {reason}"  # type: ignore[attr-defined]
    return no_token


def policy_markdown() -> str:
    """The table as docs/access.md prints it: one row per rule, one column per group."""
    groups = list(Group)
    lines = ["| data or action | " + " | ".join(g.value for g in groups) + " |", "|---|" + "---|" * len(groups)]
    for rule, grants in POLICY.items():
        cells = [grants[g].value if g in grants else "—" for g in groups]
        lines.append(f"| {rule.value} (`{rule.name}`) | " + " | ".join(cells) + " |")
    return "\n".join(lines)
