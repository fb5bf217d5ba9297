"""The Sequences page: RNN, LSTM, GRU and transformers learning sequence tasks, live.

Each frame trains an epoch and probes one test example inside the same jitted call:
every attention map (layer x head), the recurrent states over time, the size of the
loss's gradient at each input step and the per-step predictions
(``engine.sequence_probes``). A compare mode trains a simple RNN, an LSTM, a GRU and a
transformer on the same task, side by side.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import jax
import numpy as np
import streamlit as st

import engine
from engine import LAYERS, SEQUENCE_TASKS, Spec
from engine.presets import preset
from engine.schema import Choice, Flag, Num, OneOf
from engine.sequence_layers import (
    RECURRENT_KINDS,
    attention,
    gru_cell,
    lstm_cell,
    rnn_cell,
    sinusoidal_table,
    transformer_block,
)
from playground import controls as C
from playground import limits, live, session
from playground import state as S
from playground.export import export_section
from playground.frames import b64, curve, metric_rows, symmetric_bytes, unit_bytes
from playground.safe import plain

PREFIX = "sq"  # this page's session namespace (see ``state.use_page``)
DEFAULT = preset("reverse_transformer")
SPEEDS = (1, 2, 4, 8, 16, 32)  # optimizer steps per frame (a frame need not end an epoch)
COMPARE_SPEEDS = (1, 2, 3, 5, 10)  # epochs per frame for the four models
MAX_LAYERS = 8
PROBES = {"resolution": 0, "neuron_resolution": 0, "sequence": True, "gradients": False}
FRAMES = {"by_steps": True, **PROBES}  # frames train steps, not whole epochs
COMPARE_CELLS = ("rnn", "lstm", "gru", "transformer")
PICTURE_BYTES = 200_000  # attention maps and states per frame, before base64

_component = live.canvas_component("seq_view")
SEQ_KEY = "sq_seq_view"


# -- controls ---------------------------------------------------------------------------

def option_widget(label: str, check: Any, value: Any, key: str, container=st) -> Any:
    """One widget for a layer option, chosen from the option's schema check."""
    if isinstance(check, Flag):
        return container.checkbox(label, bool(value), key=C.wkey(key))
    if isinstance(check, Choice | OneOf):
        names = list(check.options) if isinstance(check, Choice) else check.choices()
        return container.selectbox(label, names, index=names.index(value) if value in names
                                   else 0, key=C.wkey(key))
    if isinstance(check, Num) and check.integer:
        return int(container.number_input(label, int(check.lo), int(check.hi), int(value),
                                          key=C.wkey(key)))
    return float(container.number_input(label, float(check.lo), float(check.hi), float(value),
                                        key=C.wkey(key)))


def fit_stack(layers: list[dict], tokens: bool, per_token: bool) -> list[dict]:
    """Adapt a layer stack to a task: embeddings need tokens, outputs need the right shape.

    Real-valued inputs get a linear dense layer of the same width where an embedding
    was. Per-token tasks keep the time axis (no pooling, recurrent layers return
    every step); per-sequence tasks end with a recurrent layer's last state or a pool.
    """
    out = [dict(x) if tokens or x["type"] != "embedding" else
           {"type": "dense", "units": x.get("dim", 16), "activation": "linear"}
           for x in layers]
    if per_token:
        out = [x for x in out if x["type"] != "pool"]
        for x in out:
            if x["type"] in RECURRENT_KINDS:
                x["sequences"] = True
        return out or [{"type": "lstm", "units": 32}]
    if out and out[-1]["type"] in RECURRENT_KINDS:
        out[-1]["sequences"] = False
    elif not out or out[-1]["type"] != "pool":
        out.append({"type": "pool", "mode": "mean"})
    return out


def task_controls(d: dict) -> None:
    """Task, its length and alphabet, noise, how many sequences and the batch."""
    data = d["data"]
    names = SEQUENCE_TASKS.names()
    old = data["name"]
    data["name"] = C.pick("Task", names, data["name"], "sq_task")
    kind = SEQUENCE_TASKS.get(data["name"])
    st.caption(SEQUENCE_TASKS.describe(data["name"]))
    if data["name"] != old:  # a new task: its own lengths, and a stack that fits it
        data["length"], data["symbols"], data["noise"] = 0, 0, 0.0
        d["model"]["layers"] = fit_stack(d["model"]["layers"], kind.tokens, kind.per_token)
        d["model"]["output_activation"], d["loss"] = "auto", "auto"
        C.bump()  # the widgets below must show the fitted stack, not their old values
    # 0 in the spec means "the task's default": a slider left there keeps it 0, so the
    # page's first run leaves the setup (and its link) as it was.
    lo, default, hi = kind.length
    length = st.slider("Length", lo, hi, int(data["length"] or default),
                       key=C.wkey("sq_length"), help="What the length counts depends on the "
                       "task: digits, key-value pairs, bits, words or steps")
    data["length"] = 0 if not data["length"] and length == default else length
    if kind.symbols[2]:
        lo, default, hi = kind.symbols
        symbols = st.slider("Symbols", lo, hi, int(data["symbols"] or default),
                            key=C.wkey("sq_symbols"), help="Size of the alphabet")
        data["symbols"] = 0 if not data["symbols"] and symbols == default else symbols
    c = st.columns(2)
    data["n"] = C.number("Sequences", 100, 10_000, int(data["n"]), 100, key="sq_n",
                         container=c[0])
    d["batch_size"] = C.number("Batch size", 1, 1000, int(d["batch_size"]), key="sq_batch",
                               container=c[1])
    data["noise"] = C.slider("Noise", 0.0, 0.5, float(data["noise"]), 0.05, key="sq_noise",
                             help="Input noise for sine_wave, label flips for sentiment; the "
                             "other tasks are exact")


def stack_controls(d: dict) -> None:
    """The layer stack: each layer's type and options, from the layer registry."""
    layers = d["model"]["layers"]
    n = C.number("Layers", 1, MAX_LAYERS, len(layers), key="sq_nlayers")
    while len(layers) < n:
        layers.append({"type": "dense", "units": 32, "activation": "relu"})
    del layers[n:]
    for i, layer in enumerate(layers):
        kind_name = C.pick(f"Layer {i + 1}", LAYERS.names(), layer["type"], f"sq_type{i}",
                           help=LAYERS.describe(layer["type"]))
        if kind_name != layer["type"]:  # a new type keeps the options it shares
            layer = {"type": kind_name, **{k: v for k, v in layer.items()
                                          if k in LAYERS.get(kind_name).options}}
        kind = LAYERS.get(kind_name)
        cols = st.columns(2)
        for j, (name, (check, default)) in enumerate(kind.options.items()):
            layer[name] = option_widget(name.replace("_", " ").capitalize(), check,
                                        layer.get(name, default), f"sq_{i}_{kind_name}_{name}",
                                        cols[j % 2])
        layers[i] = layer


def sidebar() -> None:
    """Presets, task, layers and training controls; applies what changed."""
    with st.sidebar:
        C.preset_menu("sequences")
        d = st.session_state[S.key(S.SPEC)].to_dict()
        with st.expander("Task", expanded=True):
            task_controls(d)
        with st.expander("Layers", expanded=True):
            stack_controls(d)
        with st.expander("Output and loss", expanded=False):
            C.output_controls(d)
        with st.expander("Training", expanded=False):
            C.training_controls(d)
    session.apply_changes(d)


# -- frames -----------------------------------------------------------------------------

def _token_text(exp: engine.Experiment, x: np.ndarray) -> list[str]:
    """The example's inputs as text: token names, or rounded values."""
    info = exp.dataset.sequence
    if info.tokens:
        return [info.vocab[int(t)] for t in x]
    return [" ".join(f"{v:.2f}" for v in np.atleast_1d(row)) for row in x]


def _labels(exp: engine.Experiment, y: np.ndarray) -> list[str | None]:
    """Targets as text; None where a step has no target."""
    if exp.dataset.task == "classification":
        return [None if int(v) < 0 else exp.dataset.class_names[int(v)] for v in np.atleast_1d(y)]
    return [f"{float(v):.3f}" for v in np.atleast_1d(y)]


def _predictions(exp: engine.Experiment, output: np.ndarray) -> tuple[list[str], list[float]]:
    """Predicted labels and their confidence (classification) per step or sequence."""
    out = np.asarray(output)
    out = out[None] if out.ndim == 1 else out  # (steps, out)
    if exp.dataset.task == "regression":
        return [f"{float(v):.3f}" for v in out[:, 0]], [1.0] * len(out)
    head = exp.structure.net.head
    cls = np.asarray(head.predict(jax.numpy.asarray(out)))
    conf = out.max(-1) if out.shape[-1] > 1 else np.where(cls == 1, out[:, 0], 1 - out[:, 0])
    return [exp.dataset.class_names[int(k)] for k in cls], [round(float(c), 3) for c in conf]


def _pictures(att_layers: list, seq, rec_layers: list) -> dict[str, Any]:
    """Attention maps and state panels, within ``PICTURE_BYTES`` per frame.

    32 layers of 8 heads at 1,000 steps would be 256 MB a frame: maps and panels are
    sent in order until the budget is spent, and ``omitted`` says what was left out.
    """
    budget, left_out = PICTURE_BYTES, [0, 0]

    def take(a: np.ndarray, scale, what: int) -> str | None:
        nonlocal budget
        if a.size > budget:
            left_out[what] += 1
            return None
        budget -= a.size
        return b64(scale(a))

    attention = []
    for (i, layer), maps in zip(att_layers, seq.attention, strict=True):
        heads = [m for m in (take(np.asarray(h), lambda a: unit_bytes(a, 0.0, 1.0), 0)
                             for h in np.asarray(maps)) if m]
        if heads:
            attention.append({"name": f"Layer {i + 1}: {layer.type}", "heads": heads})
    states, cells = [], []
    lstm_layers = [x for x in rec_layers if x[1].type == "lstm"]
    for out, layers, arrays, field in ((states, rec_layers, seq.hidden, "h"),
                                       (cells, lstm_layers, seq.cell, "c")):
        for (i, layer), a in zip(layers, arrays, strict=True):
            data = take(np.asarray(a).T, symmetric_bytes, 1)
            if data:
                out.append({"name": f"Layer {i + 1}: {layer.type}", "units": int(a.shape[-1]),
                            field: data})
    omitted = ""
    if any(left_out):
        omitted = (f"Not drawn, to keep each frame small: {left_out[0]} attention map(s) and "
                   f"{left_out[1]} state panel(s). Use shorter sequences or fewer layers.")
    return {"attention": attention, "states": states, "cells": cells, "omitted": omitted}


def make_seq_frame(exp: engine.Experiment, probes, epoch: int, history: dict[str, list],
                   example: int, metrics: dict[str, Any] | None = None,
                   step: int = 0) -> dict[str, Any]:
    """Everything the sequence view draws for one frame (one test example), JSON-able."""
    seq = probes.sequence
    arrays = exp.dataset.arrays
    example = min(max(example, 0), arrays.x_test.shape[0] - 1)
    x, y = np.asarray(arrays.x_test[example]), np.asarray(arrays.y_test[example])
    net = exp.structure.net
    att_layers = [(i, layer) for i, layer in enumerate(net.layers)
                  if layer.type in ("attention", "transformer")]
    rec_layers = [(i, layer) for i, layer in enumerate(net.layers)
                  if layer.type in RECURRENT_KINDS]
    preds, conf = _predictions(exp, seq.output)
    targets = _labels(exp, y)
    frame: dict[str, Any] = {
        "epoch": int(epoch), "step": int(step), "example": int(example),
        "T": int(x.shape[0]),
        "per_token": bool(exp.dataset.sequence.per_token), "task": exp.dataset.task,
        "tokens": _token_text(exp, x), "targets": targets, "preds": preds, "conf": conf,
        "right": [None if t is None else (t == p) for t, p in zip(
            targets, preds, strict=True)] if exp.dataset.task == "classification" else [],
        **_pictures(att_layers, seq, rec_layers),
        "grad": [round(float(g), 6) for g in np.asarray(seq.input_grad)],
        "metrics": metric_rows(metrics or {}), "curve": curve(history, None),
    }
    return frame


def render(placeholder, probes, first: bool, example: int = 0) -> None:
    """Draw one frame of the current session; ``example`` is the test example probed."""
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    tstate = st.session_state[S.key(S.TRAIN_STATE)]
    frame = make_seq_frame(exp, probes, int(tstate.epoch), st.session_state[S.key(S.HISTORY)],
                           example, session.current_metrics(), int(tstate.step))
    live.show(placeholder, _component, SEQ_KEY, frame, first)


# -- compare mode -----------------------------------------------------------------------

def compare_stacks(spec: Spec, tokens: bool, per_token: bool) -> dict[str, list[dict]]:
    """A simple RNN, an LSTM, a GRU (32 units) and a 2-block transformer for a task."""
    stacks = {cell: fit_stack([{"type": cell, "units": 32}], tokens, per_token)
              for cell in RECURRENT_KINDS}
    first = ({"type": "embedding", "dim": 32} if tokens
             else {"type": "dense", "units": 32, "activation": "linear"})
    blocks = [{"type": "transformer", "heads": 4, "mlp": 64}] * 2
    stacks["transformer"] = fit_stack([first, {"type": "positional"}, *blocks], tokens,
                                      per_token)
    return stacks


def _compare_models() -> dict[str, dict[str, Any]]:
    """The four models for the current spec (rebuilt when the spec changes)."""
    spec: Spec = st.session_state[S.key(S.SPEC)]
    store = st.session_state.get(S.key(S.COMPARE))
    if store is None or store["spec"] != spec:
        info = st.session_state[S.key(S.EXPERIMENT)].dataset.sequence
        models = {}
        for name, layers in compare_stacks(spec, info.tokens, info.per_token).items():
            d = spec.to_dict()
            d["model"]["layers"] = layers
            exp = engine.build(Spec.from_dict(d))
            problem = limits.refusal(exp)
            if problem:
                raise engine.DataError(f"the {name} model of the comparison is too big for "
                                       f"one session: {problem}")
            models[name] = {"exp": exp, "state": exp.init(),
                            "hist": {"train_loss": [], "test_loss": [], "test_accuracy": []}}
        store = {"spec": spec, "models": models}
        st.session_state[S.key(S.COMPARE)] = store
    return store["models"]


def compare_train(epochs: int, budget: float = limits.CALL_SECONDS,
                  **_: Any) -> dict[str, dict[str, Any]]:
    """Train each of the four models ``epochs`` epochs (paced); return them."""
    models = _compare_models()
    for m in models.values():
        if epochs:
            m["state"], chunk = session.train_paced(m["exp"], m["state"], epochs,
                                                    budget=budget)
            keep = chunk.history["trained"]
            for k in m["hist"]:
                m["hist"][k].extend(np.asarray(chunk.history[k])[keep].tolist())
    return models


def compare_frame(models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Loss curves and the latest test metrics of the four models."""
    out: dict[str, Any] = {"compare": True, "models": []}
    for name, m in models.items():
        h = m["hist"]
        acc = h["test_accuracy"][-1] if h["test_accuracy"] else None
        out["models"].append({
            "name": name, "epoch": int(m["state"].epoch), "curve": curve(h, None),
            "test_loss": h["test_loss"][-1] if h["test_loss"] else None,
            "test_accuracy": None if acc is None or not np.isfinite(acc) else acc})
    out["epoch"] = max(x["epoch"] for x in out["models"])
    return out


def compare_render(placeholder, models, first: bool) -> None:
    live.show(placeholder, _component, SEQ_KEY, compare_frame(models), first)


# The functions that compute each layer kind: the page shows their source.
SOURCES = {"rnn": (rnn_cell,), "lstm": (lstm_cell,), "gru": (gru_cell,),
           "attention": (attention,), "transformer": (transformer_block, attention),
           "positional": (sinusoidal_table,)}


def layer_sources(spec: Spec) -> None:
    """An expander with the source of the cells and attention this stack uses."""
    kinds = list(dict.fromkeys(layer.type for layer in spec.model.layers
                               if layer.type in SOURCES))
    if not kinds:
        return
    with st.expander("How these layers compute: the engine's code"):
        st.caption("These short pure functions are exactly what trains here (JAX, inside "
                   "one compiled call); jax.grad differentiates them for backpropagation.")
        shown: set[str] = set()
        for kind in kinds:
            for fn in SOURCES[kind]:
                if fn.__name__ not in shown:
                    shown.add(fn.__name__)
                    st.code(inspect.getsource(fn), language="python")


def sequence_only(spec: Spec) -> str | None:
    """Why ``spec`` does not belong on this page (None when it does)."""
    if spec.data.name not in SEQUENCE_TASKS:
        return (f"{spec.data.name!r} is not a sequence task: open the link on the Playground "
                "or Gradient flow page")
    return None


def sequences_page() -> None:
    """Everything below the page title."""
    S.use_page(PREFIX)
    session.ensure_session(DEFAULT, sequence_only)
    sidebar()
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    compare = st.toggle("Compare a simple RNN, an LSTM, a GRU and a transformer on this task",
                        key="sq_compare_mode")
    if compare:
        speed, _ = live.toolbar(views=False, speeds=COMPARE_SPEEDS, speed=1,
                                train=compare_train)
    else:
        speed, _ = live.toolbar(views=False, speeds=SPEEDS, speed=4, unit="Steps", **FRAMES)
    example = 0
    if not compare:
        n_test = exp.dataset.arrays.x_test.shape[0]
        example = int(st.number_input("Test example to look at", 0, n_test - 1, 0,
                                      key="sq_example"))
    S.show_flash()
    placeholder = st.empty()
    layer_sources(st.session_state[S.key(S.SPEC)])
    export_section()
    if compare:
        try:
            with st.spinner("Building four models..."):
                _compare_models()
        except engine.EngineError as err:
            st.error(plain(f"Compare mode cannot run this task: {err}."))
            return
        live.run(placeholder, speed, compare_render, train=compare_train)
    else:
        live.run(placeholder, speed, functools.partial(render, example=example),
                 **FRAMES, example=example)
