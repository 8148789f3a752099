"""Change what a family receives: replace preferences or rules, answer an SMS STOP/START, one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import store
from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.preferences import Channel, Preferences
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.settings import NotifySettings


async def replace_preferences(
    session: AsyncSession, district_id: str, guardian_id: str, prefs: Preferences, now: datetime
) -> bool:
    """Save and commit; False (nothing saved) when the roster has no such guardian."""
    if await store.load_guardian(session, district_id, guardian_id) is None:
        return False
    await store.save_preferences(session, district_id, guardian_id, prefs, now)
    await session.commit()
    return True


async def replace_rules(session: AsyncSession, district_id: str, rules: DistrictRules, now: datetime) -> None:
    await store.save_rules(session, district_id, rules, now)
    await session.commit()


async def answer_sms_reply(
    session: AsyncSession, number: str, opt_out: bool, now: datetime, settings: NotifySettings
) -> int:
    """Opt every guardian with this number out of (or back into) SMS; how many there were."""
    guardians = await store.guardians_with_sms(session, number)
    for guardian in guardians:
        prefs = await store.load_preferences(session, guardian, settings)
        changed = prefs.opt_out(Channel.SMS) if opt_out else prefs.opt_in(Channel.SMS)
        await store.save_preferences(session, guardian.district_id, guardian.guardian_id, changed, now)
    await session.commit()
    return len(guardians)


async def unsubscribe(
    session: AsyncSession, district_id: str, guardian_id: str, channel: Channel, now: datetime, settings: NotifySettings
) -> Guardian | None:
    """Opt the guardian out of the channel; the guardian (for their language), or None when no longer rostered."""
    guardian = await store.load_guardian(session, district_id, guardian_id)
    if guardian is None:
        return None
    prefs = await store.load_preferences(session, guardian, settings)
    await store.save_preferences(session, district_id, guardian_id, prefs.opt_out(channel), now)
    await session.commit()
    return guardian
