"""Preferences and district rules, for the portals that manage them for families."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel
from sqlalchemy import select

from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.adapters.codec import PreferencesDocument, RulesDocument
from mosaic_notify.api.deps import now_of, settings_of
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Session

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["preferences"])
FAMILY = [Depends(allow(Rule.GUARDIAN_DATA))]


@router.get("/guardians/{guardian_id}/preferences", response_model=PreferencesDocument,
            summary="A guardian's notification preferences (defaults until someone sets them)", dependencies=FAMILY)
async def get_preferences(district_id: str, guardian_id: str, session: Session,
                          request: Request) -> PreferencesDocument:
    guardian = await _known_guardian(session, district_id, guardian_id)
    prefs = await store.load_preferences(session, guardian, settings_of(request))
    return PreferencesDocument.from_domain(prefs)


@router.put("/guardians/{guardian_id}/preferences", response_model=PreferencesDocument,
            summary="Replace a guardian's preferences; applies to messages not yet sent", dependencies=FAMILY)
async def put_preferences(district_id: str, guardian_id: str, body: PreferencesDocument,
                          session: Session, request: Request) -> PreferencesDocument:
    await _known_guardian(session, district_id, guardian_id)
    await store.save_preferences(session, district_id, guardian_id, body.to_domain(), now_of(request))
    await session.commit()
    return body


@router.get("/rules", response_model=RulesDocument, summary="The district's rules: instant, digest-only, urgent",
            dependencies=[Depends(allow(Rule.DISTRICT_INFO))])
async def get_rules(district_id: str, session: Session) -> RulesDocument:
    return RulesDocument.from_domain(await store.load_rules(session, district_id))


@router.put("/rules", response_model=RulesDocument, summary="Replace the district's rules (administrators)",
            dependencies=[Depends(allow(Rule.DISTRICT_SETUP))])
async def put_rules(district_id: str, body: RulesDocument, session: Session, request: Request) -> RulesDocument:
    await store.save_rules(session, district_id, body.to_domain(), now_of(request))
    await session.commit()
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


@router.get("/guardians/{guardian_id}/notifications", response_model=list[NotificationView],
            summary="The delivery log: each message to this guardian and every attempt", dependencies=FAMILY)
async def list_notifications(district_id: str, guardian_id: str,
                             session: Session,
                             limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[NotificationView]:
    n, log = t.notifications, t.delivery_log
    rows = (await session.execute(select(n).where(n.c.district_id == district_id, n.c.guardian_id == guardian_id)
                                  .order_by(n.c.created_at.desc()).limit(min(limit, 500)))).all()
    entries = (await session.execute(select(log).where(log.c.notification_id.in_([r.notification_id for r in rows]))
                                     .order_by(log.c.id))).all()
    return [NotificationView(
        notification_id=r.notification_id, channel=r.channel, news_kind=r.news_kind, digest=r.digest,
        status=r.status, due_at=r.due_at.isoformat(), attempts=r.attempts,
        log=[DeliveryLogEntry(attempt=e.attempt, at=e.at.isoformat(), outcome=e.outcome, detail=e.detail)
             for e in entries if e.notification_id == r.notification_id]) for r in rows]


async def _known_guardian(session: Session, district_id: str, guardian_id: str):  # type: ignore[no-untyped-def]
    guardian = await store.load_guardian(session, district_id, guardian_id)
    if guardian is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"no guardian {guardian_id!r} in district {district_id!r}; rosters add guardians")
    return guardian
