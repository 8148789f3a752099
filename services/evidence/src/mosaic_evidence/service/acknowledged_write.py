"""Every evidence write: decide, write and publish in one transaction, committed only after the broker's ack.

If the broker does not acknowledge, the transaction rolls back and BrokerUnavailable reaches the
caller. An Idempotency-Key stores the first result in that same transaction: the same key and body
get it again, another body is an IdempotencyConflict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import evidence_store
from mosaic_evidence.service.results import Decision, Done, IdempotencyConflict, Refused, Result
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.publishing import publisher_of

Decide = Callable[[AsyncSession], Awaitable[Decision]]


def request_hash(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


async def run_write(
    ctx: ServiceContext, district_id: str, decide: Decide, *, key: str | None = None, payload_hash: str = ""
) -> Result:
    """Get (a remembered answer), decide, write, publish acknowledged, commit."""
    decision: Decision | None = None
    try:
        async with ctx.sessions() as session, session.begin():
            if key:
                prior = await evidence_store.remembered_response(session, district_id, key)
                if prior is not None:
                    if prior.request_hash != payload_hash:
                        raise IdempotencyConflict(
                            f"Idempotency-Key {key!r} was already used with a different request body"
                        )
                    return Done(prior.body, prior.created)
            decision = await decide(session)
            if isinstance(decision.result, Refused):
                raise _Refused(decision.result)  # roll back anything the decision wrote
            if key:
                await _remember(session, district_id, key, payload_hash, decision.result)
            await session.flush()
            await publisher_of(ctx).acknowledged(decision.envelopes)
    except _Refused as refusal:
        return refusal.result
    except IntegrityError:
        if key and decision is not None and await _already_on_the_log(ctx, district_id, key, payload_hash, decision):
            return decision.result
        if key:
            raise IdempotencyConflict(f"a request with Idempotency-Key {key!r} is in progress; retry") from None
        raise
    return decision.result


async def _already_on_the_log(
    ctx: ServiceContext, district_id: str, key: str, payload_hash: str, decision: Decision
) -> bool:
    """A send we stopped waiting for landed after all, and our own consumer projected it before this retry
    wrote: the retry's events are the ones on the log (same ids), so the request has succeeded."""
    ids = [str(e.id) for e in decision.envelopes]
    async with ctx.sessions() as session, session.begin():
        found = await evidence_store.projected_event_ids(session, ids)
        if not ids or set(ids) != found:
            return False
        await _remember(session, district_id, key, payload_hash, decision.result)
    return True


async def _remember(session: AsyncSession, district_id: str, key: str, payload_hash: str, result: Result) -> None:
    assert isinstance(result, Done)  # refusals roll back and are not remembered
    await evidence_store.remember_response(session, district_id, key, payload_hash, result.body, created=result.created)


class _Refused(Exception):
    def __init__(self, result: Refused) -> None:
        self.result = result
