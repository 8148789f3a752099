"""Webhooks providers call: an SMS provider reports STOP / START replies (signed like our own webhooks)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field, ValidationError

from mosaic_notify.api.deps import now_of, settings_of
from mosaic_notify.domain.signing import SIGNATURE_HEADER, verify_signature
from mosaic_notify.service import change_preferences
from mosaic_runtime.access import public
from mosaic_runtime.app import Session
from mosaic_runtime.responses import errors

router = APIRouter(prefix="/v1/providers", tags=["providers"])

STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "alto", "parar", "baja"})
START_WORDS = frozenset({"start", "unstop", "yes", "alta"})


class InboundSms(BaseModel):
    from_number: str = Field(alias="from", min_length=3, description="the number that replied, E.164")
    text: str = Field(description="what they replied, e.g. STOP")


class SmsReplyHandled(BaseModel):
    action: Literal["none", "opt_out", "opt_in"]
    guardians: int = Field(description="guardians with this number whose SMS preference changed")


@router.post(
    "/sms/inbound",
    response_model=SmsReplyHandled,
    responses=errors(401, 413, 415, 422),
    summary="An SMS reply: STOP opts the number out of SMS, START opts it back in",
    dependencies=[Depends(public("the provider signs the request with the inbound secret"))],
)
async def inbound_sms(request: Request, session: Session) -> dict[str, object]:
    body = await request.body()
    if not verify_signature(settings_of(request).inbound_secret, request.headers.get(SIGNATURE_HEADER, ""), body):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"missing or wrong {SIGNATURE_HEADER} header (t=<unix>,v1=<HMAC-SHA256>)",
        )
    try:
        reply = InboundSms.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=exc.errors(include_url=False)) from None
    word = reply.text.strip().split()[0].lower() if reply.text.strip() else ""
    if word not in STOP_WORDS | START_WORDS:
        return {"action": "none", "guardians": 0}
    opt_out = word in STOP_WORDS
    changed = await change_preferences.answer_sms_reply(
        session, reply.from_number, opt_out, now_of(request), settings_of(request)
    )
    return {"action": "opt_out" if opt_out else "opt_in", "guardians": changed}
