"""End-to-end: moving between pages, and Back and Forward, in headless Chromium.

Each live page keeps its own setup (``session.use_page``), and its address holds it
(``s``; the race adds ``race``). What Streamlit 1.67 does to the address, as seen here
(history.pushState and replaceState logged in the browser):

- a sidebar link drops every parameter and pushes the bare path of the new page;
- each write to ``st.query_params`` pushes a history entry (during a Back or Forward
  run it replaces the entry instead);
- the new page's first write can land before Streamlit has changed the path, so the
  history gets an entry with the new page's ``s`` under the old page's path (every
  return to a page already visited did so here). Before ``session._foreign`` refused
  them, Back to such an entry opened the other page's setup on this page.

So moving to a page leaves one entry that shows the same page again (a bare or a
mixed one), and Back may need two presses to leave a page. This test walks such a
history and checks at every stop that the page shows its own setup: the sidebar's
"Hidden layers" box and the address bar's ``s`` (the three pages' setups have different
depths, so another page's setup cannot pass for this one's). Screenshots go to
``artifacts/screenshots/80_nav_*.png``.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, quote, urlparse

import pytest
from playwright.sync_api import Page, expect

from engine.sweep_presets import RACES
from playground import race, race_link
from playground.core import url

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time

VIEWS = {"Playground": "live-view", "Gradient flow": "flow-view", "Optimizer race": "race-view"}
LINK = {"model": {"layers": [{"type": "dense", "units": 5, "activation": "tanh"}] * 3}}
RACE = race_link.contestants_to_query(RACES.get(race.DEFAULT_RACE).contestants)


class Journey:
    """The browser tab, the setups (hidden layers) each page has had, and the stops."""

    def __init__(self, page: Page, shots) -> None:
        self.page, self.shots = page, shots
        self.own = {"Playground": [3], "Gradient flow": [10], "Optimizer race": [2]}
        self.seen: list[tuple[str, int]] = []

    def sidebar(self):
        return self.page.get_by_test_id("stSidebar")

    def layers_box(self):
        return self.sidebar().get_by_label("Hidden layers", exact=True)

    def title(self) -> str:
        return self.page.locator("h1").first.inner_text()

    def address(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlparse(self.page.url).query).items()}

    def settle(self) -> None:
        """Wait until the run is over and the page's view is drawn."""
        for _ in range(2):
            expect(self.page.get_by_test_id("stStatusWidget")).to_have_count(
                0, timeout=120_000)
            time.sleep(1.0)
        view = VIEWS.get(self.title())
        assert view, f"an unexpected page: {self.title()!r}"
        self.page.get_by_test_id(view).wait_for(timeout=120_000)

    def stop(self, what: str, title: str | None = None, depth: int | None = None
             ) -> tuple[str, int]:
        """Check the page shows one of its own setups (``title`` and ``depth``: this
        one), in its widget and in the address bar; screenshot it."""
        self.settle()
        shown_title = self.title()
        if title:
            assert shown_title == title, f"{what}: {shown_title!r}, not {title!r}"
        if depth is not None:
            expect(self.layers_box()).to_have_value(str(depth), timeout=30_000)
        value = int(self.layers_box().input_value())
        assert value in self.own[shown_title], (
            f"{what}: {shown_title} shows {value} hidden layers, not one of its own setups "
            f"{self.own[shown_title]} (the others': {self.own})")
        deadline = time.time() + 30  # the address follows within the run (a replace)
        while True:
            q = self.address()
            in_link = len(url.spec_from_query(q["s"]).model.layers) if "s" in q else None
            if in_link == value and (shown_title != "Optimizer race" or q.get("race") == RACE):
                break
            assert time.time() < deadline, (
                f"{what}: {shown_title} shows {value} hidden layers but its address has "
                f"{in_link} ({self.page.url})")
            time.sleep(0.3)
        self.seen.append((shown_title, value))
        if not self.layers_box().is_visible():  # the race's "Hidden layers" is folded
            self.sidebar().get_by_test_id("stExpander").filter(
                has_text="Hidden layers").locator("summary").first.click()
        self.layers_box().scroll_into_view_if_needed()
        self.page.screenshot(path=str(self.shots / f"80_nav_{len(self.seen):02d}_{what}.png"))
        return shown_title, value

    def set_layers(self, n: int) -> None:
        self.own[self.title()].append(n)
        box = self.layers_box()
        box.fill(str(n))
        box.press("Enter")
        time.sleep(1.0)

    def nav(self, title: str) -> None:
        self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
        time.sleep(1.0)

    def go(self, direction: str, what: str, title: str, depth: int | None = None,
           presses: int = 4) -> None:
        """Back (or Forward) until ``title`` shows (with ``depth`` hidden layers), checking
        every stop: Streamlit leaves an entry of the same page on each move."""
        for i in range(presses):
            getattr(self.page, f"go_{direction}")()
            time.sleep(1.0)
            shown = self.stop(f"{what}_{i + 1}")
            if shown[0] == title and depth in (None, shown[1]):
                return
        pytest.fail(f"{presses} presses of {direction} did not reach {title} ({depth})")


def test_back_forward_and_moving_between_pages_keep_each_pages_setup(page: Page, base_url: str,
                                                                     shots) -> None:
    j = Journey(page, shots)
    page.goto(f"{base_url}/?s={quote(json.dumps(LINK, separators=(',', ':')))}")
    j.stop("playground_link", "Playground", 3)
    j.set_layers(4)
    j.stop("playground_changed", "Playground", 4)
    j.nav("Gradient flow")
    j.stop("flow", "Gradient flow", 10)
    j.set_layers(6)
    j.stop("flow_changed", "Gradient flow", 6)
    j.nav("Optimizer race")
    j.stop("race", "Optimizer race", 2)

    # Back, Back: to the flow, and within it to its setup before (10); Forward, Forward:
    # the flow at 6 again, then the race.
    j.go("back", "back", "Gradient flow")
    j.go("back", "back_within_flow", "Gradient flow", 10)
    j.go("forward", "forward_within_flow", "Gradient flow", 6)
    j.go("forward", "forward", "Optimizer race")

    # Another order, by the sidebar: each page comes back with its own latest setup.
    j.nav("Playground")
    j.stop("to_playground", "Playground", 4)
    j.nav("Gradient flow")
    j.stop("to_flow", "Gradient flow", 6)
    j.nav("Optimizer race")
    j.stop("to_race", "Optimizer race", 2)
    j.nav("Playground")
    j.stop("to_playground_again", "Playground", 4)

    # Back and Forward through those moves: every entry on the way (bare, or one that
    # Streamlit wrote under the wrong path) shows the page's own setup.
    j.go("back", "back_to_race", "Optimizer race")
    j.go("back", "back_to_flow", "Gradient flow", 6)
    j.go("forward", "forward_to_race", "Optimizer race")
    j.go("forward", "forward_to_playground", "Playground", 4)

    # A history entry with another page's setup under this page's path, made here on
    # purpose (the moves above make one on most returns, by timing): Forward to it keeps
    # the flow's own setup and puts the flow's own address back.
    playground_s = j.address()["s"]
    page.evaluate("s => history.pushState({}, '', '/flow?s=' + encodeURIComponent(s))",
                  playground_s)
    j.go("back", "before_mixed_entry", "Playground", 4, presses=1)
    j.go("forward", "mixed_entry", "Gradient flow", 6, presses=1)
    assert j.address()["s"] != playground_s

    assert {t for t, _ in j.seen} == set(VIEWS)
    assert page.get_by_test_id("stAlertContentError").count() == 0


def test_a_links_values_beyond_the_widgets_ranges_survive_reruns_and_moves(
        page: Page, base_url: str, shots) -> None:
    """Noise 0.8 (the slider stops at 0.5), a 95% training share, batches of 5000 and a
    learning rate of 7, with the network section hidden: the widgets widen to show
    them, and neither a rerun nor a trip to another page changes one of them."""
    link = {"data": {"noise": 0.8, "train_fraction": 0.95, "n": 10_000},
            "batch_size": 5000, "optimizer": {"learning_rate": 7.0}}
    s = url.spec_to_query(url.spec_from_query(json.dumps(link)))
    page.goto(f"{base_url}/?s={quote(s)}&hide=network")
    j = Journey(page, shots)
    sb = j.sidebar()

    def check(what: str) -> None:
        j.settle()
        assert j.title() == "Playground"
        assert j.address() == {"s": s, "hide": "network"}, what
        expect(sb.get_by_role("slider", name="Noise")).to_have_value("0.8")
        expect(sb.get_by_role("slider", name="Training share")).to_have_value("0.95")
        expect(sb.get_by_label("Batch size", exact=True)).to_have_value("5000")
        expect(sb.get_by_label("Points", exact=True)).to_have_value("10000")
        expect(sb.get_by_label("Hidden layers", exact=True)).to_have_count(0)  # hidden
        assert page.get_by_test_id("stAlertContentError").count() == 0
        sb.get_by_role("slider", name="Noise").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"81_link_values_{what}.png"))

    check("opened")
    page.get_by_text("Show test data").click()  # a rerun: every widget sends its value
    check("rerun")
    j.nav("Gradient flow")
    j.settle()
    j.nav("Playground")
    check("back_by_the_sidebar")


def test_a_preset_opens_from_the_presets_page_even_where_its_page_showed_it(
        page: Page, base_url: str, shots) -> None:
    """The Playground showed the TF preset, then its depth changed: the Presets page's
    button opens the preset there again (a link would carry an address the page wrote
    before, which the page takes for the browser's echo and ignores)."""
    from engine.presets import preset

    j = Journey(page, shots)
    page.goto(f"{base_url}/")
    j.settle()
    j.set_layers(4)
    expect(j.layers_box()).to_have_value("4")
    j.nav("Presets and engine")
    page.get_by_text("TensorFlow Playground's default").first.click()
    page.get_by_text("Open it on the Playground").first.click()
    j.settle()
    assert j.title() == "Playground"
    expect(j.layers_box()).to_have_value("2", timeout=30_000)
    assert url.spec_from_query(j.address()["s"]) == preset("tf_playground")
    page.screenshot(path=str(shots / "81_preset_from_home.png"))
