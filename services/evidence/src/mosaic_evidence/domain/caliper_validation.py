"""Is this IMS Caliper 1.1 / 1.2? The envelope a sensor sends, each event's context, id, type and action
(the pairs the specification allows), and scores that are numbers. Entities (described, not events) are
let through with a valid id; they are reported, not evidence."""

from __future__ import annotations

import re
from typing import Any

from mosaic_evidence.domain.standards_problems import InputProblem, is_number, short, too_deep

CONTEXTS = ("http://purl.imsglobal.org/ctx/caliper/v1p1", "http://purl.imsglobal.org/ctx/caliper/v1p2")
ENVELOPE_FIELDS = ("sensor", "sendTime", "dataVersion", "data")
URN_UUID_RE = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
EXAMPLE_ID = "urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594"
ASSESSMENT = ("Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted")
MEDIA = (
    "Started",
    "Ended",
    "Paused",
    "Resumed",
    "Restarted",
    "ForwardedTo",
    "JumpedTo",
    "ChangedResolution",
    "ChangedSize",
    "ChangedSpeed",
    "ChangedVolume",
    "EnabledClosedCaptioning",
    "DisabledClosedCaptioning",
    "EnteredFullScreen",
    "ExitedFullScreen",
    "Muted",
    "Unmuted",
    "OpenedPopout",
    "ClosedPopout",
)
RESOURCE = (
    "Archived",
    "Copied",
    "Created",
    "Deleted",
    "Described",
    "Downloaded",
    "Modified",
    "Printed",
    "Published",
    "Restored",
    "Retrieved",
    "Saved",
    "Unarchived",
    "Unpublished",
    "Uploaded",
)
# Caliper 1.1 §3 and 1.2 §4: each event type and the actions it may carry.
ACTIONS: dict[str, tuple[str, ...]] = {
    "AnnotationEvent": ("Bookmarked", "Highlighted", "Shared", "Tagged"),
    "AssessmentEvent": ASSESSMENT,
    "AssessmentItemEvent": ("Started", "Skipped", "Completed"),
    "AssignableEvent": ("Activated", "Deactivated", "Started", "Completed", "Submitted", "Reviewed"),
    "FeedbackEvent": ("Commented", "Ranked"),
    "ForumEvent": ("Subscribed", "Unsubscribed"),
    "GradeEvent": ("Graded",),
    "MediaEvent": MEDIA,
    "MessageEvent": ("Posted", "MarkedAsRead", "MarkedAsUnread"),
    "NavigationEvent": ("NavigatedTo",),
    "QuestionnaireEvent": ("Started", "Submitted"),
    "QuestionnaireItemEvent": ("Started", "Skipped", "Completed"),
    "ResourceManagementEvent": RESOURCE,
    "SearchEvent": ("Searched",),
    "SessionEvent": ("LoggedIn", "LoggedOut", "TimedOut"),
    "SurveyEvent": ("OptedIn", "OptedOut"),
    "SurveyInvitationEvent": ("Accepted", "Declined", "Sent"),
    "ThreadEvent": ("MarkedAsRead", "MarkedAsUnread"),
    "ToolLaunchEvent": ("Launched", "Returned"),
    "ToolUseEvent": ("Used",),
    "ViewEvent": ("Viewed",),
}
ANY_ACTION = sorted({a for actions in ACTIONS.values() for a in actions})


def event_list(body: Any) -> list[Any] | None:
    """An envelope's `data`, a bare list of events, or one event; None if the body is none of these."""
    if isinstance(body, dict) and any(k in body for k in ENVELOPE_FIELDS):
        return body["data"] if isinstance(body.get("data"), list) else None
    if isinstance(body, list):
        return body
    return [body] if isinstance(body, dict) and "type" in body else None


def validate_body(body: Any) -> list[InputProblem]:
    """Every problem of the envelope and of each event in it; empty means the request can be taken."""
    if too_deep(body):
        return too_deep(body)
    if isinstance(body, dict) and any(k in body for k in ENVELOPE_FIELDS):
        problems = _envelope(body)
    elif event_list(body) is None:
        return [
            InputProblem(
                None,
                "",
                f"{short(body, 40)} is not Caliper: send an envelope {{sensor, sendTime, dataVersion, data: [events]}}",
            )
        ]
    elif not event_list(body):
        return [InputProblem(None, "", "the list holds no events; send at least one")]
    else:
        problems = []
    events = event_list(body) or []
    return problems + [p for i, e in enumerate(events) for p in validate_item(i, e)]


def _envelope(body: dict[str, Any]) -> list[InputProblem]:
    problems = [
        InputProblem(None, name, "the envelope needs this field") for name in ENVELOPE_FIELDS if name not in body
    ]
    if "sensor" in body and not _is_iri(_entity_id(body["sensor"])):
        problems.append(
            InputProblem(
                None,
                "sensor",
                f"{short(body['sensor'])} is not an IRI; name the sensor, e.g. 'https://example.edu/sensors/1'",
            )
        )
    if "sendTime" in body and not _is_time(body["sendTime"]):
        problems.append(
            InputProblem(
                None,
                "sendTime",
                f"{short(body['sendTime'])} is not an ISO 8601 time; write it as '2026-11-20T14:30:00.000Z'",
            )
        )
    if "dataVersion" in body and body["dataVersion"] not in CONTEXTS:
        problems.append(
            InputProblem(
                None,
                "dataVersion",
                f"{short(body['dataVersion'])} is not a Caliper version we read; use one of {', '.join(CONTEXTS)}",
            )
        )
    if "data" in body and not (isinstance(body["data"], list) and body["data"]):
        problems.append(InputProblem(None, "data", "must be a non-empty array of events"))
    extra = sorted(set(body) - set(ENVELOPE_FIELDS))
    if extra:
        problems.append(InputProblem(None, extra[0], f"the envelope has no field {extra[0]!r}; remove it"))
    return problems


def validate_item(index: int, item: Any) -> list[InputProblem]:
    if not isinstance(item, dict):
        return [InputProblem(index, "", f"an event must be a JSON object, not {short(item, 40)}")]
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        return [InputProblem(index, "type", "every event and entity needs a type, e.g. 'GradeEvent'")]
    problems = _context(index, item)
    if not kind.endswith("Event"):
        if not _is_iri(item.get("id")):
            problems.append(InputProblem(index, "id", f"the entity's id {short(item.get('id'))} is not an IRI"))
        return problems
    return problems + _event(index, item, kind)


def _context(index: int, item: dict[str, Any]) -> list[InputProblem]:
    context = item.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if any(c in CONTEXTS for c in contexts):
        return []
    return [
        InputProblem(
            index, "@context", f"{short(context)} is not a Caliper context; use {CONTEXTS[1]} (or {CONTEXTS[0]})"
        )
    ]


def _event(index: int, event: dict[str, Any], kind: str) -> list[InputProblem]:
    problems = []
    if not (isinstance(event.get("id"), str) and URN_UUID_RE.match(event["id"])):
        problems.append(
            InputProblem(
                index, "id", f"{short(event.get('id'))} is not an event id; use a UUID URN such as '{EXAMPLE_ID}'"
            )
        )
    action = event.get("action")
    allowed = ACTIONS.get(kind, ANY_ACTION if kind == "Event" else None)
    if allowed is None:
        problems.append(
            InputProblem(
                index,
                "type",
                f"{short(kind)} is not a Caliper event type; use one of {', '.join(sorted(ACTIONS))} or Event",
            )
        )
    elif action not in allowed:
        problems.append(
            InputProblem(
                index, "action", f"{short(action)} is not an action of a {kind}; it may be {', '.join(allowed[:12])}"
            )
        )
    for name in ("actor", "object"):
        if not _is_iri(_entity_id(event.get(name))):
            problems.append(InputProblem(index, name, f"the event needs an {name}: an entity with an IRI id"))
    if not _is_time(event.get("eventTime")):
        problems.append(
            InputProblem(
                index,
                "eventTime",
                f"{short(event.get('eventTime'))} is not an ISO 8601 time; write it as '2026-11-20T14:30:00.000Z'",
            )
        )
    if kind == "GradeEvent":
        problems += _score(index, event.get("generated"))
    return problems


def _score(index: int, score: Any) -> list[InputProblem]:
    if score is None:
        return []
    if not isinstance(score, dict):
        return [InputProblem(index, "generated", "the generated Score must be an object")]
    problems = [
        InputProblem(
            index,
            f"generated.{name}",
            f"{short(score[name])} is not a number; send a JSON number (not a string, not true/false)",
        )
        for name in ("scoreGiven", "maxScore")
        if name in score and not is_number(score[name])
    ]
    if problems:
        return problems
    given: Any = score.get("scoreGiven")
    top: Any = score.get("maxScore")
    if top is not None and top <= 0:
        problems.append(InputProblem(index, "generated.maxScore", f"maxScore {top} must be above 0"))
    elif given is not None and top is not None and not 0 <= given <= top:
        problems.append(InputProblem(index, "generated.scoreGiven", f"scoreGiven {given} is outside 0..{top}"))
    return problems


def _entity_id(entity: Any) -> Any:
    return entity.get("id") if isinstance(entity, dict) else entity


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(IRI_RE.match(value))


def _is_time(value: Any) -> bool:
    return isinstance(value, str) and bool(TIME_RE.match(value))
