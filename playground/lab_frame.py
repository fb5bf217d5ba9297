"""The Playground's frame: the output over the plane, every neuron, every weight, the
points, the curves and the confusion matrix, compact enough for 30+ frames a second.

A frame for the default network is about 20 kB. No math beyond scaling for display
happens here: the numbers come from the engine's probes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from engine import ACTIVATIONS, FEATURES, LAYERS, Experiment, Probes
from playground import hand
from playground.core import session
from playground.core.encode import (
    b64,
    confusion,
    curve,
    metric_rows,
    per_unit_bytes,
    short,
    unit_bytes,
)
from playground.core.livepage import Frame

MAX_UNITS_SHOWN = 8  # neurons drawn per layer (TensorFlow Playground's maximum)
MAX_POINTS = 2_000  # points drawn per split (the data are shuffled: a fair sample)
CONFUSION_EVERY = 5
"""While playing, the confusion matrix is recounted every this many frames (a table
nobody reads at 40 frames/s; counting the test set each frame cost 12% of a frame)."""


@dataclass(frozen=True)
class View:
    """Display options chosen by the user.

    ``plane`` is the pair of raw columns drawn across and up when the data has
    more than two (the others are held at their means).
    """

    show_test: bool = False
    discretize: bool = False
    plane: tuple[int, int] = (0, 1)



def target_range(exp: Experiment) -> tuple[float, float]:
    """Display range of regression targets: the training labels' range, padded."""
    y = np.asarray(exp.dataset.arrays.y_train, np.float32)
    lo, hi = float(y.min()), float(y.max())
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def mode_of(exp: Experiment) -> str:
    """"regression", "binary" or "multiclass"."""
    if exp.dataset.task == "regression":
        return "regression"
    return "binary" if exp.structure.net.head.out_dim == 1 else "multiclass"


def output_grid(exp: Experiment, output: np.ndarray) -> dict[str, Any]:
    """The output over the plane as uint8: value (and confidence for multi-class)."""
    mode = mode_of(exp)
    head = exp.structure.net.head
    if mode == "multiclass":
        return {"grid": b64(np.argmax(output, -1)),
                "conf": b64(unit_bytes(np.max(output, -1), 0, 1))}
    o = output[..., 0]
    if mode == "binary":
        neg, pos = ACTIVATIONS.get(head.activation).binary_targets
        return {"grid": b64(unit_bytes(o, neg, pos))}
    lo, hi = target_range(exp)
    return {"grid": b64(unit_bytes(o, lo, hi))}


def points(exp: Experiment, plane: tuple[int, int] = (0, 1)) -> list[list[float]]:
    """Training then test points: [u, v, colour value, is_test] (at most ``MAX_POINTS``
    of each split).

    ``u`` and ``v`` are the two drawn columns scaled to [-1, 1] over the plane (1-D
    data: ``u`` the input, ``v`` the raw target, drawn over the target's range).
    """
    a, mode, out = exp.dataset.arrays, mode_of(exp), []
    lo, hi = target_range(exp) if mode == "regression" else (0.0, 1.0)
    centre = np.asarray(exp.dataset.centre, np.float32)
    extent = np.asarray(exp.dataset.extents, np.float32)
    i, j = plane
    for split, is_test in (("train", 0), ("test", 1)):
        x = np.asarray(getattr(a, f"x_{split}"), np.float32)[:MAX_POINTS]
        y = np.asarray(getattr(a, f"y_{split}"))[:MAX_POINTS]
        if mode == "binary":
            v = np.where(y == 1, 1.0, -1.0)
        elif mode == "multiclass":
            v = y.astype(np.float32)
        else:
            v = 2 * (y - lo) / (hi - lo) - 1
        u = (x[:, i] - centre[i]) / extent[i]
        second = (x[:, j] - centre[j]) / extent[j] if x.shape[1] > 1 else y.astype(np.float32)
        rows = np.stack([u, second, v, np.full(len(x), is_test)], -1)
        out.extend(np.round(rows.astype(np.float64), 4).tolist())
    return out


def feature_label(exp: Experiment, name: str) -> str:
    """How a feature is labelled: an upload's column name for its raw columns (x1 is
    "height"), else the feature's pretty name (x₁, x₁², sin(x₂), ...)."""
    names = exp.dataset.feature_names
    k = int(name[1:]) if name[:1] == "x" and name[1:].isdigit() else 0
    if 1 <= k <= len(names) and names[k - 1] != name:
        return short(names[k - 1])
    return FEATURES.get(name).label if name in FEATURES else name


def columns(exp: Experiment, probes: Probes, params: list[dict]) -> tuple[list, list]:
    """Network columns (features, hidden layers, output) and the weights between them."""
    net = exp.structure.net
    feature_labels = [feature_label(exp, f) for f in net.features]
    drawn = [i for i, layer in enumerate(net.layers) if LAYERS.get(layer.type).has_neurons]
    names = ["Features", *[f"Layer {k + 1}" for k in range(len(drawn))], "Output"]
    param_index = [None, *drawn, len(params) - 1]
    cols, weights = [], []
    for c, grid in enumerate(probes.neurons):
        n = grid.shape[-1]
        shown = min(n, MAX_UNITS_SHOWN)
        scaled = per_unit_bytes(np.asarray(grid[..., :shown]))
        p = params[param_index[c]] if param_index[c] is not None else {}
        units = []
        for j in range(shown):
            label = feature_labels[j] if c == 0 else (f"{names[c]} #{j + 1}" if c < len(
                names) - 1 else f"output {j + 1}")
            unit = {"grid": b64(scaled[..., j]), "label": label}
            if "b" in p:  # features have no bias
                unit["bias"] = float(p["b"][j])
            units.append(unit)
        cols.append({"name": names[c], "units": units, "more": n - shown})
        if c > 0:
            w = p.get("w")
            # float64: rounding a diverged float32 weight (~1e36) would overflow to inf
            weights.append(None if w is None else np.round(
                np.asarray(w, np.float64)[:MAX_UNITS_SHOWN, :shown], 4).tolist())
    return cols, weights



def plane_axis(exp: Experiment, plane: tuple[int, int]) -> str:
    """What the plane's axes are, in words."""
    ds = exp.dataset
    c, e = ds.centre, ds.extents
    i, j = plane
    x, y = feature_label(exp, f"x{i + 1}"), feature_label(exp, f"x{j + 1}")
    if ds.input_dim == 1:
        return f"{x} from {c[0] - e[0]:.3g} to {c[0] + e[0]:.3g}"
    if ds.input_dim == 2 and c[i] == c[j] and e[i] == e[j]:
        return f"{x} \u2192 and {y} \u2191, each from {c[i] - e[i]:.3g} to {c[i] + e[i]:.3g}"
    text = (f"{x} \u2192 from {c[i] - e[i]:.3g} to {c[i] + e[i]:.3g}; "
            f"{y} \u2191 from {c[j] - e[j]:.3g} to {c[j] + e[j]:.3g}")
    return text + ("; the other columns at their means" if ds.input_dim > 2 else "")



def make_frame(exp: Experiment, params: list[dict], probes: Probes, epoch: int,
               metrics: dict[str, float | None], history: dict[str, list[float]],
               view: View, stop_epoch: int | None = None,
               with_points: bool = True, step: int = 0,
               confusion_counts=None) -> dict[str, Any]:
    """Everything the live view draws for one frame, as JSON-able data.

    The data points go only with ``with_points`` (the first frame of a run); the
    browser keeps them by ``points_id`` for the frames after.
    """
    dim = exp.dataset.input_dim
    out = np.asarray(probes.output)
    frame: dict[str, Any] = {
        "epoch": int(epoch), "step": int(step), "dim": min(dim, 2), "mode": mode_of(exp),
        "res": int(out.shape[0]),
        "points_id": f"{hash((exp.spec.data, id(exp.dataset), view.plane)) & 0xFFFFFFFF:x}",
        "show_test": view.show_test, "discretize": view.discretize,
        "metrics": metric_rows(metrics), "curve": curve(history, stop_epoch),
        "axis": plane_axis(exp, view.plane),
        **output_grid(exp, out),
    }
    if with_points:
        frame["points"] = points(exp, view.plane)
    if dim == 1:
        frame["ylo"], frame["yhi"] = target_range(exp)
    if probes.neurons:
        cols, weights = columns(exp, probes, params)
        frame.update(layers=cols, weights=weights, nr=int(probes.neurons[0].shape[0]),
                     wscale=2.5)
    frame["legend"] = {"val": bool(exp.dataset.arrays.x_val.shape[0]), "classes": [
        short(n) for n in exp.dataset.class_names] if frame["mode"] == "multiclass" else []}
    frame["confusion"] = confusion(exp.dataset.class_names, confusion_counts)
    return frame


def render(f: Frame) -> dict[str, Any]:
    """The frame of the Playground's session (``LivePage.frame``)."""
    exp, state = f.exp, f.state
    hist = session.history()
    metrics = session.current_metrics() if hist["train_loss"] else exp.metrics(state)
    stop = int(state.monitor.best_epoch) if bool(state.monitor.stopped) else None
    view = View(show_test=f.view.get("show_test", False),
                discretize=f.view.get("discretize", False), plane=f.view.get("plane", (0, 1)))
    frame = make_frame(exp, jax.device_get(state.params), f.result, int(state.epoch),
                       metrics, hist, view, stop, with_points=f.first, step=int(state.step),
                       confusion_counts=confusion_counts(f))
    frame["rate"] = session.get(session.RATE)  # the schedule at work (None before training)
    return hand.patch_frame(frame, exp)


def confusion_counts(f: Frame) -> np.ndarray | None:
    """The test set's confusion matrix: counted on a first frame, while paused and every
    ``CONFUSION_EVERY`` frames while playing (the last count is shown in between)."""
    exp, frames, counts = session.get(session.CONFUSION, (None, 0, None))
    frames += 1
    if f.first or not session.playing() or frames % CONFUSION_EVERY == 0 or exp is not f.exp:
        counts = f.exp.confusion_matrix(f.state)
    session.put(session.CONFUSION, (f.exp, frames, counts))
    return counts
