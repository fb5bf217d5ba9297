"""A link may carry any value the engine accepts, on every live page.

A number beyond a widget's range widens the widget (``controls.slider``,
``controls.number``): the page shows no error, the session's spec is the link's,
exactly, and the widget shows the value. A second run (any widget touched) sends the
widgets' values back: the spec must not move then either, or a value would change
without a word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from engine import Spec
from playground import flow, images, lab, race, sequences
from playground.core import address, url
from playground.core import session as S
from tests.ui.apptest import ok, page_keys, run_page, widget

TIMEOUT = 180
PAGES = {"lab": (lab.PAGE.prefix, lab.DEFAULT), "flow": (flow.PREFIX, flow.DEFAULT),
         "race": (race.PREFIX, race.PAGE.default), "sequences": (sequences.PREFIX,
                                                                   sequences.DEFAULT),
         "images": (images.PREFIX, images.DEFAULT)}


def dense(n: int, units: int, **extra: Any) -> list[dict]:
    return [{"type": "dense", "units": units, "activation": "tanh", **extra}] * n


# (page, a patch of the page's default, {(widget kind, label): the value it must show})
CASES = [
    ("lab", {"data": {"noise": 0.8}}, {("slider", "Noise"): 0.8}),
    ("lab", {"data": {"noise": 2.0, "train_fraction": 0.95, "n": 10_000},
             "batch_size": 5000, "optimizer": {"learning_rate": 7.0}},
     {("slider", "Noise"): 2.0, ("slider", "Training share"): 0.95,
      ("number_input", "Points"): 10_000, ("number_input", "Batch size"): 5000,
      ("select_slider", "Learning rate"): 7.0}),
    ("lab", {"model": {"layers": dense(12, 100)}},
     {("number_input", "Hidden layers"): 12, ("number_input", "Layer 1 neurons"): 100}),
    ("lab", {"model": {"layers": [*dense(1, 7), {"type": "dropout", "rate": 0.9}]}},
     {("slider", "Dropout"): 0.9}),
    ("lab", {"data": {"train_fraction": 0.3, "val_fraction": 0.6},
             "early_stopping": {"patience": 50_000},
             "optimizer": {"name": "momentum", "momentum": 0.995, "clip_norm": 5000.0,
                           "schedule": {"name": "exponential", "warmup_steps": 200_000,
                                        "decay_steps": 2_000_000, "decay_rate": 0.005}},
             "regularization": {"kind": "l2", "rate": 5.0}},
     {("slider", "Validation share"): 0.6, ("number_input", "Early-stopping patience"): 50_000,
      ("slider", "Momentum"): 0.995, ("number_input", "Clip gradient norm"): 5000.0,
      ("number_input", "Warm-up steps"): 200_000, ("number_input", "Decay steps"): 2_000_000,
      ("slider", "Decay rate"): 0.005, ("select_slider", "Regularisation rate"): 5.0}),
    ("flow", {"data": {"noise": 0.8}, "batch_size": 5000,
              "optimizer": {"learning_rate": 7.0}},
     {("slider", "Noise"): 0.8, ("number_input", "Batch size"): 5000,
      ("select_slider", "Learning rate"): 7.0}),
    ("flow", {"model": {"layers": dense(7, 100)}},
     {("number_input", "Hidden layers"): 7, ("number_input", "Neurons per layer"): 100}),
    ("flow", {"data": {"train_fraction": 0.3, "val_fraction": 0.6},
              "early_stopping": {"patience": 50_000},
              "optimizer": {"name": "momentum", "momentum": 0.995}},
     {("slider", "Validation share"): 0.6, ("number_input", "Early-stopping patience"): 50_000,
      ("slider", "Momentum"): 0.995}),
    ("race", {"data": {"noise": 2.0, "train_fraction": 0.95}, "batch_size": 5000,
              "model": {"layers": dense(7, 100)}},
     {("slider", "Noise"): 2.0, ("slider", "Training share"): 0.95,
      ("number_input", "Batch size"): 5000, ("number_input", "Hidden layers"): 7,
      ("number_input", "Layer 1 neurons"): 100}),
    ("race", {"data": {"train_fraction": 0.3, "val_fraction": 0.6},
              "optimizer": {"momentum": 0.995}, "regularization": {"kind": "l1", "rate": 5.0}},
     {("slider", "Validation share"): 0.6, ("slider", "Momentum (Momentum, Nesterov)"): 0.995,
      ("select_slider", "Regularisation rate"): 5.0}),
    # (the Length slider spans the lengths the task accepts: nothing to widen)
    ("sequences", {"data": {"noise": 0.8, "n": 20_000}, "batch_size": 5000,
                   "optimizer": {"learning_rate": 7.0}},
     {("slider", "Noise"): 0.8, ("number_input", "Sequences"): 20_000,
      ("number_input", "Batch size"): 5000, ("select_slider", "Learning rate"): 7.0}),
    # (no widget for the splits here: the link's stay, the spec comparison checks them)
    ("sequences", {"data": {"train_fraction": 0.3, "val_fraction": 0.6},
                   "early_stopping": {"patience": 50_000}},
     {("number_input", "Early-stopping patience"): 50_000}),
    ("images", {"data": {"noise": 0.8, "train_fraction": 0.3, "val_fraction": 0.6},
                "batch_size": 5000, "optimizer": {"learning_rate": 7.0},
                "early_stopping": {"patience": 50_000}},
     {("slider", "Noise"): 0.8, ("slider", "Training share"): 0.3,
      ("slider", "Validation share"): 0.6, ("number_input", "Batch size"): 5000,
      ("select_slider", "Learning rate"): 7.0,
      ("number_input", "Early-stopping patience"): 50_000}),
]


def _case_id(case: tuple) -> str:
    name, patch, _ = case
    return f"{name}-{url.spec_to_query(Spec.from_dict(patch))[:60]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_a_links_values_beyond_the_widgets_ranges_are_shown_and_kept(case: tuple) -> None:
    name, patch, shows = case
    prefix, default = PAGES[name]
    want = Spec.from_dict(url.merge(default.to_dict(), patch))
    spec_key = page_keys(prefix, (S.SPEC,))[S.SPEC]
    at = run_page(name, {"s": url.spec_to_query(want)}, TIMEOUT)
    for run in ("first run", "second run"):
        ok(at)
        assert at.session_state[spec_key] == want, (
            run, url.diff(at.session_state[spec_key].to_dict(), want.to_dict()))
        for (kind, label), value in shows.items():
            assert widget(at, kind, label).value == value, (run, label)
        at.run()  # the widgets send their values back, as after any click


def test_a_race_link_may_carry_any_learning_rate_the_engine_accepts() -> None:
    at = run_page("race", {"race": "sgd:50,adam:100"}, TIMEOUT)
    ok(at)
    key = page_keys(race.PREFIX, (race.CONTESTANTS,))[race.CONTESTANTS]
    assert at.session_state[key] == (("sgd", 50.0), ("adam", 100.0))
    assert widget(at, "select_slider", "SGD learning rate").value == 50.0
    assert widget(at, "select_slider", "Adam learning rate").value == 100.0
    assert at.query_params["race"] == "sgd:50,adam:100"


def test_every_live_page_is_covered() -> None:
    assert {name for name, _, _ in CASES} == set(PAGES)


# -- another page's link, reached by Back or Forward ---------------------------------------
#
# AppTest has no browser history: ``session.history_navigation`` is made to say "Back"
# for one run, and moving between pages drops the parameters, as Streamlit does.

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
THREE = url.spec_to_query(Spec.from_dict({"model": {"layers": dense(3, 5)}}))


def _move(at, page: str, query: dict[str, str] | None = None):
    """To ``pages/{page}.py`` with ``query`` as the address (none: a sidebar link)."""
    for k in list(at.query_params):
        del at.query_params[k]
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.switch_page(f"pages/{page}.py").run()


def test_back_to_another_pages_setup_keeps_this_pages_own(monkeypatch) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["s"], at.query_params["hide"] = THREE, "output"
    at.run()
    ok(at)
    flow_s = url.spec_to_query(flow.DEFAULT)
    _move(at, "flow")
    ok(at)
    assert at.session_state["gf_spec"] == flow.DEFAULT and at.query_params["s"] == flow_s
    # back on the Playground by the sidebar: its own address comes back, hidden controls too
    _move(at, "lab")
    ok(at)
    assert dict(at.query_params) == {"s": THREE, "hide": "output"}
    # Back to an entry where Streamlit put the Playground's address under the flow's path
    monkeypatch.setattr(address, "history_navigation", lambda: True)
    _move(at, "flow", {"s": THREE, "hide": "output"})
    ok(at)
    assert at.session_state["gf_spec"] == flow.DEFAULT  # not the Playground's setup
    assert dict(at.query_params) == {"s": flow_s}  # and the flow's own address
    # ... and the reverse: the flow's setup under the Playground's path
    _move(at, "lab", {"s": flow_s})
    ok(at)
    assert len(at.session_state["pg_spec"].model.layers) == 3
    assert dict(at.query_params) == {"s": THREE, "hide": "output"}
    # A link, not Back: the flow opens a points setup it is given
    monkeypatch.setattr(address, "history_navigation", lambda: False)
    _move(at, "flow", {"s": THREE})
    ok(at)
    assert len(at.session_state["gf_spec"].model.layers) == 3
