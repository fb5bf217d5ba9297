"""End-to-end: the Gradient flow page in a real browser."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from engine.presets import preset
from playground.core import url

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time


def _counters(page) -> tuple[int, int]:
    frame = page.get_by_test_id("flow-view").get_attribute("data-frame")
    return int(frame or 0), int(page.get_by_test_id("epoch-counter").text_content() or 0)


def test_vanishing_lesson_plays_and_names_the_problem(page, base_url, shots):
    page.goto(base_url + "/flow")
    view = page.get_by_test_id("flow-view")
    view.wait_for(timeout=90_000)
    health = page.get_by_test_id("gradient-health")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=gradient-health]')?.dataset.verdict",
        timeout=60_000)
    assert health.get_attribute("data-verdict") == "vanishing"
    assert "Layer 1 gets" in health.inner_text()
    page.screenshot(path=str(shots / "30_flow_vanishing.png"), full_page=True)

    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=60_000)
    time.sleep(1.0)
    f0, e0 = _counters(page)
    time.sleep(3.0)
    f1, e1 = _counters(page)
    assert f1 > f0 + 10 and e1 > e0  # frames drawn and epochs trained while playing
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    page.locator(".fv-pre").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "31_flow_trained.png"), full_page=False)


def test_residual_lesson_from_a_link_is_healthy(page, base_url, shots):
    query = urllib.parse.quote(url.spec_to_query(preset("sigmoid_residual")))
    page.goto(f"{base_url}/flow?s={query}")
    page.get_by_test_id("flow-view").wait_for(timeout=90_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=gradient-health]')?.dataset.verdict",
        timeout=60_000)
    assert page.get_by_test_id("gradient-health").get_attribute("data-verdict") == "healthy"
    # the control reflects the link
    assert page.get_by_role("switch", name="Residual connections").is_checked()
    # the link survives in the URL
    s = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["s"][0]
    assert json.loads(s) == json.loads(url.spec_to_query(preset("sigmoid_residual")))
    page.screenshot(path=str(shots / "32_flow_residual.png"), full_page=True)


def test_a_preset_menu_shows_long_titles_whole(page, base_url, shots):
    """The sidebar's preset menu opens a list as wide as its longest title (it was the
    box's 240 px, and cut "Healthy gradients: He initialisation with ReLU")."""
    page.goto(base_url + "/flow")
    page.get_by_test_id("flow-view").wait_for(timeout=90_000)
    menu = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Preset")
    menu.click()
    option = page.get_by_role("option", name="Healthy gradients: He initialisation with ReLU")
    option.wait_for(timeout=10_000)
    # an option's text (a range over it) ends inside the list's box
    cut = page.evaluate("""() => {
        const list = document.querySelector('[data-testid=stSelectboxVirtualDropdown]')
            .getBoundingClientRect();
        return [...document.querySelectorAll('[role=option]')].filter(o => {
            const r = document.createRange(); r.selectNodeContents(o);
            return r.getBoundingClientRect().right > list.right; }).map(o => o.textContent);
    }""")
    assert cut == []
    box = menu.bounding_box()
    assert option.bounding_box()["width"] > box["width"]  # wider than the box it opens from
    page.screenshot(path=str(shots / "33_flow_preset_menu.png"), full_page=False)
    page.keyboard.press("Escape")
