"""Turn the engine's probes into one compact frame for the live view.

Grids become uint8 (128 = zero for diverging colours) and travel as base64;
weights and points are rounded. A frame for the default network is about
20 kB, small enough to send 30+ times a second. No math beyond scaling for
display happens here: the numbers come from ``engine`` probes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import ACTIVATIONS, FEATURES, LAYERS, Experiment
from engine.training import Probes

MAX_UNITS_SHOWN = 8  # neurons drawn per layer (TensorFlow Playground's maximum)
CURVE_POINTS = 300  # loss-curve points sent per frame


@dataclass(frozen=True)
class View:
    """Display options chosen by the user."""

    show_test: bool = False
    discretize: bool = False


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, np.uint8).tobytes()).decode("ascii")


def _unit(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map [lo, hi] to 0..255."""
    span = hi - lo if hi > lo else 1.0
    return np.clip(np.rint((x - lo) / span * 255.0), 0, 255).astype(np.uint8)


def _symmetric(x: np.ndarray) -> np.ndarray:
    """Map [-m, m] (m = max |x|) to 0..255 with 0 at 128."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    m = m if m > 1e-12 else 1.0
    return np.clip(np.rint(128 + 127 * x / m), 0, 255).astype(np.uint8)


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
        return {"grid": b64(np.argmax(output, -1)), "conf": b64(_unit(np.max(output, -1), 0, 1))}
    o = output[..., 0]
    if mode == "binary":
        neg, pos = ACTIVATIONS.get(head.activation).binary_targets
        return {"grid": b64(_unit(o, neg, pos))}
    lo, hi = target_range(exp)
    return {"grid": b64(_unit(o, lo, hi))}


def points(exp: Experiment) -> list[list[float]]:
    """Training then test points: [x1, x2 (or target for 1-D), colour value, is_test]."""
    a, mode, out = exp.dataset.arrays, mode_of(exp), []
    lo, hi = target_range(exp) if mode == "regression" else (0.0, 1.0)
    for split, is_test in (("train", 0), ("test", 1)):
        x = np.asarray(getattr(a, f"x_{split}"), np.float32)
        y = np.asarray(getattr(a, f"y_{split}"))
        if mode == "binary":
            v = np.where(y == 1, 1.0, -1.0)
        elif mode == "multiclass":
            v = y.astype(np.float32)
        else:
            v = 2 * (y - lo) / (hi - lo) - 1
        second = x[:, 1] if x.shape[1] > 1 else y.astype(np.float32)
        rows = np.stack([x[:, 0], second, v, np.full(len(x), is_test)], -1)
        out.extend(np.round(rows, 3).tolist())
    return out


def columns(exp: Experiment, probes: Probes, params: list[dict]) -> tuple[list, list]:
    """Network columns (features, hidden layers, output) and the weights between them."""
    net = exp.structure.net
    feature_labels = [FEATURES.get(f).label if f in FEATURES else f for f in net.features]
    drawn = [i for i, layer in enumerate(net.layers) if LAYERS.get(layer.type).has_neurons]
    names = ["Features", *[f"Layer {k + 1}" for k in range(len(drawn))], "Output"]
    param_index = [None, *drawn, len(params) - 1]
    cols, weights = [], []
    for c, grid in enumerate(probes.neurons):
        n = grid.shape[-1]
        shown = min(n, MAX_UNITS_SHOWN)
        scaled = _symmetric(np.asarray(grid[..., :shown]))
        p = params[param_index[c]] if param_index[c] is not None else {}
        units = []
        for j in range(shown):
            label = feature_labels[j] if c == 0 else (f"{names[c]} #{j + 1}" if c < len(
                names) - 1 else f"output {j + 1}")
            bias = float(p["b"][j]) if "b" in p else None
            units.append({"grid": b64(scaled[..., j]), "label": label, "bias": bias})
        cols.append({"name": names[c], "units": units, "more": n - shown})
        if c > 0:
            w = p.get("w")
            weights.append(None if w is None else np.round(
                np.asarray(w)[:MAX_UNITS_SHOWN, :shown], 4).tolist())
    return cols, weights


def curve(history: dict[str, list[float]], stop_epoch: int | None) -> dict[str, Any]:
    """Loss curves downsampled to at most CURVE_POINTS points each."""
    n = len(history.get("train_loss", []))
    idx = np.unique(np.linspace(0, n - 1, min(n, CURVE_POINTS)).astype(int)) if n else []
    out: dict[str, Any] = {}
    for key, name in (("train_loss", "train"), ("test_loss", "test"), ("val_loss", "val")):
        vals = np.asarray(history.get(key, []), np.float64)
        out[name] = [] if not n or np.all(np.isnan(vals)) else [
            round(float(v), 5) if np.isfinite(v) else None for v in vals[idx]]
    out["stop_at"] = (stop_epoch - 1) / max(n - 1, 1) if stop_epoch and n > 1 else None
    return out


def loss_html(exp: Experiment, metrics: dict[str, float | None]) -> str:
    """"Train loss 0.012 · Test loss 0.015 · accuracy 99%" as small HTML."""
    parts = []
    for split in ("train", "val", "test"):
        loss = metrics.get(f"{split}_loss")
        if loss is None:
            continue
        text = f"{split.capitalize()} loss <b>{loss:.4f}</b>"
        acc = metrics.get(f"{split}_accuracy")
        if acc is not None:
            text += f" ({acc:.1%})"
        parts.append(text)
    return " &middot; ".join(parts)


def confusion_html(names: tuple[str, ...], m) -> str:
    """A small HTML table: rows are true classes, columns predicted (test set)."""
    head = "".join(f"<th>{n}</th>" for n in names)
    rows = "".join(
        f"<tr><th>{names[i]}</th>" + "".join(
            f'<td class="{"hit" if i == j else ("miss" if v else "")}">{v}</td>'
            for j, v in enumerate(row)) + "</tr>" for i, row in enumerate(m.tolist()))
    return ('<div class="lv-cm-title">Confusion matrix, test set: true class (rows) vs '
            f'predicted (columns)</div><table class="lv-cm"><tr><th></th>{head}</tr>{rows}'
            "</table>")


def make_frame(exp: Experiment, params: list[dict], probes: Probes, epoch: int,
               metrics: dict[str, float | None], history: dict[str, list[float]],
               view: View, stop_epoch: int | None = None,
               with_points: bool = True, step: int = 0, confusion=None) -> dict[str, Any]:
    """Everything the live view draws for one frame, as JSON-able data.

    The data points go only with ``with_points`` (the first frame of a run); the
    browser keeps them by ``points_id`` for the frames after.
    """
    dim = exp.dataset.input_dim
    out = np.asarray(probes.output)
    frame: dict[str, Any] = {
        "epoch": int(epoch), "step": int(step), "dim": dim, "mode": mode_of(exp),
        "res": int(out.shape[0]),
        "extent": float(exp.dataset.extent),
        "points_id": f"{hash((exp.spec.data, id(exp.dataset))) & 0xFFFFFFFF:x}",
        "show_test": view.show_test, "discretize": view.discretize,
        "loss_html": loss_html(exp, metrics), "curve": curve(history, stop_epoch),
        **output_grid(exp, out),
    }
    if with_points:
        frame["points"] = points(exp)
    if dim == 1:
        frame["ylo"], frame["yhi"] = target_range(exp)
        frame["axis"] = f"x\u2081 from {-exp.dataset.extent:g} to {exp.dataset.extent:g}"
    else:
        e = exp.dataset.extent
        frame["axis"] = f"x\u2081 \u2192 and x\u2082 \u2191, each from {-e:g} to {e:g}"
    if probes.neurons:
        cols, weights = columns(exp, probes, params)
        frame.update(layers=cols, weights=weights, nr=int(probes.neurons[0].shape[0]),
                     wscale=2.5)
    legend = ('<span style="color:#555">&#9644; train loss</span> &nbsp; '
              '<span style="color:#f59322">&#9644; test loss</span>')
    if exp.dataset.arrays.x_val.shape[0]:
        legend += ' &nbsp; <span style="color:#0877bd">&#9644; validation loss</span>'
    if frame["mode"] == "multiclass":
        legend += "<br>Classes: " + ", ".join(f"<b>{n}</b>" for n in exp.dataset.class_names)
    frame["legend_html"] = legend
    frame["extra_html"] = "" if confusion is None else confusion_html(exp.dataset.class_names,
                                                                       confusion)
    return frame
