"""The Sequences page: RNN, LSTM, GRU and transformers learning sequence tasks, live.

Each frame trains a few steps and probes one test example inside the same jitted
call: every attention map (layer x head), the recurrent states over time, the size of
the loss's gradient at each input step and the per-step predictions
(``engine.probes.sequences``; the frame: ``sequence_frame``). A compare mode trains a
simple RNN, an LSTM, a GRU and a transformer on the same task, side by side.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import streamlit as st

import engine
from engine import DATASETS, LAYERS, Spec, datasets_of
from engine.blocks import IMAGE_KINDS
from engine.blocks.attention import attention, transformer_block
from engine.blocks.embeddings import sinusoidal_table
from engine.blocks.recurrent import RECURRENT_KINDS, gru_cell, lstm_cell, rnn_cell
from engine.presets import preset
from playground import sequence_frame
from playground.core import controls as C
from playground.core import limits, session, stack
from playground.core.encode import curve, plain
from playground.core.livepage import Frame, LivePage

PREFIX = "sq"  # this page's session namespace (see ``session.use_page``)
DEFAULT = preset("reverse_transformer")
SPEEDS = (1, 2, 4, 8, 16, 32)  # optimizer steps per frame (a frame need not end an epoch)
COMPARE_SPEEDS = (1, 2, 3, 5, 10)  # epochs per frame for the four models
MAX_LAYERS = 8
PROBES = engine.ProbeOptions(resolution=0, neuron_resolution=0, sequence=True,
                             gradients=False)


# -- controls ---------------------------------------------------------------------------

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


def task_section(d: dict) -> dict:
    """Task, its length and alphabet, noise, how many sequences and the batch."""
    data = dict(d["data"])
    patch: dict[str, Any] = {"data": data}
    old = data["name"]
    data["name"] = C.pick("Task", list(datasets_of("sequence")), data["name"], "sq_task")
    kind = DATASETS.get(data["name"])
    st.caption(DATASETS.describe(data["name"]))
    if data["name"] != old:  # a new task: its own lengths, and a stack that fits it
        data["length"], data["symbols"], data["noise"] = 0, 0, 0.0
        patch["model"] = {"layers": fit_stack(d["model"]["layers"], kind.tokens,
                                              kind.per_token), "output_activation": "auto"}
        patch["loss"] = "auto"
        session.bump_widgets()  # the widgets must show the fitted stack, not old values
    # 0 in the spec means "the task's default": a slider left there keeps it 0, so the
    # page's first run leaves the setup (and its link) as it was.
    lo, default, hi = kind.length
    # A link may carry any length the task accepts: the slider widens (C.slider).
    length = C.slider("Length", lo, hi, int(data["length"] or default),
                      key="sq_length", help="What the length counts depends on the "
                      "task: digits, key-value pairs, bits, words or steps")
    data["length"] = 0 if not data["length"] and length == default else length
    if kind.symbols[2]:
        lo, default, hi = kind.symbols
        symbols = C.slider("Symbols", lo, hi, int(data["symbols"] or default),
                           key="sq_symbols", help="Size of the alphabet")
        data["symbols"] = 0 if not data["symbols"] and symbols == default else symbols
    c = st.columns(2)
    data["n"] = C.number("Sequences", 100, 10_000, int(data["n"]), 100, key="sq_n",
                         container=c[0])
    patch["batch_size"] = C.number("Batch size", 1, 1000, int(d["batch_size"]),
                                   key="sq_batch", container=c[1])
    data["noise"] = C.slider("Noise", 0.0, 0.5, float(data["noise"]), 0.05, key="sq_noise",
                             help="Input noise for sine_wave, label flips for sentiment; the "
                             "other tasks are exact")
    return patch


def stack_section(d: dict) -> dict:
    """The layer stack, from the layer registry (every kind that reads sequences or
    vectors)."""
    kinds = [k for k in LAYERS.names() if k not in IMAGE_KINDS]
    return stack.stack_section(d, kinds, "sq", {"type": "dense", "units": 32,
                                                "activation": "relu"}, MAX_LAYERS)


def sidebar(spec: Spec, exp: engine.Experiment, hidden: set[str]) -> dict:
    """Presets, task, layers and training controls; returns the spec dict."""
    if "presets" not in hidden:
        C.preset_menu("sequences")
    return C.sections(spec.to_dict(), [("data", "Task", task_section),
                                       ("network", "Layers", stack_section),
                                       ("output", "Output and loss", C.output_section),
                                       ("training", "Training", C.training_section)],
                      hidden, expanded=("data", "network"))

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
    spec = session.spec()
    store = session.get(session.COMPARE)
    if store is None or store["spec"] != spec:
        info = session.experiment().dataset.sequence
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
        session.put(session.COMPARE, store)
    return store["models"]


def compare_train(epochs: int, budget: float = limits.CALL_SECONDS,
                  **_: Any) -> dict[str, dict[str, Any]]:
    """Train each of the four models ``epochs`` epochs (paced); return them.

    ``epochs`` 0 (the first frame) trains nothing but compiles what the first Step or
    Play runs (by epochs, or by steps if the pace plan will ask for that), under the
    page's compile note: done there, the first Step waited 10-30 s with no word."""
    models = _compare_models()
    for m in models.values():
        exp = m["exp"]
        by_steps = not epochs and limits.plan(exp, 1, False, None, budget).by_steps
        m["state"], chunk = session.train_paced(exp, m["state"], epochs, by_steps,
                                                budget=budget)
        session.record(chunk, m["hist"])
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


def compare_render(f: Frame) -> dict[str, Any]:
    """The compare mode's frame (``LivePage.frame``)."""
    return compare_frame(f.result)


# The functions that compute each layer kind: the page shows their source.
SOURCES = {"rnn": (rnn_cell,), "lstm": (lstm_cell,), "gru": (gru_cell,),
           "attention": (attention,), "transformer": (transformer_block, attention),
           "positional": (sinusoidal_table,)}


SOURCES_OPEN = "sq_sources"  # whether the expander of the layers' code is open


def layer_sources(spec: Spec) -> None:
    """An expander with the source of the cells and attention this stack uses."""
    kinds = list(dict.fromkeys(layer.type for layer in spec.model.layers
                               if layer.type in SOURCES))
    if not kinds:
        return
    with C.lazy_expander("How these layers compute: the engine's code", SOURCES_OPEN) as open_:
        if not open_:
            return
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
    if DATASETS.get(spec.data.name).family != "sequence":
        return (f"{spec.data.name!r} is not a sequence task: open the link on the Playground "
                "or Gradient flow page")
    return None


def compare_toggle(exp: engine.Experiment) -> dict:
    """The compare switch (above the toolbar: compare mode has its own speeds)."""
    on = st.toggle("Compare a simple RNN, an LSTM, a GRU and a transformer on this task",
                   key="sq_compare_mode")
    if on:
        try:
            with st.spinner("Building four models..."):
                _compare_models()
        except engine.EngineError as err:
            st.error(plain(f"Compare mode cannot run this task: {err}."))
            on = False
    return {"compare": on}


def example_picker(exp: engine.Experiment) -> dict:
    """Which test example the view shows."""
    n_test = exp.dataset.arrays.x_test.shape[0]
    return {"example": int(st.number_input("Test example to look at", 0, n_test - 1, 0,
                                           key="sq_example"))}


COMPARE = LivePage(prefix=PREFIX, default=DEFAULT, sidebar=sidebar, frame=compare_render,
                   asset="seq_view", fits=sequence_only, speeds=COMPARE_SPEEDS, speed=1,
                   train=compare_train, graph_budget=45.0)
PAGE = LivePage(prefix=PREFIX, default=DEFAULT, sidebar=sidebar, frame=sequence_frame.render,
                asset="seq_view", probes=PROBES, fits=sequence_only, by_steps=True,
                speeds=SPEEDS, speed=4, unit="Steps", before=compare_toggle,
                view=example_picker, extra=layer_sources,
                variant=lambda view: COMPARE if view.get("compare") else None,
                graph_budget=45.0)  # eight transformer blocks
