"""Shared route dependencies: the settings, the clock, and who may act for which guardian."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import HTTPException, Request, status

from mosaic_notify.settings import NotifySettings
from mosaic_runtime.auth import Principal

FAMILY_ROLES = frozenset({"guardian", "parent", "relative"})


def settings_of(request: Request) -> NotifySettings:
    return request.app.state.settings


def now_of(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def check_may_act_for(principal: Principal, guardian_id: str) -> None:
    """Portals and staff manage any family in their district; a guardian manages only their own preferences."""
    if principal.has_any(*FAMILY_ROLES) and not principal.is_admin and principal.user_id != guardian_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"a guardian may only manage their own preferences, not {guardian_id!r}")
