"""The Playground's controls, every menu built from the engine's registries.

``controls(spec)`` draws the sidebar and returns the spec dict the widgets
describe. Widget keys carry a version number: loading a preset, a link or
rejecting a bad value bumps it, so every widget re-reads the spec.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine import (
    ACTIVATIONS,
    DATASETS,
    FEATURES,
    INITIALIZERS,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    Spec,
)
from engine.presets import PRESETS, topic_presets
from playground import session

VERSION = "pg_widgets_version"
LEARNING_RATES = (1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_HIDDEN = 8
MAX_UNITS = 64


def bump() -> None:
    """Make every widget re-read the spec on the next run."""
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def wkey(name: str) -> str:
    """The versioned widget key for control ``name`` (see ``bump``)."""
    return f"pg_{name}_{st.session_state.get(VERSION, 0)}"


def _options_with(options: tuple, value: Any) -> list:
    return sorted({*options, value})


def slider(label: str, lo: float, hi: float, value: float, step: float | None = None, *,
           key: str, container: Any = st, **kw) -> Any:
    """A slider over ``[lo, hi]`` widened to hold ``value``: a link may carry any value
    the engine accepts, and a widget must show it, never refuse it or change it."""
    return container.slider(label, min(lo, value), max(hi, value), value, step,
                            key=wkey(key), **kw)


def number(label: str, lo: float, hi: float, value: float, step: float | None = None, *,
           key: str, container: Any = st, **kw) -> Any:
    """A number box over ``[lo, hi]`` widened to hold ``value`` (see ``slider``)."""
    return container.number_input(label, min(lo, value), max(hi, value), value, step,
                                  key=wkey(key), **kw)


def pick(label: str, names: list[str], value: str, key: str, **kw) -> str:
    """A selectbox over ``names`` showing ``value``, keyed by the widget version."""
    return st.selectbox(label, names, index=names.index(value) if value in names else 0,
                        key=wkey(key), **kw)


def data_controls(d: dict) -> None:
    data = d["data"]
    names = DATASETS.names() + (["csv"] if data["name"] == "csv" else [])
    old = data["name"]
    data["name"] = pick("Dataset", names, data["name"], "dataset",
                         help="TensorFlow Playground's sets, more, or an uploaded CSV")
    if old != data["name"] and data["name"] in DATASETS and (
            old not in DATASETS or DATASETS.get(old).task != DATASETS.get(data["name"]).task):
        # Another task (classification <-> regression): let the output and loss follow.
        d["model"]["output_activation"], d["loss"] = "auto", "auto"
    if data["name"] in DATASETS and DATASETS.get(data["name"]).input_dim == 1:
        data["features"] = [f for f in data["features"] if FEATURES.get(f).needs_dim == 1] \
            or ["x1"]
    if data["name"] != "csv":
        st.caption(DATASETS.describe(data["name"]))
    kind = DATASETS.get(data["name"]) if data["name"] in DATASETS else None
    c = st.columns(2)
    if kind is not None:  # an uploaded CSV has no noise and no point count to choose
        data["noise"] = slider("Noise", 0.0, 0.5, float(data["noise"]), 0.05, key="noise",
                               container=c[0])
    data["train_fraction"] = slider("Training share", 0.1, 0.9, float(data["train_fraction"]),
                                    0.05, key="train", container=c[1])
    c = st.columns(2)
    d["batch_size"] = number("Batch size", 1, 1000, int(d["batch_size"]), key="batch",
                             container=c[0], help="1 = one example at a time; larger than "
                             "the training set = full-batch GD")
    if kind is not None:
        data["n"] = number("Points", 20, 5000, int(data["n"]), 50, key="n", container=c[1])
    if kind is not None and kind.multiclass:
        data["classes"] = st.slider("Classes", 2, 10, int(data["classes"]), key=wkey("classes"))
    c = st.columns(2)
    data["val_fraction"] = slider("Validation share", 0.0, 0.4, float(data["val_fraction"]),
                                  0.05, key="val", container=c[0])
    data["standardize"] = c[1].checkbox("Standardise", bool(data["standardize"]),
                                        key=wkey("std"))
    if kind is not None and st.button("Regenerate data", icon=":material/casino:",
                                      key=wkey("regen"),
                                      help="New random points (a new data seed)"):
        data["seed"] = int(data["seed"]) + 1
        bump()


def feature_controls(d: dict, input_dim: int) -> None:
    data = d["data"]
    if input_dim > 2:
        st.caption(f"This CSV has {input_dim} feature columns; all are used as inputs.")
        return
    usable = [f for f in FEATURES.names() if FEATURES.get(f).needs_dim <= input_dim]
    cols = st.columns(min(2, len(usable)))  # the sidebar is narrow: labels need room
    chosen = []
    for i, f in enumerate(usable):
        if cols[i % len(cols)].checkbox(FEATURES.get(f).label, f in data["features"],
                                        key=wkey(f"feat_{f}")):
            chosen.append(f)
    data["features"] = chosen or list(data["features"])
    if not chosen:
        st.warning("Keep at least one input feature.")


def _blocks(layers: list[dict]) -> list[dict]:
    """Group a layer list into blocks: a dense layer and what follows it."""
    blocks: list[dict] = []
    for layer in layers:
        if layer["type"] == "dense" or not blocks:
            blocks.append({"dense": layer, "after": []})
        else:
            blocks[-1]["after"].append(layer)
    return blocks


def network_controls(d: dict) -> None:
    model = d["model"]
    blocks = _blocks(model["layers"])
    # A link or preset may hold more than the menus offer: widen them, never crash.
    n = st.number_input("Hidden layers", 0, max(MAX_HIDDEN, len(blocks)), len(blocks),
                        key=wkey("nlayers"))
    while len(blocks) < n:
        last = blocks[-1]["dense"] if blocks else {"units": 4, "activation": "tanh"}
        blocks.append({"dense": {"type": "dense", "units": last.get("units", 4),
                                 "activation": last.get("activation", "tanh")}, "after": []})
    blocks = blocks[:n]
    acts = ACTIVATIONS.names()
    layers: list[dict] = []
    for i, b in enumerate(blocks):
        dense = dict(b["dense"])
        if dense["type"] == "dense":
            c = st.columns([1, 1.3])
            units = int(dense.get("units", 8))
            dense["units"] = c[0].number_input(f"Layer {i + 1} neurons", 1,
                                               max(MAX_UNITS, units), units,
                                               key=wkey(f"units{i}"))
            dense["activation"] = pick(f"Layer {i + 1} activation", acts,
                                        dense.get("activation", "relu"), f"act{i}")
        after = [x for x in b["after"] if x["type"] not in ("batch_norm", "dropout")]
        c = st.columns(2)
        has_bn = any(x["type"] == "batch_norm" for x in b["after"])
        rate = next((x.get("rate", 0.2) for x in b["after"] if x["type"] == "dropout"), 0.0)
        if c[0].checkbox("Batch norm", has_bn, key=wkey(f"bn{i}")):
            after.insert(0, next((x for x in b["after"] if x["type"] == "batch_norm"),
                                 {"type": "batch_norm"}))
        rate = slider("Dropout", 0.0, 0.8, float(rate), 0.05, key=f"drop{i}", container=c[1])
        if rate > 0:
            after.append({"type": "dropout", "rate": rate})
        layers += [dense, *after]
    model["layers"] = layers


def output_controls(d: dict) -> None:
    model = d["model"]
    auto = ["auto", *ACTIVATIONS.names()]
    model["output_activation"] = pick("Output activation", auto, model["output_activation"],
                                       "outact", help="auto: sigmoid for two classes, softmax "
                                       "for more, linear for regression")
    d["loss"] = pick("Loss", ["auto", *LOSSES.names()], d["loss"], "loss",
                      help="auto: cross-entropy for classes, MSE for regression")
    model["init"] = pick("Weight initialiser", INITIALIZERS.names(), model["init"], "init",
                          help=INITIALIZERS.describe(model["init"]))


def training_controls(d: dict) -> None:
    opt = d["optimizer"]
    opt["name"] = pick("Optimizer", OPTIMIZERS.names(), opt["name"], "opt",
                        help=OPTIMIZERS.describe(opt["name"]))
    opt["learning_rate"] = st.select_slider(
        "Learning rate", _options_with(LEARNING_RATES, opt["learning_rate"]),
        value=opt["learning_rate"], key=wkey("lr"))
    used = set(OPTIMIZERS.get(opt["name"]).hparams.values())
    if "momentum" in used:
        opt["momentum"] = slider("Momentum", 0.0, 0.99, float(opt["momentum"]), 0.01,
                                 key="mom")
    if "b1" in used:
        c = st.columns(2)
        opt["b1"] = c[0].number_input("beta1", 0.0, 0.9999, float(opt["b1"]), 0.01,
                                      key=wkey("b1"), format="%.4f")
        opt["b2"] = c[1].number_input("beta2", 0.0, 0.99999, float(opt["b2"]), 0.001,
                                      key=wkey("b2"), format="%.5f")
    if "weight_decay" in used:
        opt["weight_decay"] = st.number_input("Weight decay", 0.0, 1.0,
                                              float(opt["weight_decay"]), 1e-4,
                                              key=wkey("wd"), format="%.4f")
    sched = opt["schedule"]
    sched["name"] = pick("Learning-rate schedule", SCHEDULES.names(), sched["name"], "sched",
                          help=SCHEDULES.describe(sched["name"]))
    c = st.columns(2)
    sched["warmup_steps"] = number("Warm-up steps", 0, 100_000, int(sched["warmup_steps"]), 50,
                                   key="warm", container=c[0])
    if sched["name"] != "constant":
        sched["decay_steps"] = number("Decay steps", 1, 1_000_000, int(sched["decay_steps"]),
                                      100, key="dsteps", container=c[1])
        if sched["name"] in ("step", "exponential"):
            sched["decay_rate"] = slider("Decay rate", 0.01, 1.0, float(sched["decay_rate"]),
                                         0.01, key="drate")
    reg = d["regularization"]
    c = st.columns(2)
    reg["kind"] = c[0].selectbox("Regularisation", ["none", "l1", "l2"],
                                 index=["none", "l1", "l2"].index(reg["kind"]), key=wkey("reg"))
    reg["rate"] = c[1].select_slider("Regularisation rate", _options_with(REG_RATES,
                                                                          reg["rate"]),
                                     value=reg["rate"], key=wkey("regrate"))
    c = st.columns(2)
    opt["clip_norm"] = number("Clip gradient norm", 0.0, 1000.0, float(opt["clip_norm"]), 0.5,
                              key="clip", container=c[0], help="0 = no clipping")
    es = d["early_stopping"]
    es["patience"] = number("Early-stopping patience", 0, 10_000, int(es["patience"]), 10,
                            key="pat", container=c[1], help="Epochs without validation "
                            "improvement; 0 = off. Needs a validation share.")
    d["seed"] = st.number_input("Weight seed", 0, 2**31 - 1, int(d["seed"]), key=wkey("seed"))


def preset_picker(topic: str = "playground") -> Spec | None:
    """A menu of one topic's presets; returns the chosen one's spec when "Load" is pressed."""
    names = topic_presets(topic)
    c = st.columns([2.2, 1], vertical_alignment="bottom")
    name = c[0].selectbox("Preset", names, format_func=lambda n: PRESETS.get(n).title,
                          key="pg_preset")
    st.caption(PRESETS.get(name).explanation)
    if c[1].button("Load", key="pg_load_preset"):
        from engine.presets import preset

        return preset(name)
    return None


def preset_menu(topic: str = "playground") -> None:
    """The preset menu; a loaded preset becomes the setup and every widget shows it."""
    chosen = preset_picker(topic)
    if chosen is not None and session.apply_spec(chosen):
        bump()
        st.rerun()


def controls(spec: Spec, input_dim: int, hidden: set[str]) -> dict:
    """Draw the sections not in ``hidden``; return the spec dict they describe."""
    d = spec.to_dict()  # a fresh, plain dict each call
    sections = [("data", "Data", lambda: data_controls(d)),
                ("features", "Input features", lambda: feature_controls(d, input_dim)),
                ("network", "Hidden layers", lambda: network_controls(d)),
                ("output", "Output and loss", lambda: output_controls(d)),
                ("training", "Training", lambda: training_controls(d))]
    for name, title, draw in sections:
        if name in hidden:
            continue
        with st.expander(title, expanded=name in ("data", "features", "network")):
            draw()
    return d
