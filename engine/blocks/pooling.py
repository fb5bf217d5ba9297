"""Pooling: summarising a sequence's time axis into one vector.

``pool`` takes ``(batch, T, d)`` to ``(batch, d)``: the mean, the last step or the
maximum over time.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

from engine.blocks.layer import LayerKind, Shape, need_sequence
from engine.registry import Registry
from engine.schema import Choice

POOL_MODES = ("mean", "last", "max")


def _pool_shape(in_shape: Shape, opts: Mapping) -> Shape:
    need_sequence(in_shape, "a pooling layer", "it must come after a layer that returns "
                                                 "sequences, and only once")
    return (in_shape[1],)


def _pool_init(key, in_shape, opts, init_name):
    return {}, {}, _pool_shape(in_shape, opts)


def _pool_apply(params, state, x, values, opts, *, key, train):
    mode = opts["mode"]  # x: (batch, T, d) -> (batch, d)
    if mode == "mean":
        return jnp.mean(x, axis=1), state
    if mode == "last":
        return x[:, -1], state
    return jnp.max(x, axis=1), state



def register(layers: Registry[LayerKind]) -> None:
    """Add the pooling family: pool."""
    layers.register(
        "pool",
        LayerKind({"mode": (Choice(POOL_MODES), "mean")}, _pool_init, _pool_apply,
                  has_neurons=False, out_shape=_pool_shape, family="sequence"),
        "Summarises a sequence as one vector: the mean, the last step, or the maximum over time.",
    )
