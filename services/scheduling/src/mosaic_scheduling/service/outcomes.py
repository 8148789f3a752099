"""What scheduling's use cases answer besides their results: the refusals, named for what went wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_runtime.publishing import to_outbox
from mosaic_scheduling.domain.model import FlexBlock, School

Emit = Callable[[Envelope], Awaitable[None]]


class NotFound(LookupError):
    """The thing asked for does not exist in this district."""


class Invalid(ValueError):
    """The request names something that cannot be: a session not in the block, a day the block does not meet."""


class Conflict(RuntimeError):
    """The request contradicts the current state: a support plan, a higher placement, a published version."""


class NotADraft(Conflict):
    """Only a draft can be published or discarded."""


class RebuiltConcurrently(Conflict):
    """Another rebuild of the same block committed first; nothing was changed."""


class NotAMeetingDay(Invalid):
    """The block does not meet on that date."""


def block_of(school: School, block_id: str) -> FlexBlock:
    """The school's block, or NotFound."""
    block = school.block(block_id)
    if block is None:
        raise NotFound(f"no block {block_id!r} in school {school.id!r}")
    return block


def emit_to_outbox(session: AsyncSession, sent: list[Envelope]) -> Emit:
    """OUTBOX mode in the caller's transaction, remembering what was emitted (the answer counts it)."""

    async def emit(envelope: Envelope) -> None:
        await to_outbox(session, [envelope])
        sent.append(envelope)

    return emit
