"""Hostile links and uploads on every live page (AppTest), and the frames they make.

Each case is an attack that worked before: a traceback, a file of the server shown in
a message, Markdown from a link rendered as a link or an image, a value the engine
accepts that a widget refused, a network that took the server's memory or cores, a
frame the browser could not parse. The rule for all of them: one clear message, no
traceback, nothing leaked, and the last good setup kept.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import ProbeOptions, Spec
from engine.presets import PRESETS, preset
from playground import flow, images, lab_frame, sequence_frame, sequences
from playground import lab as lab_page
from playground.core import limits, url
from playground.core import session as S
from playground.core.encode import finite, plain
from tests.ui.apptest import messages, page_keys, run_page, shown

TIMEOUT = 180
SECRET = "nnp-secret-7f3a"  # put in the environment: no message may show it
os.environ["NNP_TEST_SECRET"] = SECRET

PAGES = {"lab": ("pg", lab_page.DEFAULT), "flow": ("gf", flow.DEFAULT),
         "sequences": ("sq", sequences.DEFAULT)}


def spec_key(name: str) -> str:
    return page_keys(PAGES[name][0], (S.SPEC,))[S.SPEC]


def _dense(units: int, activation: str = "relu") -> dict:
    return {"type": "dense", "units": units, "activation": activation}


HOSTILE_LINKS = {
    "deep nesting": "[" * 7000,
    "400 digits": '{"batch_size": ' + "9" * 400 + "}",
    "5000 digits": '{"seed": ' + "9" * 5000 + "}",
    "server file": json.dumps({"data": {"name": "csv", "path": "/proc/self/environ"}}),
    "markdown link": json.dumps({"[Session expired - log in again](https://evil.example)": 1}),
    "markdown image": json.dumps({"data": {"![x](http://host/track.png)": 1}}),
    "not json": "{\"data\": ",
    # 8.4 million weights (the limit: 4 million); 32 layers of 256 at batch 1 open on
    # Gradient flow and train in short calls (tests/e2e/test_hostile.py: Pause stops them).
    "huge network": json.dumps({"data": {"name": "circle", "n": 10_000},
                                "model": {"layers": [_dense(512)] * 32}, "batch_size": 1}),
    "huge sequences": json.dumps({"data": {"name": "adding", "n": 10_000, "length": 200},
                                  "model": {"layers": [_dense(512), _dense(512),
                                                       {"type": "pool"}]},
                                  "batch_size": 1000}),
}

# The huge links that fit their page (the others are refused as meant for another page).
TOO_BIG = {("lab", "huge network"), ("flow", "huge network"), ("sequences", "huge sequences")}

# Markdown that must not be live in a message: links, images, HTML, directives, maths.
LIVE_MARKDOWN = re.compile(r"(?<!\\)[\[\]()!<>:$`*_]")


def _one_plain_error(at) -> str:
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    raw = at.error[0].value
    assert not LIVE_MARKDOWN.search(raw), raw  # every markup character is escaped
    text = shown(raw)
    assert SECRET not in text and "PATH=" not in text
    assert len(text) < 600
    return text


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("case", HOSTILE_LINKS)
def test_a_hostile_link_gets_one_plain_message_and_the_default(name, case) -> None:
    at = run_page(name, {"s": HOSTILE_LINKS[case]}, TIMEOUT)
    text = _one_plain_error(at)
    assert at.session_state[spec_key(name)] == PAGES[name][1]
    if case == "server file":
        assert "data.path" in text
    if (name, case) in TOO_BIG:
        assert "too big for one session" in text, text


def test_a_hostile_link_in_a_running_session_keeps_the_setup_built() -> None:
    good = preset("xor_backprop")
    at = run_page("lab", {"s": url.spec_to_query(good)}, TIMEOUT)
    assert at.session_state[S.SPEC] == good and not at.error
    at.query_params["s"] = HOSTILE_LINKS["huge network"]
    at.run()
    _one_plain_error(at)
    assert at.session_state[S.SPEC] == good


# --- any value the engine accepts opens ---------------------------------------------------

POINT_EXTREMES = {
    "batch 2000": {"batch_size": 2000},
    "batch 10000": {"batch_size": 10_000},
    "noise 5": {"data": {"noise": 5.0}},
    "train share 0.01": {"data": {"n": 2000, "train_fraction": 0.01}},
    "validation 0.9": {"data": {"train_fraction": 0.05, "val_fraction": 0.9}},
    "points 4": {"data": {"n": 4}},
    "points 10000": {"data": {"n": 10_000}},
    "dropout 0.95": {"model": {"layers": [_dense(8, "tanh"), {"type": "dropout",
                                                              "rate": 0.95}]}},
    "momentum 0.999": {"optimizer": {"name": "momentum", "momentum": 0.999}},
    "schedule extremes": {"optimizer": {"schedule": {
        "name": "step", "warmup_steps": 10_000_000, "decay_steps": 10_000_000,
        "decay_rate": 0.001}}},
    "clip 1e6": {"optimizer": {"clip_norm": 1e6}},
    "patience 100000": {"data": {"val_fraction": 0.2},
                        "early_stopping": {"patience": 100_000}},
    "width 1": {"model": {"layers": [_dense(1, "tanh")] * 3}},
}


def _merge(patch: dict) -> Spec:
    return Spec.from_dict(url.merge(Spec().to_dict(), patch))


@pytest.mark.parametrize("name", ["lab", "flow"])
@pytest.mark.parametrize("case", POINT_EXTREMES)
def test_every_value_the_engine_accepts_opens_as_it_is(name, case) -> None:
    spec = _merge(POINT_EXTREMES[case])
    at = run_page(name, {"s": url.spec_to_query(spec)}, TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    assert messages(at) == []
    assert at.session_state[spec_key(name)] == spec  # nothing silently changed


@pytest.mark.parametrize("patch", [
    {"batch_size": 10_000, "data": {"n": 200}},
    {"data": {"n": 4, "noise": 5.0, "length": 0}},
    {"model": {"layers": []}},
])
def test_every_sequence_value_the_engine_accepts_opens(patch) -> None:
    spec = Spec.from_dict(url.merge(preset("sine_rnn").to_dict(), patch))
    engine.build(spec)  # the engine accepts it ...
    at = run_page("sequences", {"s": url.spec_to_query(spec)}, TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    assert messages(at) == []  # ... so the page opens it, as it is
    assert at.session_state[spec_key("sequences")] == spec


# --- uploads -------------------------------------------------------------------------------

def _upload(at, name: str, data: bytes):
    at.file_uploader(key="pg_csv").set_value((name, data, "text/csv"))
    return at.run()


def _table(header: str, rows: int, label) -> bytes:
    lines = [header] + [f"{i % 7 - 3},{(i * 3) % 5 - 2},{(i * 5) % 11 - 5},{label(i)}"
                        for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_an_upload_with_script_in_its_labels_trains_and_keeps_them_as_text() -> None:
    at = run_page("lab", None, TIMEOUT)
    evil = "<img src=x onerror=alert(document.domain)>"
    at = _upload(at, "[click](http://evil.example).csv",
                 _table("a,b,c,label", 60, lambda i: evil if i % 3 == 0 else "ok"))
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, messages(at)
    success = at.success[0].value
    assert not LIVE_MARKDOWN.search(success)
    assert "[click](http://evil.example).csv" in shown(success)
    exp = at.session_state[S.EXPERIMENT]
    assert evil in exp.dataset.class_names
    assert exp.dataset.input_dim == 3  # three feature columns: the page draws a plane
    labels = [w.label for w in at.selectbox]
    assert "Across (\u2192)" in labels and "Up (\u2191)" in labels
    # the frame carries the class names as data (the view sets them with textContent)
    state = at.session_state[S.TRAIN_STATE]
    probes = exp.probe(state, ProbeOptions(resolution=20, neuron_resolution=8, plane=(2, 0)))
    frame = lab_frame.make_frame(exp, [dict(p) for p in state.params], probes, 0, {}, {
        "train_loss": []}, lab_frame.View(plane=(2, 0)), confusion_counts=exp.confusion_matrix(
            state))
    assert lab_frame.short(evil) in frame["confusion"]["names"]  # as text, cut to 40 characters
    assert not any("html" in k for k in frame)  # no field carries markup
    assert frame["grid"] and frame["res"] == 20


@pytest.mark.parametrize("name, data, fragment", [
    ("big.csv", b"a,b\n" + b"1,2\n" * 600_000, "at most"),
    ("binary.csv", b"\x00\xff\xfe" * 100, "not a UTF-8 text file"),
    ("wide.csv", (",".join(f"c{i}" for i in range(60_000)) + "\n1,2\n").encode(),
     "feature columns"),
])
def test_a_bad_upload_gets_one_message_and_keeps_the_setup(name, data, fragment) -> None:
    at = run_page("lab", None, TIMEOUT)
    before = at.session_state[S.SPEC]
    at = _upload(at, name, data)
    text = _one_plain_error(at)
    assert fragment in text
    assert text.endswith("The last working setup is kept.")  # every upload error alike
    assert ".." not in text
    assert at.session_state[S.SPEC] == before


# --- frames stay parseable -------------------------------------------------------------------

def test_finite_turns_every_bad_number_into_json() -> None:
    frame = {"a": [np.float32(np.nan), np.inf, -np.inf, 1e300, np.float64(-1e38)],
             "b": {"c": np.array([1.0, np.nan])}, "d": (np.int64(3), np.bool_(True)), "e": "x"}
    out = finite(frame)
    assert json.loads(json.dumps(out, allow_nan=False)) == {
        "a": [None, None, None, 1e300, -1e38], "b": {"c": [1.0, None]}, "d": [3, True],
        "e": "x"}


def test_plain_escapes_every_markup_character() -> None:
    text = "[a](http://x) ![i](http://y) <b>x</b> :red[z] $x$ `c` *e* _u_ # h"
    out = plain(text)
    assert not LIVE_MARKDOWN.search(out)
    assert shown(out) == text


def _diverged(exp: engine.Experiment):
    state = exp.init()
    huge = [{k: np.full_like(np.asarray(v), 1e36) for k, v in p.items()} for p in state.params]
    first = next(iter(huge[0]))
    huge[0][first] = np.full_like(huge[0][first], np.nan)
    return state._replace(params=huge)


@pytest.mark.parametrize("preset_name", ["tf_playground", "vanishing_sigmoid",
                                         "reverse_transformer"])
def test_a_diverged_network_still_makes_a_valid_frame(preset_name) -> None:
    exp = engine.build(preset(preset_name))
    state = _diverged(exp)
    if preset_name == "tf_playground":
        probes = exp.probe(state, ProbeOptions(resolution=20, neuron_resolution=8))
        frame = lab_frame.make_frame(exp, state.params, probes, 3, exp.metrics(state),
                                  {"train_loss": [np.nan, np.inf]}, lab_frame.View())
    elif preset_name == "vanishing_sigmoid":
        probes = exp.probe(state, ProbeOptions(resolution=0, neuron_resolution=0, layers=True))
        trace = {"epoch": [0], "grad": [np.full(11, np.nan)],
                 "act": [np.asarray(probes.layers.act_stats)],
                 "w": [np.asarray(probes.layers.weight_stats)]}
        frame = flow.make_flow_frame(exp, state.params, probes, 3, {"train_loss": []}, trace,
                                     0, exp.metrics(state))
    else:
        probes = exp.probe(state, ProbeOptions(resolution=0, neuron_resolution=0, sequence=True))
        frame = sequence_frame.make_seq_frame(exp, probes, 3, {"train_loss": [np.nan]}, 0,
                                         exp.metrics(state))
    json.dumps(finite(frame), allow_nan=False)  # what the live view sends


def test_a_sequence_frame_stays_within_its_size_budget() -> None:
    spec = Spec.from_dict({"data": {"name": "adding", "n": 200, "length": 120},
                           "model": {"layers": [_dense(16, "linear")] + [
                               {"type": "attention", "heads": 8}] * 12 + [
                               {"type": "lstm", "units": 256, "bidirectional": True,
                                "sequences": False}]}})
    exp = engine.build(spec)
    probes = exp.probe(exp.init(), ProbeOptions(resolution=0, neuron_resolution=0,
                                                sequence=True))
    frame = sequence_frame.make_seq_frame(exp, probes, 0, {"train_loss": []}, 0, {})
    size = len(json.dumps(finite(frame)))
    assert size < 1.5 * sequence_frame.PICTURE_BYTES + 50_000, size
    assert frame["omitted"] and "attention map" in frame["omitted"]
    assert frame["attention"]  # what fits is still drawn


# --- limits -----------------------------------------------------------------------------------

PAGE_BUDGETS = {"playground": lab_page.PAGE.graph_budget, "gradients": flow.PAGE.graph_budget,
                "sequences": sequences.PAGE.graph_budget, "images": images.PAGE.graph_budget}


def test_every_preset_runs_within_its_pages_limits() -> None:
    for name in PRESETS.names():
        assert limits.data_refusal(preset(name)) is None, name
        exp = engine.build(preset(name))
        assert limits.refusal(exp, PAGE_BUDGETS[PRESETS.get(name).topic]) is None, name


HEAVY_PICTURES = {"data": {"name": "shapes", "n": 25_000, "size": 64},
                  "model": {"layers": [{"type": "flatten"}]}}


@pytest.mark.parametrize("name", ["shapes", "mnist"])
def test_too_many_pictures_from_a_link_are_refused_before_one_is_drawn(name, monkeypatch
                                                                       ) -> None:
    """25,000 pictures of 64 x 64 took 0.8 GB and 5 s of the server's CPU to make before
    the memory check refused them (an attacker's review): now nothing is drawn."""
    made: list[int] = []
    build = engine.DATASETS.get(name).__class__.build
    monkeypatch.setattr(type(engine.DATASETS.get(name)), "build",
                        lambda self, spec, raw=None: made.append(spec.n) or build(self, spec,
                                                                                  raw))
    link = json.dumps({**HEAVY_PICTURES, "data": {**HEAVY_PICTURES["data"], "name": name}})
    at = run_page("images", {"s": link}, TIMEOUT)
    assert 25_000 not in made  # (the page's default was drawn instead)
    text = _one_plain_error(at)
    assert "too big for one session" in text and "fewer pictures or a smaller size" in text
    assert at.session_state[page_keys(images.PREFIX, (S.SPEC,))[S.SPEC]] == images.DEFAULT
    # What does fit is not refused: the same pictures at 16 x 16.
    small = Spec.from_dict({**HEAVY_PICTURES, "data": {**HEAVY_PICTURES["data"], "size": 16}})
    assert limits.data_refusal(small) is None


@pytest.mark.parametrize("data", [  # more training pictures than 2,048, and fewer
    {"name": "shapes", "n": 3000, "size": 12, "train_fraction": 0.8},
    {"name": "mnist", "n": 2500, "size": 10},
    {"name": "shapes", "n": 600, "train_fraction": 0.5}])
def test_the_early_picture_check_counts_what_the_memory_check_counts(data) -> None:
    """The same bytes for the data as ``Cost.memory_bytes`` (only the first 2,048
    training pictures are evaluated each epoch): the early check refuses nothing the
    later one would accept (a review found it counting every training picture)."""
    from engine.cost import data_bytes

    spec = Spec.from_dict({**HEAVY_PICTURES, "data": data})
    cost = engine.build(spec).cost
    assert cost.train_examples > 2048 or data["n"] < 2048
    assert engine.planned_data_bytes(spec) == data_bytes(cost.train_examples, cost.eval_examples,
                                                 cost.input_elements)


def test_a_deep_network_from_a_link_is_refused_before_compiling() -> None:
    """32 normalised dense layers took 88 s and 7.5 GB to compile on the Playground."""
    spec = Spec.from_dict({"model": {"layers": [{"type": "dense", "units": 1,
                                                 "norm": "batch_norm"}] * 32}})
    problem = limits.refusal(engine.build(spec), lab_page.PAGE.graph_budget)
    assert problem and "too deep" in problem and "fewer layers" in problem
    # The Gradient flow page's own deepest setup fits its budget.
    flow_deep = Spec.from_dict({"data": {"name": "spiral"}, "model": {"layers": [
        {"type": "dense", "units": 8, "norm": "batch_norm"}] * 30}})
    assert limits.refusal(engine.build(flow_deep), flow.PAGE.graph_budget) is None


def test_plans_fit_the_time_budget() -> None:
    exp = engine.build(preset("tf_playground"))  # 25 steps an epoch
    assert limits.plan(exp, 50, False, 1e-5) == limits.Plan(50, False, False)
    assert limits.plan(exp, 50, False, 1e-3) == limits.Plan(10, False, True)  # 250 steps fit
    assert limits.plan(exp, 1, False, 0.1) == limits.Plan(2, True, True)  # not even an epoch
    assert limits.plan(exp, 1, False, 10.0) == limits.Plan(1, True, True)  # at least a step
    assert limits.plan(exp, 0, False, 10.0).count == 0
    assert limits.update_pace(None, 1.0, 10) == 0.1
    assert limits.update_pace(0.1, 0.5, 10) == 0.05  # a fall is taken at once
    assert limits.update_pace(0.1, 3.0, 10) == 0.2  # a rise (a compile) only by half


def test_the_server_side_upload_cap_is_set() -> None:
    config = (Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text()
    cap = int(re.search(r"maxUploadSize\s*=\s*(\d+)", config).group(1))
    assert cap <= 50  # MB: Streamlit's default of 200 would let anyone post 200 MB


def test_a_heavy_network_draws_coarser_grids() -> None:
    light = engine.build(preset("tf_playground"))
    probes = ProbeOptions(resolution=100, neuron_resolution=20)
    assert limits.fit_probes(light, probes) == probes
    heavy = engine.build(Spec.from_dict({"data": {"name": "circle", "n": 400},
                                         "model": {"layers": [_dense(256)] * 6}}))
    fitted = limits.fit_probes(heavy, probes)
    assert 16 <= fitted.resolution < 100 and fitted.neuron_resolution <= 20
    assert fitted.resolution ** 2 * heavy.cost.forward_flops <= 1.1 * limits.GRID_FLOPS
