"""End-to-end: the Optimizer race in a real browser."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time

EIGHT = ("sgd:0.03,momentum:0.03,nesterov:0.03,adagrad:0.03,rmsprop:0.003,adam:0.003,"
         "adamw:0.003,sgd:0.3")


def _frame(page) -> int:
    return int(page.get_by_test_id("race-view").get_attribute("data-frame") or 0)


def test_eight_contestants_race_live_and_rank(page, base_url, shots):
    page.goto(f"{base_url}/race?race={EIGHT}")
    page.get_by_test_id("race-view").wait_for(timeout=90_000)
    assert page.get_by_test_id("race-tile").count() == 8
    tiles = page.get_by_test_id("race-tile").all_inner_texts()
    assert all("not trained yet" in t for t in tiles) and "n/a" not in " ".join(tiles)
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=60_000)
    time.sleep(1.0)
    f0, e0 = _frame(page), int(page.get_by_test_id("epoch-counter").text_content())
    time.sleep(3.0)
    f1, e1 = _frame(page), int(page.get_by_test_id("epoch-counter").text_content())
    assert f1 > f0 + 10 and e1 > e0  # frames drawn, epochs trained, all eight at once
    assert "loss " in page.get_by_test_id("race-tile").first.inner_text()
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    rows = page.get_by_test_id("race-row")
    assert rows.count() == 8
    names = [rows.nth(i).inner_text() for i in range(8)]
    assert all(any(n in r for r in names) for n in ("Adam 0.003", "SGD 0.3", "Adagrad 0.03"))
    # this network's data has no validation split: no column of "n/a" for it
    header = page.get_by_test_id("race-leaderboard").locator("th").all_inner_texts()
    assert "Train loss" in header and "Val. loss" not in header
    # classes: each contestant's test accuracy too (a teacher read 1e-12 against 8e-5 as
    # a gap, where both were 100%)
    assert "Test accuracy" in header
    assert all(re.search(r"\d+\.\d%", r) for r in names), names
    page.screenshot(path=str(shots / "50_race_eight.png"), full_page=False)


def test_learning_rates_race_shows_the_lesson_and_a_landscape(page, base_url, shots):
    page.goto(f"{base_url}/race?race=sgd:0.0003,sgd:0.03,sgd:3")
    page.get_by_test_id("race-view").wait_for(timeout=90_000)
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=60_000)
    time.sleep(5.0)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    first = page.get_by_test_id("race-row").first.inner_text()
    assert "SGD 0.03" in first  # the right rate leads
    page.get_by_test_id("race-leaderboard").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "51_race_learning_rates.png"), full_page=False)
    page.get_by_role("button", name="Draw").click()
    page.get_by_text("Training loss around").wait_for(timeout=60_000)
    page.get_by_text("Training loss around").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "52_race_landscape.png"), full_page=False)
