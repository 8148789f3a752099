"""People use the pages in Debian's Chromium (Playwright) over the running stack: a teacher records evidence and
sees the heatmap change, a student requests a session, a guardian reads the Spanish page and changes a
preference; every page has no serious or critical axe-core violation. Screenshots go to
$MOSAIC_SCREENSHOTS_DIR when it is set (docs/screenshots holds the committed ones)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.idp_server import DemoPerson

from .conftest import Stack

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
AXE_RESULTS: dict[str, list[dict[str, Any]]] = {}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def sign_in(browser: Browser, stack: Stack, person: DemoPerson, viewport: dict[str, int]) -> Page:
    """Through the front door: the portal's start page, the IdP's chooser, back to the person's page."""
    page = browser.new_page(viewport=viewport)
    page.goto(stack.portal)
    page.locator("a.button").click()
    page.locator(f'button[value="{person.id}"]').click()
    page.wait_for_load_state("networkidle")
    return page


def accessible(page: Page, name: str, full_page: bool = True) -> None:
    """Zero serious or critical axe-core violations; the counts are kept for the report."""
    violations = Axe().run(page).response["violations"]
    AXE_RESULTS[name] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations]
    serious = [v for v in AXE_RESULTS[name] if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {json.dumps(serious)}"
    shots = os.environ.get("MOSAIC_SCREENSHOTS_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=full_page)
        Path(shots, "axe-results.json").write_text(json.dumps(AXE_RESULTS, indent=2, sort_keys=True))


def test_the_start_page_and_the_dev_sign_in_page_are_accessible(browser: Browser, stack: Stack) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(stack.portal)
    accessible(page, "start")
    page.locator("a.button").click()
    page.wait_for_selector("button[name=person_id]")
    assert page.url.startswith(f"{stack.idp}/authorize") and "code_challenge_method=S256" in page.url
    accessible(page, "dev-idp-chooser")


def test_a_teacher_records_evidence_and_sees_the_heatmap_change(browser: Browser, stack: Stack) -> None:
    teacher = stack.first("teacher")
    page = sign_in(browser, stack, teacher, DESKTOP)
    assert page.url.endswith("/teacher")
    accessible(page, "teacher-home")
    page.locator("ul.links a[href^='/teacher/sections/']").first.click()
    page.wait_for_selector("table.heatmap")
    accessible(page, "teacher-heatmap")
    first_row = page.locator("table.heatmap tbody tr").first
    student_link = first_row.locator("th a")
    student_name = student_link.inner_text()
    before = first_row.locator("td").first.inner_text()

    page.select_option("#kind", "rubric_rating")
    page.fill("#score", "4")
    page.fill("#maximum", "4")
    page.locator("fieldset input[name=student_ids]").first.check()
    page.get_by_role("button", name="Record evidence").click()
    assert "Recorded 1" in page.locator("p.ok").inner_text()

    deadline = time.monotonic() + 120
    after = before
    while after == before and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
        after = page.locator("table.heatmap tbody tr").first.locator("td").first.inner_text()
    assert after != before, f"the cell for {student_name} still reads {before!r}"

    page.locator("table.heatmap tbody tr").first.locator("th a").click()
    page.wait_for_selector("h1")
    assert student_name in page.locator("h1").inner_text()
    assert page.locator("h2#plan-h").is_visible()
    review = page.locator("form[action$='/plan/reviews']")
    review.locator("textarea[name=text]").fill("Conference: on track; next, ratio tables")
    review.get_by_role("button", name="Add review").click()
    assert "Conference: on track; next, ratio tables" in page.locator("#plan").inner_text()
    accessible(page, "teacher-student")

    page.goto(f"{stack.portal}/teacher")
    page.locator("ul.links a[href^='/teacher/blocks/']").first.click()
    page.get_by_role("button", name="Preview a regroup").click()
    page.wait_for_selector("text=Draft version")
    accessible(page, "teacher-regroup-preview")
    page.get_by_role("button", name="Discard").click()
    assert "discarded" in page.locator("p.ok").inner_text()

    page.locator("ul.links a[href$='/attendance']").first.click()
    page.wait_for_selector("h1")
    accessible(page, "teacher-attendance")
    absent = page.locator("input[type=radio][value=absent]")
    assert absent.count() > 0, "the published schedule seats students in the block's first session"
    absent.first.check()
    page.get_by_role("button", name="Save attendance").click()
    assert "Attendance saved." in page.locator("main").inner_text()
    assert page.locator("input[type=radio][value=absent]").first.is_checked()


def test_a_student_requests_a_session(browser: Browser, stack: Stack) -> None:
    student = stack.first("student")
    page = sign_in(browser, stack, student, PHONE)
    assert page.url.endswith("/student")
    assert page.locator("h2#profile-h").is_visible()
    accessible(page, "student", full_page=False)
    form = page.locator("#flex form").first
    options = form.locator("select[name=first] option").all()
    assert len(options) >= 2, "the seeded block offers sessions"
    first, second = options[0].get_attribute("value"), options[1].get_attribute("value")
    form.locator("select[name=first]").select_option(first)
    form.locator("select[name=second]").select_option(second)
    form.get_by_role("button", name="Request a session").click()
    assert "saved" in page.locator("#flex p.ok").inner_text()
    with sqlite3.connect(stack.data_dir / "scheduling.db") as db:
        stored = db.execute("select session_ids from student_requests where student_id = ?", (student.id,)).fetchone()
    assert stored is not None and json.loads(stored[0]) == [first, second]

    page.goto(f"{stack.portal}/student?lang=es")
    assert page.locator("h1").inner_text() == "Mi aprendizaje"
    assert page.locator("html").get_attribute("lang") == "es"
    accessible(page, "student-es", full_page=False)


def test_a_guardian_reads_the_spanish_page_and_changes_a_preference(browser: Browser, stack: Stack) -> None:
    guardian = stack.first("guardian", language="es")
    page = sign_in(browser, stack, guardian, PHONE)
    assert page.url.endswith("/family")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Cómo les va a mis hijos"
    assert page.locator("text=Algo de qué hablar en casa").first.is_visible()
    accessible(page, "family-es")
    page.select_option("#frequency_email", "weekly")
    page.locator("#kind_new_group").uncheck()
    page.get_by_role("button", name="Guardar preferencias").click()
    assert page.locator("p.ok").inner_text() == "Sus preferencias se guardaron."

    token = DevIdentityProvider(stack.data_dir).token(
        district_id=stack.district_id, user_id=guardian.id, roles=("parent",)
    )
    prefs = httpx.get(
        f"{stack.urls.notify}/v1/districts/{stack.district_id}/guardians/{guardian.id}/preferences",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert prefs["channels"]["email"]["frequency"] == "weekly"
    assert "new_group" not in prefs["kinds"]


def test_a_student_sets_a_goal_on_a_competency_and_sees_its_progress(browser: Browser, stack: Stack) -> None:
    student = stack.first("student")
    page = sign_in(browser, stack, student, PHONE)
    assessed_code = page.locator("ul.profile li .row-head strong").first.inner_text()
    options = page.locator("#goal-competency option").all()
    chosen = next(o for o in options if o.inner_text().split(" — ")[0].strip() == assessed_code)
    page.fill("#goal-what", "Explain ratios to my little brother")
    page.fill("#goal-why", "He asks me for help with recipes")
    page.fill("#goal-steps", "Practise with recipes\nAsk my teacher for one harder problem")
    page.fill("#goal-date", "2026-12-18")
    page.select_option("#goal-competency", chosen.get_attribute("value"))
    page.get_by_role("button", name="Set this goal").click()
    plan = page.locator("#plan")
    assert "Your plan was saved." in plan.locator("p.ok").inner_text()
    goal = plan.locator(".card", has_text="Explain ratios to my little brother").first
    assert "Progress:" in goal.locator("p.progress").inner_text()
    assert assessed_code in goal.inner_text()
    assert goal.locator("span.level").first.inner_text() not in ("", "no evidence"), "its level comes from mastery"

    page.get_by_label("What I learned, what I will try next").first.fill("Recipes made it click")
    page.get_by_role("button", name="Save my reflection").first.click()
    assert "Recipes made it click" in page.locator("#plan").inner_text()
    accessible(page, "student-plan", full_page=False)


def test_a_guardian_comments_on_a_childs_plan(browser: Browser, stack: Stack) -> None:
    guardian = stack.first("guardian")
    page = sign_in(browser, stack, guardian, PHONE)
    page.goto(f"{stack.portal}/family?lang=en")
    form = page.locator("form[action$='/plan/comments']").first
    child_id = form.get_attribute("action").split("/")[3]
    form.locator("textarea[name=text]").fill("We will practise fractions while cooking on Sunday")
    form.get_by_role("button", name="Send comment").click()
    assert "Your comment was saved." in page.locator("main").inner_text()
    assert "We will practise fractions while cooking on Sunday" in page.locator("main").inner_text()
    accessible(page, "family-plan")

    token = DevIdentityProvider(stack.data_dir).token(
        district_id=stack.district_id, user_id=guardian.id, roles=("parent",)
    )
    plan = httpx.get(
        f"{stack.urls.evidence}/v1/districts/{stack.district_id}/students/{child_id}/plan",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    comment = plan["notes"][0]
    assert comment["author_id"] == guardian.id and comment["author_relationship"] == "guardian"
