"""xAPI 1.0.3 statements → evidence: a scored statement about a mapped activity by a known learner.
The statements are checked first (xapi_validation); what reaches here is well-formed xAPI."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from mosaic_evidence.domain.recording import ScoreInput
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.domain.standards import (
    ActivityMapping,
    Outcome,
    StandardsMapping,
    evidence_item,
    iso_date,
    resolve_actor,
    score_on_scale,
)
from mosaic_evidence.domain.xapi_validation import VOIDED


def statement_list(body: Any) -> list[Any]:
    """The xAPI resource takes one statement or an array of them."""
    return body if isinstance(body, list) else [body]


def translate_statements(
    statements: list[Any], mapping: StandardsMapping, view: ReferenceView, *, received_on: date
) -> list[Outcome]:
    """Statements already checked by xapi_validation: each gets its outcome."""
    return [translate_statement(i, s, mapping, view, received_on=received_on) for i, s in enumerate(statements)]


def translate_statement(
    index: int, statement: Any, mapping: StandardsMapping, view: ReferenceView, *, received_on: date
) -> Outcome:
    if not isinstance(statement, dict):
        return Outcome(index, "invalid", reason="a statement must be a JSON object")
    missing = [k for k in ("actor", "verb", "object") if not isinstance(statement.get(k), dict)]
    if missing:
        return Outcome(index, "invalid", reason=f"statement lacks {', '.join(missing)}")
    ref = statement_id(statement)
    verb = str(statement["verb"].get("id") or "")
    target = statement["object"]
    if verb == VOIDED:
        if target.get("objectType") != "StatementRef" or not target.get("id"):
            return Outcome(index, "invalid", ref, reason="a voiding statement must target a StatementRef")
        return Outcome(index, "voided", ref, reason=f"voids statement {target['id']}", voids=str(target["id"]))
    if target.get("objectType", "Activity") != "Activity":
        return Outcome(
            index, "not_evidence", ref, reason=f"the object is a {target.get('objectType')}, not an Activity"
        )
    activity_id = str(target.get("id") or "")
    raw_score = (statement.get("result") or {}).get("score") if isinstance(statement.get("result"), dict) else None
    if not isinstance(raw_score, dict) or not raw_score:
        return Outcome(index, "no_score", ref, activity_id, reason=f"verb {verb} carries no result.score")
    activity = mapping.activity(activity_id)
    if activity is None:
        return Outcome(
            index,
            "unmapped_activity",
            ref,
            activity_id,
            reason="no competency mapping for this activity; add one to the district's mapping",
        )
    student = resolve_actor(actor_keys(statement["actor"]), mapping, view)
    if student is None:
        return Outcome(
            index,
            "unknown_actor",
            ref,
            activity_id,
            reason=f"actor {actor_keys(statement['actor'])} matches no student in the roster or mapping",
        )
    score = _score(raw_score, activity)
    if score is None:
        return Outcome(
            index,
            "invalid",
            ref,
            activity_id,
            reason="result.score has no scaled value, and raw has no max and the activity no scale",
        )
    observed = iso_date(statement.get("timestamp"), received_on)  # validated: a date and a time, or absent
    return Outcome(
        index,
        "evidence",
        ref,
        activity_id,
        item=evidence_item(
            student,
            activity,
            score,
            observed,
            source="xapi",
            source_ref=ref,
            comment=_text((statement.get("result") or {}).get("response")),
        ),
    )


def _score(raw: dict[str, Any], activity: ActivityMapping) -> ScoreInput | None:
    if _num(raw.get("raw")) is not None:
        return score_on_scale(float(raw["raw"]), _num(raw.get("min")), _num(raw.get("max")), activity)
    if _num(raw.get("scaled")) is not None:
        scaled = float(raw["scaled"])
        return score_on_scale(scaled, -1.0 if scaled < 0 else 0.0, 1.0, activity)
    return None


def actor_keys(actor: dict[str, Any]) -> list[str]:
    """The actor's inverse functional identifiers, as mapping keys (an account also by its bare name)."""
    keys = []
    if actor.get("mbox"):
        keys.append(str(actor["mbox"]))
    account = actor.get("account")
    if isinstance(account, dict) and account.get("name"):
        keys += [f"{account.get('homePage', '')}|{account['name']}", str(account["name"])]
    for ifi in ("openid", "mbox_sha1sum"):
        if actor.get(ifi):
            keys.append(str(actor[ifi]))
    return keys


def statement_id(statement: dict[str, Any]) -> str:
    """The statement's id; an id-less statement gets one from its content, so a resend is recognised."""
    if statement.get("id"):
        return str(statement["id"])
    digest = hashlib.sha256(json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None
