"""Turning news into words a parent reads: Jinja2 templates per language, Babel for dates and numbers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from mosaic_notify.domain.digest import Digest
from mosaic_notify.domain.news import News

TEMPLATES_ROOT = Path(__file__).resolve().parent.parent / "templates"
FALLBACK_LANGUAGE = "en"
_BLANK_LINES = re.compile(r"\n{3,}")
PARTS = ("subject", "happened", "matters", "at_home")


@dataclass(frozen=True)
class Audience:
    """Who reads the message, and how to reach the unsubscribe page."""

    guardian_name: str
    student_names: dict[str, str]
    language: str
    timezone: str
    unsubscribe_url: str = ""


@dataclass(frozen=True)
class Message:
    language: str
    subject: str
    text: str
    html: str
    short: str  # for SMS and push: one or two sentences


class MessageRenderer:
    """Renders news and digests; a language is a folder under templates/ (see templates/README.md)."""

    def __init__(self, root: Path = TEMPLATES_ROOT) -> None:
        self.root = root
        self.env = Environment(loader=FileSystemLoader(root), autoescape=select_autoescape(["html.j2"]),
                               undefined=StrictUndefined, keep_trailing_newline=True, auto_reload=False,
                               cache_size=-1)
        self.env.filters.update(date=_date, time=_time, weekday=_weekday, number=_number)
        self.languages = frozenset(p.name for p in root.iterdir() if (p / "words.json").is_file())

    def language_for(self, requested: str) -> str:
        return requested if requested in self.languages else FALLBACK_LANGUAGE

    def words(self, language: str) -> dict[str, Any]:
        return _words(self.root, language)

    def render_news(self, news: News, audience: Audience) -> Message:
        language = self.language_for(audience.language)
        parts = self._parts(news, audience, language)
        groups: list[dict[str, Any]] = [{"student": parts["student"], "entries": [parts]}]
        text, html = self._layout(audience, language, groups, digest=False, day=news.occurred_at)
        return Message(language, parts["subject"], text, html, f"{parts['subject']}. {parts['at_home']}")

    def render_digest(self, digest: Digest, audience: Audience) -> Message:
        language = self.language_for(audience.language)
        groups: list[dict[str, Any]] = [{"student": self._student(sid, audience, language),
                   "entries": [self._parts(n, audience, language) for n in items]}
                  for sid, items in digest.by_student]
        when = datetime.combine(digest.day, datetime.min.time(), tzinfo=ZoneInfo(audience.timezone))
        students = self._names([g["student"] for g in groups], language)
        subject = self.env.get_template(f"{language}/digest_subject.j2").render(
            students=students, count=digest.count, locale=language, tz=audience.timezone).strip()
        text, html = self._layout(audience, language, groups, digest=True, day=when)
        first = groups[0]["entries"][0]
        return Message(language, subject, text, html, f"{subject}. {first['subject']}.")

    def _parts(self, news: News, audience: Audience, language: str) -> dict[str, str]:
        words = self.words(language)
        context: dict[str, Any] = {
            "student": self._student(news.student_id, audience, language),
            "competency": competency_label(news.competency_name, words),
            "session": news.session_title or words["a_session"],
            "old_level": level_words(news.old_level, words), "new_level": level_words(news.new_level, words),
            "evidence_count": news.evidence_count, "dropped": news.dropped, "starts_at": news.starts_at,
            "locale": language, "tz": audience.timezone,
        }
        template = self.env.get_template(f"{language}/news/{news.kind.value}.j2")
        rendered = template.new_context(context)
        parts = {name: "".join(template.blocks[name](rendered)).strip() for name in PARTS}
        return {**parts, "student": context["student"]}

    def _layout(self, audience: Audience, language: str, groups: list[dict[str, Any]], *, digest: bool,
                day: datetime) -> tuple[str, str]:
        values = {"guardian": audience.guardian_name, "groups": groups, "digest": digest, "day": day,
                  "students": self._names([g["student"] for g in groups], language),
                  "unsubscribe_url": audience.unsubscribe_url, "locale": language, "tz": audience.timezone}
        text = _BLANK_LINES.sub("\n\n", self.env.get_template(f"{language}/email.txt.j2").render(values))
        html = self.env.get_template(f"{language}/email.html.j2").render(values)
        return text, html

    def _student(self, student_id: str, audience: Audience, language: str) -> str:
        return audience.student_names.get(student_id) or str(self.words(language)["your_child"])

    def _names(self, names: list[str], language: str) -> str:
        unique = list(dict.fromkeys(names))
        if len(unique) <= 1:
            return "".join(unique)
        return f"{', '.join(unique[:-1])} {self.words(language)['and']} {unique[-1]}"


def competency_label(name: str | None, words: dict[str, Any]) -> str:
    """The framework's words for a competency, read as part of a sentence; never a bare code."""
    if not name or not name.strip():
        return str(words["a_skill"])
    label = " ".join(name.split()).rstrip(".")
    if len(label) > 80:
        label = label[:80].rsplit(" ", 1)[0] + "…"
    opening, closing = words["quotes"]
    return f"{opening}{label}{closing}"


def level_words(level: str | None, words: dict[str, Any]) -> str:
    if not level:
        return ""
    return str(words["levels"].get(level.strip().lower(), level))


@cache
def _words(root: Path, language: str) -> dict[str, Any]:
    words: dict[str, Any] = json.loads((root / language / "words.json").read_text(encoding="utf-8"))
    return words


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


# Babel is the slow part of rendering; the same few dates and numbers recur across a digest run.
@lru_cache(maxsize=8192)
def _formatted(kind: str, value: datetime | float, tz: str, language: str) -> str:
    locale = _locale(language)
    if not isinstance(value, datetime):
        return format_decimal(value, locale=locale)
    local = value.astimezone(ZoneInfo(tz)) if value.tzinfo else value
    if kind == "time":
        return format_time(local, format="short", locale=locale)
    return format_date(local, format="EEEE" if kind == "weekday" else "full", locale=locale)


@pass_context
def _date(context: Context, value: datetime) -> str:
    return _formatted("date", value, context["tz"], context["locale"])


@pass_context
def _time(context: Context, value: datetime) -> str:
    return _formatted("time", value, context["tz"], context["locale"])


@pass_context
def _weekday(context: Context, value: datetime) -> str:
    return _formatted("weekday", value, context["tz"], context["locale"])


@pass_context
def _number(context: Context, value: float) -> str:
    return _formatted("number", value, context["tz"], context["locale"])
