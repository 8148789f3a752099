"""The delivery worker: sends due notifications, once.

Each notification row was committed by the consumer in the same transaction as the consumed offsets,
with an id derived from (news, guardian, channel); so re-sent events and redelivered batches add nothing.
Sending is then a state machine per row:

    pending --claim (commit)--> sending --provider accepted (commit)--> delivered
                                   |--known failure--> pending (backoff) | failed
                                   '--lease expired (the worker died mid-send)--> reconcile

The only window is a crash after the provider accepted a message and before `delivered` commits.
Reconciliation closes it by asking the provider (SMTP: the message search at MOSAIC_NOTIFY_SMTP_LOOKUP_URL,
by our derived Message-ID); webhooks are resent with the same Mosaic-Notification-Id, which receivers dedupe.
When nobody can tell, in_doubt_policy=hold marks the row in_doubt and never resends (at most once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import trace
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_events.tracing import trace_context
from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.adapters.channels import (
    Outgoing,
    PermanentFailure,
    Sender,
    TransientFailure,
    UncertainFailure,
)
from mosaic_notify.adapters.digests import DigestMailer, gather_due_digests
from mosaic_notify.adapters.email import EmailSender
from mosaic_notify.adapters.events import family_notified, notification_failed
from mosaic_notify.domain.digest import build_daily_digest
from mosaic_notify.domain.messages import Audience, MessageRenderer
from mosaic_notify.domain.news import News
from mosaic_notify.domain.preferences import Channel, quiet_until
from mosaic_notify.domain.retry import backoff_delay
from mosaic_notify.domain.signing import unsubscribe_token
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.publishing import to_outbox

log = logging.getLogger(__name__)
tracer = trace.get_tracer("mosaic.notify.delivery")
N = t.notifications
Clock = Callable[[], datetime]


class Skip(Exception):
    """Not sending after all: cancelled (opted out, off, not wanted) or deferred (quiet hours)."""

    def __init__(self, reason: str, defer_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.defer_until = defer_until


class DeliveryWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        senders: Mapping[str, Sender],
        renderer: MessageRenderer,
        clock: Clock,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.senders = senders
        self.renderer = renderer
        self.clock = clock
        self.after_commit = after_commit  # wakes the outbox relay
        self._wake = asyncio.Event()
        email = senders.get("email")
        self.digests = (
            DigestMailer(
                sessions,
                settings,
                renderer,
                email,
                clock,
                failed=self._failed,
                uncertain=self._settle_uncertain,
                after_commit=after_commit,
            )
            if isinstance(email, EmailSender)
            else None
        )

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.delivery_poll_seconds)
            self._wake.clear()

    async def run_once(self) -> int:
        """Gather due digests, settle rows of dead workers, send what is due; returns how many were tried."""
        now = self.clock()
        await gather_due_digests(self.sessions, now)
        await self.reconcile(now)
        while self.digests is not None and await self.digests.send_due(now):
            pass  # email digests in batches; what they leave goes one at a time below
        async with self.sessions() as session:
            due = (
                (
                    await session.execute(
                        select(N.c.notification_id)
                        .where(N.c.status == "pending", N.c.due_at <= now)
                        .order_by(N.c.due_at)
                        .limit(self.settings.delivery_batch)
                    )
                )
                .scalars()
                .all()
            )
        limit = asyncio.Semaphore(self.settings.delivery_concurrency)

        async def one(notification_id: str) -> None:
            async with limit:
                await self.deliver(notification_id)

        await asyncio.gather(*(one(i) for i in due))
        return len(due)

    async def deliver(self, notification_id: str) -> None:
        async with self.sessions() as session:
            carrier = await session.scalar(select(N.c.trace_context).where(N.c.notification_id == notification_id))
        # The send and its FamilyNotified join the trace of the evidence that caused the news (hop 5 of 5).
        with tracer.start_as_current_span(
            "notify deliver",
            context=trace_context(carrier or {}),
            kind=trace.SpanKind.PRODUCER,
            attributes={"mosaic.notification_id": notification_id},
        ):
            await self._deliver(notification_id)

    async def _deliver(self, notification_id: str) -> None:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._claim(session, notification_id, now)
            if row is None:
                return
            try:
                outgoing = await self._prepare(session, row, now)
            except Skip as skip:
                await self._skip(session, row, skip, now)
                return
            except Exception as exc:  # a message we cannot build (missing news, template error): retrying won't help
                log.exception("cannot build notification %s", notification_id)
                await session.execute(
                    update(N)
                    .where(N.c.notification_id == notification_id)
                    .values(status="failed", finished_at=now, lease_until=None, last_error=f"cannot build it: {exc!r}")
                )
                await store.log_attempt(session, row, "failed", f"cannot build it: {exc!r}", now)
                return
            await store.log_attempt(session, row, "sending", "", now)
        # 'sending' is committed before a byte leaves: a crash from here on is settled by reconcile().
        try:
            await self.senders[row.channel].send(outgoing)
        except PermanentFailure as exc:
            await self._failed(row, list(outgoing.news), str(exc), retry=False)
        except UncertainFailure as exc:
            await self._settle_uncertain(row, list(outgoing.news), outgoing.message.language, str(exc))
        except (TransientFailure, Exception) as exc:  # an unknown error may be transient: retry with backoff
            await self._failed(row, list(outgoing.news), str(exc) or repr(exc), retry=True)
        else:
            # Shielded: a graceful shutdown cancelling the worker must not cut between the 250 and this commit.
            await asyncio.shield(
                self._delivered(row, list(outgoing.news), outgoing.message.language, "accepted by the provider")
            )

    async def reconcile(self, now: datetime) -> None:
        """Rows left 'sending' by a worker that died: ask the provider, then deliver, resend or hold."""
        async with self.sessions() as session:
            stale = (await session.execute(select(N).where(N.c.status == "sending", N.c.lease_until < now))).all()
        for row in stale:
            known = await self.senders[row.channel].was_delivered(row.notification_id)
            if known is True:
                news = await self._news_of(row)
                async with self.sessions() as session:
                    guardian = await store.load_guardian(session, row.district_id, row.guardian_id)
                language = self.renderer.language_for(guardian.language if guardian else "en")
                await self._delivered(row, news, language, "reconciled: the provider has it")
            elif known is False or self.settings.in_doubt_policy == "resend":
                await self._release(
                    row,
                    now,
                    "reconciled: the provider never got it; sending again"
                    if known is False
                    else "in doubt; resending by policy",
                )
            else:
                await self._hold(row, now)

    async def _settle_uncertain(self, row: Any, news: list[News], language: str, reason: str) -> None:
        """A send that broke off after the provider may have taken it: ask before retrying, as after a crash."""
        known = await self.senders[row.channel].was_delivered(row.notification_id)
        if known is True:
            await self._delivered(row, news, language, f"the provider has it despite: {reason}")
        elif known is False or self.settings.in_doubt_policy == "resend":
            await self._failed(row, news, reason, retry=True)
        else:
            await self._hold(row, self.clock())

    # --- transitions ------------------------------------------------------------------------

    async def _claim(self, session: AsyncSession, notification_id: str, now: datetime) -> Any:
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        claimed = await session.execute(
            update(N)
            .where(
                N.c.notification_id == notification_id,
                N.c.status == "pending",
                N.c.due_at <= now,
            )
            .values(status="sending", attempts=N.c.attempts + 1, lease_until=lease)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another worker has it, or it changed
        return (await session.execute(select(N).where(N.c.notification_id == notification_id))).one()

    async def _skip(self, session: AsyncSession, row: Any, skip: Skip, now: datetime) -> None:
        values: dict[str, Any] = {"attempts": row.attempts - 1, "lease_until": None}
        if skip.defer_until is not None:
            values |= {"status": "pending", "due_at": skip.defer_until}
        else:
            values |= {"status": "cancelled", "finished_at": now, "last_error": str(skip)}
        await session.execute(update(N).where(N.c.notification_id == row.notification_id).values(**values))
        await store.log_attempt(session, row, "deferred" if skip.defer_until else "cancelled", str(skip), now)

    async def _delivered(self, row: Any, news: list[News], language: str, detail: str) -> None:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            done = await session.execute(
                update(N)
                .where(
                    N.c.notification_id == row.notification_id,
                    N.c.status == "sending",
                )
                .values(status="delivered", finished_at=now, lease_until=None, last_error=None)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return
            await store.log_attempt(session, row, "delivered", detail, now)
            await to_outbox(session, family_notified(row, news, language, now))
        self.after_commit()

    async def _failed(self, row: Any, news: list[News], reason: str, *, retry: bool) -> None:
        now = self.clock()
        retry = retry and row.attempts < self.settings.max_attempts
        delay = backoff_delay(
            row.attempts, self.settings.retry_base_seconds, self.settings.retry_max_seconds, row.notification_id
        )
        values = {"status": "pending", "due_at": now + delay} if retry else {"status": "failed", "finished_at": now}
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(N)
                .where(N.c.notification_id == row.notification_id, N.c.status == "sending")
                .values(lease_until=None, last_error=reason[:2000], **values)
            )
            await store.log_attempt(session, row, "retry" if retry else "failed", reason, now)
            await to_outbox(session, notification_failed(row, news, reason, retry, now))
        self.after_commit()
        log.warning(
            "notification %s attempt %s failed (%s): %s",
            row.notification_id,
            row.attempts,
            "will retry" if retry else "final",
            reason,
        )

    async def _release(self, row: Any, now: datetime, detail: str) -> None:
        async with self.sessions() as session, session.begin():
            released = await session.execute(
                update(N)
                .where(
                    N.c.notification_id == row.notification_id,
                    N.c.status == "sending",
                )
                .values(status="pending", due_at=now, lease_until=None)
            )
            if released.rowcount != 1:  # type: ignore[attr-defined]
                return  # another replica reconciled it first
            await store.log_attempt(session, row, "reconciled", detail, now)

    async def _hold(self, row: Any, now: datetime) -> None:
        reason = (
            "the worker stopped mid-send and the provider cannot say whether the message went; "
            "not resent, to never send it twice (in_doubt_policy=hold)"
        )
        news = await self._news_of(row)
        async with self.sessions() as session, session.begin():
            held = await session.execute(
                update(N)
                .where(
                    N.c.notification_id == row.notification_id,
                    N.c.status == "sending",
                )
                .values(status="in_doubt", finished_at=now, lease_until=None, last_error=reason)
            )
            if held.rowcount != 1:  # type: ignore[attr-defined]
                return  # another replica reconciled it first: one NotificationFailed, not two
            await store.log_attempt(session, row, "in_doubt", reason, now)
            await to_outbox(session, notification_failed(row, news, reason, False, now))
        self.after_commit()

    # --- what to send -----------------------------------------------------------------------

    async def _prepare(self, session: AsyncSession, row: Any, now: datetime) -> Outgoing:
        """Re-check the guardian's wishes at send time, then render the message in their language."""
        guardian = await store.load_guardian(session, row.district_id, row.guardian_id)
        if guardian is None:
            raise Skip("the guardian is no longer on the roster")
        prefs = await store.load_preferences(session, guardian, self.settings)
        channel = Channel(row.channel)
        if channel not in prefs.active_channels():
            raise Skip(f"the guardian turned the {channel} channel off or unsubscribed")
        if not row.urgent and (quiet_end := quiet_until(prefs, now)) is not None:
            raise Skip("quiet hours", defer_until=quiet_end)
        news = await store.load_news(session, row.news_ids)
        rules = await store.load_rules(session, row.district_id)
        names = await store.student_names(session, row.district_id, {n.student_id for n in news})
        token = unsubscribe_token(self.settings.unsubscribe_secret, row.district_id, row.guardian_id, row.channel)
        audience = Audience(
            guardian.given_name or "",
            names,
            prefs.language,
            prefs.timezone,
            f"{self.settings.unsubscribe_base_url.rstrip('/')}/v1/unsubscribe/{token}",
        )
        if row.digest:
            digest = build_daily_digest(
                guardian, news, now.astimezone(prefs.zone).date(), prefs.kinds | (rules.urgent_kinds)
            )
            if digest is None:
                raise Skip("nothing in the digest the guardian still wants")
            message = self.renderer.render_digest(digest, audience)
        else:
            if news[0].kind not in prefs.kinds and not row.urgent:
                raise Skip(f"the guardian no longer wants news of kind {news[0].kind}")
            message = self.renderer.render_news(news[0], audience)
        return Outgoing(
            row.notification_id,
            guardian,
            row.channel,
            message,
            tuple(news),
            row.digest,
            audience.unsubscribe_url,
            rules,
        )

    async def _news_of(self, row: Any) -> list[News]:
        async with self.sessions() as session:
            return await store.load_news(session, row.news_ids)
