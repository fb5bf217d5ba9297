"""One optimizer step: the objective, gradient clipping, the schedule and optax's rule.

The learning rate's road is two lines, as in nanoGPT's ``lr = get_lr(it)``:
``lr = learning_rate(schedule, step, values.schedule, values.optimizer.learning_rate)``
then ``structure_optimizer(name, ..., values.optimizer, lr).update(...)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from engine.blocks.masked import weight_masks
from engine.blocks.optimizers import structure_optimizer
from engine.blocks.schedules import SCHEDULES, learning_rate
from engine.model import apply_network
from engine.probes.stats import tree_norm
from engine.train.metrics import example_losses
from engine.train.state import CHOSEN, Structure


def is_weight(name: str) -> bool:
    """Whether a parameter is a weight matrix (or an embedding table) that L1/L2 shrink.

    Weights are named ``w``, ``wx``, ``wh``, ``wq``, ``w1``, ... (``*_rev`` for the
    backward direction) and ``table``; biases, norms' scales and offsets, learned
    positions and PReLU slopes are left alone.
    """
    return name.startswith("w") or name == "table"


def penalty(kind: str, params: list[dict], reg: Any,
            masks: list[jax.Array] | None = None) -> jax.Array:
    """L1 or L2 penalty on weights (``is_weight``), never biases or norms' scales.

    ``reg`` is a ``RegularizationValues``; L2 is 0.5 w^2, whose gradient is w:
    TensorFlow Playground's. ``masks`` (one per layer, for ``w``) leave a padded
    network's padding out: JAX's slope of |w| at 0 is 1, which would move it. ``kind``
    ``CHOSEN`` (a padded network's) adds both at their traced rates, one of them 0
    (``values_of``): for finite weights that term's gradient is exactly 0 (its value
    may be NaN past |w| ~ 1e19, which nothing reads: training uses the gradient, and
    a step to a non-finite weight is rolled back).
    """
    ws = [v if masks is None or name != "w" else v * masks[i]
          for i, p in enumerate(params) for name, v in p.items() if is_weight(name)]
    total = jnp.float32(0.0)
    if kind in ("l1", CHOSEN):
        total = total + reg.l1 * sum(jnp.sum(jnp.abs(w)) for w in ws)
    if kind in ("l2", CHOSEN):
        total = total + reg.l2 * 0.5 * sum(jnp.sum(w * w) for w in ws)
    return total


def scheduled_rate(s: Structure, step: jax.Array, values: Any) -> jax.Array:
    """The learning rate at optimizer step ``step`` (``schedules.learning_rate``) of
    ``s``'s schedule, or, for ``CHOSEN``, of the schedule ``values.choices`` names."""
    if s.schedule != CHOSEN:
        return learning_rate(s.schedule, step, values.schedule,
                             values.optimizer.learning_rate)
    branches = [functools.partial(learning_rate, name) for name in SCHEDULES.names()]
    return jax.lax.switch(values.choices.schedule, branches, step, values.schedule,
                          values.optimizer.learning_rate)


def objective(s: Structure, loss_fn: Callable, params: list[dict], mstate: list[dict],
              h: jax.Array, y: jax.Array, values: Any, key: jax.Array | None,
              train: bool, weights: jax.Array | None = None
              ) -> tuple[jax.Array, tuple[jax.Array, list[dict]]]:
    """Mean data loss + regularisation on one batch; aux: (data loss, new state).

    ``weights`` (batch,) of 0/1, when given, mean over the examples weighted 1 only
    (a padded network's batch: its other rows are padding)."""
    z, o, mstate, _ = apply_network(s.net, params, mstate, h, values, key=key, train=train)
    losses = example_losses(s.net.head, loss_fn, z, o, y)
    data = (jnp.mean(losses) if weights is None
            else jnp.sum(losses * weights) / jnp.maximum(jnp.sum(weights), 1.0))
    masks = weight_masks(s.net.layers, values.layers, s.net.head.out_dim)
    return (data + penalty(s.regularization, params, values.regularization, masks),
            (data, mstate))


def update(s: Structure, loss_fn: Callable, params: list[dict], opt_state: Any,
           mstate: list[dict], step: jax.Array, h: jax.Array, y: jax.Array,
           key: jax.Array, values: Any, optimizer: Callable | None = None,
           weights: jax.Array | None = None) -> tuple[list[dict], Any, list[dict]]:
    """One optimizer step on features h (batch, F) (or sequences) and labels y.

    ``optimizer(values.optimizer, lr)`` builds the optax transform; by default the
    structure's own (a sweep passes ``choose_optimizer`` of its configurations').
    ``weights``: see ``objective``.
    """
    grads, (_, mstate) = jax.grad(objective, argnums=2, has_aux=True)(
        s, loss_fn, params, mstate, h, y, values, key, True, weights)
    opt = values.optimizer
    if s.clip:  # clip by global norm; the threshold is a traced value
        scale = jnp.minimum(1.0, opt.clip_norm / jnp.maximum(tree_norm(grads), 1e-12))
        grads = jax.tree_util.tree_map(lambda g: g * scale, grads)
    lr = scheduled_rate(s, step, values)
    picked = None if values.choices is None else values.choices.optimizer
    make = optimizer or functools.partial(structure_optimizer, s.optimizer, picked)
    updates, opt_state = make(opt, lr).update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, mstate
