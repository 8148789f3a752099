"""Gathering a guardian's news into one digest: pure, so it can be tested and benchmarked alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.news import News, NewsKind

# Good news first, support last but never dropped: the order a parent reads comfortably.
KIND_ORDER = {NewsKind.MASTERED: 0, NewsKind.MOVED_UP: 1, NewsKind.NEW_GROUP: 2, NewsKind.NEEDS_SUPPORT: 3}


@dataclass(frozen=True)
class Digest:
    guardian: Guardian
    day: date
    by_student: tuple[tuple[str, tuple[News, ...]], ...]
    covered_news_ids: tuple[str, ...]  # every item gathered, including ones a later item superseded

    @property
    def count(self) -> int:
        return sum(len(items) for _, items in self.by_student)


def build_daily_digest(
    guardian: Guardian, news: Iterable[News], day: date, kinds: frozenset[NewsKind] = frozenset(NewsKind)
) -> Digest | None:
    """One digest per guardian: their students' news, the latest per competency or block, ordered for a parent."""
    mine = [n for n in news if n.student_id in guardian.student_ids and n.kind in kinds]
    if not mine:
        return None
    latest: dict[tuple[str, str], News] = {}
    for item in sorted(mine, key=lambda n: (n.occurred_at, n.news_id)):
        latest[(item.student_id, _topic_of(item))] = item
    by_student = []
    for student_id in guardian.student_ids:
        items = [n for (sid, _), n in latest.items() if sid == student_id]
        if items:
            items.sort(key=lambda n: (KIND_ORDER[n.kind], n.occurred_at, n.news_id))
            by_student.append((student_id, tuple(items)))
    covered = tuple(sorted({n.news_id for n in mine}))
    return Digest(guardian, day, tuple(by_student), covered)


def _topic_of(item: News) -> str:
    """What a later item about the same thing supersedes: a competency's level, or a block's session."""
    if item.kind == NewsKind.NEW_GROUP:
        return "block:" + item.details.get("block_id", item.news_id)
    return "competency:" + (item.competency_id or item.news_id)
