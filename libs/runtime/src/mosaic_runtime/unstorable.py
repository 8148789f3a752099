"""A value the database cannot hold is the caller's mistake, answered 422, not a 500: PostgreSQL refuses a NUL
character in text, a string longer than its column, a number or date out of range (SQLite takes them all)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

# SQLSTATE data exceptions that only a value sent to us can cause.
UNSTORABLE = {
    "22001": "a text is longer than its field allows (ids are at most 64 characters)",
    "22003": "a number is out of range",
    "22008": "a date or time is out of range",
    "22021": "a text contains a NUL character (\\u0000)",
    "22P05": "a text contains a NUL character (\\u0000)",
}


async def unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    """422 naming what could not be stored; any other database error stays a 500."""
    assert isinstance(exc, DBAPIError)
    reason = UNSTORABLE.get(str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", "")))
    if reason is None:
        raise exc
    return JSONResponse({"detail": f"nothing was stored: {reason}; correct the value and send it again"}, 422)
