"""AppTest of the Gradient flow page, and its frame builder."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import engine
from engine import Spec
from engine.presets import PRESETS, preset, topic_presets
from playground import flow
from playground.core import session as S
from playground.core import url
from tests.ui.apptest import messages, ok, opened, page_keys, run_page, widget

TIMEOUT = 120
GF = page_keys("gf", (S.SPEC, S.EXPERIMENT, S.TRAIN_STATE, S.HISTORY, S.PLAYING, S.TRACE))


def page(query: dict[str, str] | None = None) -> AppTest:
    return run_page("flow", query, TIMEOUT)


@pytest.fixture(scope="module")
def default() -> AppTest:
    return page()


def test_default_is_the_vanishing_sigmoid_lesson_in_its_own_session(default: AppTest) -> None:
    ok(default)
    assert default.session_state[GF[S.SPEC]] == flow.DEFAULT == preset("vanishing_sigmoid")
    # the Playground's session is untouched: each live page has its own
    assert S.SPEC not in default.session_state
    assert widget(default, "number_input", "Hidden layers").value == 10
    assert widget(default, "selectbox", "Activation").value == "sigmoid"
    labels = [b.label for b in default.button]
    assert {"Play", "Step", "Reset"} <= set(labels)
    assert any(e.label.startswith("Share and export") for e in default.expander)
    assert not default.get("download_button")  # built only once the expander is open
    assert [b.label for b in opened(page(), "gf_export").get("download_button")] == [
        "Spec (JSON)", "Weights (.npz)", "Python script"]


def test_step_records_a_frame_and_reset_clears_it() -> None:
    at = page()
    at.button(key="pg_step").click().run()
    ok(at)
    assert int(at.session_state[GF[S.TRAIN_STATE]].epoch) == 1
    trace = at.session_state[GF[S.TRACE]]
    assert trace["epoch"] == [0, 1]  # the first frame (epoch 0), then the step
    assert len(trace["grad"][-1]) == 11  # ten hidden layers and the output
    at.button(key="pg_reset").click().run()
    ok(at)
    assert int(at.session_state[GF[S.TRAIN_STATE]].epoch) == 0
    assert at.session_state[GF[S.TRACE]]["epoch"] == [0]


def test_depth_width_norm_and_residual_controls_build_the_stack() -> None:
    at = page()
    widget(at, "number_input", "Hidden layers").set_value(4)
    widget(at, "number_input", "Neurons per layer").set_value(16)
    widget(at, "selectbox", "Normalisation").set_value("batch_norm")
    widget(at, "toggle", "Residual connections").set_value(True)
    at.run()
    ok(at)
    layers = at.session_state[GF[S.SPEC]].model.layers
    assert len(layers) == 4
    opts = [layer.opts() for layer in layers]
    assert all(o["units"] == 16 and o["norm"] == "batch_norm" for o in opts)
    assert [o["residual"] for o in opts] == [False, True, True, True]
    assert "Inspect hidden layer" in [s.label for s in at.select_slider]


def test_thirty_layers_are_allowed() -> None:
    at = page()
    widget(at, "number_input", "Hidden layers").set_value(30)
    at.run()
    ok(at)
    assert len(at.session_state[GF[S.SPEC]].model.layers) == 30


def test_loading_a_gradient_preset() -> None:
    at = page()
    at.selectbox(key="pg_preset").set_value("sigmoid_residual")
    at.button(key="pg_load_preset").click().run()
    ok(at)
    assert at.session_state[GF[S.SPEC]] == preset("sigmoid_residual")
    assert widget(at, "toggle", "Residual connections").value is True
    # only the gradient lessons are offered here
    assert set(at.selectbox(key="pg_preset").options) == {
        PRESETS.get(n).title for n in topic_presets("gradients")}


def test_a_link_opens_its_setup_and_a_bad_link_keeps_the_default() -> None:
    spec = preset("exploding_normal_init")
    at = page({"s": url.spec_to_query(spec)})
    ok(at)
    assert at.session_state[GF[S.SPEC]] == spec
    bad = page({"s": '{"model": {"layers": [{"type": "dense", "units": -3}]}}'})
    assert not bad.exception
    assert bad.session_state[GF[S.SPEC]] == flow.DEFAULT
    assert any("units" in e.value for e in bad.error)


def test_an_impossible_residual_stack_from_a_link_is_refused_with_a_message() -> None:
    d = flow.DEFAULT.to_dict()
    d["model"]["layers"][0]["residual"] = True  # 2 input features -> 32 units
    at = page({"s": json.dumps(d)})
    assert not at.exception
    assert at.session_state[GF[S.SPEC]] == flow.DEFAULT
    assert any("residual" in m for m in messages(at))


def test_exploding_run_is_paused_with_a_lesson_not_a_crash() -> None:
    d = preset("healthy_he_relu").to_dict()
    d["model"]["init"], d["optimizer"]["learning_rate"] = "normal", 10.0
    at = page({"s": json.dumps(d)})
    for _ in range(5):
        at.button(key="pg_step").click().run()
        assert not at.exception
        if bool(at.session_state[GF[S.TRAIN_STATE]].monitor.diverged):
            break
    assert bool(at.session_state[GF[S.TRAIN_STATE]].monitor.diverged)
    assert any("diverged" in m for m in messages(at))


# -- the frame builder ------------------------------------------------------------------

def _frame(spec: Spec, frames: int = 3, selected: int = 0):
    exp = engine.build(spec)
    state = exp.init()
    trace = {"epoch": [], "grad": [], "act": [], "w": []}
    for _ in range(frames):
        state, chunk = exp.train(state, 1, flow.PROBES)
        params = [{k: np.asarray(v) for k, v in p.items()} for p in state.params]
        dense = [i for i, p in enumerate(params) if "w" in p]
        trace["epoch"].append(int(state.epoch))
        trace["grad"].append(flow._log10(chunk.probes.grad_norm[dense]))
        trace["act"].append(chunk.probes.layers.act_stats)
        trace["w"].append(chunk.probes.layers.weight_stats)
    hist = {k: [] for k in ("train_loss", "val_loss", "test_loss")}
    return exp, chunk.probes, flow.make_flow_frame(exp, params, chunk.probes, int(state.epoch),
                                                   hist, trace, selected)


def test_frame_reports_vanishing_gradients_for_the_deep_sigmoid() -> None:
    exp, _, frame = _frame(preset("vanishing_sigmoid"))
    json.dumps(frame)  # JSON-able: no NaN, no NumPy scalars
    assert frame["names"] == [f"L{k}" for k in range(1, 11)] + ["out"]
    assert frame["health"]["verdict"] == "vanishing"
    assert frame["health"]["ratio"] < 0.01
    assert frame["heat_frames"] == 3
    assert len(base64.b64decode(frame["heat"])) == 11 * 3  # (layers, frames) bytes
    sel = frame["selected"]
    assert sum(sel["hist"]) == exp.dataset.arrays.x_train.shape[0] * 32
    assert len(sel["act_time"]) == 3 and len(sel["act_time"][0]) == 5
    assert frame["act_range"] == [0.0, 1.0]  # the sigmoid's range


def test_frame_reports_healthy_gradients_with_residuals() -> None:
    _, _, frame = _frame(preset("sigmoid_residual"), frames=1, selected=9)
    assert frame["health"]["verdict"] == "healthy"
    assert frame["selected"]["name"] == "Layer 10"


def test_heatmap_maps_log_norms_onto_bytes() -> None:
    lo, hi = flow.HEAT_RANGE
    rows = [np.array([lo, hi, -np.inf]), np.array([(lo + hi) / 2, hi + 5, np.nan])]
    m = flow.heatmap(rows)
    assert m.shape == (3, 2)  # (layers, frames)
    assert m[0].tolist() == [1, 128] and m[1].tolist() == [255, 255]
    assert m[2].tolist() == [0, 0]  # no gradient at all: its own colour


def test_trace_keeps_only_the_latest_frames(monkeypatch) -> None:
    store: dict = {}
    monkeypatch.setattr(S.st, "session_state", store)  # the session's one owner
    monkeypatch.setattr(S, "key", lambda name: name)

    class P:
        grad_norm = np.ones(3)

        class layers:
            act_stats = np.zeros((2, 5))
            weight_stats = np.zeros((3, 5))

    for epoch in range(flow.TRACE_FRAMES + 10):
        flow.record(P, [0, 1, 2], epoch)
    flow.record(P, [0, 1, 2], flow.TRACE_FRAMES + 9)  # a redraw adds nothing
    trace = store[S.TRACE]
    assert len(trace["epoch"]) == flow.TRACE_FRAMES
    assert trace["epoch"][0] == 10 and trace["epoch"][-1] == flow.TRACE_FRAMES + 9


@pytest.mark.parametrize("name", ["reverse_lstm", "sentiment_gru"])
def test_a_sequence_link_is_refused_here_and_on_the_playground(name: str) -> None:
    spec = preset(name)
    at = page({"s": url.spec_to_query(spec)})
    assert not at.exception
    assert at.session_state[GF[S.SPEC]] == flow.DEFAULT
    assert any("Sequences and attention page" in m for m in messages(at))
    lab = run_page("lab", {"s": url.spec_to_query(spec)}, TIMEOUT)
    assert not lab.exception
    assert any("Sequences and attention page" in e.value for e in lab.error)


def test_the_setup_goes_back_into_a_url_that_lost_it() -> None:
    """Moving between pages drops the query; the page writes its setup back."""
    spec = preset("sigmoid_residual")
    at = page({"s": url.spec_to_query(spec)})
    at.query_params.clear()
    at.run()
    ok(at)
    assert at.session_state[GF[S.SPEC]] == spec
    assert url.spec_from_query(at.query_params["s"]) == spec


def test_the_share_link_is_plain_text_that_opens_the_same_setup(default: AppTest) -> None:
    """The link sits in a text box, not a code block (whose syntax highlighter the
    browser would fetch on every first visit), and opens this very setup."""
    from urllib.parse import parse_qs, urlsplit

    at = opened(page(), "gf_export")
    ok(at)
    assert not at.code
    box = widget(at, "text_input", "Link to this setup")
    query = parse_qs(urlsplit(box.value).query)
    shared = page({"s": query["s"][0]})
    ok(shared)
    assert shared.session_state[GF[S.SPEC]] == at.session_state[GF[S.SPEC]]
