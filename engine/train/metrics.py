"""Losses and accuracies per example and per split, in bounded chunks.

Per-token outputs (sequence tasks with an answer at every step) give each sequence
the mean over its steps that have a target (class -1 = none), so every split's
metrics are means over examples whatever the task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from engine.blocks.losses import Head
from engine.cost import EVAL_TRAIN
from engine.train.state import SPLITS


def eval_split(data: Any) -> tuple[list[jax.Array], list[jax.Array]]:
    """The inputs and labels an epoch's end evaluates: train (its first ``EVAL_TRAIN``),
    validation and test, in ``SPLITS`` order."""
    xs = [getattr(data, f"x_{s}") for s in SPLITS]
    ys = [getattr(data, f"y_{s}") for s in SPLITS]
    return [xs[0][:EVAL_TRAIN], *xs[1:]], [ys[0][:EVAL_TRAIN], *ys[1:]]


def example_losses(head: Head, loss_fn: Callable, z: jax.Array, o: jax.Array,
                   y: jax.Array) -> jax.Array:
    """Loss per example, (batch,).

    ``z``, ``o``: the output layer's pre-activation and output, (batch, out), or
    (batch, T, out) per token with targets ``y`` (batch, T).
    """
    if y.ndim == 1:
        return loss_fn(z, o, y, head)
    b, t = y.shape
    valid = (y >= 0) if head.task == "classification" else jnp.ones(y.shape, bool)
    flat = loss_fn(z.reshape(b * t, -1), o.reshape(b * t, -1),
                   jnp.where(valid, y, 0).reshape(-1), head).reshape(b, t)
    return jnp.sum(flat * valid, -1) / jnp.maximum(jnp.sum(valid, -1), 1)


def example_hits(head: Head, o: jax.Array, y: jax.Array) -> jax.Array:
    """Accuracy per example, (batch,): 0/1, or the share of right steps per sequence."""
    if y.ndim == 1:
        return (head.predict(o) == y).astype(jnp.float32)
    b, t = y.shape
    valid = y >= 0
    hits = (head.predict(o.reshape(b * t, -1)).reshape(b, t) == y) & valid
    return jnp.sum(hits, -1) / jnp.maximum(jnp.sum(valid, -1), 1)


def chunked(fn: Callable, chunk: int, *arrays: jax.Array) -> Any:
    """``fn(*arrays)`` over the leading axis in chunks of ``chunk`` examples.

    Small sets (the playground's) run in one piece, as if unchunked; larger ones are
    padded to whole chunks, mapped with ``lax.map`` and trimmed, so a pass over 10,000
    long sequences never holds all their activations at once.
    """
    n = arrays[0].shape[0]
    if n <= chunk:
        return fn(*arrays)
    pad = -n % chunk

    def split(a):
        a = jnp.concatenate([a, jnp.zeros((pad, *a.shape[1:]), a.dtype)]) if pad else a
        return a.reshape(-1, chunk, *a.shape[1:])

    out = jax.lax.map(lambda xs: fn(*xs), tuple(split(a) for a in arrays))
    return jax.tree_util.tree_map(lambda a: a.reshape(-1, *a.shape[2:])[:n], out)


def split_means(losses: jax.Array, hits: jax.Array, sizes: Any,
                classify: bool) -> dict[str, jax.Array]:
    """Every split's mean loss and accuracy from per-example values over all splits.

    ``sizes`` are the splits' static lengths (train, val, test), in order, or a
    padded network's traced ``DataArrays.sizes`` (rows past the three splits are
    padding). All six means come from one fused reduction (a (splits, n) 0/1 mask
    times the values: counts of hits stay exact). Empty splits, and accuracies of
    regressions, are NaN.
    """
    if not isinstance(sizes, tuple):
        return _traced_split_means(losses, hits, sizes, classify)
    seg, counts = split_rows(sizes)
    vals = jnp.stack([losses, hits.astype(jnp.float32)])
    means = jnp.sum(vals[:, None, :] * seg, axis=-1) / counts  # (2, splits)
    return named_means(means[0], means[1], sizes, classify)


def split_rows(sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each split's examples as a 0/1 row, ``(splits, sum(sizes))``, and its count (at
    least 1, to divide by): the splits follow one another in ``sizes``' order."""
    seg = np.zeros((len(SPLITS), sum(sizes)), np.float32)
    start = 0
    for i, n in enumerate(sizes):
        seg[i, start:start + n] = 1.0
        start += n
    return seg, np.maximum(np.asarray(sizes, np.float32), 1.0)


def named_means(loss: jax.Array, accuracy: jax.Array, sizes: tuple[int, ...],
                classify: bool) -> dict[str, jax.Array]:
    """``{split}_loss`` and ``{split}_accuracy`` from per-split means (``loss[i]``,
    ``accuracy[i]``: split i's, any shape): NaN for an empty split, and for the
    accuracy of a regression."""
    nan = jnp.full_like(loss[0], jnp.nan)
    out = {}
    for i, (split, n) in enumerate(zip(SPLITS, sizes, strict=True)):
        out[f"{split}_loss"] = loss[i] if n else nan
        out[f"{split}_accuracy"] = accuracy[i] if (n and classify) else nan
    return out


def _traced_split_means(losses: jax.Array, hits: jax.Array, sizes: jax.Array,
                        classify: bool) -> dict[str, jax.Array]:
    """``split_means`` with traced split sizes (``DataArrays.sizes``)."""
    counts = sizes[: len(SPLITS)]
    ends = jnp.cumsum(counts)
    rows = jnp.arange(losses.shape[0])
    seg = ((rows >= (ends - counts)[:, None]) & (rows < ends[:, None])).astype(jnp.float32)
    vals = jnp.stack([losses, hits.astype(jnp.float32)])
    means = jnp.sum(vals[:, None, :] * seg, axis=-1) / jnp.maximum(counts, 1)
    nan = jnp.float32(jnp.nan)
    out = {}
    for i, split in enumerate(SPLITS):
        some = counts[i] > 0
        out[f"{split}_loss"] = jnp.where(some, means[0, i], nan)
        out[f"{split}_accuracy"] = jnp.where(some, means[1, i], nan) if classify else nan
    return out
