"""One-click unsubscribe: the signed link in every email; no login. POST unsubscribes (RFC 8058)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from mosaic_notify.api.deps import now_of, settings_of
from mosaic_notify.domain.preferences import Channel
from mosaic_notify.domain.signing import read_unsubscribe_token
from mosaic_notify.service import change_preferences, read_preferences
from mosaic_runtime.access import public
from mosaic_runtime.app import Session
from mosaic_runtime.responses import errors

router = APIRouter(
    prefix="/v1/unsubscribe",
    tags=["unsubscribe"],
    dependencies=[Depends(public("the link carries a token signed with the unsubscribe secret"))],
)

PAGES = {
    "en": (
        "Unsubscribe",
        "Stop these messages from Mosaic?",
        "Unsubscribe",
        "Done: you will not receive these messages any more. Your school can turn them back on.",
    ),
    "es": (
        "Cancelar suscripción",
        "¿Dejar de recibir estos mensajes de Mosaic?",
        "Cancelar suscripción",
        "Listo: ya no recibirá estos mensajes. Su escuela puede volver a activarlos.",
    ),
}


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    responses=errors(404),
    summary="The page the email's link opens: one button",
)
async def confirm_page(token: str, request: Request, session: Session) -> HTMLResponse:
    # A GET changes nothing: mail scanners open links; the button (or a mail client's one-click POST) does it.
    district_id, guardian_id, _channel = _read(token, request)
    title, question, button, _ = PAGES[await _language(session, district_id, guardian_id)]
    return HTMLResponse(
        f"<!doctype html><title>{title}</title><p>{question}</p>"
        f'<form method="post"><button type="submit">{button}</button></form>'
    )


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    responses=errors(404),
    summary="Unsubscribe (RFC 8058 one-click, or the button)",
)
async def unsubscribe(token: str, request: Request, session: Session) -> HTMLResponse:
    district_id, guardian_id, channel = _read(token, request)
    guardian = await change_preferences.unsubscribe(
        session, district_id, guardian_id, Channel(channel), now_of(request), settings_of(request)
    )
    if guardian is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="this guardian is no longer on the school's roster")
    title, _, _, done = PAGES[guardian.language if guardian.language in PAGES else "en"]
    return HTMLResponse(f"<!doctype html><title>{title}</title><p>{escape(done)}</p>")


def _read(token: str, request: Request) -> tuple[str, str, str]:
    parsed = read_unsubscribe_token(settings_of(request).unsubscribe_secret, token)
    if parsed is None or parsed[2] not in set(Channel):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail="this unsubscribe link is not valid; use the link from a recent message"
        )
    return parsed


async def _language(session: Session, district_id: str, guardian_id: str) -> str:
    language = await read_preferences.guardian_language(session, district_id, guardian_id)
    return language if language in PAGES else "en"
