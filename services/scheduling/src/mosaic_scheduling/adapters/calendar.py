"""iCalendar feeds: one recurring event per flex block a student or teacher has a place in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from icalendar import Calendar, Event, vText

from mosaic_scheduling.domain.model import FlexBlock, Session
from mosaic_scheduling.domain.publication import occurrence


@dataclass(frozen=True)
class CalendarEntry:
    block: FlexBlock
    session: Session
    description: str
    version: int


def ics_feed(name: str, entries: list[CalendarEntry], timezone: str, uid_scope: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Mosaic//Flex time//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", vText(name))  # text, escaped: an id may carry a newline
    for entry in entries:
        calendar.add_component(_event(entry, timezone, uid_scope))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _event(entry: CalendarEntry, timezone: str, uid_scope: str) -> Event:
    block, session = entry.block, entry.session
    _, start, end = occurrence(block, block.starts_on, timezone)
    event = Event()
    event.add("uid", f"{uid_scope}-{block.id}@mosaic")
    event.add("summary", f"{block.name}: {session.title}")
    event.add("description", entry.description)
    if session.room_id:
        event.add("location", session.room_id)
    event.add("dtstart", start)
    event.add("dtend", end)
    rule: dict[str, object] = {"freq": "weekly", "interval": block.every_weeks, "byday": block.weekday}
    if block.until is not None:
        rule["until"] = datetime.combine(block.until, time(23, 59), tzinfo=UTC)
    event.add("rrule", rule)
    event.add("dtstamp", datetime.now(UTC))
    event.add("sequence", entry.version)
    return event
