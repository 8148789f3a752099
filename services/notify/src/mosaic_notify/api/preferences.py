"""Preferences and district rules, for the portals that manage them for families."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from mosaic_notify.adapters.codec import PreferencesDocument, RulesDocument
from mosaic_notify.api.deps import now_of, settings_of
from mosaic_notify.service import change_preferences, read_preferences
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Session

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["preferences"])
FAMILY = [Depends(allow(Rule.GUARDIAN_DATA))]


@router.get(
    "/guardians/{guardian_id}/preferences",
    response_model=PreferencesDocument,
    summary="A guardian's notification preferences (defaults until someone sets them)",
    dependencies=FAMILY,
)
async def get_preferences(
    district_id: str, guardian_id: str, session: Session, request: Request
) -> PreferencesDocument:
    prefs = await read_preferences.guardian_preferences(session, district_id, guardian_id, settings_of(request))
    if prefs is None:
        raise _unknown_guardian(district_id, guardian_id)
    return PreferencesDocument.from_domain(prefs)


@router.put(
    "/guardians/{guardian_id}/preferences",
    response_model=PreferencesDocument,
    summary="Replace a guardian's preferences; applies to messages not yet sent",
    dependencies=FAMILY,
)
async def put_preferences(
    district_id: str, guardian_id: str, body: PreferencesDocument, session: Session, request: Request
) -> PreferencesDocument:
    if not await change_preferences.replace_preferences(
        session, district_id, guardian_id, body.to_domain(), now_of(request)
    ):
        raise _unknown_guardian(district_id, guardian_id)
    return body


@router.get(
    "/rules",
    response_model=RulesDocument,
    summary="The district's rules: instant, digest-only, urgent",
    dependencies=[Depends(allow(Rule.DISTRICT_INFO))],
)
async def get_rules(district_id: str, session: Session) -> RulesDocument:
    return RulesDocument.from_domain(await read_preferences.district_rules(session, district_id))


@router.put(
    "/rules",
    response_model=RulesDocument,
    summary="Replace the district's rules (administrators)",
    dependencies=[Depends(allow(Rule.DISTRICT_SETUP))],
)
async def put_rules(district_id: str, body: RulesDocument, session: Session, request: Request) -> RulesDocument:
    await change_preferences.replace_rules(session, district_id, body.to_domain(), now_of(request))
    return body


class DeliveryLogEntry(BaseModel):
    attempt: int
    at: str
    outcome: str
    detail: str


class NotificationView(BaseModel):
    notification_id: str
    channel: str
    news_kind: str
    digest: bool
    status: str
    due_at: str
    attempts: int
    log: list[DeliveryLogEntry]


@router.get(
    "/guardians/{guardian_id}/notifications",
    response_model=list[NotificationView],
    summary="The delivery log: each message to this guardian and every attempt",
    dependencies=FAMILY,
)
async def list_notifications(
    district_id: str, guardian_id: str, session: Session, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[NotificationView]:
    sent = await read_preferences.delivery_log(session, district_id, guardian_id, min(limit, 500))
    return [NotificationView.model_validate(message, from_attributes=True) for message in sent]


def _unknown_guardian(district_id: str, guardian_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail=f"no guardian {guardian_id!r} in district {district_id!r}; rosters add guardians",
    )
