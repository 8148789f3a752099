"""Shared route dependencies: the settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Request

from mosaic_notify.settings import NotifySettings


def settings_of(request: Request) -> NotifySettings:
    return request.app.state.settings


def now_of(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()
