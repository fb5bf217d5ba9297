"""Fixtures for the end-to-end tests: one app server per module, a fresh page per test.

The server and the browser come from ``benchmarks/live_fps.py`` (Debian Chromium at
/usr/bin/chromium; Playwright cannot download browsers here). Screenshots go to
``artifacts/screenshots/`` under the repository root (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.live_fps import ROOT, app_server, launch

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORT = {"width": 1400, "height": 950}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The app, served once for the whole module."""
    with app_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, base_url: str) -> Iterator:
    """A fresh browser context and page (a new Streamlit session) for each test."""
    from playwright.sync_api import expect

    # The server shares two cores with the browser: give reruns time.
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where screenshots go (created if missing)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
