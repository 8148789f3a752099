"""Reading and writing notify's tables inside a caller's transaction (the unit of work)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import tables as t
from mosaic_notify.adapters.codec import PreferencesDocument, RulesDocument, news_from_json, news_to_json
from mosaic_notify.domain.contacts import DEFAULT_LANGUAGE, Guardian, Reachable, Student
from mosaic_notify.domain.news import News
from mosaic_notify.domain.preferences import Preferences, default_preferences, parse_quiet_hours
from mosaic_notify.domain.rules import DEFAULT_RULES, DistrictRules
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.metrics import DELIVERIES


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the primary key exists; True when a row was added. Makes re-sent events no-ops."""
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).values(**values)
    result = await session.execute(statement.on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def upsert(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    keys = [c.name for c in table.primary_key.columns]
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).values(**values)
    changes = {k: v for k, v in values.items() if k not in keys}
    await session.execute(
        statement.on_conflict_do_update(index_elements=keys, set_=changes)
        if changes
        else statement.on_conflict_do_nothing()
    )


# --- contacts -------------------------------------------------------------------------------


async def upsert_some(session: AsyncSession, table: Table, values: dict[str, Any], update_only: Iterable[str]) -> None:
    """Insert the row, or update only the named columns of the row that is there."""
    keys = [c.name for c in table.primary_key.columns]
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).values(**values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=keys, set_={k: values[k] for k in update_only})
    )


async def save_guardian(session: AsyncSession, guardian: Guardian) -> set[str]:
    """Store a guardian, replace their links to students with the roster's; returns the newly linked students.
    A roster carries no names or contacts (they come from the people topic, `save_reachable`): those it lacks stay."""
    contacts = {
        "given_name": guardian.given_name,
        "family_name": guardian.family_name,
        "email": guardian.email,
        "phone": guardian.phone,
        "sms": guardian.sms,
    }
    await upsert_some(
        session,
        t.guardians,
        {
            "district_id": guardian.district_id,
            "guardian_id": guardian.guardian_id,
            **contacts,
            "given_name": guardian.given_name or "",
            "family_name": guardian.family_name or "",
            "language": guardian.language,
            "active": True,
        },
        ("language", "active", *(k for k, v in contacts.items() if v is not None)),
    )
    link = t.guardian_students
    mine = (link.c.district_id == guardian.district_id) & (link.c.guardian_id == guardian.guardian_id)
    before = set((await session.execute(select(link.c.student_id).where(mine))).scalars())
    if guardian.links_authoritative:
        await session.execute(delete(link).where(mine))
    for student_id in guardian.student_ids:
        await insert_ignore(
            session,
            link,
            {"district_id": guardian.district_id, "student_id": student_id, "guardian_id": guardian.guardian_id},
        )
    return set(guardian.student_ids) - before


async def link_guardian(session: AsyncSession, district_id: str, guardian_id: str, student_id: str) -> bool:
    """Add one link (a student's record names a guardian given in another roster part); True when new."""
    return await insert_ignore(
        session, t.guardian_students, {"district_id": district_id, "student_id": student_id, "guardian_id": guardian_id}
    )


async def save_student(session: AsyncSession, student: Student) -> None:
    values = {"district_id": student.district_id, "student_id": student.student_id, "given_name": student.given_name}
    if student.given_name is None:
        await insert_ignore(session, t.students, {**values, "given_name": ""})
    else:
        await upsert(session, t.students, values)


async def student_known(session: AsyncSession, district_id: str, student_id: str) -> bool | None:
    """Whether notify knows the student; None when it knows no student of the district at all yet."""
    s = t.students
    if await session.scalar(select(s.c.student_id).where(s.c.district_id == district_id, s.c.student_id == student_id)):
        return True
    any_student = await session.scalar(select(s.c.student_id).where(s.c.district_id == district_id).limit(1))
    return None if any_student is None else False


async def save_reachable(session: AsyncSession, person: Reachable) -> None:
    """A guardian's name and contacts, or a student's first name; the roster adds the links and language."""
    if person.is_guardian:
        contacts = {
            "given_name": person.given_name or "",
            "family_name": person.family_name or "",
            "email": person.email,
            "phone": person.phone,
            "sms": person.sms,
        }
        await upsert_some(
            session,
            t.guardians,
            {
                "district_id": person.district_id,
                "guardian_id": person.person_id,
                "language": DEFAULT_LANGUAGE,
                "active": True,
                **contacts,
            },
            contacts,
        )
    else:
        await upsert(
            session,
            t.students,
            {"district_id": person.district_id, "student_id": person.person_id, "given_name": person.given_name or ""},
        )


async def remove_people(session: AsyncSession, district_id: str, person_ids: Sequence[str]) -> None:
    """People gone from the roster: guardians stop receiving news; links on either side go."""
    if not person_ids:
        return
    await session.execute(
        update(t.guardians)
        .where(t.guardians.c.district_id == district_id, t.guardians.c.guardian_id.in_(person_ids))
        .values(active=False)
    )
    link = t.guardian_students
    await session.execute(
        delete(link)
        .where(link.c.district_id == district_id)
        .where(link.c.guardian_id.in_(person_ids) | link.c.student_id.in_(person_ids))
    )


async def guardians_of(session: AsyncSession, district_id: str, student_id: str) -> list[Guardian]:
    link = t.guardian_students
    ids = select(link.c.guardian_id).where(link.c.district_id == district_id, link.c.student_id == student_id)
    rows = (
        await session.execute(
            select(t.guardians).where(
                t.guardians.c.district_id == district_id,
                t.guardians.c.guardian_id.in_(ids),
                t.guardians.c.active.is_(True),
            )
        )
    ).all()
    return [await _guardian(session, row) for row in rows]


async def load_guardian(session: AsyncSession, district_id: str, guardian_id: str) -> Guardian | None:
    row = (
        await session.execute(
            select(t.guardians).where(
                t.guardians.c.district_id == district_id, t.guardians.c.guardian_id == guardian_id
            )
        )
    ).first()
    return None if row is None or not row.active else await _guardian(session, row)


async def guardians_with_sms(session: AsyncSession, number: str) -> list[Guardian]:
    rows = (await session.execute(select(t.guardians).where(t.guardians.c.sms == number))).all()
    return [await _guardian(session, row) for row in rows]


async def _guardian(session: AsyncSession, row: Any) -> Guardian:
    link = t.guardian_students
    student_ids = (
        (
            await session.execute(
                select(link.c.student_id)
                .where(link.c.district_id == row.district_id, link.c.guardian_id == row.guardian_id)
                .order_by(link.c.student_id)
            )
        )
        .scalars()
        .all()
    )
    return Guardian(
        row.district_id,
        row.guardian_id,
        row.given_name,
        row.family_name,
        row.email,
        row.phone,
        row.sms,
        row.language,
        tuple(student_ids),
    )


async def student_names(session: AsyncSession, district_id: str, student_ids: Iterable[str]) -> dict[str, str]:
    rows = await session.execute(
        select(t.students.c.student_id, t.students.c.given_name).where(
            t.students.c.district_id == district_id, t.students.c.student_id.in_(list(student_ids))
        )
    )
    return {r.student_id: r.given_name for r in rows}


# --- framework ------------------------------------------------------------------------------


async def save_competency(
    session: AsyncSession, district_id: str, competency_id: str, code: str | None, name: str
) -> None:
    await upsert(
        session,
        t.competencies,
        {"district_id": district_id, "competency_id": competency_id, "code": code, "name": name},
    )


async def competency_name(session: AsyncSession, district_id: str, competency_id: str) -> str | None:
    return await session.scalar(
        select(t.competencies.c.name).where(
            t.competencies.c.district_id == district_id, t.competencies.c.competency_id == competency_id
        )
    )


# --- preferences and rules ------------------------------------------------------------------


async def load_preferences(session: AsyncSession, guardian: Guardian, settings: NotifySettings) -> Preferences:
    """Stored preferences, or the district defaults in the language the roster gives for the guardian."""
    document = await session.scalar(
        select(t.preferences.c.document).where(
            t.preferences.c.district_id == guardian.district_id, t.preferences.c.guardian_id == guardian.guardian_id
        )
    )
    if document is None:
        return default_preferences(
            guardian.language, settings.default_timezone, parse_quiet_hours(settings.default_quiet_hours)
        )
    return PreferencesDocument.model_validate(document).to_domain()


async def save_preferences(
    session: AsyncSession, district_id: str, guardian_id: str, prefs: Preferences, now: datetime
) -> None:
    document = PreferencesDocument.from_domain(prefs).model_dump(mode="json")
    await upsert(
        session,
        t.preferences,
        {"district_id": district_id, "guardian_id": guardian_id, "document": document, "updated_at": now},
    )


async def load_rules(session: AsyncSession, district_id: str) -> DistrictRules:
    document = await session.scalar(
        select(t.district_rules.c.document).where(t.district_rules.c.district_id == district_id)
    )
    return DEFAULT_RULES if document is None else RulesDocument.model_validate(document).to_domain()


async def save_rules(session: AsyncSession, district_id: str, rules: DistrictRules, now: datetime) -> None:
    document = RulesDocument.from_domain(rules).model_dump(mode="json")
    await upsert(session, t.district_rules, {"district_id": district_id, "document": document, "updated_at": now})


# --- news, notifications, digests, log ------------------------------------------------------


async def add_news(session: AsyncSession, item: News) -> bool:
    """Record a piece of news once; False when it is already known (a re-sent or twin event)."""
    return await insert_ignore(
        session,
        t.news,
        {
            "news_id": item.news_id,
            "district_id": item.district_id,
            "student_id": item.student_id,
            "kind": item.kind.value,
            "cause_event_id": item.cause_event_id,
            "occurred_at": item.occurred_at,
            "document": news_to_json(item),
        },
    )


async def planned_for(session: AsyncSession, news: News, guardian_id: str, notification_ids: Sequence[str]) -> bool:
    """True when this guardian was already given this news: a notification of it, or an item of a digest."""
    alone = await session.scalar(
        select(func.count()).select_from(t.notifications).where(t.notifications.c.notification_id.in_(notification_ids))
    )
    d = t.digest_items
    digested = await session.scalar(
        select(func.count())
        .select_from(d)
        .where(d.c.district_id == news.district_id, d.c.guardian_id == guardian_id, d.c.news_id == news.news_id)
    )
    return bool(alone or digested)


async def recent_news(session: AsyncSession, district_id: str, student_id: str, since: datetime) -> list[News]:
    rows = await session.execute(
        select(t.news.c.document).where(
            t.news.c.district_id == district_id, t.news.c.student_id == student_id, t.news.c.occurred_at >= since
        )
    )
    return [news_from_json(r.document) for r in rows]


async def load_news(session: AsyncSession, news_ids: Sequence[str]) -> list[News]:
    rows = await session.execute(select(t.news.c.document).where(t.news.c.news_id.in_(list(news_ids))))
    return [news_from_json(r.document) for r in rows]


async def log_attempt(session: AsyncSession, notification: Any, outcome: str, detail: str, at: datetime) -> None:
    DELIVERIES.labels(notification.channel, outcome).inc()  # delivery outcomes on /metrics
    await session.execute(
        t.delivery_log.insert().values(
            notification_id=notification.notification_id,
            district_id=notification.district_id,
            attempt=notification.attempts,
            at=at,
            outcome=outcome,
            detail=detail[:2000],
        )
    )


async def notifications_with_log(
    session: AsyncSession, district_id: str, guardian_id: str, limit: int
) -> list[tuple[Any, list[Any]]]:
    """A guardian's newest notifications, each with its delivery attempts in order."""
    n, log = t.notifications, t.delivery_log
    rows = (
        await session.execute(
            select(n)
            .where(n.c.district_id == district_id, n.c.guardian_id == guardian_id)
            .order_by(n.c.created_at.desc())
            .limit(limit)
        )
    ).all()
    entries = (
        await session.execute(
            select(log).where(log.c.notification_id.in_([r.notification_id for r in rows])).order_by(log.c.id)
        )
    ).all()
    return [(r, [e for e in entries if e.notification_id == r.notification_id]) for r in rows]
