"""Probes: what the pictures show, computed inside jit on the device.

The input plane is sampled on a regular grid over ``centre +- extent`` per
axis. For 2-D data ``grid[i, j]`` is the point ``(x1 = xs[j], x2 = xs[i])``,
so row 0 is the bottom of the plane (the app flips it for display). 1-D data
gives a line of ``resolution`` points; data with more columns give the plane
through two chosen columns with the others at their means.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from engine.activations import ACTIVATIONS
from engine.layers import dense_preactivation

HIST_BINS = 20
DEAD_SLOPE = 0.01  # a unit whose slope stays below this share of the peak is "dead"
SATURATED_SLOPE = 0.05  # a pre-activation where the slope is below this share is saturated
STATS = ("min", "mean - std", "mean", "mean + std", "max")  # columns of the *_stats arrays


class Probes(NamedTuple):
    """Arrays for the app's pictures (shapes for 2-D data, R = resolution).

    Attributes:
        output: network output on the grid, (R, R, out) (1-D data: (R, out)).
        neurons: per-neuron outputs on a coarser grid: one array per drawn layer,
            the input features first, each (r, r, units) (1-D data: (r, units)).
        grad_norm: gradient norm of each layer's parameters on the training set (its
            first ``training.PROBE_EXAMPLES`` examples: all of a playground's), (L,).
        weight_norm: norm of each layer's parameters, (L,).
        weight_hist: histogram counts of each dense layer's weights, (Ld, HIST_BINS).
        weight_range: the symmetric half-width of those histograms, (Ld,).
        grad_hist: histogram counts of each dense layer's weight gradients, (Ld, HIST_BINS).
        grad_range: their half-widths, (Ld,). The three gradient fields are None
            when the gradients were not asked for.
        layers: per hidden dense layer statistics (``LayerStats``) when asked for.
        sequence: one example's attention maps, states and gradient through time
            (``engine.sequence_probes.SequenceProbes``) when asked for.
    """

    output: jax.Array | None
    neurons: list[jax.Array]
    grad_norm: jax.Array
    weight_norm: jax.Array
    weight_hist: jax.Array
    weight_range: jax.Array
    grad_hist: jax.Array
    grad_range: jax.Array
    layers: LayerStats | None = None
    sequence: Any = None  # engine.sequence_probes.SequenceProbes when asked for


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


def grid_points(input_dim: int, resolution: int, centre: jax.Array, extent: jax.Array,
                axes: jax.Array | None = None) -> jax.Array | None:
    """Points of the input plane the pictures show, or None without raw inputs.

    1-D data give a line of ``resolution`` points ``(R, 1)`` over ``centre[0] +-
    extent[0]``. Data with two or more columns give a grid ``(R*R, d)`` over columns
    ``axes = (i, j)`` (default ``(0, 1)``; traced, so changing them does not
    recompile), every other column held at its ``centre`` value (e.g. its mean).
    ``grid[r * R + c]`` has ``x_i = xs[c]`` and ``x_j = xs[r]``: row 0 is the bottom.

    Args:
        input_dim: raw columns ``d`` (0 for sequences).
        resolution: ``R``.
        centre, extent: ``(d,)`` float32: the plane spans ``centre +- extent``.
        axes: ``(2,)`` int32 column indices drawn across and up.
    """
    if input_dim < 1:
        return None
    xs = jnp.linspace(-1.0, 1.0, resolution)
    if input_dim == 1:
        return (centre[0] + xs * extent[0])[:, None]
    axes = jnp.array([0, 1], jnp.int32) if axes is None else axes
    i, j = axes[0], axes[1]
    gx, gy = jnp.meshgrid(xs, xs)  # gx varies along columns, gy along rows
    base = jnp.broadcast_to(jnp.asarray(centre, jnp.float32), (resolution * resolution,
                                                                input_dim))
    return (base.at[:, i].set(centre[i] + gx.ravel() * extent[i])
                .at[:, j].set(centre[j] + gy.ravel() * extent[j]))


def grid_shape(input_dim: int, resolution: int) -> tuple[int, ...]:
    """Leading shape of grid outputs: (R, R) for planes (2 or more columns), (R,) for 1-D."""
    return (resolution, resolution) if input_dim >= 2 else (resolution,)


def histogram(values: jax.Array, bins: int = HIST_BINS) -> tuple[jax.Array, jax.Array]:
    """Counts of ``values`` (any shape) in ``bins`` equal bins over [-m, m], m = max |v|.

    Returns ``(counts (bins,), m)``. Inside jit: no data-dependent shapes.
    """
    v = values.ravel()
    m = jnp.maximum(jnp.max(jnp.abs(v)), 1e-12)
    idx = jnp.clip(jnp.floor((v / m + 1.0) * 0.5 * bins), 0, bins - 1).astype(jnp.int32)
    return jnp.bincount(idx, length=bins), m


def tree_norm(tree) -> jax.Array:
    """Euclidean norm of all leaves of a pytree (0 for an empty tree)."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return jnp.float32(0.0)
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in leaves))


def stats(values: jax.Array) -> jax.Array:
    """``STATS`` of all elements of ``values``: (5,) min, mean -/+ std, mean, max."""
    v = values.ravel()
    mean, std = jnp.mean(v), jnp.std(v)
    return jnp.stack([jnp.min(v), mean - std, mean, mean + std, jnp.max(v)])


@functools.cache
def peak_slope(activation: str) -> float:
    """Largest |f'(z)| of an elementwise activation over z in [-20, 20] (PReLU at 0.25)."""
    act = ACTIVATIONS.get(activation)
    with jax.ensure_compile_time_eval():
        z = jnp.linspace(-20.0, 20.0, 4001)
        f = lambda zz: act(zz, jnp.float32(0.25))  # noqa: E731
        slope = jax.jvp(f, (z,), (jnp.ones_like(z),))[1]
        return float(np.max(np.abs(np.asarray(slope))))


def layer_stats(layers: Sequence, params: list[dict], state: list[dict],
                inputs: Sequence[jax.Array]) -> LayerStats:
    """``LayerStats`` of the hidden dense layers, evaluation mode.

    ``layers`` are the hidden ``LayerSpec``s, ``inputs[i]`` the input of layer i on
    the training set (batch, fan_in); ``params``/``state`` include the output layer.
    """
    pre_h, pre_r, act_s, dead, sat = [], [], [], [], []
    for i, layer in enumerate(layers):
        if layer.type != "dense":
            continue
        opts = layer.opts()
        z, _ = dense_preactivation(params[i], state[i], inputs[i], opts, train=False)
        name = opts["activation"]
        act = ACTIVATIONS.get(name)
        f = lambda zz, act=act, i=i: act(zz, params[i].get("alpha"))  # noqa: E731
        a, slope = jax.jvp(f, (z,), (jnp.ones_like(z),))  # elementwise f'(z)
        counts, m = histogram(z)
        pre_h.append(counts)
        pre_r.append(m)
        act_s.append(stats(a))
        if name == "softmax":  # not elementwise: no per-unit slope to speak of
            dead.append(jnp.float32(jnp.nan))
            sat.append(jnp.float32(jnp.nan))
            continue
        slope = jnp.abs(slope) / peak_slope(name)  # (batch, units), 1 = steepest
        dead.append(jnp.mean(jnp.all(slope < DEAD_SLOPE, axis=0)))
        sat.append(jnp.mean(slope < SATURATED_SLOPE))
    weights = [stats(p["w"]) for p in params if "w" in p]

    def stack(xs, shape):
        return jnp.stack(xs) if xs else jnp.zeros(shape, jnp.float32)

    return LayerStats(stack(pre_h, (0, HIST_BINS)).astype(jnp.float32), stack(pre_r, (0,)),
                      stack(act_s, (0, len(STATS))), stack(weights, (0, len(STATS))),
                      stack(dead, (0,)), stack(sat, (0,)))
