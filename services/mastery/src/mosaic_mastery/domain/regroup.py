"""When a section's flexible groups no longer fit: enough of its students changed level since the last grouping.

A section watch remembers, per student and followed competency, the level at the last grouping and the
level now; a change back to the old level cancels out. When the share of enrolled students with a change
reaches the district's threshold, one RegroupNeeded goes out and the watch starts over from the new
levels. At most one goes out per debounce window (event time); changes inside it wait for the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class PendingChange:
    level_at_grouping: str | None
    level_now: str
    changed_at: datetime


@dataclass
class SectionWatch:
    district_id: str
    section_id: str
    changes: dict[tuple[str, str], PendingChange] = field(default_factory=dict)  # (student, competency)
    window_started_at: datetime | None = None
    last_emitted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RegroupDue:
    """The decision to emit RegroupNeeded for a section, before it becomes an envelope."""

    district_id: str
    section_id: str
    school_id: str | None
    competency_ids: tuple[str, ...]
    changes: tuple[tuple[str, str, str | None, str], ...]  # (student, competency, old level, new level)
    changed_students: int
    section_size: int
    threshold: float
    window_started_at: datetime
    reason: str
    level_ranks: Mapping[str | None, int] = field(default_factory=dict)  # level name -> rank, for consumers


def note_change(
    watch: SectionWatch, student_id: str, competency_id: str, old_level: str | None, new_level: str, at: datetime
) -> None:
    """Record one level change; a return to the level the student had at the last grouping cancels it."""
    key = (student_id, competency_id)
    before = watch.changes[key].level_at_grouping if key in watch.changes else old_level
    if before == new_level:
        watch.changes.pop(key, None)
    else:
        watch.changes[key] = PendingChange(before, new_level, at)
    if not watch.changes:
        watch.window_started_at = None
    elif watch.window_started_at is None:
        watch.window_started_at = at


def changed_students(watch: SectionWatch, enrolled: frozenset[str]) -> set[str]:
    return {student for student, _ in watch.changes if student in enrolled}


def regroup_if_due(
    watch: SectionWatch,
    *,
    enrolled: frozenset[str],
    followed: tuple[str, ...],
    threshold: float,
    debounce: timedelta,
    now: datetime,
    school_id: str | None,
) -> RegroupDue | None:
    """One RegroupNeeded when the share of changed students reaches the threshold outside the debounce window;
    the watch then starts over."""
    if not enrolled or watch.window_started_at is None:
        return None
    students = changed_students(watch, enrolled)
    if len(students) / len(enrolled) < threshold:
        return None
    if watch.last_emitted_at is not None and now - watch.last_emitted_at < debounce:
        return None
    changes = tuple(
        sorted((s, c, p.level_at_grouping, p.level_now) for (s, c), p in watch.changes.items() if s in enrolled)
    )
    due = RegroupDue(
        district_id=watch.district_id,
        section_id=watch.section_id,
        school_id=school_id,
        competency_ids=followed,
        changes=changes,
        changed_students=len(students),
        section_size=len(enrolled),
        threshold=threshold,
        window_started_at=watch.window_started_at,
        reason=(
            f"{len(students)} of {len(enrolled)} students ({len(students) / len(enrolled):.0%}) changed level "
            f"on the competencies this section groups by since the last grouping; threshold {threshold:.0%}"
        ),
    )
    watch.changes.clear()
    watch.window_started_at = None
    watch.last_emitted_at = now
    return due
