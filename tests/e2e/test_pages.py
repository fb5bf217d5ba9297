"""End-to-end: a page reached by a direct link on a freshly started server.

This module gets its own server, so the first request it ever sees is a sub-page
link, as when a teacher's link wakes a sleeping deployment.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time

# Every sidebar link the page ever shows, kept from before Streamlit's first message.
RECORD_NAV = """
window.__navSeen = new Set();
new MutationObserver(() => document.querySelectorAll('[data-testid="stSidebarNavLink"]')
  .forEach(a => window.__navSeen.add(a.innerText.trim().split('\\n').pop()))
).observe(document, {subtree: true, childList: true, characterData: true});
"""
FILE_NAMES = {"lab", "explore", "backprop", "flow", "home", "streamlit app"}
TITLES = ["Playground", "Activations and losses", "Backprop, step by step", "Gradient flow",
          "Sequences and attention", "Presets and engine"]


def test_a_direct_link_to_a_sub_page_on_a_cold_server_uses_the_app_navigation(page, base_url,
                                                                              shots):
    page.add_init_script(RECORD_NAV)
    page.goto(base_url + "/backprop")
    page.get_by_text("1. Forward pass").wait_for(timeout=90_000)
    page.get_by_text("Engine: JAX on").wait_for(timeout=30_000)  # the entry script ran
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    for title in TITLES:
        assert title in nav
    assert "lab" not in nav.split()  # no file names from Streamlit's legacy page list
    seen = set(page.evaluate("[...window.__navSeen]"))  # ... not even for a moment
    assert "Gradient flow" in seen and not seen & FILE_NAMES, seen
    page.get_by_role("button", name="Next example").click()
    page.get_by_text("example 2 of 4").wait_for(timeout=30_000)
    page.screenshot(path=str(shots / "20_backprop_direct.png"), full_page=True)
    page.get_by_role("link", name="Activations and losses").click()
    page.get_by_text("Largest slope").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Loss explorer").click()
    page.get_by_text("Confidently wrong").wait_for(timeout=30_000)
    page.screenshot(path=str(shots / "21_loss_explorer.png"), full_page=True)
