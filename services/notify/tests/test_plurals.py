"""Every template in every language words a count in its grammatical form: 0, 1, 2 and 5 of everything."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.digest import build_daily_digest
from mosaic_notify.domain.messages import TEMPLATES_ROOT, Audience, MessageRenderer, plural_category
from mosaic_notify.domain.news import News, NewsKind

RENDERER = MessageRenderer()
AT = datetime(2026, 11, 23, 15, tzinfo=UTC)
COUNTS = (0, 1, 2, 5)

# (singular, plural) as a reader of each language expects them; "{n}" is the count. None: the template has no count.
FORMS: dict[str, dict[str, tuple[str, str] | None]] = {
    "en": {
        "news/mastered.j2": ("Looking at 1 piece of recent work", "Looking at {n} pieces of recent work"),
        "news/moved_up.j2": ("in 1 piece of recent work.", "in {n} pieces of recent work."),
        "news/needs_support.j2": ("through 1 piece of work", "through {n} pieces of work"),
        "news/new_group.j2": None,
        "digest_subject.j2": ("(1 update)", "({n} updates)"),
        "email.txt.j2": ("Here is the one change for your family", "Here are the {n} changes for your family"),
        "email.html.j2": ("Here is the one change for your family", "Here are the {n} changes for your family"),
    },
    "es": {
        "news/mastered.j2": ("Según 1 trabajo reciente,", "Según {n} trabajos recientes,"),
        "news/moved_up.j2": ("en 1 trabajo reciente.", "en {n} trabajos recientes."),
        "news/needs_support.j2": ("lleva 1 trabajo con", "lleva {n} trabajos con"),
        "news/new_group.j2": None,
        "digest_subject.j2": ("(1 aviso)", "({n} avisos)"),
        "email.txt.j2": ("Este es el único cambio para su familia", "Estos son los {n} cambios para su familia"),
        "email.html.j2": ("Este es el único cambio para su familia", "Estos son los {n} cambios para su familia"),
    },
}
SINGULAR_FOR = {"en": {1}, "es": {1}}  # which of COUNTS take the singular, by each language's grammar


def audience(language: str) -> Audience:
    return Audience("Sam", {"s1": "Ana"}, language, "America/Chicago", "https://u.example/t")


def news(kind: NewsKind, evidence_count: int, index: int = 0) -> News:
    return News(
        f"n-{kind}-{index}",
        kind,
        "d1",
        "s1",
        "c",
        "c",
        AT + timedelta(minutes=index),
        competency_id=f"c-{index}",
        competency_name=f"Skill {index}",
        old_level="Developing",
        new_level="Proficient",
        evidence_count=evidence_count,
        dropped=False,
        session_title="Fractions lab",
        starts_at=AT,
        details={"block_id": f"b{index}"},
    )


def expect_form(text: str, language: str, template: str, count: int) -> None:
    forms = FORMS[language][template]
    if forms is None:
        return
    singular, plural = (form.format(n=count) for form in forms)
    wanted, unwanted = (singular, plural) if count in SINGULAR_FOR[language] else (plural, singular)
    assert wanted in text, f"{language}/{template} with {count}: expected {wanted!r} in {text!r}"
    assert unwanted not in text


def test_the_table_covers_every_template_of_every_language() -> None:
    on_disk = {
        lang: {str(p.relative_to(TEMPLATES_ROOT / lang)) for p in (TEMPLATES_ROOT / lang).rglob("*.j2")}
        for lang in RENDERER.languages
    }
    assert on_disk == {lang: set(forms) for lang, forms in FORMS.items()}


def test_babel_puts_only_one_in_the_singular_in_english_and_spanish() -> None:
    for language, singular in SINGULAR_FOR.items():
        assert {n for n in COUNTS if plural_category(language, n) == "one"} == singular


@pytest.mark.parametrize("language", sorted(FORMS))
@pytest.mark.parametrize("count", COUNTS)
def test_every_kind_of_news_words_its_evidence_count(language: str, count: int) -> None:
    for kind in NewsKind:
        message = RENDERER.render_news(news(kind, count), audience(language))
        template = f"news/{kind.value}.j2"
        for text in (message.text, message.html):
            if count == 0:  # no work to speak of: the sentence without a number
                assert all(f.format(n=0) not in text for f in FORMS[language][template] or ())
            else:
                expect_form(text, language, template, count)


@pytest.mark.parametrize("language", sorted(FORMS))
@pytest.mark.parametrize("count", COUNTS)
def test_the_subject_and_both_layouts_word_the_digests_count(language: str, count: int) -> None:
    values = {
        "students": "Ana",
        "guardian": "Sam",
        "groups": [],
        "digest": True,
        "day": AT,
        "count": count,
        "unsubscribe_url": "https://u.example/t",
        "locale": language,
        "tz": "America/Chicago",
    }
    for template in ("digest_subject.j2", "email.txt.j2", "email.html.j2"):
        text = RENDERER.env.get_template(f"{language}/{template}").render(values)
        expect_form(text, language, template, count)


@pytest.mark.parametrize("language", sorted(FORMS))
@pytest.mark.parametrize("count", [c for c in COUNTS if c])
def test_a_digest_of_n_items_says_n_in_the_right_form_everywhere(language: str, count: int) -> None:
    guardian = Guardian("d1", "g1", "Sam", "S", "s@x.org", None, None, language, ("s1",))
    items = [news(NewsKind.MOVED_UP, 3, i) for i in range(count)]
    digest = build_daily_digest(guardian, items, date(2026, 11, 23))
    assert digest is not None and digest.count == count
    message = RENDERER.render_digest(digest, audience(language))
    expect_form(message.subject, language, "digest_subject.j2", count)
    expect_form(message.text, language, "email.txt.j2", count)
    expect_form(message.html, language, "email.html.j2", count)
    expect_form(message.text, language, "news/moved_up.j2", 3)


def test_a_single_piece_of_evidence_is_never_plural_in_spanish() -> None:
    """The issue's example: "Según 1 trabajos recientes"."""
    message = RENDERER.render_news(news(NewsKind.MASTERED, 1), audience("es"))
    assert "Según 1 trabajo reciente," in message.text and "1 trabajos" not in message.text
