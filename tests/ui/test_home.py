"""AppTest of the entry point and the home page: title, presets, device badge.

The entry point opens on the lab ("Playground"); the home page ("Presets and engine")
is reached through the app's navigation, and is also run on its own.
"""

from __future__ import annotations

from pathlib import Path

import jax
import pytest
from streamlit.testing.v1 import AppTest

from engine.presets import PRESETS

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    return at.run()


@pytest.fixture(scope="module")
def app_home() -> AppTest:
    """The entry point, switched to the home page through its navigation."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.switch_page("pages/home.py")
    return at.run()


@pytest.fixture(scope="module")
def home() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "home.py"), default_timeout=TIMEOUT)
    return at.run()


def test_app_runs_without_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def test_app_default_page_has_a_title(app: AppTest) -> None:
    assert len(app.title) == 1 and "Playground" in app.title[0].value


def test_sidebar_device_badge(app: AppTest) -> None:
    captions = [c.value for c in app.sidebar.caption]
    platform = jax.devices()[0].platform.upper()
    badges = [c for c in captions if "JAX" in c]
    assert badges, captions
    assert any("CPU" in c or platform in c for c in badges), badges


def test_app_home_shows_the_title(app_home: AppTest) -> None:
    assert not app_home.exception, [e.value for e in app_home.exception]
    assert [t.value for t in app_home.title] == ["NN Playground"]


def test_app_home_has_one_expander_per_preset(app_home: AppTest) -> None:
    assert len(app_home.expander) == len(PRESETS)
    for name, expander in zip(PRESETS.names(), app_home.expander, strict=True):
        assert name in expander.label
        assert PRESETS.get(name).title in expander.label


def test_preset_expanders_show_explanation_and_spec(app_home: AppTest) -> None:
    from playground.home import TOPIC_PAGES

    for name, expander in zip(PRESETS.names(), app_home.expander, strict=True):
        texts = [m.value for m in expander.markdown]
        assert PRESETS.get(name).explanation in texts
        opens = [b.label for b in expander.button]  # the preset on its own page
        assert opens == [f"Open it on {TOPIC_PAGES[PRESETS.get(name).topic][1]}"]
        assert any(f"python -m engine train {name}" in c.value for c in expander.caption)
        assert len(expander.json) == 1



def test_home_page_alone(home: AppTest) -> None:
    assert not home.exception, [e.value for e in home.exception]
    assert [t.value for t in home.title] == ["NN Playground"]
    assert len(home.expander) == len(PRESETS)
    assert any("python -m engine" in m.value for m in home.markdown)
