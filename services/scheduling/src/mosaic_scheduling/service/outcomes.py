"""What scheduling's use cases answer besides their results: the refusals, named for what went wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_runtime.publishing import to_outbox

Emit = Callable[[Envelope], Awaitable[None]]


class NotFound(LookupError):
    """The thing asked for does not exist in this district."""


class NotADraft(ValueError):
    """Only a draft can be published or discarded."""


class RebuiltConcurrently(RuntimeError):
    """Another rebuild of the same block committed first; nothing was changed."""


class NotAMeetingDay(ValueError):
    """The block does not meet on that date."""


def emit_to_outbox(session: AsyncSession, sent: list[Envelope]) -> Emit:
    """OUTBOX mode in the caller's transaction, remembering what was emitted (the answer counts it)."""

    async def emit(envelope: Envelope) -> None:
        await to_outbox(session, [envelope])
        sent.append(envelope)

    return emit
