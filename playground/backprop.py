"""Backprop, step by step: every number of one example's forward and backward pass.

The network is the classic 2-2-1 sigmoid net on XOR's four examples, starting
from the ``xor_backprop`` preset's weights. "Next example" applies the update
and moves on; "Back" undoes it. The numbers come from ``engine.backprop``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import engine
from engine.presets import preset
from engine.teach.backprop import Trace, trace
from playground.core import session

EXAMPLES = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])  # xor_gate's corners
TARGETS = np.array([[0.0], [1.0], [1.0], [0.0]])
ACTS = ["sigmoid", "sigmoid"]
HISTORY = "bp_history"  # list of (weights, biases, example index, epoch)


def initial() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The preset's initial weights and biases as float64 arrays."""
    exp = engine.build(preset("xor_backprop"))
    params = exp.init().params
    return ([np.asarray(p["w"], np.float64) for p in params],
            [np.asarray(p["b"], np.float64) for p in params])


def _history() -> list:
    steps = session.value(HISTORY)
    if steps is None:
        w, b = initial()
        steps = [(w, b, 0, 1)]
        session.set_value(HISTORY, steps)
    return steps


def current(lr: float) -> tuple[Trace, int, int]:
    """The trace of the current example with the current weights."""
    w, b, i, epoch = _history()[-1]
    return trace(w, b, ACTS, EXAMPLES[i], TARGETS[i], lr), i, epoch


def step_forward(lr: float) -> None:
    """Apply the current example's update and move to the next example."""
    tr, i, epoch = current(lr)
    w = [layer.W_new for layer in tr.layers]
    b = [layer.b_new for layer in tr.layers]
    nxt = (i + 1) % len(EXAMPLES)
    _history().append((w, b, nxt, epoch + (nxt == 0)))


def step_back() -> None:
    if len(_history()) > 1:
        _history().pop()


def reset() -> None:
    session.set_value(HISTORY, None)


def _vec(v: np.ndarray) -> str:
    return ", ".join(f"{x:.4f}" for x in np.ravel(v))


def _table(rows: dict | list, key: str) -> None:
    """A table of the step's numbers, each to 4 decimals (the default format drops
    trailing zeros: a class read 0.4 beside 0.1704 and took it for another kind of
    number)."""
    frame = pd.DataFrame(rows)
    st.dataframe(frame, hide_index=True, key=key, column_config={
        col: st.column_config.NumberColumn(format="%.4f")
        for col in frame.columns if frame[col].dtype.kind == "f"})


def controls() -> float:
    """Learning rate and the step buttons; returns the learning rate."""
    c = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    lr = c[0].select_slider("Learning rate", [0.1, 0.5, 1.0, 2.0, 5.0], value=2.0,
                            key="bp_lr")
    c[1].button("Back", on_click=step_back, icon=":material/undo:", key="bp_back",
                use_container_width=True, disabled=len(_history()) <= 1)  # nothing to undo
    c[2].button("Next example", on_click=step_forward, args=(lr,), type="primary",
                icon=":material/skip_next:", key="bp_next", use_container_width=True)
    c[3].button("Reset", on_click=reset, icon=":material/restart_alt:", key="bp_reset",
                use_container_width=True)
    return lr


def show(lr: float) -> None:
    """The tables of the current step."""
    tr, i, epoch = current(lr)
    hidden, out = tr.layers
    st.markdown(f"**Epoch {epoch}, example {i + 1} of 4:** x = ({_vec(EXAMPLES[i])}), "
                f"target t = {TARGETS[i][0]:g} &nbsp;&middot;&nbsp; "
                f"output a = {out.a[0]:.4f} &nbsp;&middot;&nbsp; "
                f"loss L = 0.5 (a - t)^2 = **{tr.loss:.5f}**")
    st.subheader("1. Forward pass", divider="gray")
    _table({
        "neuron": ["hidden 1", "hidden 2", "output"],
        "z = a_in W + b": [*hidden.z, *out.z],
        "a = sigmoid(z)": [*hidden.a, *out.a],
    }, "bp_forward")
    st.subheader("2. Backward pass: the chain rule", divider="gray")
    st.latex(r"\frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}\cdot "
             r"\sigma'(z), \qquad \sigma'(z) = a(1-a), \qquad "
             r"\frac{\partial L}{\partial a_{\mathrm{hidden}}} = "
             r"\frac{\partial L}{\partial z_{\mathrm{out}}}\, w")
    _table({
        "neuron": ["output", "hidden 1", "hidden 2"],
        "dL/da (arrives from above)": [*out.dL_da, *hidden.dL_da],
        "local sigma'(z)": [*out.da_dz, *hidden.da_dz],
        "dL/dz = product": [*out.dL_dz, *hidden.dL_dz],
    }, "bp_backward")
    st.subheader("3. Gradients and the update  W <- W - lr dL/dW", divider="gray")
    rows = []
    for name, layer in (("input -> hidden", hidden), ("hidden -> output", out)):
        for r in range(layer.W.shape[0]):
            for c in range(layer.W.shape[1]):
                rows.append({"weight": f"{name}: w[{r + 1},{c + 1}]",
                             "a_in": layer.a_in[r], "dL/dz": layer.dL_dz[c],
                             "dL/dw = a_in * dL/dz": layer.dL_dW[r, c],
                             "w": layer.W[r, c], "w new": layer.W_new[r, c]})
        for c in range(layer.b.shape[0]):
            rows.append({"weight": f"{name}: bias {c + 1}", "a_in": 1.0,
                         "dL/dz": layer.dL_dz[c], "dL/dw = a_in * dL/dz": layer.dL_db[c],
                         "w": layer.b[c], "w new": layer.b_new[c]})
    _table(rows, "bp_updates")
    st.caption(f"Learning rate {lr:g}. Every gradient here is also checked against "
               "jax.grad in the tests.")
