"""The input plane: the network's output and every neuron over a grid of points.

The plane is sampled on a regular grid over ``centre +- extent`` per axis. For 2-D
data ``grid[i, j]`` is the point ``(x1 = xs[j], x2 = xs[i])``, so row 0 is the bottom
of the plane (the app flips it for display). 1-D data gives a line of ``resolution``
points; data with more columns give the plane through two chosen columns with the
others at their means.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from engine.blocks import LAYERS
from engine.model import Network, apply_network, featurize


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



def plane_probes(net: Network, input_dim: int, params: list[dict], mstate: list[dict],
                 data: Any, values: Any, resolution: int, neuron_resolution: int
                 ) -> tuple[jax.Array | None, list[jax.Array]]:
    """The output over the plane ``(R, R, out)`` and the drawn neurons' outputs on a
    coarser grid (input features first, each ``(r, r, units)``); a resolution of 0
    skips that grid. ``values.view`` says which plane (see ``grid_points``)."""
    view = values.view
    plane = (view.centre, view.extent, view.axes)
    output, neurons = None, []
    grid = grid_points(input_dim, resolution, *plane) if resolution else None
    if grid is not None:
        h = featurize(net, grid, data.mean, data.std)
        o = apply_network(net, params, mstate, h, values, key=None, train=False)[1]
        output = o.reshape(*grid_shape(input_dim, resolution), -1)
    coarse = grid_points(input_dim, neuron_resolution, *plane) if neuron_resolution else None
    if coarse is not None:
        hc = featurize(net, coarse, data.mean, data.std)
        _, oc, _, outs = apply_network(net, params, mstate, hc, values, key=None,
                                       train=False, collect=True)
        shape = grid_shape(input_dim, neuron_resolution)
        drawn = [hc] + [out for layer, out in zip(net.layers, outs, strict=True)
                        if LAYERS.get(layer.type).has_neurons] + [oc]
        neurons = [a.reshape(*shape, -1) for a in drawn]
    return output, neurons
