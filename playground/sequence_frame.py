"""The Sequences page's frame: one test example's tokens and answers, every attention
map, the recurrent states over time, the gradient through time and the curves.

Maps and states are sent within ``PICTURE_BYTES`` a frame; ``omitted`` says what was
left out. The numbers come from the engine's sequence probes.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

import engine
from engine.blocks.attention import ATTENTION_KINDS
from engine.blocks.recurrent import RECURRENT_KINDS
from playground.core import session
from playground.core.encode import b64, curve, metric_rows, symmetric_bytes, unit_bytes
from playground.core.livepage import Frame

PICTURE_BYTES = 200_000  # attention maps and states per frame, before base64


def _token_text(exp: engine.Experiment, x: np.ndarray) -> list[str]:
    """The example's inputs as text: token names, or rounded values."""
    info = exp.dataset.sequence
    if info.tokens:
        return [info.vocab[int(t)] for t in x]
    return [" ".join(f"{v:.2f}" for v in np.atleast_1d(row)) for row in x]


def _padding(exp: engine.Experiment, x: np.ndarray) -> int:
    """How many leading steps of a text example are padding (reviews are padded at the
    front, as Keras pads them): the view starts after them. 0 for other tasks."""
    info = exp.dataset.sequence
    if not info.tokens or info.per_token or not info.vocab or info.vocab[0] != "<pad>":
        return 0
    words = np.flatnonzero(np.asarray(x) != 0)
    return int(words[0]) if len(words) else max(len(x) - 1, 0)


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


def _pictures(att_layers: list, seq, rec_layers: list, start: int = 0) -> dict[str, Any]:
    """Attention maps and state panels, within ``PICTURE_BYTES`` per frame, from step
    ``start`` on (the steps before are padding).

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
    kinds = [layer.type for _, layer in att_layers]
    for k, ((i, layer), maps) in enumerate(zip(att_layers, seq.attention, strict=True)):
        heads = [m for m in (take(np.asarray(h)[start:, start:],
                                  lambda a: unit_bytes(a, 0.0, 1.0), 0)
                             for h in np.asarray(maps)) if m]
        if heads:
            # the stack's numbering (an embedding comes first), and which block it is,
            # as a preset's text counts them ("two transformer blocks")
            nth, of = kinds[:k + 1].count(layer.type), kinds.count(layer.type)  # per kind
            name = f"{layer.type.capitalize()} block {nth} of {of} (layer {i + 1})"
            attention.append({"name": name, "heads": heads})
    states, cells = [], []
    lstm_layers = [x for x in rec_layers if x[1].type == "lstm"]
    for out, layers, arrays, field in ((states, rec_layers, seq.hidden, "h"),
                                       (cells, lstm_layers, seq.cell, "c")):
        for (i, layer), a in zip(layers, arrays, strict=True):
            data = take(np.asarray(a)[start:].T, symmetric_bytes, 1)
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
                  if layer.type in ATTENTION_KINDS]
    rec_layers = [(i, layer) for i, layer in enumerate(net.layers)
                  if layer.type in RECURRENT_KINDS]
    preds, conf = _predictions(exp, seq.output)
    targets = _labels(exp, y)
    start = _padding(exp, x)
    frame: dict[str, Any] = {
        "epoch": int(epoch), "step": int(step), "example": int(example),
        "T": int(x.shape[0]) - start,
        "per_token": bool(exp.dataset.sequence.per_token), "task": exp.dataset.task,
        "tokens": _token_text(exp, x)[start:], "targets": targets, "preds": preds,
        "conf": conf,
        "right": [None if t is None else (t == p) for t, p in zip(
            targets, preds, strict=True)] if exp.dataset.task == "classification" else [],
        **_pictures(att_layers, seq, rec_layers, start),
        "grad": [round(float(g), 6) for g in np.asarray(seq.input_grad)[start:]],
        "metrics": metric_rows(metrics or {}), "curve": curve(history, None),
    }
    return frame



def render(f: Frame) -> dict[str, Any]:
    """The frame of the page's session (``LivePage.frame``); the view's ``example`` is
    the test example probed."""
    return make_seq_frame(f.exp, f.result, int(f.state.epoch), session.history(),
                          f.view.get("example", 0), session.current_metrics(),
                          int(f.state.step))
