"""AppTest of the Activations and losses page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import ACTIVATIONS, LOSSES


@pytest.fixture(scope="module")
def app():
    page = Path(__file__).resolve().parents[2] / "pages" / "explore.py"
    at = AppTest.from_file(str(page), default_timeout=60).run()
    assert not at.exception
    return at


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def test_sigmoid_is_shown_first_with_its_facts(app):
    m = _metrics(app)
    assert m["Output range"] == "(0, 1)"  # tends to 0 and 1, never reaches them
    assert m["Largest slope"] == "0.25"
    assert len(app.get("plotly_chart")) >= 2


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_renders(app, name):
    app.selectbox(key="ex_act").select(name).run()
    assert not app.exception
    assert _metrics(app)["Output range"][0] in "[("


def test_relu_has_slope_one_and_a_dead_half(app):
    app.selectbox(key="ex_act").select("relu").run()
    m = _metrics(app)
    assert m["Largest slope"] == "1"
    assert m["Saturated share of this range"] == "50%"


def test_output_ranges_close_only_the_ends_a_function_reaches():
    from playground.explore import output_range

    assert [output_range(n) for n in ("sigmoid", "tanh", "relu", "softplus", "gelu")] == [
        "(0, 1)", "(-1, 1)", "[0, ∞)", "(0, ∞)", "[-0.17, ∞)"]


def test_loss_explorer_tells_the_cross_entropy_lesson(app):
    assert any("times smaller" in i.value for i in app.info)
    app.selectbox(key="ex_loss_classification").select("half_mse").run()
    box = next(i.value for i in app.info if "Confidently wrong" in i.value)
    assert "with half_mse" in box and "405 times smaller" in box  # the loss chosen
    for name in LOSSES.names():
        if "classification" in LOSSES.get(name).tasks:
            app.selectbox(key="ex_loss_classification").select(name).run()
            assert not app.exception, name
