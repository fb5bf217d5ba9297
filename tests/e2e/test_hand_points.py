"""Points by hand in headless Chromium: clicks on the Playground's output plane add
points of the chosen class, shift-clicks remove them, the set travels in the link,
and an empty plane trains once it has enough points. Screenshots go to
``artifacts/screenshots/``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from benchmarks.live_fps import wait_live
from engine.data import decode_points

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

HAND = {"data": {"name": "hand", "classes": 2}}
TOL = 0.08  # plane units: a click lands on a whole pixel (about 0.035 of the plane)


def hand_points(page: Page) -> tuple[np.ndarray, np.ndarray] | None:
    """The hand set in the page's link (None while the link holds none)."""
    values = parse_qs(urlparse(page.url).query).get("s")
    text = json.loads(values[0]).get("data", {}).get("points") if values else None
    return None if text is None else decode_points(text, "classification")


def wait_for_count(page: Page, n: int, timeout: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pts = hand_points(page)
        if pts is not None and len(pts[0]) == n:
            return pts
        page.wait_for_timeout(250)
    raise AssertionError(f"the link never held {n} points (last: "
                         f"{None if pts is None else len(pts[0])})")


def click_plane(page: Page, u: float, v: float, shift: bool = False) -> None:
    """Click the output plane at (u, v) in [-1, 1] (v up)."""
    plane = page.get_by_test_id("hand-plane")
    box = None
    for _ in range(50):  # a rerun may be redrawing the view: wait until it stands
        plane.wait_for(state="visible")
        box = plane.bounding_box()
        if box:
            break
        page.wait_for_timeout(200)
    assert box, "the plane never stood still"
    x, y = (u + 1) / 2 * box["width"], (1 - v) / 2 * box["height"]
    plane.click(position={"x": x, "y": y}, modifiers=["Shift"] if shift else None)


def test_clicks_add_and_remove_points_and_the_link_carries_them(page: Page, base_url: str,
                                                                shots: Path) -> None:
    page.goto(f"{base_url}/?s={quote(json.dumps(HAND))}")
    wait_live(page)
    expect(page.get_by_test_id("hand-plane")).to_be_visible(timeout=90_000)
    # The starter set: 20 points; the link holds none until the first click.
    click_plane(page, 0.5, -0.5)  # a blue point (the default class), at (3, -3)
    x, y = wait_for_count(page, 21)
    assert np.any(np.all(np.abs(x - [3.0, -3.0]) < TOL, axis=1)), x
    assert y[np.argmin(np.hypot(*(x - [3.0, -3.0]).T))] == 1
    page.get_by_test_id("stSidebar").get_by_role("radio", name="orange").click()
    page.wait_for_timeout(1500)  # the rerun that takes the class
    click_plane(page, -0.5, 0.5)
    x, y = wait_for_count(page, 22)
    k = np.argmin(np.hypot(*(x - [-3.0, 3.0]).T))
    assert np.hypot(*(x[k] - [-3.0, 3.0])) < TOL and y[k] == 0
    page.screenshot(path=str(shots / "hand_points_added.png"))
    click_plane(page, -0.5, 0.5, shift=True)  # removes the point just placed
    x, _ = wait_for_count(page, 21)
    assert np.min(np.hypot(*(x - [-3.0, 3.0]).T)) > TOL
    # The link alone brings the same set back in a new session.
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    wait_live(page)
    x2, _ = wait_for_count(page, 21)
    assert np.array_equal(np.sort(x, 0), np.sort(x2, 0))


def test_an_empty_plane_trains_once_it_has_enough_points(page: Page, base_url: str,
                                                         shots: Path) -> None:
    page.goto(f"{base_url}/?s={quote(json.dumps(HAND))}")
    wait_live(page)
    side = page.get_by_test_id("stSidebar")
    side.get_by_role("button", name="Start", exact=True).click()  # "an empty plane" first
    expect(page.get_by_text("add at least")).to_be_visible(timeout=30_000)
    for k, (u, v) in enumerate([(0.6, 0.6), (0.7, 0.4), (-0.6, -0.6), (-0.4, -0.7)]):
        if k == 2:
            side.get_by_role("radio", name="orange").click()
            page.wait_for_timeout(1500)
        click_plane(page, u, v)
        page.wait_for_timeout(1200)
    page.screenshot(path=str(shots / "hand_points_empty_start.png"))
    _, y = wait_for_count(page, 4)
    assert sorted(y.tolist()) == [0, 0, 1, 1]
    expect(page.get_by_text("add at least")).to_have_count(0)
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(4000)
    page.screenshot(path=str(shots / "hand_points_trained.png"))
    epochs = int(page.get_by_test_id("epoch-counter").inner_text())
    assert epochs > 0


def test_quick_clicks_are_all_kept_while_the_server_is_busy(page: Page, base_url: str,
                                                            shots: Path) -> None:
    """Clicks half a second apart (a quick hand) all arrive where they were made: a new
    point count compiles nothing (the padded network counts its examples), and clicks
    made while the server is busy queue in the view."""
    page.goto(f"{base_url}/?s={quote(json.dumps(HAND))}")
    wait_live(page)
    spots = [(0.1 * k - 0.3, 0.5 - 0.1 * k) for k in range(6)]
    for u, v in spots:
        click_plane(page, u, v)
        page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "hand_points_quick_clicks.png"))
    x, _ = wait_for_count(page, 26, timeout=120)
    for u, v in spots:
        assert np.min(np.hypot(*(x - [6 * u, 6 * v]).T)) < TOL
