"""How one number of a feature map is computed, written out as a student would.

For a convolution: the input patch under the kernel, the kernel, their products, the
sum, the bias, the activation and the result. For a pool: the window and which input
won (max) or their mean (average). And the output-size arithmetic of a layer:
``floor((n + 2p - k) / s) + 1`` (CS231n's notes), with ``same`` padding chosen so that
the output side is ``ceil(n / s)`` (TensorFlow's convention, which XLA follows: the
padding's odd pixel goes after the image, not before).

Everything here is NumPy on one picture: the lesson is the arithmetic, so it is
written by hand; the tests check every number against the network's own output.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from engine.blocks import ACTIVATIONS


class OutputSize(NamedTuple):
    """A layer's output side from its input side ``n``."""

    n: int
    kernel: int
    stride: int
    padding: str
    pad_before: int  # zeros (or, for max pool, -inf) added before the first pixel
    pad_total: int
    out: int
    formula: str  # the arithmetic in words, e.g. "floor((28 + 0 - 3) / 1) + 1 = 26"


class Computation(NamedTuple):
    """One output value of a conv2d or pool layer, number by number.

    Attributes:
        kind: ``"conv2d"``, ``"max_pool"`` or ``"avg_pool"``.
        row, col, channel: the output value's place.
        rows, cols: the input rows and columns the window covers (may reach into the
            padding: outside ``[0, n)``).
        patch: the input under the window, (k, k, C_in) (conv; padding reads 0) or
            (k, k) of the channel (pools; padding is left out).
        kernel: the kernel of output channel ``channel``, (k, k, C_in); None for pools.
        products: ``patch * kernel``; None for pools.
        total: their sum (conv), or the window's max or mean (pools).
        bias: the channel's bias (conv; 0 for pools).
        normalized: after batch norm (conv layers with ``norm``); else None.
        activation: the activation's name (conv; ``"linear"`` for pools).
        value: the output value.
        winner: for a max pool, the (row, col) of the input that won; else None.
        size: the layer's output-size arithmetic (rows; columns follow the same rule).
    """

    kind: str
    row: int
    col: int
    channel: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    patch: np.ndarray
    kernel: np.ndarray | None
    products: np.ndarray | None
    total: float
    bias: float
    normalized: float | None
    activation: str
    value: float
    winner: tuple[int, int] | None
    size: OutputSize


def output_size(n: int, kernel: int, stride: int, padding: str) -> OutputSize:
    """The output side of a convolution or pool with input side ``n``.

    ``valid`` adds no padding: ``floor((n - k) / s) + 1``. ``same`` adds
    ``max((ceil(n / s) - 1) * s + k - n, 0)`` pixels, half before (rounded down) and
    the rest after, so the output side is ``ceil(n / s)``.
    """
    if padding == "same":
        out = math.ceil(n / stride)
        total = max((out - 1) * stride + kernel - n, 0)
        formula = (f"same padding: ceil({n} / {stride}) = {out} (padding {total}: "
                   f"{total // 2} before, {total - total // 2} after)")
        return OutputSize(n, kernel, stride, padding, total // 2, total, out, formula)
    out = (n - kernel) // stride + 1
    formula = f"valid: floor(({n} + 2 x 0 - {kernel}) / {stride}) + 1 = {out}"
    return OutputSize(n, kernel, stride, padding, 0, 0, out, formula)


def _window(x: np.ndarray, size: OutputSize, row: int, col: int, fill: float
            ) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """The (k, k, C) window of ``x`` (H, W, C) behind output (row, col); ``fill`` outside."""
    k = size.kernel
    rows = tuple(row * size.stride - size.pad_before + i for i in range(k))
    cols = tuple(col * size.stride - size.pad_before + j for j in range(k))
    h, w = x.shape[:2]
    patch = np.full((k, k, x.shape[2]), fill, np.float64)
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            if 0 <= r < h and 0 <= c < w:
                patch[a, b] = x[r, c]
    return patch, rows, cols


def explain(kind: str, opts: dict[str, Any], params: dict[str, np.ndarray],
            state: dict[str, np.ndarray], x: np.ndarray, row: int, col: int,
            channel: int) -> Computation:
    """Compute output (row, col, channel) of a layer from its input ``x`` (H, W, C_in).

    Args:
        kind: ``"conv2d"``, ``"max_pool"`` or ``"avg_pool"``.
        opts: the layer's options (kernel or size, stride, padding, activation, norm).
        params, state: the layer's parameters (``w``, ``b``, norm's ``scale``/``offset``)
            and batch-norm statistics (``mean``, ``var``).
        x: the layer's input for one picture, as the network computes it.

    Raises:
        ValueError: a place outside the layer's output, or another kind of layer.
    """
    x = np.asarray(x, np.float64)
    k = opts["kernel"] if kind == "conv2d" else opts["size"]
    size = output_size(x.shape[0], k, opts["stride"], opts["padding"])
    cols_out = output_size(x.shape[1], k, opts["stride"], opts["padding"]).out
    channels = opts["filters"] if kind == "conv2d" else x.shape[2]
    if not (0 <= row < size.out and 0 <= col < cols_out and 0 <= channel < channels):
        raise ValueError(f"({row}, {col}, {channel}) is outside this layer's output "
                         f"({size.out}, {cols_out}, {channels})")
    if kind == "conv2d":
        patch, rows, cols = _window(x, size, row, col, 0.0)
        kernel = np.asarray(params["w"], np.float64)[..., channel]
        products = patch * kernel
        total, bias = float(products.sum()), float(params["b"][channel])
        pre, normalized = total + bias, None
        if opts.get("norm") == "batch_norm":  # running statistics: evaluation mode
            normalized = float((pre - state["mean"][channel])
                               / np.sqrt(state["var"][channel] + 1e-5)
                               * params["scale"][channel] + params["offset"][channel])
        z = pre if normalized is None else normalized
        alpha = params.get("alpha")
        value = float(np.asarray(ACTIVATIONS.get(opts["activation"])(
            np.float32(z), None if alpha is None else np.float32(alpha[channel]))))
        return Computation(kind, row, col, channel, rows, cols, patch, kernel, products,
                           total, bias, normalized, opts["activation"], value, None, size)
    if kind not in ("max_pool", "avg_pool"):
        raise ValueError(f"only conv2d, max_pool and avg_pool layers are explained, not {kind}")
    inside = _window(np.ones_like(x[..., :1]), size, row, col, 0.0)[0][..., 0] > 0
    patch, rows, cols = _window(x[..., channel:channel + 1], size, row, col, np.nan)
    window = patch[..., 0]
    if kind == "max_pool":
        masked = np.where(inside, window, -np.inf)
        a, b = np.unravel_index(int(np.argmax(masked)), masked.shape)
        value, winner = float(masked[a, b]), (rows[a], cols[b])
    else:
        value, winner = float(window[inside].mean()), None
    return Computation(kind, row, col, channel, rows, cols, window, None, None, value, 0.0,
                       None, "linear", value, winner, size)
