"""Activation and loss explorers: curves from ``engine.explain``, drawn with Plotly."""

from __future__ import annotations

import functools

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine import ACTIVATIONS, LOSSES
from engine.teach.explain import activation_curve, loss_curve, saturated

ORANGE, BLUE, GREY = "#f59322", "#0877bd", "#888"


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=height,
                      margin=dict(l=40, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.2),
                      template="plotly_white")
    return fig


def _spans(mask: np.ndarray, x: np.ndarray) -> list[tuple[float, float]]:
    """Contiguous runs of True in ``mask`` as (x_start, x_end)."""
    spans, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        if (not m or i == len(mask) - 1) and start is not None:
            end = i if m else i - 1
            spans.append((float(x[start]), float(x[end])))
            start = None
    return spans


@functools.cache  # a fact of the registry and the slope: computed once, not every rerun
def output_range(name: str, alpha: float = 0.25) -> str:
    """Activation ``name``'s range in interval notation: a finite end is closed ("[")
    where the function reaches it, open where it only tends to it (sigmoid's (0, 1),
    ReLU's [0, inf)). Reached: the value itself at some z in [-5, 5] (XLA's float32
    tanh is exactly 1 from about z = 8 on), or a minimum inside that span (GELU, swish).
    The bounds are the registry's, for PReLU's default slope."""
    act, y = ACTIVATIONS.get(name), activation_curve(name, np.linspace(-5, 5, 1001), alpha).y

    def closed(bound: float, at: int) -> bool:
        return bool(np.isfinite(bound) and (bound in y or 0 < at < len(y) - 1))

    left = "[" if closed(act.lo, int(np.argmin(y))) else "("
    right = "]" if closed(act.hi, int(np.argmax(y))) else ")"
    return f"{left}{act.lo:g}, {act.hi:g}{right}".replace("inf", "∞")


def activation_explorer() -> None:
    """Pick an activation: its curve, its derivative (jax.grad) and where it saturates."""
    names = ACTIVATIONS.names()
    c = st.columns([1.2, 1.5, 1])
    name = c[0].selectbox("Activation", names, index=names.index("sigmoid"), key="ex_act",
                          format_func=ACTIVATIONS.title)
    lo, hi = c[1].slider("z range", -20.0, 20.0, (-6.0, 6.0), 0.5, key="ex_range")
    alpha = 0.25
    if ACTIVATIONS.get(name).param_init is not None:
        alpha = c[2].slider("PReLU slope a", 0.0, 1.0, 0.25, 0.05, key="ex_alpha")
    z = np.linspace(lo, hi, 801)
    curve = activation_curve(name, z, alpha)
    sat = saturated(curve)
    fig = go.Figure()
    for a, b in _spans(sat, curve.x):
        fig.add_vrect(x0=a, x1=b, fillcolor="#eee", line_width=0, layer="below")
    title = ACTIVATIONS.title(name)
    fig.add_scatter(x=curve.x, y=curve.y, name=f"{title}(z)", line=dict(color=BLUE, width=3))
    fig.add_scatter(x=curve.x, y=curve.dy, name=f"{title}'(z)  (jax.grad)",
                    line=dict(color=ORANGE, width=2, dash="dash"))
    st.plotly_chart(_layout(fig, f"{title} and its derivative (grey: saturated, "
                            f"|f'| < 5% of its peak)", "z (pre-activation)", "value"),
                    key="ex_act_chart")
    act = ACTIVATIONS.get(name)
    m = st.columns(4)
    m[0].metric("Output range", output_range(name, alpha))
    m[1].metric("Largest slope", f"{np.max(np.abs(curve.dy)):.3g}")
    m[2].metric("Slope at z = 0", f"{activation_curve(name, np.zeros(1), alpha).dy[0]:.3g}")
    m[3].metric("Saturated share of this range", f"{sat.mean():.0%}")
    st.caption(f"**{act.formula}**. {ACTIVATIONS.describe(name)}")
    compare = st.multiselect("Compare derivatives (why deep sigmoid nets' gradients vanish)",
                             names, default=["sigmoid", "tanh", "relu"], key="ex_compare",
                             format_func=ACTIVATIONS.title)
    if compare:
        fig = go.Figure()
        for other in compare:
            oc = activation_curve(other, z, alpha)
            fig.add_scatter(x=oc.x, y=oc.dy, name=f"{ACTIVATIONS.title(other)}'")
        st.plotly_chart(_layout(fig, "Derivatives side by side: backpropagation multiplies "
                                "one per layer", "z", "f'(z)", 300), key="ex_cmp_chart")


def loss_explorer() -> None:
    """Pick a loss and a target: the loss and its gradient against the prediction."""
    c = st.columns([1, 1.3, 1.3, 1])
    task = c[0].radio("Task", ["classification", "regression"], key="ex_task",
                      format_func=lambda t: "Two classes" if t == "classification" else t.title())
    losses = [n for n in LOSSES.names() if task in LOSSES.get(n).tasks]
    loss = c[1].selectbox("Loss", losses, key=f"ex_loss_{task}", format_func=LOSSES.title)
    need = LOSSES.get(loss).needs_activation
    outs = [need] if need else (["sigmoid", "tanh", "linear"] if task == "classification"
                                else ["linear", "tanh", "sigmoid"])
    out = c[2].selectbox("Output activation", outs, key=f"ex_out_{loss}_{task}",
                         format_func=ACTIVATIONS.title)
    if task == "classification":
        target = c[3].radio("True class", [1, 0], key="ex_target", horizontal=True)
    else:
        target = c[3].number_input("Target", -3.0, 3.0, 1.0, 0.5, key="ex_target_reg")
    z = np.linspace(-8, 8, 801)
    curve = loss_curve(loss, out, target, z, task)
    fig = go.Figure()
    fig.add_scatter(x=curve.x, y=curve.y, name="loss", line=dict(color=BLUE, width=3))
    fig.add_scatter(x=curve.x, y=curve.dy, name="d loss / d z (what backprop sends back)",
                    line=dict(color=ORANGE, width=2, dash="dash"))
    st.plotly_chart(_layout(fig, f"{loss} after {out}, target {target}",
                            f"prediction = {out}(z)", "value"), key="ex_loss_chart")
    st.caption(LOSSES.describe(loss))
    if task == "classification" and out == "sigmoid":
        # the chosen loss against cross-entropy (against squared error when it is chosen)
        other = loss if loss not in ("binary_crossentropy", "categorical_crossentropy") \
            else "mse"
        wrong = -6.0 if target == 1 else 6.0
        g = abs(loss_curve(other, "sigmoid", target, np.array([wrong]), task).dy[0])
        bce = abs(loss_curve("binary_crossentropy", "sigmoid", target, np.array([wrong]),
                             task).dy[0])
        st.info(f"**Confidently wrong** (z = {wrong:g}, prediction "
                f"{1 / (1 + np.exp(-wrong)):.3f} for class {target}): the gradient is "
                f"{bce:.3f} with cross-entropy but only {g:.4f} with {other}, "
                f"{bce / g:,.0f} times smaller. The sigmoid's flat tail multiplies "
                f"{other}'s gradient by almost zero; cross-entropy's log cancels it, "
                "so the network still learns from its worst mistakes." if g < bce / 2 else
                f"**Confidently wrong** (z = {wrong:g}): the gradient is {g:.3f} with {other} "
                f"and {bce:.3f} with cross-entropy: both still push the network to learn "
                "from its worst mistakes.")
