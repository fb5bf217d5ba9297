"""Lessons in headless Chromium: start one, step through it with Next and Previous
(each step opens its page with its setup and hidden controls), open a step from a
link, and present it on a projector. Screenshots go to ``artifacts/screenshots/``."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from benchmarks.live_fps import wait_live
from engine import Spec
from engine.lessons import load_lesson
from playground import lesson_bar

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


CUT = "e => [e, ...e.querySelectorAll('*')].some(c => c.scrollWidth > c.clientWidth + 1)"
"""Whether an element's text is cut (an ellipsis: wider than its box)."""


def query(page: Page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def card(page: Page):
    return page.locator(".st-key-lesson_card")


def setup(page: Page) -> Spec:
    return Spec.from_dict(json.loads(query(page)["s"]))


def test_a_lesson_steps_through_its_pages_with_their_setups(page: Page, base_url: str,
                                                            shots: Path) -> None:
    xor = load_lesson("xor")
    page.goto(f"{base_url}/lessons")
    page.get_by_role("button", name="Start").nth(1).click()  # the second lesson: XOR
    wait_live(page)
    expect(card(page)).to_contain_text("step 1 of 5")
    if xor.steps[0].question:  # marked as a question to think over (it has no answer key)
        expect(card(page)).to_contain_text(f"{lesson_bar.THINK} {xor.steps[0].question}")
    assert query(page)["lesson"] == "xor" and query(page)["step"] == "1"
    assert setup(page) == xor.steps[0].setup
    # Every button reads whole on a projector's 1280 pixels (beside the title they were
    # cut to "Prev...", "N...": a teacher's review).
    page.set_viewport_size({"width": 1280, "height": 800})
    for name in ("Previous step", "Next step", "Close"):
        button = card(page).get_by_role("button", name=name)
        assert not button.evaluate(CUT), f"{name} is cut"
    # Step 1 hides the network and features sections and the presets.
    side = page.get_by_test_id("stSidebar")
    expect(side.get_by_text("Hidden layers", exact=True)).to_have_count(0)
    expect(side.get_by_text("Data", exact=True)).to_have_count(1)
    page.screenshot(path=str(shots / "lesson_step1.png"))

    card(page).get_by_role("button", name="Next step").click()
    expect(card(page)).to_contain_text("step 2 of 5", timeout=30_000)
    wait_live(page)
    assert setup(page) == xor.steps[1].setup
    expect(side.get_by_text("Hidden layers", exact=True).first).to_be_visible()

    card(page).get_by_role("button", name="Next step").click()  # step 3: the Backprop page
    expect(card(page)).to_contain_text("step 3 of 5", timeout=30_000)
    expect(page.get_by_role("heading", name="Backprop, step by step")).to_be_visible()
    assert urlparse(page.url).path.endswith("/backprop")

    card(page).get_by_role("button", name="Previous step").click()
    expect(card(page)).to_contain_text("step 2 of 5", timeout=30_000)
    wait_live(page)
    assert setup(page) == xor.steps[1].setup
    assert not urlparse(page.url).path.endswith("/backprop")

    card(page).get_by_role("button", name="Close").click()
    expect(card(page)).to_have_count(0, timeout=30_000)
    assert "lesson" not in query(page)


def test_a_link_opens_a_lesson_step_and_presentation_mode(page: Page, base_url: str,
                                                          shots: Path) -> None:
    lesson = load_lesson("vanishing_gradients")
    page.goto(f"{base_url}/?lesson=vanishing_gradients&step=2&present=1")
    expect(card(page)).to_contain_text("step 2 of 7", timeout=90_000)
    expect(page.get_by_role("heading", name="Gradient flow")).to_be_visible()
    assert setup(page) == lesson.steps[1].setup
    # Presentation: the sidebar is folded and the type is larger.
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    # The projector's styles arrive with the run (poll: the card may be drawn first).
    page.wait_for_function("() => { const p = document.querySelector("
                           "'.st-key-lesson_card .stMarkdown p');"
                           " return p && parseFloat(getComputedStyle(p).fontSize) >= 20; }",
                           timeout=30_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / "lesson_presentation.png"))
    card(page).get_by_text("Presentation").click()
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "false",
                                                               timeout=30_000)
    assert "present" not in query(page)
