"""Statistics the pictures show: histograms, norms, and how each dense layer behaves.

Computed inside jit, with no data-dependent shapes: a histogram has a fixed number
of bins over ``[-m, m]`` where ``m`` is the largest magnitude.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from engine.blocks import ACTIVATIONS
from engine.blocks.dense import dense_preactivation, nested_jit
from engine.blocks.masked import MASKED, PADDED_ACTIVATIONS, masked_activation, masked_preactivation
from engine.probes.batched import one_by_one

HIST_BINS = 20
DEAD_SLOPE = 0.01  # a unit whose slope stays below this share of the peak is "dead"
SATURATED_SLOPE = 0.05  # a pre-activation where the slope is below this share is saturated
STATS = ("min", "mean - std", "mean", "mean + std", "max")  # columns of the *_stats arrays


class LayerStats(NamedTuple):
    """How each hidden dense layer behaves on the training set (Lh = their number).

    Attributes:
        pre_hist: histogram counts of the pre-activations z = norm(x W + b), (Lh, HIST_BINS),
            over [-pre_range, pre_range].
        pre_range: their half-widths, (Lh,).
        act_stats: ``STATS`` of the activation's outputs f(z), (Lh, 5).
        weight_stats: ``STATS`` of the weights of every dense layer, output included, (Ld, 5).
        dead: share of units whose slope f'(z) stays below ``DEAD_SLOPE`` of the
            activation's peak on every training example (a ReLU that never fires), (Lh,).
        saturated: share of (example, unit) pairs where f'(z) is below
            ``SATURATED_SLOPE`` of the peak, (Lh,); NaN for softmax.
    """

    pre_hist: jax.Array
    pre_range: jax.Array
    act_stats: jax.Array
    weight_stats: jax.Array
    dead: jax.Array
    saturated: jax.Array


def histogram(values: jax.Array, bins: int = HIST_BINS, mask: jax.Array | None = None
              ) -> tuple[jax.Array, jax.Array]:
    """Counts of ``values`` (any shape) in ``bins`` equal bins over [-m, m], m = max |v|.

    ``mask`` (0/1, the shape of ``values``) counts only the entries it marks (a padded
    network's real weights). Returns ``(counts (bins,) int32, m)``. Inside jit: no
    data-dependent shapes.
    """
    v = values.ravel()
    keep = None if mask is None else mask.ravel()
    m = jnp.maximum(jnp.max(jnp.abs(v if keep is None else v * keep)), 1e-12)
    idx = jnp.clip(jnp.floor((v / m + 1.0) * 0.5 * bins), 0, bins - 1).astype(jnp.int32)
    if keep is None:
        return jnp.bincount(idx, length=bins), m
    return jnp.bincount(idx, weights=keep, length=bins).astype(jnp.int32), m


def tree_norm(tree) -> jax.Array:
    """Euclidean norm of all leaves of a pytree (0 for an empty tree)."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return jnp.float32(0.0)
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in leaves))


def stats(values: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """``STATS`` of all elements of ``values``: (5,) min, mean -/+ std, mean, max.
    ``mask`` (0/1, the shape of ``values``) counts only the entries it marks."""
    v = values.ravel()
    if mask is None:
        mean, std = jnp.mean(v), jnp.std(v)
        return jnp.stack([jnp.min(v), mean - std, mean, mean + std, jnp.max(v)])
    keep = mask.ravel()
    n = jnp.maximum(jnp.sum(keep), 1.0)
    mean = jnp.sum(v * keep) / n
    std = jnp.sqrt(jnp.sum(jnp.square((v - mean) * keep)) / n)
    return jnp.stack([jnp.min(jnp.where(keep > 0, v, jnp.inf)), mean - std, mean,
                      mean + std, jnp.max(jnp.where(keep > 0, v, -jnp.inf))])


@functools.cache
def peak_slope(activation: str) -> float:
    """Largest |f'(z)| of an elementwise activation over z in [-20, 20] (PReLU at 0.25)."""
    act = ACTIVATIONS.get(activation)
    with jax.ensure_compile_time_eval():
        z = jnp.linspace(-20.0, 20.0, 4001)
        f = lambda zz: act(zz, jnp.float32(0.25))  # noqa: E731
        slope = jax.jvp(f, (z,), (jnp.ones_like(z),))[1]
        return float(np.max(np.abs(np.asarray(slope))))


@nested_jit  # one trace serves every layer of a shape (see masked.masked_layer)
def _masked_stats(params: dict, x: jax.Array, values, rows: jax.Array) -> tuple:
    """A masked layer's row of ``LayerStats`` (pre-activation histogram and range,
    activation stats, dead and saturated shares), over its real units and the real
    examples (``rows``, 0/1)."""
    z = masked_preactivation(params, x, values)
    a, slope = jax.jvp(lambda zz: masked_activation(zz, values), (z,), (jnp.ones_like(z),))
    peaks = jnp.asarray([peak_slope(name) for name in PADDED_ACTIVATIONS], jnp.float32)
    slope = jnp.abs(slope) / peaks[values["act"]]  # (batch, units), 1 = steepest
    units = values["out_mask"]
    keep = rows[:, None] * units  # the real (example, unit) pairs
    counts, m = histogram(z, mask=keep)
    never = jnp.all((slope < DEAD_SLOPE) | (rows[:, None] == 0), axis=0)  # over real rows
    dead = jnp.sum(never * units) / jnp.maximum(jnp.sum(units), 1.0)
    sat = jnp.sum((slope < SATURATED_SLOPE) * keep) / jnp.maximum(jnp.sum(keep), 1.0)
    return counts, m, stats(a, keep), dead, sat


def _masked_row(params: dict, x: jax.Array, values, rows: jax.Array | None) -> tuple:
    """``_masked_stats`` for a layer in use; zeros, at the cost of a branch, for one
    not in use (the padding's rows are cut away: a deep padded network has most)."""
    rows = jnp.ones(x.shape[0], jnp.float32) if rows is None else rows
    shapes = _masked_stats.eval_shape(params, x, values, rows)
    return jax.lax.cond(values["on"], _masked_stats,
                        lambda *_: jax.tree_util.tree_map(
                            lambda s: jnp.zeros(s.shape, s.dtype), shapes),
                        params, x, values, rows)


def _dense_row(opts: dict, params: dict, state: dict, x: jax.Array) -> tuple:
    """A dense layer's row of ``LayerStats`` (see ``_masked_stats``)."""
    z, _ = dense_preactivation(params, state, x, opts, train=False)
    name = opts["activation"]
    act = ACTIVATIONS.get(name)
    a, slope = jax.jvp(lambda zz: act(zz, params.get("alpha")), (z,),
                       (jnp.ones_like(z),))  # elementwise f'(z)
    counts, m = histogram(z)
    if name == "softmax":  # not elementwise: no per-unit slope to speak of
        return counts, m, stats(a), jnp.float32(jnp.nan), jnp.float32(jnp.nan)
    slope = jnp.abs(slope) / peak_slope(name)  # (batch, units), 1 = steepest
    return (counts, m, stats(a), jnp.mean(jnp.all(slope < DEAD_SLOPE, axis=0)),
            jnp.mean(slope < SATURATED_SLOPE))


def layer_stats(layers: Sequence, params: list[dict], state: list[dict],
                inputs: Sequence[jax.Array], layer_values: Sequence | None = None,
                rows: jax.Array | None = None, weight_masks: Sequence | None = None,
                each: Callable[[Callable, list[tuple]], list] = one_by_one) -> LayerStats:
    """``LayerStats`` of the hidden dense layers, evaluation mode.

    ``layers`` are the hidden ``LayerSpec``s, ``inputs[i]`` the input of layer i on
    the training set (batch, fan_in); ``params``/``state`` include the output layer.
    A padded network's (``engine.blocks.masked``) layers count only what is real:
    ``layer_values`` are their traced values, ``rows`` (batch,) 0/1 marks the real
    examples and ``weight_masks`` the real weights (``masked.weight_masks``).
    ``each(fn, items)`` computes ``[fn(*item) for item in items]`` (for branch-free
    ``fn``; ``batched.map_layers``: a run of same-shaped layers at once).
    """
    out: list[tuple] = []
    i = 0
    while i < len(layers):
        layer, j = layers[i], i + 1
        while j < len(layers) and layers[j] == layer:
            j += 1
        if layer.type == MASKED:
            # one by one: a branch per activation, and one when not in use
            out += [_masked_row(params[k], inputs[k], layer_values[k], rows)
                    for k in range(i, j)]
        elif layer.type == "dense":
            out += each(functools.partial(_dense_row, layer.opts()),
                        [(params[k], state[k], inputs[k]) for k in range(i, j)])
        i = j
    masks = weight_masks or [None] * len(params)
    weights = each(stats, [(p["w"], masks[i]) for i, p in enumerate(params) if "w" in p])

    def stack(xs, shape):
        return jnp.stack(xs) if xs else jnp.zeros(shape, jnp.float32)

    pre_h, pre_r, act_s, dead, sat = ([row[c] for row in out] for c in range(5))
    return LayerStats(stack(pre_h, (0, HIST_BINS)).astype(jnp.float32), stack(pre_r, (0,)),
                      stack(act_s, (0, len(STATS))), stack(weights, (0, len(STATS))),
                      stack(dead, (0,)), stack(sat, (0,)))
