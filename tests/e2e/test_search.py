"""End-to-end: the Hyperparameter search page in a real browser."""

from __future__ import annotations

import json
import re
import time
import urllib.parse

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time


def _open(page, base_url: str, query: dict[str, str]) -> None:
    page.goto(f"{base_url}/search?{urllib.parse.urlencode(query)}")
    page.get_by_role("button", name="Run to the end").wait_for(timeout=90_000)


def _shoot(page, path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the window."""
    page.set_viewport_size({"width": 1400, "height": 2700})
    page.wait_for_timeout(1500)  # the charts redraw at the new size
    page.screenshot(path=str(path), full_page=True)


def _run_to_the_end(page) -> float:
    """Click "Run to the end" and wait for the test split's reading; returns seconds."""
    t = time.perf_counter()
    page.get_by_role("button", name="Run to the end").click()
    page.get_by_text("The best configuration on the test split").wait_for(timeout=180_000)
    page.get_by_text("Test loss", exact=True).wait_for(timeout=30_000)
    return time.perf_counter() - t


def test_a_bayesian_search_from_a_link_runs_to_the_end(page, base_url, shots):
    _open(page, base_url, {"hp": "learning_rate", "method": "bayesian", "budget": "12",
                           "round": "4", "epochs": "100"})
    # the link set the controls
    expect(page.get_by_role("spinbutton", name="Budget")).to_have_value("12")  # retried:
    # the first run may still be redrawing the sidebar
    seconds = _run_to_the_end(page)
    print(f"bayesian, 12 configurations x 100 epochs in rounds of 4: {seconds:.1f} s")
    assert page.get_by_text(re.compile(r"12 of 12")).count() >= 1
    assert page.get_by_text("expected improvement").count() >= 1  # the GP picture's legend
    assert page.get_by_text("Best so far:").count() == 1
    href = page.get_by_role("link", name=re.compile("Open it on the Playground"))
    link = href.get_attribute("href") or ""
    assert link.startswith("./?s=")
    spec = json.loads(urllib.parse.unquote(link.removeprefix("./?s=")))
    assert spec["data"]["val_fraction"] == 0.2 and "learning_rate" in spec["optimizer"]
    # the setup survives in the URL
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["budget"] == ["12"] and query["epochs"] == ["100"]
    _shoot(page, shots / "70_search_bayesian.png")


def test_a_two_hyperparameter_grid_search_draws_a_map(page, base_url, shots):
    _open(page, base_url, {"hp": "learning_rate", "hp2": "momentum", "method": "grid",
                           "budget": "16", "round": "8", "epochs": "100"})
    seconds = _run_to_the_end(page)
    print(f"grid, 4 x 4 x 100 epochs in rounds of 8: {seconds:.1f} s")
    assert page.get_by_text(re.compile(r"a 4 x 4 grid")).count() >= 1
    _shoot(page, shots / "71_search_grid.png")


def test_stop_drops_the_round_in_progress_and_keeps_the_finished_ones(page, base_url, shots):
    """A long search (rounds of 64 configurations x 2,000 epochs, seconds each): Stop
    while a round trains ends it at the next progress report; the search keeps what
    finished and can go on."""
    _open(page, base_url, {"hp": "learning_rate", "method": "random", "budget": "256",
                           "round": "64", "epochs": "2000"})
    page.get_by_role("button", name="Run to the end").click()
    bar = page.get_by_test_id("stProgress")
    bar.wait_for(timeout=120_000)  # a round is training
    page.get_by_role("button", name="Stop the search").click()
    page.get_by_text("Stopped. The round in progress was dropped").wait_for(timeout=60_000)
    page.get_by_role("button", name="Run next round").wait_for(timeout=30_000)
    text = page.get_by_test_id("stMain").inner_text()
    done = int(re.search(r"(\d+) of 256\s+configurations tried", text).group(1))
    assert done < 256 and done % 64 == 0  # whole rounds only, not all of them
    assert page.get_by_text("The best configuration on the test split").count() == 0
    _shoot(page, shots / "72_search_stopped.png")
