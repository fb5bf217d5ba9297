"""The Images page's frame: one picture seen by the network, its feature maps and
kernels, the probabilities and saliency, the conv arithmetic asked for, and the test
set's confusion matrix and most confidently wrong pictures.

Maps and kernels travel as uint8 tiles within ``PICTURE_BYTES``; the test report is
computed once an epoch (it reads the whole test set), the arithmetic at most twice a
second. The numbers come from the engine (``ImageProbes``, ``TestReport``,
``Experiment.explain_conv``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import engine
from playground.core import session
from playground.core.encode import (
    b64,
    confusion,
    curve,
    metric_rows,
    short,
    symmetric_bytes,
    unit_bytes,
)
from playground.core.livepage import Frame

PICTURE_BYTES = 300_000  # feature maps and kernels per frame, before base64
KERNEL_ROWS, KERNEL_COLS = 8, 16  # kernels shown per conv layer: input channels x filters
CHANNELS_EXPLAINED = 3  # input channels written out in the conv arithmetic
EXPLAIN_SECONDS = 0.5  # the arithmetic is computed again at most this often


def _tiles(maps: np.ndarray) -> bytes:
    """(H, W, C) maps as C tiles, each scaled to its own range (a dim map still shows)."""
    tiles = [unit_bytes(m, float(np.nanmin(m)), float(np.nanmax(m))) for m in
             np.moveaxis(np.asarray(maps, np.float64), -1, 0)]
    return np.concatenate([t.ravel() for t in tiles]).tobytes() if tiles else b""


def _pictures(exp: engine.Experiment, pr: Any) -> dict[str, Any]:
    """Feature maps and kernels, in order, until ``PICTURE_BYTES`` is spent."""
    budget, left_out = PICTURE_BYTES, 0
    map_layers = [(i, layer) for i, layer in enumerate(exp.structure.net.layers)
                  if layer.type in engine.MAP_KINDS]
    layers = []
    for (i, layer), m in zip(map_layers, pr.maps, strict=True):
        m = np.asarray(m)
        if m.size > budget:
            left_out += 1
            continue
        budget -= m.size
        h, w, c = m.shape
        layers.append({"index": i, "kind": layer.type, "h": h, "w": w, "channels": c,
                       "name": f"Layer {i + 1}: {layer.type}, {c} map(s) of {h} x {w}",
                       "tiles": b64(np.frombuffer(_tiles(m), np.uint8))})
    kernels = []
    conv_layers = [i for i, _ in map_layers if exp.structure.net.layers[i].type == "conv2d"]
    for i, full in zip(conv_layers, pr.kernels, strict=True):
        full = np.asarray(full)  # (k, k, in, out)
        w = full[:, :, :KERNEL_ROWS, :KERNEL_COLS]
        k, _, cin, cout = w.shape
        if w.size > budget:
            left_out += 1
            continue
        budget -= w.size
        tiles = np.moveaxis(w, (2, 3), (0, 1))  # (in, out, k, k): a column per filter
        kernels.append({"index": i, "k": k, "rows": cin, "cols": cout,
                        "name": f"Layer {i + 1}: {full.shape[3]} filter(s) of {k} x {k} x "
                                f"{full.shape[2]}" + (" (the first ones)" if full.shape[2:] !=
                                                      (cin, cout) else ""),
                        "tiles": b64(np.concatenate([symmetric_bytes(t).ravel()
                                                     for t in tiles.reshape(-1, k, k)]))})
    omitted = (f"{left_out} layer(s) of maps or kernels are not drawn, to keep each frame "
               "small." if left_out else "")
    return {"layers": layers, "kernels": kernels, "omitted": omitted}


def _picture(exp: engine.Experiment, pr: Any, view: dict) -> dict[str, Any]:
    """The picture the network looks at, its saliency and what it says about it."""
    image = np.asarray(pr.image)
    names = [short(n) for n in exp.dataset.class_names]
    probs = np.asarray(pr.probs, np.float64)
    if probs.size == 1:  # one sigmoid unit: P(class 1)
        probs = np.array([1.0 - probs[0], probs[0]])
    drawn = view.get("drawing") is not None
    example = int(view.get("example", 0))
    truth = None if drawn else int(np.asarray(exp.dataset.arrays.y_test)[example])
    title = ("Your picture" if drawn else
             f"Test image #{example} (true class: {names[truth]})")
    return {"title": title, "side": int(image.shape[0]), "channels": int(image.shape[2]),
            "pixels": b64(np.clip(np.rint(image * 255), 0, 255)),
            "saliency": b64(unit_bytes(np.asarray(pr.saliency), 0.0,
                                       float(np.max(pr.saliency)) or 1.0)),
            "probs": [{"name": n, "p": round(float(p), 4)} for n, p in zip(names, probs,
                                                                             strict=False)],
            "predicted": int(pr.predicted), "truth": truth}


def _report(exp: engine.Experiment, state: engine.TrainState) -> dict[str, Any]:
    """Confusion matrix, accuracy per class and the gallery, once an epoch."""
    tag = (exp.structure, id(exp.dataset), int(state.epoch), int(state.step) == 0)
    cached = session.get(session.REPORT)
    if cached is not None and cached[0] == tag:
        return cached[1]
    rep = exp.test_report(state)
    x = np.asarray(exp.dataset.arrays.x_test)
    y = np.asarray(exp.dataset.arrays.y_test)
    names = [short(n) for n in exp.dataset.class_names]
    gallery = [{"index": int(i), "pixels": b64(np.clip(np.rint(x[i] * 255), 0, 255)),
                "truth": names[int(y[i])], "predicted": names[int(p)],
                "confidence": round(float(c), 3)}
               for i, p, c in zip(rep.wrong, rep.wrong_predicted, rep.wrong_confidence,
                                  strict=True) if i >= 0]
    out = {"confusion": confusion(exp.dataset.class_names, rep.confusion),
           "class_accuracy": [None if not np.isfinite(a) else round(float(a), 4)
                              for a in rep.class_accuracy],
           "gallery": gallery, "gallery_side": int(x.shape[1]),
           "gallery_channels": int(x.shape[3])}
    session.put(session.REPORT, (tag, out))
    return out


def _table(a: np.ndarray) -> list[list[float]]:
    return np.round(np.asarray(a, np.float64), 3).tolist()


def explanation(exp: engine.Experiment, state: engine.TrainState, image: np.ndarray,
                target: dict[str, int]) -> dict[str, Any] | None:
    """The arithmetic of the clicked feature-map value (throttled), or why not."""
    key = (exp.structure, tuple(sorted(target.items())))
    cached = session.get(session.EXPLAINED)
    if cached is not None and cached[0] == key and time.time() - cached[1] < EXPLAIN_SECONDS:
        return cached[2]
    try:
        c = exp.explain_conv(state, image, target["layer"], target["row"], target["col"],
                             target["channel"])
    except engine.EngineError as err:
        return {"error": str(err)}
    shown = c.patch.shape[-1] if c.kind == "conv2d" else 1
    out = {"kind": c.kind, "layer": target["layer"] + 1, "row": c.row, "col": c.col,
           "channel": c.channel, "rows": list(c.rows), "cols": list(c.cols),
           "value": round(c.value, 5), "total": round(c.total, 5), "bias": round(c.bias, 5),
           "normalized": None if c.normalized is None else round(c.normalized, 5),
           "activation": c.activation, "formula": c.size.formula,
           "winner": None if c.winner is None else list(c.winner),
           # the window reaches over the edge (the page's pictures are square: n is both)
           "padded": min(*c.rows, *c.cols) < 0 or max(*c.rows, *c.cols) >= c.size.n}
    if c.kind == "conv2d":
        keep = min(shown, CHANNELS_EXPLAINED)
        out["channels"] = [{"patch": _table(c.patch[..., j]), "kernel": _table(c.kernel[..., j]),
                            "products": _table(c.products[..., j]),
                            "sum": round(float(c.products[..., j].sum()), 5)}
                           for j in range(keep)]
        out["more_channels"] = shown - keep
    else:
        out["window"] = [[None if not np.isfinite(v) else round(float(v), 4) for v in row]
                         for row in np.asarray(c.patch)]
    session.put(session.EXPLAINED, (key, time.time(), out))
    return out


def render(f: Frame) -> dict[str, Any]:
    """The frame of the Images page's session (``LivePage.frame``)."""
    exp, state, pr = f.exp, f.state, f.result.images
    hist = session.history()
    frame: dict[str, Any] = {
        "epoch": int(state.epoch), "step": int(state.step),
        "metrics": metric_rows(session.current_metrics()),
        "curve": curve(hist, None), "accuracy": curve(hist, None, "accuracy"),
        **_picture(exp, pr, f.view), **_pictures(exp, pr), **_report(exp, state)}
    target = f.view.get("inspect")
    if target:
        frame["explain"] = explanation(exp, state, np.asarray(pr.image), target)
    return frame
