"""End-to-end: the Optimizer paths page in a real browser."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time

CHART = "[data-testid=stPlotlyChart] .js-plotly-plot"


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar selectbox ``label`` (1.67's combobox may need a key
    to open)."""
    box = sidebar(page).get_by_role("combobox", name=label)
    box.click()
    if box.get_attribute("aria-expanded") != "true":
        box.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()


def legend(page) -> list[str]:
    """The paths' legend entries (not the minimum's and the start's)."""
    return [t for t in page.locator(f"{CHART} .legendtext").all_text_contents()
            if t not in ("minimum", "start")]


def step_shown(page) -> str:
    return page.locator(f"{CHART} .slider-group > text.slider-label").text_content() or ""


def wait_for_legend(page, pattern: str, timeout_s: float = 30) -> float:
    """Seconds until a legend entry matches ``pattern``."""
    t0 = time.time()
    while not any(re.search(pattern, t) for t in legend(page)):
        assert time.time() - t0 < timeout_s, legend(page)
        time.sleep(0.05)
    return time.time() - t0


def wait_until(check, what: str, timeout_s: float = 30) -> float:
    """Seconds until ``check()`` holds."""
    t0 = time.time()
    while not check():
        assert time.time() - t0 < timeout_s, what
        time.sleep(0.05)
    return time.time() - t0


def x_range(page) -> list[float]:
    return page.evaluate(f"() => document.querySelector('{CHART}')._fullLayout.xaxis.range")


def test_paths_draw_change_and_play(page, base_url, shots):
    page.goto(base_url + "/paths")
    page.locator(CHART).wait_for(timeout=90_000)
    page.get_by_test_id("stDataFrame").wait_for(timeout=60_000)
    assert sorted(legend(page)) == sorted(
        ["SGD", "Momentum", "Nesterov momentum", "Adam", "RMSprop"])
    assert page.get_by_test_id("stAlertContentError").count() == 0
    assert "surface=rosenbrock" in page.url
    assert step_shown(page).strip() == "step 1000"
    # a teacher's review: under the picture, Play and the step were below a projector's
    # 800 pixels; above it, they show on arrival
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(1000)  # Plotly follows the new width
    play = page.locator(f"{CHART} .updatemenu-button", has_text="Play").bounding_box()
    step = page.locator(f"{CHART} .slider-group").bounding_box()
    assert play["y"] + play["height"] <= 800 and step["y"] + step["height"] <= 800, (play, step)
    page.set_viewport_size(size)
    page.screenshot(path=str(shots / "60_paths_rosenbrock.png"), full_page=True)

    choose(page, "Loss surface", "Himmelblau")
    page.wait_for_url(re.compile("surface=himmelblau"))
    page.get_by_text("Himmelblau's function (1972)").wait_for()
    wait_until(lambda: x_range(page) == [-5, 5], "the himmelblau view")

    # a higher learning rate throws Nesterov out: the legend says so
    lr = sidebar(page).get_by_role("slider", name="Learning rate")
    lr.focus()
    t0 = time.time()
    for _ in range(4):  # 0.01 -> 0.012 -> 0.015 -> 0.02 -> 0.025
        page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"lr=0\.025"))
    wait_for_legend(page, r"^Nesterov momentum \(diverged at step \d+\)$")
    redraw = time.time() - t0
    print(f"four rate changes drawn in {redraw:.2f} s")
    assert page.get_by_text("lower the learning rate").count() >= 1

    # Play: the paths unfold step by step
    expect(page.locator(CHART)).to_have_count(1)  # the rerun's chart, not a stale one too
    page.locator(f"{CHART} .updatemenu-button", has_text="Play").click()
    t0 = time.time()
    while step_shown(page).strip() == "step 1000":
        assert time.time() - t0 < 10, "the animation did not start"
        time.sleep(0.02)
    time.sleep(1.5)
    mid = step_shown(page).strip()
    page.screenshot(path=str(shots / "61_paths_himmelblau_playing.png"), full_page=False)
    k = int(mid.split()[-1])
    assert 0 < k < 1000
    while step_shown(page).strip() != "step 1000":
        assert time.time() - t0 < 30, "the animation did not finish"
        time.sleep(0.1)
    page.get_by_test_id("stDataFrame").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "62_paths_himmelblau_done.png"), full_page=False)


def test_a_shared_link_opens_the_same_race(page, base_url, shots):
    page.goto(base_url + "/paths?surface=ravine&opt=sgd,momentum,adam&lr=0.035&steps=200"
              "&x0=-5&y0=1.5")
    page.locator(CHART).wait_for(timeout=90_000)
    wait_for_legend(page, "^Momentum$")
    assert sorted(legend(page)) == ["Adam", "Momentum", "SGD"]
    sb = sidebar(page)
    assert sb.get_by_role("combobox", name="Loss surface").input_value() == "Ravine"
    expect(sb.get_by_role("slider", name="Steps")).to_have_value("200")
    assert step_shown(page).strip() == "step 200"
    assert page.get_by_test_id("stAlertContentError").count() == 0
    page.screenshot(path=str(shots / "63_paths_ravine_link.png"), full_page=True)

    # to another page and back: the race comes back, and into the address bar
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Activations and losses").click()
    page.wait_for_url(re.compile("/explore"))
    nav.get_by_role("link", name="Optimizer paths").click()
    page.wait_for_url(re.compile("surface=ravine.*steps=200"))
    page.locator(CHART).wait_for()
    wait_until(lambda: sorted(legend(page)) == ["Adam", "Momentum", "SGD"], "the race again")
    assert step_shown(page).strip() == "step 200"


def zoom(page) -> list[float]:
    """Drag a box over the plot's upper right; returns the x range zoomed to."""
    box = page.locator(f"{CHART} .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.45, steps=8)
    page.mouse.up()
    return x_range(page)


@pytest.mark.xfail(strict=True, reason=(
    "Streamlit 1.67 derives a plotly chart's element id from its figure, so a new figure "
    "remounts the chart and the zoom is lost whatever layout.uirevision says "
    "(streamlit/streamlit#8882; the fix, PR #16052, gives keyed charts a stable id). "
    "When this passes, drop the mark: the page already keeps uirevision stable."))
def test_a_zoom_survives_a_new_learning_rate(page, base_url):
    page.goto(base_url + "/paths?surface=himmelblau")
    page.locator(CHART).wait_for(timeout=90_000)
    wait_until(lambda: x_range(page) == [-5, 5], "the himmelblau view")
    zoomed = zoom(page)
    assert zoomed[0] > 0 and zoomed[1] < 5
    lr = sidebar(page).get_by_role("slider", name="Learning rate")
    lr.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"lr=0\.012"))
    time.sleep(2)
    assert x_range(page) == pytest.approx(zoomed)
