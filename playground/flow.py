"""The Gradient flow page: a deep MLP's gradients, activations and weights, live.

Each frame trains a few epochs and probes, inside the same jitted call, every
layer's full-batch gradient norm and the statistics of its pre-activations,
activations and weights (``engine.probes.LayerStats``). The page keeps a short
per-frame record (the layer x time heatmap) and sends one compact frame to a
canvas component, as the Playground does.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np
import streamlit as st

import engine
from engine import ACTIVATIONS, INITIALIZERS
from engine.blocks.dense import NORMS
from engine.presets import preset
from engine.teach.explain import activation_curve, gradient_health
from playground.core import controls as C
from playground.core import session
from playground.core.encode import b64, curve, metric_rows
from playground.core.livepage import Frame, LivePage
from playground.core.session import wkey

PREFIX = "gf"  # this page's session namespace (see ``session.use_page``)
DEFAULT = preset("vanishing_sigmoid")
MAX_DEPTH = 30
MAX_WIDTH = 64
TRACE_FRAMES = 240  # columns of the layer x time heatmap (older frames scroll away)
HEAT_RANGE = (-8.0, 2.0)  # log10 gradient norms mapped onto the heatmap's colours
SPEEDS = (1, 2, 3, 5, 10, 20, 50)  # epochs per frame
PROBES = engine.ProbeOptions(resolution=0, neuron_resolution=0, layers=True)  # what frames need


# -- the network controls ---------------------------------------------------------------

def _shape_of(layers: list[dict]) -> dict[str, Any]:
    """(depth, width, activation, norm, residual) described by a list of dense layers."""
    dense = [x for x in layers if x["type"] == "dense"] or [{"units": 32}]
    return {"depth": len(dense), "units": int(dense[0].get("units", 32)),
            "activation": dense[0].get("activation", "relu"),
            "norm": dense[0].get("norm", "none"),
            "residual": any(x.get("residual", False) for x in dense)}


def _layers_of(shape: dict[str, Any]) -> list[dict]:
    """A uniform stack: the first layer maps the inputs, the others may be residual."""
    first = {"type": "dense", "units": shape["units"], "activation": shape["activation"],
             "norm": shape["norm"]}
    rest = {**first, "residual": shape["residual"]}
    return [first] + [rest] * (shape["depth"] - 1)


def network_section(d: dict) -> dict:
    """Depth, width, activation, initialiser, normalisation and residual connections."""
    model = d["model"]
    was = _shape_of(model["layers"])
    c = st.columns(2)
    now = {
        "depth": C.number("Hidden layers", 1, MAX_DEPTH, was["depth"], key="gf_depth",
                          container=c[0]),
        "units": C.number("Neurons per layer", 2, MAX_WIDTH, was["units"], key="gf_units",
                          container=c[1]),
        "activation": C.pick("Activation", ACTIVATIONS.names(), was["activation"], "gf_act",
                              help=ACTIVATIONS.describe(was["activation"]),
                              format_func=ACTIVATIONS.title),
        "norm": st.selectbox("Normalisation", NORMS, index=NORMS.index(was["norm"]),
                             key=wkey("gf_norm"), help="Normalise each layer's "
                             "pre-activations before the activation",
                             format_func=lambda n: "Off" if n == "none"
                             else n.replace("_", " ").capitalize()),
        "residual": st.toggle("Residual connections", was["residual"], key=wkey("gf_res"),
                              help="Layers 2 and up add their input to their output: "
                              "y = x + f(x W + b)"),
    }
    patch = {"model": {"init": C.pick("Weight initialiser", INITIALIZERS.names(), model["init"],
                                      "gf_init", help=INITIALIZERS.describe(model["init"]),
                                      format_func=INITIALIZERS.title)}}
    if now != was:  # a link's hand-made stack stays as it is until a control moves
        patch["model"]["layers"] = _layers_of(now)
    return patch


def sidebar(spec: engine.Spec, exp: engine.Experiment, hidden: set[str]) -> dict:
    """Gradient presets, data, network and training controls; returns the spec dict."""
    if "presets" not in hidden:
        C.preset_menu("gradients")
    return C.sections(spec.to_dict(), [("data", "Data", C.data_section),
                                       ("network", "Deep network", network_section),
                                       ("training", "Training", C.training_section)],
                      hidden, expanded=("network",))


# -- frames -----------------------------------------------------------------------------

def _rows(a: np.ndarray, digits: int = 4) -> list:
    """A float array as nested lists, NaN/inf as None (JSON has no NaN)."""
    a = np.asarray(a, np.float64)
    out = np.round(a, digits).astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def _log10(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.asarray(x, np.float64))


def record(probes, dense: list[int], epoch: int) -> dict[str, list]:
    """Append this frame's gradient norms and statistics to the page's trace."""
    trace = session.get(session.TRACE)
    if trace is None:
        trace = {"epoch": [], "grad": [], "act": [], "w": []}
        session.put(session.TRACE, trace)
    if trace["epoch"] and trace["epoch"][-1] == epoch:  # a redraw without training
        return trace
    trace["epoch"].append(epoch)
    trace["grad"].append(_log10(np.asarray(probes.grad_norm)[dense]))
    trace["act"].append(np.asarray(probes.layers.act_stats))
    trace["w"].append(np.asarray(probes.layers.weight_stats))
    for k in trace:
        del trace[k][:-TRACE_FRAMES]
    return trace


def heatmap(grad_rows: list[np.ndarray]) -> np.ndarray:
    """(layers, frames) uint8: log10 gradient norm over ``HEAT_RANGE``; 0 = no gradient."""
    lo, hi = HEAT_RANGE
    g = np.stack(grad_rows, axis=1)  # (layers, frames)
    scaled = np.clip(np.rint(1 + (g - lo) / (hi - lo) * 254), 1, 255)
    return np.where(np.isfinite(g), scaled, 0).astype(np.uint8)


def _value_range(name: str, stats: np.ndarray) -> tuple[float, float]:
    """Axis range for activations: the function's range where bounded, else the data's."""
    act = ACTIVATIONS.get(name)
    lo = act.lo if np.isfinite(act.lo) else float(np.nanmin(stats[:, 0], initial=0.0))
    hi = act.hi if np.isfinite(act.hi) else float(np.nanmax(stats[:, 4], initial=1.0))
    return lo, hi if hi > lo else lo + 1.0


@functools.lru_cache(maxsize=256)
def _curve(activation: str, m: float, alpha: float):
    """(m, f and f' on 81 points over [-m, m]); cached: m is rounded to 3 digits, and
    evaluating the curve eagerly each frame would cost more than the frame's training."""
    return m, activation_curve(activation, np.linspace(-m, m, 81), alpha)


def make_flow_frame(exp: engine.Experiment, params: list[dict], probes, epoch: int,
                    history: dict[str, list[float]], trace: dict[str, list],
                    selected: int, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the flow view draws for one frame, as JSON-able data.

    ``selected`` is the inspected hidden dense layer (0-based), ``metrics`` the
    latest per-split losses for the header.
    """
    net = exp.structure.net
    hidden = [layer for layer in net.layers if layer.type == "dense"]
    dense = [i for i, p in enumerate(params) if "w" in p]  # hidden dense layers, then output
    names = [f"L{k + 1}" for k in range(len(hidden))] + ["out"]
    grad = _log10(np.asarray(probes.grad_norm)[dense])
    stats = probes.layers
    norms = np.asarray(probes.grad_norm)[dense]
    verdict = "no hidden layer" if not hidden else "one hidden layer: nothing to compare"
    health = ({"ratio": None, "verdict": verdict} if len(hidden) < 2 else dict(
        zip(("ratio", "verdict"), gradient_health(float(norms[0]), float(norms[-2])),
            strict=True)))
    if health["ratio"] is not None and not np.isfinite(health["ratio"]):
        health["ratio"] = None
    frame: dict[str, Any] = {
        "epoch": int(epoch), "names": names, "grad": _rows(grad, 3),
        "health": health, "heat_range": list(HEAT_RANGE),
        "heat": b64(heatmap(trace["grad"])), "heat_frames": len(trace["grad"]),
        "heat_epochs": [trace["epoch"][0], trace["epoch"][-1]],
        "weights": _rows(stats.weight_stats), "dead": _rows(stats.dead, 3),
        "saturated": _rows(stats.saturated, 3),
        "metrics": metric_rows(metrics or {}),
        "curve": curve(history, None),
    }
    if hidden:
        selected = min(max(selected, 0), len(hidden) - 1)
        layer = hidden[selected].opts()
        act_name = layer["activation"]
        frame["acts"] = _rows(stats.act_stats)
        frame["act_range"] = list(_value_range(act_name, np.asarray(stats.act_stats)))
        alpha = params[dense[selected]].get("alpha")
        m, cv = _curve(act_name, float(f"{float(stats.pre_range[selected]):.3g}"),
                       round(float(np.mean(alpha)), 3) if alpha is not None else 0.25)
        frame["selected"] = {
            "index": selected, "name": f"Layer {selected + 1}", "activation": act_name,
            "hist": np.asarray(stats.pre_hist[selected]).astype(int).tolist(),
            "range": round(m, 4), "curve_y": _rows(cv.y), "curve_dy": _rows(cv.dy),
            "act_time": _rows(np.stack([a[selected] for a in trace["act"]])),
            "w_time": _rows(np.stack([w[selected] for w in trace["w"]])),
        }
    return frame


def render(f: Frame) -> dict[str, Any]:
    """The frame of the page's session (``LivePage.frame``); the view's ``selected`` is
    the inspected layer (1-based)."""
    params = jax.device_get(f.state.params)
    dense = [i for i, p in enumerate(params) if "w" in p]
    trace = record(f.result, dense, int(f.state.epoch))
    return make_flow_frame(f.exp, params, f.result, int(f.state.epoch), session.history(),
                           trace, f.view.get("selected", 1) - 1, session.current_metrics())


def inspect_picker(exp: engine.Experiment) -> dict:
    """Which hidden layer the page inspects (a slider once there are two)."""
    depth = sum(layer.type == "dense" for layer in exp.structure.net.layers)
    if depth <= 1:
        return {"selected": 1}
    # Keyed by depth: a shallower network starts again at layer 1.
    return {"selected": st.select_slider(
        "Inspect hidden layer", list(range(1, depth + 1)), value=1, key=f"gf_selected_{depth}",
        help="Its pre-activations against the activation's curve, and its activations and "
        "weights over time")}


PAGE = LivePage(prefix=PREFIX, default=DEFAULT, sidebar=sidebar, frame=render,
                asset="flow_view", probes=PROBES, speeds=SPEEDS, speed=2, view=inspect_picker,
                graph_budget=64.0,  # 30 normalised layers: no grids to draw, quick to compile
                padded="deep")  # depth, width, activation and residual edits compile nothing
