"""Per-layer statistics of many layers of one shape, computed as ONE batched op.

Gradient flow's networks repeat one layer: up to 30 layers of the same width (its
padded network always has 29 after the first). A histogram, a norm or a summary per
layer, written as a Python loop, puts 30 copies of each small computation in the
program: traced, lowered and compiled one by one, and run as 30 kernels. Stacked and
``jax.vmap``-ed, a run of same-shaped layers is one computation. Measured on 2 cores,
the probes of Gradient flow's padded network: compiled in 10-11 s rather than 11-15,
and run in the same 6-9 ms.

Only for branch-free functions: under ``vmap`` a ``lax.cond`` or ``lax.switch``
computes every branch. (A ``lax.scan`` over the layers keeps branches, and made the
whole probe compile in half the time, but cost 30% more time a frame in slicing
and stacking per iteration: not worth it for what runs every frame.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

MIN_RUN = 3
"""Consecutive items of one shape worth one batched computation."""


def signature(tree: Any) -> tuple:
    """A pytree's structure and its leaves' shapes and dtypes: items with equal
    signatures can be stacked."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((jnp.shape(x), jnp.result_type(x)) for x in leaves)


def runs(keys: Sequence[Any], min_run: int = MIN_RUN) -> dict[int, int]:
    """Start -> stop of each stretch of at least ``min_run`` consecutive equal ``keys``."""
    out, i = {}, 0
    while i < len(keys):
        j = i + 1
        while j < len(keys) and keys[j] == keys[i]:
            j += 1
        if j - i >= min_run:
            out[i] = j
        i = j
    return out


def map_layers(fn: Callable[..., Any], items: Sequence[tuple]) -> list[Any]:
    """``[fn(*item) for item in items]`` for a branch-free ``fn``, each stretch of at
    least ``MIN_RUN`` items of one signature (shapes, dtypes) computed by one
    ``jax.vmap`` of ``fn``: the same numbers to float32 rounding (a batched reduction
    may sum in another order)."""
    out: list[Any] = []
    # An item without arrays (a dropout or pooling layer's empty parameters) has
    # nothing to batch over: those go one by one.
    stretches = runs([signature(item) if jax.tree_util.tree_leaves(item) else k
                      for k, item in enumerate(items)])
    i = 0
    while i < len(items):
        stop = stretches.get(i)
        if stop is None:
            out.append(fn(*items[i]))
            i += 1
            continue
        stacked = jax.tree_util.tree_map(
            lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *items[i:stop])
        done = jax.vmap(fn)(*stacked)
        out.extend(jax.tree_util.tree_map(lambda x, k=k: x[k], done)
                   for k in range(stop - i))
        i = stop
    return out


def one_by_one(fn: Callable[..., Any], items: Sequence[tuple]) -> list[Any]:
    """``[fn(*item) for item in items]``: ``map_layers`` unbatched (the reference)."""
    return [fn(*item) for item in items]
