"""Digests in bulk: gathering due items into one notification per guardian and channel, and mailing due email
digests a batch at a time.

The once-only mechanism is the delivery worker's (service/delivery.py), applied to a batch: rows are claimed
'sending' and committed before a byte leaves; the provider's 250 is recorded as 'delivered' with FamilyNotified
in one transaction per batch; a crash in between leaves rows 'sending', which the worker reconciles by asking
the provider for the derived Message-ID (or holds, never resending, when nobody can tell).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.adapters.channels import Outgoing, PermanentFailure, UncertainFailure
from mosaic_notify.adapters.codec import PreferencesDocument, news_from_json
from mosaic_notify.adapters.email import EmailContent, EmailSender
from mosaic_notify.adapters.events import family_notified
from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.digest import build_daily_digest
from mosaic_notify.domain.ids import digest_notification_id
from mosaic_notify.domain.messages import Audience, MessageRenderer
from mosaic_notify.domain.news import News
from mosaic_notify.domain.preferences import Channel, Preferences, default_preferences, parse_quiet_hours, quiet_until
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.domain.signing import unsubscribe_token
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.metrics import DELIVERIES
from mosaic_runtime.outbox import emit_many

D, N = t.digest_items, t.notifications
Failed = Callable[..., Awaitable[None]]
GATHER_LOCK = 3  # the advisory lock's first key; mastery uses 1 and 2 in its own database


async def gather_due_digests(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Items due and not yet in a digest become one notification per (guardian, channel), in one transaction.

    The digest's id is derived from the items it gathers, so a crash before the commit gathers the same again.
    """
    async with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Replicas gather one at a time: two reading different sets of due items would derive two digest
            # ids over overlapping items, and a guardian would read the same news twice.
            await session.execute(text("SELECT pg_advisory_xact_lock(:kind, 0)"), {"kind": GATHER_LOCK})
        rows = (
            await session.execute(
                select(D.c.district_id, D.c.guardian_id, D.c.channel, D.c.news_id).where(
                    D.c.digest_notification_id.is_(None), D.c.due_at <= now
                )
            )
        ).all()
        groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for row in rows:
            groups[(row.district_id, row.guardian_id, row.channel)].append(row.news_id)
        if not groups:
            return 0
        named = {key: digest_notification_id(key[1], key[2], ids) for key, ids in groups.items()}
        await _insert_ignore_many(
            session,
            N,
            [
                {
                    "notification_id": named[key],
                    "district_id": key[0],
                    "guardian_id": key[1],
                    "channel": key[2],
                    "news_kind": "digest",
                    "news_ids": sorted(ids),
                    "digest": True,
                    "urgent": False,
                    "status": "pending",
                    "due_at": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for key, ids in groups.items()
            ],
        )
        await session.execute(
            update(D)
            .where(
                D.c.district_id == bindparam("d"),
                D.c.guardian_id == bindparam("g"),
                D.c.channel == bindparam("c"),
                D.c.news_id == bindparam("n"),
                D.c.digest_notification_id.is_(None),
            )
            .values(digest_notification_id=bindparam("id")),
            [
                {"d": key[0], "g": key[1], "c": key[2], "n": news_id, "id": named[key]}
                for key, ids in groups.items()
                for news_id in ids
            ],
        )
    return len(groups)


@dataclass(frozen=True)
class Ready:
    row: Any
    outgoing: Outgoing
    content: EmailContent


class DigestMailer:
    """Mails due email digests a batch at a time over the sender's reused connections.

    A digest it cannot send as it stands (guardian gone, channel off, quiet hours, nothing left to tell, a
    template error) stays pending for the worker's one-at-a-time path, which cancels, defers or fails it.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        renderer: MessageRenderer,
        sender: EmailSender,
        clock: Callable[[], datetime],
        *,
        failed: Failed,
        uncertain: Failed,
        after_commit: Callable[[], None] = lambda: None,
        batch: int = 500,
    ) -> None:
        self.sessions, self.settings, self.renderer, self.sender = sessions, settings, renderer, sender
        self.clock = clock
        self.failed, self.uncertain, self.after_commit, self.batch = failed, uncertain, after_commit, batch

    async def send_due(self, now: datetime) -> int:
        """Claim, render and send one batch; returns how many were claimed (0: nothing more to do here)."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(N)
                    .where(
                        N.c.status == "pending",
                        N.c.digest.is_(True),
                        N.c.channel == Channel.EMAIL.value,
                        N.c.due_at <= now,
                    )
                    .order_by(N.c.due_at)
                    .limit(self.batch)
                )
            ).all()
            if rows:
                await self.sender.ready()
            ready = await self._prepare(session, rows, now) if rows else []
        claimed = await self._claim(ready, now)
        if claimed:
            await self._send(claimed)
        return len(claimed)

    async def _prepare(self, session: AsyncSession, rows: Sequence[Any], now: datetime) -> list[Ready]:
        by_district: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_district[row.district_id].append(row)
        news = await _news(session, {i for row in rows for i in row.news_ids})
        ready = []
        for district_id, mine in by_district.items():
            guardians = await _guardians(session, district_id, [r.guardian_id for r in mine])
            prefs = await _preferences(session, district_id, guardians, self.settings)
            rules = await store.load_rules(session, district_id)
            names = await store.student_names(
                session, district_id, {s for g in guardians.values() for s in g.student_ids}
            )
            for row in mine:
                guardian = guardians.get(row.guardian_id)
                if guardian is not None and guardian.email:
                    item = self._ready(
                        row,
                        guardian,
                        prefs[row.guardian_id],
                        rules,
                        names,
                        [news[i] for i in row.news_ids if i in news],
                        now,
                    )
                    if item is not None:
                        ready.append(item)
        return ready

    def _ready(
        self,
        row: Any,
        guardian: Guardian,
        prefs: Preferences,
        rules: DistrictRules,
        names: dict[str, str],
        news: list[News],
        now: datetime,
    ) -> Ready | None:
        if Channel.EMAIL not in prefs.active_channels() or quiet_until(prefs, now) is not None:
            return None
        digest = build_daily_digest(guardian, news, now.astimezone(prefs.zone).date(), prefs.kinds | rules.urgent_kinds)
        if digest is None:
            return None
        token = unsubscribe_token(self.settings.unsubscribe_secret, row.district_id, row.guardian_id, row.channel)
        url = f"{self.settings.unsubscribe_base_url.rstrip('/')}/v1/unsubscribe/{token}"
        audience = Audience(
            guardian.given_name,
            {s: names[s] for s in guardian.student_ids if s in names},
            prefs.language,
            prefs.timezone,
            url,
        )
        try:
            message = self.renderer.render_digest(digest, audience)
        except Exception:  # the one-at-a-time path records why it cannot be built
            return None
        outgoing = Outgoing(row.notification_id, guardian, row.channel, message, tuple(news), True, url, rules)
        return Ready(row, outgoing, self.sender.content(outgoing))

    async def _claim(self, ready: list[Ready], now: datetime) -> list[Ready]:
        """'sending' is committed before a byte leaves; rows another worker took meanwhile drop out."""
        if not ready:
            return []
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        async with self.sessions() as session, session.begin():
            claimed = (
                await session.execute(
                    update(N)
                    .where(
                        N.c.notification_id.in_([r.row.notification_id for r in ready]),
                        N.c.status == "pending",
                        N.c.due_at <= now,
                    )
                    .values(status="sending", attempts=N.c.attempts + 1, lease_until=lease)
                    .returning(*N.c)
                )
            ).all()
            rows = {row.notification_id: row for row in claimed}
            await _log(session, claimed, "sending", "", now)
        return [
            Ready(rows[r.row.notification_id], r.outgoing, r.content) for r in ready if r.row.notification_id in rows
        ]

    async def _send(self, claimed: list[Ready]) -> None:
        outcomes = await asyncio.gather(*(self._send_one(item) for item in claimed))
        accepted = [item for item, outcome in zip(claimed, outcomes, strict=True) if outcome is None]
        # Shielded: a shutdown cancelling the worker must not cut between the 250s and this commit.
        await asyncio.shield(self._delivered(accepted))
        for item, outcome in zip(claimed, outcomes, strict=True):
            news = list(item.outgoing.news)
            if isinstance(outcome, UncertainFailure):
                await self.uncertain(item.row, news, item.outgoing.message.language, str(outcome))
            elif outcome is not None:
                await self.failed(
                    item.row, news, str(outcome) or repr(outcome), retry=not isinstance(outcome, PermanentFailure)
                )

    async def _send_one(self, item: Ready) -> Exception | None:
        try:
            await self.sender.send(item.outgoing, item.content)
        except Exception as exc:  # the worker's transitions decide: retry, fail, or ask the provider
            return exc
        return None

    async def _delivered(self, accepted: list[Ready]) -> None:
        if not accepted:
            return
        now = self.clock()
        async with self.sessions() as session, session.begin():
            done = set(
                (
                    await session.execute(
                        update(N)
                        .where(
                            N.c.notification_id.in_([a.row.notification_id for a in accepted]),
                            N.c.status == "sending",
                        )
                        .values(status="delivered", finished_at=now, lease_until=None, last_error=None)
                        .returning(N.c.notification_id)
                    )
                ).scalars()
            )
            mine = [a for a in accepted if a.row.notification_id in done]
            await _log(session, [a.row for a in mine], "delivered", "accepted by the provider", now)
            await emit_many(
                session,
                [
                    e
                    for a in mine
                    for e in family_notified(a.row, list(a.outgoing.news), a.outgoing.message.language, now)
                ],
            )
        self.after_commit()


async def _insert_ignore_many(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """One statement for many rows; a row whose key exists is left as it is (a re-gathered digest)."""
    dialect = session.get_bind().dialect.name
    statement = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    await session.execute(statement.on_conflict_do_nothing(), rows)


async def _log(session: AsyncSession, rows: Sequence[Any], outcome: str, detail: str, at: datetime) -> None:
    if not rows:
        return
    DELIVERIES.labels(Channel.EMAIL.value, outcome).inc(len(rows))
    await session.execute(
        insert(t.delivery_log),
        [
            {
                "notification_id": r.notification_id,
                "district_id": r.district_id,
                "attempt": r.attempts,
                "at": at,
                "outcome": outcome,
                "detail": detail,
            }
            for r in rows
        ],
    )


async def _news(session: AsyncSession, news_ids: set[str]) -> dict[str, News]:
    rows = await session.execute(select(t.news.c.document).where(t.news.c.news_id.in_(list(news_ids))))
    return {item.news_id: item for item in (news_from_json(r.document) for r in rows)}


async def _guardians(session: AsyncSession, district_id: str, guardian_ids: list[str]) -> dict[str, Guardian]:
    """Active guardians with their students, in two queries for the whole batch."""
    g, link = t.guardians, t.guardian_students
    rows = (
        await session.execute(
            select(g).where(g.c.district_id == district_id, g.c.guardian_id.in_(guardian_ids), g.c.active.is_(True))
        )
    ).all()
    students: dict[str, list[str]] = defaultdict(list)
    for gid, sid in (
        await session.execute(
            select(link.c.guardian_id, link.c.student_id).where(
                link.c.district_id == district_id, link.c.guardian_id.in_(guardian_ids)
            )
        )
    ).all():
        students[gid].append(sid)
    return {
        r.guardian_id: Guardian(
            r.district_id,
            r.guardian_id,
            r.given_name,
            r.family_name,
            r.email,
            r.phone,
            r.sms,
            r.language,
            tuple(sorted(students[r.guardian_id])),
        )
        for r in rows
    }


async def _preferences(
    session: AsyncSession, district_id: str, guardians: dict[str, Guardian], settings: NotifySettings
) -> dict[str, Preferences]:
    p = t.preferences
    stored = dict(
        (
            await session.execute(
                select(p.c.guardian_id, p.c.document).where(
                    p.c.district_id == district_id, p.c.guardian_id.in_(list(guardians))
                )
            )
        ).all()
    )
    quiet = parse_quiet_hours(settings.default_quiet_hours)
    return {
        gid: PreferencesDocument.model_validate(stored[gid]).to_domain()
        if gid in stored
        else default_preferences(g.language, settings.default_timezone, quiet)
        for gid, g in guardians.items()
    }
