"""Embeddings and positions: token ids into vectors, and where each step sits.

Token data is described as ``(T, V)`` (V = vocabulary size, conceptually one-hot)
while the arrays hold int32 ids ``(batch, T)``: an ``embedding`` layer turns them
into vectors ``(batch, T, dim)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from engine.blocks.layer import LayerKind, Shape, need_sequence
from engine.errors import SpecError
from engine.registry import Registry
from engine.schema import Choice, Num


def _embedding_shape(in_shape: Shape, opts: Mapping) -> Shape:
    if len(in_shape) != 2:
        raise SpecError("type", f"an embedding reads token ids, a sequence of shape (time, "
                                f"vocabulary); this layer gets shape {tuple(in_shape)}: put "
                                "it first, on token data")
    return (in_shape[0], opts["dim"])


def _embedding_init(key, in_shape, opts, init_name):
    vocab, dim = in_shape[1], opts["dim"]
    table = jax.random.normal(key, (vocab, dim), jnp.float32) / jnp.sqrt(dim)  # (V, dim)
    return {"table": table}, {}, _embedding_shape(in_shape, opts)


def _embedding_apply(params, state, x, values, opts, *, key, train):
    if jnp.issubdtype(x.dtype, jnp.integer):
        return params["table"][x], state  # ids (batch, T) -> (batch, T, dim)
    return x @ params["table"], state  # one-hot (batch, T, V) -> (batch, T, dim)


def sinusoidal_table(length: int, dim: int) -> jax.Array:
    """Vaswani et al.'s positions, (length, dim).

    ``P[t, 2i] = sin(t / 10000^(2i/dim))`` and ``P[t, 2i+1] = cos(t / 10000^(2i/dim))``:
    every pair of columns is a clock of its own frequency, so a fixed offset between two
    positions is a rotation the attention can learn.
    """
    t = jnp.arange(length, dtype=jnp.float32)[:, None]  # (T, 1)
    pair = jnp.arange(dim) // 2 * 2  # 0, 0, 2, 2, 4, ... : column j belongs to pair j // 2
    angle = t / 10000.0 ** (pair / dim)  # (T, dim)
    return jnp.where(jnp.arange(dim) % 2 == 0, jnp.sin(angle), jnp.cos(angle))


def _positional_shape(in_shape: Shape, opts: Mapping) -> Shape:
    need_sequence(in_shape, "a positional encoding", "put it right after the embedding")
    return tuple(in_shape)


def _positional_init(key, in_shape, opts, init_name):
    shape = _positional_shape(in_shape, opts)
    if opts["kind"] == "sinusoidal":
        return {}, {}, shape
    # Small, as GPT-2 does: positions start as a gentle nudge to the token vectors.
    return {"pos": 0.02 * jax.random.normal(key, shape, jnp.float32)}, {}, shape  # (T, d)


def _positional_apply(params, state, x, values, opts, *, key, train):
    if opts["kind"] == "sinusoidal":
        return x + sinusoidal_table(x.shape[1], x.shape[2]), state
    return x + params["pos"], state  # (batch, T, d) + (T, d)



def _embedding_flops(in_shape: Shape, out_shape: Shape, params: int, opts: Mapping) -> float:
    return float(out_shape[0] * out_shape[-1])  # a lookup per step, no arithmetic


def register(layers: Registry[LayerKind]) -> None:
    """Add the embedding family: embedding, positional."""
    layers.register(
        "embedding",
        LayerKind({"dim": (Num(1, 256, integer=True), 16)}, _embedding_init, _embedding_apply,
                  has_neurons=False, out_shape=_embedding_shape, flops=_embedding_flops,
                  family="sequence"),
        "Looks up a learned vector of `dim` numbers for each token id: (T, V) -> (T, dim).",
    )
    layers.register(
        "positional",
        LayerKind({"kind": (Choice(("sinusoidal", "learned")), "sinusoidal")},
                  _positional_init, _positional_apply, has_neurons=False,
                  out_shape=_positional_shape, family="sequence"),
        "Adds each step's position to its vector (fixed sine waves, or learned), so attention "
        "can tell the order.",
    )
