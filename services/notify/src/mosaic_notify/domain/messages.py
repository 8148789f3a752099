"""Turning news into words a parent reads: Jinja2 templates per language, Babel for dates, numbers and plurals.

Counts are worded with Jinja2's i18n extension (`{% trans count=n %}…{% pluralize %}…{% endtrans %}`); its
ngettext picks the form by Babel's (CLDR) plural rules for the message's language, so "1 trabajo" and
"2 trabajos" come from the same sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_context, select_autoescape
from jinja2.runtime import Context

from mosaic_notify.domain.digest import Digest
from mosaic_notify.domain.news import News

TEMPLATES_ROOT = Path(__file__).resolve().parent.parent / "templates"
FALLBACK_LANGUAGE = "en"
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


@dataclass(frozen=True, slots=True)
class Parts:
    """One piece of news in words. Attributes, not a dict: Jinja tries getattr first, and a dict's miss raises."""

    subject: str
    happened: str
    matters: str
    at_home: str
    student: str


@dataclass(frozen=True, slots=True)
class Group:
    student: str
    entries: list[Parts]


class MessageRenderer:
    """Renders news and digests; a language is a folder under templates/ (see templates/README.md)."""

    def __init__(self, root: Path = TEMPLATES_ROOT) -> None:
        self.root = root
        self.env = Environment(
            loader=FileSystemLoader(root),
            autoescape=select_autoescape(["html.j2"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
            cache_size=-1,
            extensions=["jinja2.ext.i18n"],
        )
        self.env.filters.update(date=_date, time=_time, weekday=_weekday, number=_number)
        # Templates are written in their own language: gettext is the identity, ngettext chooses the form.
        self.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
        self.languages = frozenset(p.name for p in root.iterdir() if (p / "words.json").is_file())
        # Rendering shares one flat dict of globals instead of Jinja's per-render ChainMap copy: a digest renders
        # a context per piece of news plus three, and that copy was the largest cost of rendering.
        self._globals = dict(self.env.globals)
        self._templates: dict[str, Template] = {}

    def language_for(self, requested: str) -> str:
        return requested if requested in self.languages else FALLBACK_LANGUAGE

    def words(self, language: str) -> dict[str, Any]:
        return _words(self.root, language)

    def render_news(self, news: News, audience: Audience) -> Message:
        language = self.language_for(audience.language)
        parts = self._parts(news, audience, language)
        groups = [Group(parts.student, [parts])]
        text, html = self._layout(audience, language, groups, digest=False, day=news.occurred_at, count=1)
        return Message(language, parts.subject, text, html, f"{parts.subject}. {parts.at_home}")

    def render_digest(self, digest: Digest, audience: Audience) -> Message:
        language = self.language_for(audience.language)
        groups = [
            Group(self._student(sid, audience, language), [self._parts(n, audience, language) for n in items])
            for sid, items in digest.by_student
        ]
        when = datetime.combine(digest.day, datetime.min.time(), tzinfo=ZoneInfo(audience.timezone))
        students = self._names([g.student for g in groups], language)
        subject = self._render(
            f"{language}/digest_subject.j2",
            {"students": students, "count": digest.count, "locale": language, "tz": audience.timezone},
        ).strip()
        text, html = self._layout(audience, language, groups, digest=True, day=when, count=digest.count)
        return Message(language, subject, text, html, f"{subject}. {groups[0].entries[0].subject}.")

    def _parts(self, news: News, audience: Audience, language: str) -> Parts:
        words = self.words(language)
        context: dict[str, Any] = {
            "student": self._student(news.student_id, audience, language),
            "competency": competency_label(news.competency_name, words),
            "session": news.session_title or words["a_session"],
            "old_level": level_words(news.old_level, words),
            "new_level": level_words(news.new_level, words),
            "evidence_count": news.evidence_count,
            "dropped": news.dropped,
            "starts_at": news.starts_at,
            "locale": language,
            "tz": audience.timezone,
        }
        template = self._template(f"{language}/news/{news.kind.value}.j2")
        rendered = template.new_context({**self._globals, **context}, shared=True)
        try:
            parts = ["".join(template.blocks[name](rendered)).strip() for name in PARTS]
        except Exception:
            self.env.handle_exception()  # re-raises with the template's file and line
            raise
        subject, happened, matters, at_home = parts
        return Parts(subject, happened, matters, at_home, student=context["student"])

    def _layout(
        self, audience: Audience, language: str, groups: list[Group], *, digest: bool, day: datetime, count: int
    ) -> tuple[str, str]:
        values = {
            "guardian": audience.guardian_name,
            "groups": groups,
            "digest": digest,
            "day": day,
            "count": count,
            "students": self._names([g.student for g in groups], language),
            "unsubscribe_url": audience.unsubscribe_url,
            "locale": language,
            "tz": audience.timezone,
        }
        text = _single_blank_lines(self._render(f"{language}/email.txt.j2", values))
        return text, self._render(f"{language}/email.html.j2", values)

    def _template(self, name: str) -> Template:
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = self.env.get_template(name)
            template.globals = dict(template.globals)  # each context copies its keys: a dict does it in C
        return template

    def _render(self, name: str, values: dict[str, Any]) -> str:
        template = self._template(name)
        try:
            return "".join(template.root_render_func(template.new_context({**self._globals, **values}, shared=True)))
        except Exception:
            self.env.handle_exception()  # re-raises with the template's file and line
            raise

    def _student(self, student_id: str, audience: Audience, language: str) -> str:
        return audience.student_names.get(student_id) or str(self.words(language)["your_child"])

    def _names(self, names: list[str], language: str) -> str:
        unique = list(dict.fromkeys(names))
        if len(unique) <= 1:
            return "".join(unique)
        return f"{', '.join(unique[:-1])} {self.words(language)['and']} {unique[-1]}"


def _single_blank_lines(text: str) -> str:
    """Template blocks leave runs of blank lines; a reader needs one (str.replace: the regex cost 0.1 ms a digest)."""
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


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


def plural_category(language: str, count: float) -> str:
    """CLDR's plural category of `count` in `language` ('one', 'few', 'many', 'other'...), by Babel."""
    return _plural_category(language, count)


@lru_cache(maxsize=4096)
def _plural_category(language: str, count: float) -> str:
    return _locale(language).plural_form(abs(count))


def _gettext(message: str) -> str:
    return message


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: float) -> str:
    """The singular when the language's plural rule puts `count` in 'one', else the plural."""
    return singular if _plural_category(context["locale"], count) == "one" else plural


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
