"""End-to-end: the Sequences and attention page in a real browser."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from engine.presets import preset
from playground.core import url

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time


def _open(page, base_url: str, name: str) -> None:
    query = urllib.parse.quote(url.spec_to_query(preset(name)))
    page.goto(f"{base_url}/sequences?s={query}")
    page.get_by_test_id("seq-view").wait_for(timeout=120_000)


def _counters(page) -> tuple[int, int]:
    frame = page.get_by_test_id("seq-view").get_attribute("data-frame")
    return int(frame or 0), int(page.get_by_test_id("epoch-counter").text_content() or 0)


def test_transformer_learns_reversal_with_live_attention_maps(page, base_url, shots):
    _open(page, base_url, "reverse_transformer")
    assert page.locator("canvas.sv-map").count() == 8  # 2 layers x 4 heads
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=60_000)
    time.sleep(1.0)
    f0, e0 = _counters(page)
    page.evaluate("() => { window.__label = document.querySelector('.sv-keys span'); }")
    deadline = time.time() + 60
    while time.time() < deadline:  # until the example is answered right
        time.sleep(1.0)
        if page.locator(".sv-tok td.sv-bad").count() == 0 and _counters(page)[1] > 10:
            break
    f1, e1 = _counters(page)
    assert f1 > f0 and e1 > e0
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    assert page.locator(".sv-tok td.sv-ok").count() == 6  # all six output digits right
    # each map names the steps: along its top (keys), and down the side of a row's first
    inputs = page.locator(".sv-tok tr").first.locator("td").all_inner_texts()
    keys = page.locator(".sv-keys").first.locator("span")
    assert keys.count() == 13 and [k.get_attribute("title") for k in keys.all()] == inputs
    assert keys.all_inner_texts() == [t[:1] for t in inputs]  # a character a 8.6 px cell
    assert page.locator(".sv-queries:not(.sv-spacer)").count() == 2  # one a layer
    # frames of the same example keep the labels (rebuilt each frame, no hover showed)
    assert page.evaluate("() => window.__label.isConnected")
    # on a projector's 1280 x 800 the first layer's maps show without scrolling, beside
    # the short example (they were below it, past the fold)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator("h1").first.scroll_into_view_if_needed()
    time.sleep(0.5)
    first = page.locator("canvas.sv-map").first.bounding_box()
    assert first["y"] + first["height"] <= 800
    # a layer's four heads share its row (they shrink before they wrap)
    tops = [page.locator("canvas.sv-map").nth(i).bounding_box()["y"] for i in range(4)]
    assert max(tops) - min(tops) < 12, tops
    page.screenshot(path=str(shots / "41_sequences_projector.png"), full_page=False)
    page.locator("canvas.sv-map").first.click()  # enlarge: a table of weights
    page.locator(".sv-bigmap td").first.wait_for(timeout=10_000)
    assert page.locator(".sv-bigmap td").count() == 13 * 13
    page.locator(".sv-root").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "40_sequences_transformer.png"), full_page=False)


def test_compare_mode_draws_four_models(page, base_url, shots):
    _open(page, base_url, "parity_gru")
    page.get_by_text("Compare a simple RNN").click()
    page.locator(".sv-legend").wait_for(timeout=120_000)
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(
        "() => document.querySelectorAll('.sv-model').length === 4 && "
        "document.querySelector('[data-testid=epoch-counter]').textContent === '1'",
        timeout=120_000)
    legend = page.locator(".sv-legend").inner_text()
    for name in ("rnn", "lstm", "gru", "transformer"):
        assert name in legend
    page.screenshot(path=str(shots / "41_sequences_compare.png"), full_page=True)


def test_an_enlarged_head_survives_fewer_heads(page, base_url, shots):
    """Enlarge head 4, then give that layer 2 heads: the view rebuilds, no script error."""
    _open(page, base_url, "reverse_transformer")
    page.locator("canvas.sv-map").nth(3).click()
    page.locator(".sv-bigmap td").first.wait_for(timeout=10_000)
    heads = page.get_by_label("Heads").first
    heads.fill("2")
    heads.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('canvas.sv-map').length === 6",
                           timeout=120_000)
    assert page.get_by_text("BidiComponent Error").count() == 0
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=step-counter]').textContent === '1'",
        timeout=60_000)
    assert page.locator(".sv-bigmap").count() == 0  # the enlarged head is gone with it
