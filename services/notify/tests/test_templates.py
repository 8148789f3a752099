"""Every language folder renders every kind of news and a digest, with no missing words."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.digest import build_daily_digest
from mosaic_notify.domain.messages import Audience, MessageRenderer
from mosaic_notify.domain.news import News, NewsKind

RENDERER = MessageRenderer()
AT = datetime(2026, 11, 23, 15, tzinfo=UTC)


def sample(kind: NewsKind) -> News:
    return News(
        f"n-{kind}",
        kind,
        "d1",
        "s1",
        "c",
        "c",
        AT,
        competency_id=f"c-{kind}",
        competency_name="Ratio language",
        old_level="Developing",
        new_level="Proficient",
        evidence_count=1200,
        dropped=True,
        session_title="Fractions lab",
        starts_at=AT,
        details={"block_id": "b1"},
    )


@pytest.mark.parametrize("language", sorted(RENDERER.languages))
def test_every_language_renders_every_kind_and_the_digest(language: str) -> None:
    audience = Audience("Sam", {"s1": "Ana"}, language, "America/Chicago", "https://u.example/t")
    for kind in NewsKind:
        message = RENDERER.render_news(sample(kind), audience)
        assert message.language == language
        assert "Ana" in message.subject
        assert "https://u.example/t" in message.text and "https://u.example/t" in message.html
    guardian = Guardian("d1", "g1", "Sam", "S", "s@x.org", None, None, language, ("s1",))
    digest = build_daily_digest(guardian, [sample(k) for k in NewsKind], date(2026, 11, 23))
    message = RENDERER.render_digest(digest, audience)  # type: ignore[arg-type]
    assert message.text.count("Ana") >= 4 and "<h2>Ana</h2>" in message.html


def test_english_and_spanish_are_both_there() -> None:
    assert {"en", "es"} <= RENDERER.languages
