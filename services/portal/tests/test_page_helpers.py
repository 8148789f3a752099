"""The pure helpers behind the pages: levels never by colour alone, the block's meeting day, the catalog."""

from __future__ import annotations

from datetime import date

from mosaic_portal.catalog_es import SPANISH
from mosaic_portal.i18n import translator
from mosaic_portal.pages.common import level_style
from mosaic_portal.pages.teacher import meeting_day

LEVELS = ["Beginning", "Developing", "Proficient", "Advanced"]


def test_each_level_has_its_own_rank_pattern_and_colour() -> None:
    styles = [level_style(LEVELS, lv) for lv in LEVELS]
    assert [s["rank"] for s in styles] == [1, 2, 3, 4]
    assert len({s["pattern"] for s in styles}) == 4 and len({s["css"] for s in styles}) == 4
    assert level_style(LEVELS, None) == {"rank": None, "css": "lv-none", "pattern": "none"}


def test_the_block_meets_on_its_weekday_rhythm() -> None:
    block = {"weekday": "thursday", "starts_on": "2026-09-03", "every_weeks": 2}
    assert meeting_day(block, date(2026, 11, 26)) == date(2026, 11, 26)  # a meeting Thursday
    assert meeting_day(block, date(2026, 11, 25)) == date(2026, 11, 12)  # Wednesday: the last meeting
    assert meeting_day({**block, "starts_on": "2026-12-01"}, date(2026, 11, 26)) == date(2026, 12, 3)


def test_spanish_fills_in_values_and_english_is_the_fallback() -> None:
    es, en = translator("es"), translator("en")
    assert es("{n} pieces of evidence", n=3) == "3 evidencias"
    assert en("{n} pieces of evidence", n=3) == "3 pieces of evidence"
    assert es("a text nobody translated") == "a text nobody translated"
    assert all(value.count("{") == key.count("{") for key, value in SPANISH.items())


def test_a_goals_progress_is_the_students_mastery_on_its_competencies() -> None:
    from mosaic_portal.pages.plan import with_progress

    profile = {
        "scale": [{"name": lv} for lv in LEVELS],
        "competencies": [
            {"competency_id": "c1", "code": "6.RP.1", "level": "Proficient", "mastered": True},
            {"competency_id": "c2", "code": "6.RP.2", "level": "Developing", "mastered": False},
        ],
    }
    plan = {
        "goals": [{"goal_id": "g1", "competency_ids": ["c1", "c2", "c3"]}],
        "notes": [{"note_id": "n1", "goal_id": "g1"}, {"note_id": "n2", "goal_id": None}],
    }
    shown = with_progress(plan, profile)
    goal = shown["goals"][0]
    assert goal["mastered"] == 1 and goal["share"] == 33
    assert [c["code"] for c in goal["competencies"]] == ["6.RP.1", "6.RP.2", "c3"]
    assert goal["competencies"][2]["style"]["pattern"] == "none"  # no evidence yet: no level, said in words
    assert [n["note_id"] for n in goal["notes"]] == ["n1"] and [n["note_id"] for n in shown["plan_notes"]] == ["n2"]
