"""What is worth telling a family: news items derived from mastery and schedule events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mosaic_events import Envelope
from mosaic_events.catalog import GroupAssignmentChanged, MasteryChanged
from mosaic_events.ids import MOSAIC_NAMESPACE

# A student stuck at the lowest level after this many pieces of work "needs support" (stalled).
STALLED_AFTER_EVIDENCE = 5


class NewsKind(StrEnum):
    MASTERED = "mastered"
    MOVED_UP = "moved_up"
    NEEDS_SUPPORT = "needs_support"
    NEW_GROUP = "new_group"


@dataclass(frozen=True)
class News:
    """One piece of news about one student; `news_id` is derived from its cause, so re-sent events repeat it."""

    news_id: str
    kind: NewsKind
    district_id: str
    student_id: str
    cause_event_id: str
    correlation_id: str
    occurred_at: datetime
    competency_id: str | None = None
    competency_code: str | None = None
    competency_name: str | None = None
    old_level: str | None = None
    new_level: str | None = None
    evidence_count: int = 0
    dropped: bool = False
    session_title: str | None = None
    session_kind: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    details: dict[str, str] = field(default_factory=dict)


def news_id_for(*parts: str) -> str:
    return str(uuid.uuid5(MOSAIC_NAMESPACE, "|".join(("notify-news", *parts))))


def news_from_mastery(envelope: Envelope) -> News | None:
    """Mastered, moved up, or needs support (dropped or stalled); None when a family need not hear of it."""
    change = envelope.data
    assert isinstance(change, MasteryChanged)
    if change.recalculation:
        return None  # the district changed its method or scale; the child did nothing new
    if change.new_rank is None:
        return None  # v2: no level left (evidence retracted); a correction, not news for a family
    kind = _mastery_kind(change, change.new_rank)
    if kind is None:
        return None
    dropped = change.old_rank is not None and change.new_rank < change.old_rank
    return News(
        news_id=news_id_for(str(envelope.id)),
        kind=kind,
        district_id=envelope.district_id,
        student_id=change.student_id,
        cause_event_id=str(envelope.id),
        correlation_id=str(envelope.correlation_id),
        occurred_at=envelope.occurred_at,
        competency_id=change.competency_id,
        competency_code=change.competency_code,
        competency_name=change.competency_name,
        old_level=change.old_level,
        new_level=change.new_level,
        evidence_count=change.evidence_count,
        dropped=dropped,
    )


def _mastery_kind(change: MasteryChanged, new_rank: int) -> NewsKind | None:
    old_rank = change.old_rank
    if old_rank is not None and new_rank < old_rank:
        return NewsKind.NEEDS_SUPPORT
    if new_rank == 0 and change.evidence_count >= STALLED_AFTER_EVIDENCE:
        return NewsKind.NEEDS_SUPPORT
    if change.mastered and (old_rank is None or new_rank > old_rank):
        return NewsKind.MASTERED
    if old_rank is not None and new_rank > old_rank:
        return NewsKind.MOVED_UP
    return None


def news_from_assignment(envelope: Envelope) -> News | None:
    """A student's new flex group or session: scheduling sends one GroupAssignmentChanged per student whose
    session changed (a first placement included), so each is news once — a re-sent one names the same
    (block, student, session, schedule version) — and a later move is news again."""
    change = envelope.data
    assert isinstance(change, GroupAssignmentChanged)
    if change.new_session_id is None:
        return None  # v2: the student left the block; the families' templates have no words for it yet
    return News(
        news_id=news_id_for(
            envelope.district_id,
            change.block_id,
            change.student_id,
            change.new_session_id,
            f"v{change.schedule_version}",
        ),
        kind=NewsKind.NEW_GROUP,
        district_id=envelope.district_id,
        student_id=change.student_id,
        cause_event_id=str(envelope.id),
        correlation_id=str(envelope.correlation_id),
        occurred_at=envelope.occurred_at,
        session_title=change.session_title,
        session_kind=change.session_kind,
        starts_at=change.starts_at,
        ends_at=change.ends_at,
        details={"block_id": change.block_id, "session_id": change.new_session_id},
    )
