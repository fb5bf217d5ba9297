"""Probes: what the pictures show, computed inside jit on the device.

The input plane is sampled on a regular grid over ``[-extent, extent]`` per
axis. For 2-D data ``grid[i, j]`` is the point ``(x1 = xs[j], x2 = xs[i])``,
so row 0 is the bottom of the plane (the app flips it for display). 1-D data
gives a line of ``resolution`` points; data with more columns has no plane.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

HIST_BINS = 20


class Probes(NamedTuple):
    """Arrays for the app's pictures (shapes for 2-D data, R = resolution).

    Attributes:
        output: network output on the grid, (R, R, out) (1-D data: (R, out)).
        neurons: per-neuron outputs on a coarser grid: one array per drawn layer,
            the input features first, each (r, r, units) (1-D data: (r, units)).
        grad_norm: full-batch gradient norm of each layer's parameters, (L,).
        weight_norm: norm of each layer's parameters, (L,).
        weight_hist: histogram counts of each dense layer's weights, (Ld, HIST_BINS).
        weight_range: the symmetric half-width of those histograms, (Ld,).
        grad_hist: histogram counts of each dense layer's weight gradients, (Ld, HIST_BINS).
        grad_range: their half-widths, (Ld,).
    """

    output: jax.Array | None
    neurons: list[jax.Array]
    grad_norm: jax.Array
    weight_norm: jax.Array
    weight_hist: jax.Array
    weight_range: jax.Array
    grad_hist: jax.Array
    grad_range: jax.Array


def grid_points(input_dim: int, resolution: int, extent: jax.Array) -> jax.Array | None:
    """Grid over the input plane: (R*R, 2) for 2-D, (R, 1) for 1-D, None otherwise."""
    xs = jnp.linspace(-1.0, 1.0, resolution) * extent
    if input_dim == 1:
        return xs[:, None]
    if input_dim == 2:
        gx, gy = jnp.meshgrid(xs, xs)  # gx varies along columns, gy along rows
        return jnp.stack([gx.ravel(), gy.ravel()], axis=-1)
    return None


def grid_shape(input_dim: int, resolution: int) -> tuple[int, ...]:
    """Leading shape of grid outputs: (R, R) for 2-D, (R,) for 1-D."""
    return (resolution, resolution) if input_dim == 2 else (resolution,)


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
