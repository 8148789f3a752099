"""Is this an xAPI 1.0.3 statement? Ralph's models (the LRS Open edX uses) check the Data section's
structure — IRIs, language maps, unknown properties, UUIDs, booleans; the rules they miss or get wrong
are checked here: exactly one IFI per Agent, strict numbers and `min` ≤ `raw` ≤ `max` (Ralph skips a
bound of 0), ISO 8601 timestamps with a time, openid as a URI, voiding, and ids within one batch."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from ralph.models.xapi.base.statements import BaseXapiStatement

from mosaic_evidence.domain.standards_problems import InputProblem, field_path, is_number, short, too_deep

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$")
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
EXAMPLE_UUID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
HINTS = {  # pydantic error type → what to do
    "extra_forbidden": "xAPI 1.0.3 defines no such property here; remove it (extra data goes in an 'extensions' "
    "map keyed by IRI)",
    "missing": "this property is required",
    "uuid_parsing": f"must be a UUID such as '{EXAMPLE_UUID}'",
    "uuid_type": f"must be a UUID string such as '{EXAMPLE_UUID}'",
    "bool_type": "must be true or false (a JSON boolean, not a string or a number)",
    "bool_parsing": "must be true or false (a JSON boolean, not a string or a number)",
    "string_type": "must be a string",
    "dict_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "no_empty_value": "remove the empty value (xAPI allows empty values only inside extensions)",
}


def validate_statements(statements: list[Any]) -> list[InputProblem]:
    """Every problem of every statement; an empty list means the whole request can be taken."""
    if not statements:
        return [InputProblem(None, "", "the list holds no statements; send at least one")]
    problems = [p for i, s in enumerate(statements) for p in validate_statement(i, s)]
    return problems + _colliding_ids(statements)


def validate_statement(index: int, statement: Any) -> list[InputProblem]:
    if not isinstance(statement, dict):
        return [InputProblem(index, "", f"a statement must be a JSON object, not {short(statement)}")]
    if too_deep(statement):
        return too_deep(statement, index)
    own = _own_checks(statement)
    # Where we explained an agent (or a nested object), Ralph's guesses among its union's branches are noise.
    explained = {o.field for o in own} | {
        path for path, _ in _agent_paths(statement) if any(_within(o.field, path) for o in own)
    }
    explained |= {"object"} if any(_within(o.field, "object") for o in own) else set()
    try:
        BaseXapiStatement.model_validate(statement)
        ralph: list[InputProblem] = []
    except ValidationError as error:
        ralph = [
            p
            for p in _ralph_problems(error, statement)
            if not any(_within(p.field, e) or _within(e, p.field) for e in explained)
        ]
    return [InputProblem(index, p.field, p.reason) for p in own + ralph]


def _within(path: str, outer: str) -> bool:
    return path == outer or path.startswith(outer + ".") or path.startswith(outer + "[")


def _agent_paths(statement: dict[str, Any]) -> list[tuple[str, Any]]:
    """Where a statement holds an Agent or Group: actor, authority, an Agent object, a SubStatement's
    actor, context.instructor and context.team."""
    found: list[tuple[str, Any]] = [(name, statement[name]) for name in ("actor", "authority") if name in statement]
    target, context = statement.get("object"), statement.get("context")
    if isinstance(target, dict) and target.get("objectType") in ("Agent", "Group"):
        found.append(("object", target))
    if isinstance(target, dict) and target.get("objectType") == "SubStatement" and "actor" in target:
        found.append(("object.actor", target["actor"]))
    if isinstance(context, dict):
        found += [(f"context.{name}", context[name]) for name in ("instructor", "team") if name in context]
    return found


def _own_checks(statement: dict[str, Any]) -> list[InputProblem]:
    problems: list[InputProblem] = []
    verb = statement.get("verb")
    if isinstance(verb, dict) and "id" not in verb:
        problems.append(
            InputProblem(
                None, "verb.id", "a verb needs an id, an IRI such as 'http://adlnet.gov/expapi/verbs/completed'"
            )
        )
    if "id" in statement and not (isinstance(statement["id"], str) and UUID_RE.match(statement["id"])):
        problems.append(
            InputProblem(
                None,
                "id",
                f"{short(statement['id'])} is not a UUID; send one such as '{EXAMPLE_UUID}' or leave 'id' out",
            )
        )
    for path, agent in _agent_paths(statement):
        problems += _agent_or_group(agent, path)
    context, target = statement.get("context"), statement.get("object")
    if (
        isinstance(context, dict)
        and isinstance(context.get("team"), dict)
        and context["team"].get("objectType") != "Group"
    ):
        problems.append(InputProblem(None, "context.team.objectType", "a team is a Group: set objectType 'Group'"))
    if (
        isinstance(target, dict)
        and target.get("objectType") == "SubStatement"
        and isinstance(target.get("object"), dict)
        and target["object"].get("objectType") == "SubStatement"
    ):
        problems.append(
            InputProblem(None, "object.object.objectType", "a SubStatement cannot hold another SubStatement")
        )
    for name in ("timestamp", "stored"):
        if name in statement:
            problems += _timestamp(statement[name], name)
    result = statement.get("result")
    if isinstance(result, dict) and isinstance(result.get("score"), dict):
        problems += _score(result["score"])
    problems += _voiding(statement)
    return problems


def _agent_or_group(actor: Any, path: str, *, member: bool = False) -> list[InputProblem]:
    if not isinstance(actor, dict):
        return [InputProblem(None, path, "must be an Agent or Group object")]
    kind = actor.get("objectType", "Agent")
    ifis = [k for k in IFIS if k in actor]
    if kind == "Group" and member:
        return [InputProblem(None, f"{path}.objectType", "a Group's members must be Agents, not Groups")]
    if kind == "Agent" and len(ifis) != 1:
        found = f"found {', '.join(ifis)}" if ifis else "found none"
        return [
            InputProblem(
                None,
                path,
                f"an Agent needs exactly one inverse functional identifier (mbox, "
                f"mbox_sha1sum, openid or account); {found}",
            )
        ]
    if kind == "Group":
        if len(ifis) > 1:
            return [
                InputProblem(
                    None,
                    path,
                    f"an identified Group has exactly one inverse functional identifier; found {', '.join(ifis)}",
                )
            ]
        members = actor.get("member")
        if not ifis and not (isinstance(members, list) and members):
            return [InputProblem(None, f"{path}.member", "an anonymous Group (no identifier) must list its members")]
        problems = [
            p
            for n, m in enumerate(members if isinstance(members, list) else [])
            for p in _agent_or_group(m, f"{path}.member[{n}]", member=True)
        ]
        if problems:
            return problems
    elif kind != "Agent":
        return [InputProblem(None, f"{path}.objectType", f"{short(kind)} is neither 'Agent' nor 'Group'")]
    return _ifi_values(actor, path)


def _ifi_values(actor: dict[str, Any], path: str) -> list[InputProblem]:
    mbox = actor.get("mbox")
    if "mbox" in actor and not (isinstance(mbox, str) and mbox.startswith("mailto:") and "@" in mbox):
        return [
            InputProblem(
                None, f"{path}.mbox", f"{short(mbox)} is not a mailto IRI; write it as 'mailto:name@example.org'"
            )
        ]
    openid = actor.get("openid")
    if "openid" in actor and not (isinstance(openid, str) and URI_RE.match(openid)):
        return [InputProblem(None, f"{path}.openid", f"{short(openid)} is not a URI; give the full OpenID URI")]
    return []


def _timestamp(value: Any, path: str) -> list[InputProblem]:
    problem = [
        InputProblem(
            None,
            path,
            f"{short(value)} is not an ISO 8601 timestamp with date and time; "
            "write it as '2026-11-20T14:30:00Z' (or with an offset such as +01:00)",
        )
    ]
    if not isinstance(value, str) or not TIMESTAMP_RE.match(value):
        return problem
    if value.endswith("-00:00") or value.endswith("-0000") or value.endswith("-00"):
        return [
            InputProblem(
                None,
                path,
                "the offset -00:00 is not allowed (ISO 8601 / RFC 3339 'unknown offset'); write Z or +00:00 for UTC",
            )
        ]
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return problem
    return []


def _score(score: dict[str, Any]) -> list[InputProblem]:
    problems = [
        InputProblem(
            None,
            f"result.score.{name}",
            f"{short(score[name])} is not a number; send a JSON number (not a string, not true/false)",
        )
        for name in ("scaled", "raw", "min", "max")
        if name in score and not is_number(score[name])
    ]
    if problems:
        return problems
    scaled, raw, low, high = (score.get(k) for k in ("scaled", "raw", "min", "max"))
    if scaled is not None and not -1 <= scaled <= 1:
        problems.append(
            InputProblem(
                None,
                "result.score.scaled",
                f"{scaled} is outside −1..1; a scaled score is a fraction of the range, e.g. 0.85",
            )
        )
    if low is not None and high is not None and not low < high:
        problems.append(InputProblem(None, "result.score.min", f"min ({low}) must be less than max ({high})"))
    elif raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        problems.append(
            InputProblem(
                None,
                "result.score.raw",
                f"raw {raw} is outside min..max "
                f"({low if low is not None else '−∞'}.."
                f"{high if high is not None else '∞'})",
            )
        )
    return problems


def _voiding(statement: dict[str, Any]) -> list[InputProblem]:
    verb = statement.get("verb")
    if not (isinstance(verb, dict) and verb.get("id") == VOIDED):
        return []
    target = statement.get("object")
    if not isinstance(target, dict) or target.get("objectType") != "StatementRef":
        return [
            InputProblem(
                None,
                "object.objectType",
                "a voiding statement's object must be a StatementRef naming the statement it voids",
            )
        ]
    if not (isinstance(target.get("id"), str) and UUID_RE.match(target["id"])):
        return [InputProblem(None, "object.id", f"{short(target.get('id'))} is not a statement id (a UUID)")]
    return []


def _colliding_ids(statements: list[Any]) -> list[InputProblem]:
    """xAPI 1.0.3 §2.1.1: a batch with two statements of the same id is refused."""
    first: dict[str, int] = {}
    problems = []
    for index, statement in enumerate(statements):
        sid = statement.get("id") if isinstance(statement, dict) else None
        if isinstance(sid, str):
            key = sid.lower()
            if key in first:
                problems.append(
                    InputProblem(
                        index,
                        "id",
                        f"statement {first[key]} of this batch has the same id; give each statement its own id",
                    )
                )
            first.setdefault(key, index)
    return problems


def _ralph_problems(error: ValidationError, statement: dict[str, Any]) -> list[InputProblem]:
    """Ralph's errors, with the union branches the input did not choose left out and a hint for each."""
    errors = _chosen_branches([dict(e) for e in error.errors()], statement)
    problems: dict[str, InputProblem] = {}
    for e in errors:
        loc = _data_loc(e["loc"], statement)
        path = field_path(loc)
        if path in problems:
            continue
        hint = HINTS.get(e["type"]) or _hint_for(e)
        problems[path] = InputProblem(None, path, hint)
    return list(problems.values())


def _hint_for(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if "IRI" in message:
        example = (
            "http://adlnet.gov/expapi/verbs/completed"
            if "verb" in error["loc"]
            else "http://example.org/activities/quiz-1"
        )
        return f"{message} Send an absolute IRI such as '{example}'"
    if error["type"] == "string_pattern_mismatch" and error["loc"][-1:] == ("version",):
        return "xAPI version must be 1.0.x, e.g. '1.0.3'"
    if error["type"].startswith("datetime") or error["type"].startswith("time_delta"):
        return f"{message} (durations are ISO 8601 like 'PT1H30M')"
    return message


def _data_loc(loc: tuple[Any, ...], statement: Any) -> tuple[Any, ...]:
    """The error's location with pydantic's union branch names taken out: a path into the statement itself."""
    out, node = [], statement
    for part in loc:
        if _holds(node, part):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (part[:1].isupper() or "[" in part or part in ("str", "int", "float")):
            continue  # a union branch, e.g. BaseXapiAgentWithMbox
        else:
            out.append(part)  # a missing or unknown field
            node = None
    return tuple(out)


def _holds(node: Any, part: Any) -> bool:
    return (isinstance(node, dict) and part in node) or (
        isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
    )


def _chosen_branches(errors: list[dict[str, Any]], statement: Any, depth: int = 0) -> list[dict[str, Any]]:
    """Where the input fits no branch of a union, keep the branch it came closest to (fewest errors)."""
    plain, unions = [], {}  # type: ignore[var-annotated]
    for e in errors:
        position = _first_branch(e["loc"], statement, depth)
        if position is None:
            plain.append(e)
        else:
            unions.setdefault(tuple(e["loc"][:position]), {}).setdefault(e["loc"][position], []).append(e)
    for prefix, branches in unions.items():
        plain += _chosen_branches(min(branches.values(), key=len), statement, len(prefix) + 1)
    return plain


def _first_branch(loc: tuple[Any, ...], statement: Any, start: int) -> int | None:
    node = statement
    for position, part in enumerate(loc):
        if _holds(node, part):
            node = node[part]
        elif isinstance(part, str) and (part[:1].isupper() or "[" in part) and position >= start:
            return position
        elif position >= start:
            return None
    return None


def comparable(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement as xAPI compares it (Data §2.3.1): without what an LRS may set (authority, stored,
    version), the timestamp as an instant, the id in lower case."""
    content = {k: v for k, v in statement.items() if k not in ("authority", "stored", "version")}
    if isinstance(content.get("id"), str):
        content["id"] = content["id"].lower()
    if isinstance(content.get("timestamp"), str):
        content["timestamp"] = instant(content["timestamp"]) or content["timestamp"]
    return content


def instant(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
