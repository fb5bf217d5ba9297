"""AppTest of the Backprop, step by step page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from engine.teach.backprop import trace
from playground import backprop as bv

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "backprop.py")


def _run():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    return at


def test_shows_the_three_tables_for_the_first_example():
    at = _run()
    assert len(at.dataframe) == 3
    assert "Epoch 1, example 1 of 4" in at.markdown[0].value


def test_every_number_in_the_tables_shows_four_decimals():
    """The default format dropped trailing zeros: 0.4 beside 0.1704 (a teacher's review)."""
    for table in _run().dataframe:
        frame = table.value
        config = json.loads(table.proto.columns)
        numbers = [c for c in frame.columns if frame[c].dtype.kind == "f"]
        assert numbers
        for col in numbers:
            assert config[col]["type_config"]["format"] == "%.4f", col


def test_next_applies_the_update_back_undoes_it_and_four_steps_make_an_epoch():
    at = _run()
    w0, b0 = bv.initial()
    lr = at.select_slider(key="bp_lr").value
    expected = trace(w0, b0, bv.ACTS, bv.EXAMPLES[0], bv.TARGETS[0], lr)
    assert at.button(key="bp_back").disabled  # nothing to undo yet
    at.button(key="bp_next").click().run()
    assert not at.button(key="bp_back").disabled
    w, b, i, epoch = at.session_state[bv.HISTORY][-1]
    assert (i, epoch) == (1, 1)
    for got_w, got_b, layer in zip(w, b, expected.layers, strict=True):
        np.testing.assert_allclose(got_w, layer.W_new)
        np.testing.assert_allclose(got_b, layer.b_new)
    at.button(key="bp_back").click().run()
    w, _b, i, epoch = at.session_state[bv.HISTORY][-1]
    assert i == 0
    np.testing.assert_allclose(w[0], w0[0])
    for _ in range(4):
        at.button(key="bp_next").click().run()
    assert "Epoch 2, example 1 of 4" in at.markdown[0].value
    at.button(key="bp_reset").click().run()
    assert "Epoch 1, example 1 of 4" in at.markdown[0].value
