"""Every evidence write: decide, write and publish in one transaction, committed only after the broker's ack.

Writes that arrive together share that transaction and that ack (group commit, ADR 0021): each decides in a
savepoint of its own, so a refusal or a conflict undoes only its own rows (a decision that only reads, as recording
evidence does, needs none: the group then writes its view rows and Idempotency-Keys in bulk statements); the events
of all the others go to the broker in one send, and the transaction commits once every one of them is
acknowledged. If the broker does not acknowledge, the transaction rolls back and BrokerUnavailable reaches every
caller in it. An Idempotency-Key stores the first result in that same transaction: the same key and body get it
again, another body is an IdempotencyConflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from opentelemetry import context as otel_context
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_evidence.adapters import evidence_store
from mosaic_evidence.adapters.evidence_store import Remembered
from mosaic_evidence.service.events import for_the_log
from mosaic_evidence.service.results import Decision, Done, IdempotencyConflict, Refused, Result
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.db import begin_writing
from mosaic_runtime.publishing import publisher_of

Decide = Callable[[AsyncSession], Awaitable[Decision]]
MAX_GROUP = 200  # writes per transaction: enough to share one ack, few enough that one group stays short
REMEMBERED_COMMITS = 50_000  # a few minutes of events at full speed: far longer than our consumer lags


def request_hash(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


async def run_write(
    ctx: ServiceContext,
    district_id: str,
    decide: Decide,
    *,
    key: str | None = None,
    payload_hash: str = "",
    reads_only: bool = False,
) -> Result:
    """Get (a remembered answer), decide, write, publish acknowledged, commit — together with the writes beside it.
    `reads_only`: `decide` writes nothing itself (what it decides to write is its Decision's `view_rows`)."""
    groups: WriteGroups | None = ctx.state.get("write_groups")
    if groups is None:
        groups = ctx.state["write_groups"] = WriteGroups(ctx)
    return await groups.run(_Write(district_id, decide, key, payload_hash, otel_context.get_current(), reads_only))


@dataclass
class _Write:
    district_id: str
    decide: Decide
    key: str | None
    payload_hash: str
    trace: otel_context.Context
    reads_only: bool = False
    answer: asyncio.Future[Result] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    decision: Decision | None = None  # decided and written in the group's transaction: answered after the commit
    unwritten: bool = False  # decided, reading only: its rows and key are written with the group's, in bulk
    follows: _Write | None = None  # answered with an earlier write of its group under the same key

    def answer_after_commit(self) -> None:
        if self.follows is not None and self.follows.decision is None:
            self.give(IdempotencyConflict(f"a request with Idempotency-Key {self.key!r} is in progress; retry"))
        elif self.decision is not None:
            self.give(self.decision.result)

    def give(self, result: Result | BaseException) -> None:
        if self.answer.done():
            return  # the caller went away; its write stands, and a retry with its key gets the answer
        if isinstance(result, BaseException):
            self.answer.set_exception(result)
        else:
            self.answer.set_result(result)


class WriteGroups:
    """One writer per process: the writes waiting when it is free form its next group (no timer: a lone write
    goes at once, and the busier the process the larger the groups)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.waiting: list[_Write] = []
        self.writer: asyncio.Task[None] | None = None
        self.sent: list[UUID] = []  # the events of the group being written
        self.committed: OrderedDict[UUID, None] = OrderedDict()  # events this process committed lately

    def committed_here(self, event_id: UUID) -> bool:
        """This process committed the event with its request: our own consumer finds nothing to do for it."""
        return event_id in self.committed

    async def run(self, write: _Write) -> Result:
        self.waiting.append(write)
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write_all(), name="evidence-write-groups")
        return await write.answer

    async def _write_all(self) -> None:
        while self.waiting:
            group, self.waiting = self.waiting[:MAX_GROUP], self.waiting[MAX_GROUP:]
            group = [w for w in group if not w.answer.done()]
            try:
                self.sent = []
                await self._commit(group)
            except BaseException as exc:  # the transaction rolled back: no write of the group stands
                for write in group:
                    write.give(exc if isinstance(exc, Exception) else RuntimeError("the server is stopping"))
                if not isinstance(exc, Exception):
                    for write in self.waiting:
                        write.give(RuntimeError("the server is stopping"))
                    raise
            else:
                self.committed.update(dict.fromkeys(self.sent))
                while len(self.committed) > REMEMBERED_COMMITS:
                    self.committed.popitem(last=False)
                for write in group:
                    write.answer_after_commit()

    async def _commit(self, group: list[_Write]) -> None:
        async with self.ctx.sessions() as session, session.begin():
            await begin_writing(session)
            remembered = await evidence_store.remembered_responses(
                session, [(w.district_id, w.key) for w in group if w.key]
            )
            keys: dict[tuple[str, str], Remembered | _Write] = dict(remembered)
            for write in group:
                await _decide(session, write, keys)
            await _write_in_bulk(session, [w for w in group if w.unwritten])
            traces: dict[UUID, otel_context.Context] = {}
            envelopes: list[Envelope] = []
            for write in group:
                for envelope in for_the_log(write.decision.envelopes if write.decision else []):
                    traces[envelope.id] = write.trace
                    envelopes.append(envelope)
            self.sent = [e.id for e in envelopes]
            await publisher_of(self.ctx).acknowledged(envelopes, trace_ctx_of=lambda e: traces.get(e.id))


async def _decide(session: AsyncSession, write: _Write, keys: dict[tuple[str, str], Remembered | _Write]) -> None:
    """One write in its own savepoint (none if it only reads): a refusal or an error undoes its rows only and is
    answered at once. `keys` holds the group's remembered answers and its writes so far, by key."""
    decision: Decision | None = None
    try:
        async with session.begin_nested() if not write.reads_only else contextlib.nullcontext():
            if write.key:
                prior = keys.get((write.district_id, write.key))
                if prior is not None:
                    if isinstance(prior, _Write):
                        write.follows, prior = prior, _remembered(prior)
                    if prior.request_hash != write.payload_hash:
                        raise IdempotencyConflict(
                            f"Idempotency-Key {write.key!r} was already used with a different request body"
                        )
                    write.decision = Decision(Done(prior.body, prior.created))  # answered after the commit
                    return
            decision = await write.decide(session)
            if isinstance(decision.result, Refused):
                raise _Refused(decision.result)  # roll back anything the decision wrote
            if write.reads_only:
                write.decision, write.unwritten = decision, True
            else:
                write.decision = await _write_rows(session, write, decision)
        if write.key:
            keys[(write.district_id, write.key)] = write
    except _Refused as refusal:
        write.give(refusal.result)
    except IntegrityError as exc:
        await _failed(session, write, decision, exc)
        if write.decision is not None and write.key:
            keys[(write.district_id, write.key)] = write
    except Exception as exc:
        write.decision = None
        write.give(exc)


async def _write_rows(session: AsyncSession, write: _Write, decision: Decision) -> Decision:
    """A write's view rows and key; the decision to answer, sending only events whose rows were not there yet."""
    if write.key:
        await _remember(session, write.district_id, write.key, write.payload_hash, decision.result)
    if decision.view_rows:
        fresh = {e.id for e in await evidence_store.apply_recorded(session, decision.view_rows)}
        decision = Decision(decision.result, [e for e in decision.envelopes if e.id in fresh])
    await session.flush()
    return decision


async def _write_in_bulk(session: AsyncSession, writes: list[_Write]) -> None:
    """The reading-only writes' rows and keys in a few statements; on a conflict, one savepoint per write."""
    if not writes:
        return
    decided = [(w, w.decision) for w in writes if w.decision is not None]
    try:
        async with session.begin_nested():
            fresh: set[UUID] = set()
            for district_id in sorted({w.district_id for w, _ in decided}):
                rows = [e for w, d in decided if w.district_id == district_id for e in d.view_rows]
                fresh |= {e.id for e in await evidence_store.apply_recorded(session, rows)}
            await evidence_store.remember_responses(
                session,
                [
                    (w.district_id, w.key, w.payload_hash, d.result.body, d.result.created)
                    for w, d in decided
                    if w.key and isinstance(d.result, Done)
                ],
            )
    except IntegrityError:
        for write, decision in decided:
            try:
                async with session.begin_nested():
                    write.decision = await _write_rows(session, write, decision)
            except IntegrityError as exc:
                await _failed(session, write, decision, exc)
        return
    for write, decision in decided:
        write.decision = Decision(decision.result, [e for e in decision.envelopes if e.id in fresh])


async def _failed(session: AsyncSession, write: _Write, decision: Decision | None, exc: IntegrityError) -> None:
    """A write whose rows conflict with what is stored: it succeeded already if its events are on the log."""
    write.decision = None
    if write.key and decision is not None and await _already_on_the_log(session, write, decision):
        write.decision = Decision(decision.result)  # its events are on the log already: nothing to send
    elif write.key:
        write.give(IdempotencyConflict(f"a request with Idempotency-Key {write.key!r} is in progress; retry"))
    else:
        write.give(exc)


async def _already_on_the_log(session: AsyncSession, write: _Write, decision: Decision) -> bool:
    """A send we stopped waiting for landed after all, and our own consumer projected it before this retry
    wrote: the retry's events are the ones on the log (same ids), so the request has succeeded."""
    assert write.key is not None
    ids = [str(e.id) for e in decision.envelopes]
    found = await evidence_store.projected_event_ids(session, ids)
    if not ids or set(ids) != found:
        return False
    try:
        async with session.begin_nested():
            await _remember(session, write.district_id, write.key, write.payload_hash, decision.result)
    except IntegrityError:
        return False
    return True


async def _remember(session: AsyncSession, district_id: str, key: str, payload_hash: str, result: Result) -> None:
    assert isinstance(result, Done)  # refusals roll back and are not remembered
    await evidence_store.remember_response(session, district_id, key, payload_hash, result.body, created=result.created)


def _remembered(write: _Write) -> Remembered:
    """The answer an earlier write of the group gives, as a later one under its key sees it."""
    assert write.decision is not None and isinstance(write.decision.result, Done)
    return Remembered(write.payload_hash, write.decision.result.body, write.decision.result.created)


class _Refused(Exception):
    def __init__(self, result: Refused) -> None:
        self.result = result
