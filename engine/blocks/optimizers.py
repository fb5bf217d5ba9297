"""Optimizers from optax, in one registry, built from traced values at every step.

The update rule is optax's; its hyperparameters (learning rate, momentum, betas,
...) are the traced values of ``engine.values``, passed to the optax factory inside
the compiled step. So changing one never recompiles, and the optimizer's state holds
only what the rule itself keeps (velocities, moments), never a second copy of the
hyperparameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import optax

from engine.registry import Registry


class OptimizerValues(NamedTuple):
    """``spec.optimizer``'s numbers (scalars); ``learning_rate`` before the schedule."""

    learning_rate: jax.Array
    momentum: jax.Array
    b1: jax.Array
    b2: jax.Array
    eps: jax.Array
    decay: jax.Array
    weight_decay: jax.Array
    clip_norm: jax.Array


@dataclass(frozen=True)
class Optimizer:
    """An optax optimizer factory and the spec fields it reads.

    Attributes:
        factory: builds the ``optax.GradientTransformation`` from keyword values.
        hparams: optax argument name -> spec field (``optimizer.<field>``, also the
            field of ``OptimizerValues``).
    """

    factory: Callable[..., optax.GradientTransformation]
    hparams: Mapping[str, str]


def _sgd(learning_rate):
    return optax.sgd(learning_rate)


def _momentum(learning_rate, momentum):
    return optax.sgd(learning_rate, momentum=momentum)


def _nesterov(learning_rate, momentum):
    return optax.sgd(learning_rate, momentum=momentum, nesterov=True)


_LR = {"learning_rate": "learning_rate"}
_ADAM = {**_LR, "b1": "b1", "b2": "b2", "eps": "eps"}
OPTIMIZERS: Registry[Optimizer] = Registry("optimizer")
OPTIMIZERS.register("sgd", Optimizer(_sgd, _LR),
                    "Gradient descent: full batch, mini-batch or one example at a time by "
                    "batch size.")
OPTIMIZERS.register("momentum", Optimizer(_momentum, {**_LR, "momentum": "momentum"}),
                    "SGD with momentum: a velocity that accumulates past gradients.")
OPTIMIZERS.register("nesterov", Optimizer(_nesterov, {**_LR, "momentum": "momentum"}),
                    "Nesterov momentum: looks ahead along the velocity before the gradient.")
OPTIMIZERS.register("adagrad", Optimizer(optax.adagrad, {**_LR, "eps": "eps"}),
                    "Adagrad: per-weight rates that shrink with the sum of squared gradients.")
OPTIMIZERS.register("rmsprop", Optimizer(optax.rmsprop, {**_LR, "decay": "decay", "eps": "eps"}),
                    "RMSprop: per-weight rates from a moving average of squared gradients.")
OPTIMIZERS.register("adam", Optimizer(optax.adam, _ADAM),
                    "Adam: momentum plus RMSprop-style per-weight rates, with bias correction.")
OPTIMIZERS.register("adamw", Optimizer(optax.adamw, {**_ADAM, "weight_decay": "weight_decay"}),
                    "AdamW: Adam with decoupled weight decay.")
OPTIMIZERS.retitle({"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov momentum",
                    "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam",
                    "adamw": "AdamW"})


def make_optimizer(name: str, values: Any, learning_rate: jax.Array
                   ) -> optax.GradientTransformation:
    """The optax optimizer ``name`` with its hyperparameters from ``values``.

    Args:
        name: an ``OPTIMIZERS`` entry.
        values: an ``OptimizerValues`` (traced scalars, or plain numbers).
        learning_rate: this step's rate (after the schedule and warm-up).
    """
    opt = OPTIMIZERS.get(name)
    kwargs = {arg: getattr(values, field) for arg, field in opt.hparams.items()}
    return opt.factory(**{**kwargs, "learning_rate": learning_rate})


def choose_optimizer(names: tuple[str, ...], index: jax.Array, values: Any,
                     learning_rate: jax.Array) -> optax.GradientTransformation:
    """One of several optimizers, picked by a traced ``index`` into ``names``.

    Its state is the tuple of every named optimizer's state (each branch updates its
    own and passes the others through), so configurations that use different
    optimizers share one shape: under ``jax.vmap`` a race of SGD, momentum and Adam
    is one compiled call (``lax.switch`` with a batched index runs every branch and
    selects, which costs little next to per-step overhead on networks this small).
    With one name it is that optimizer's own transform (state: a 1-tuple).
    """
    opts = [make_optimizer(name, values, learning_rate) for name in names]

    def init(params):
        return tuple(opt.init(params) for opt in opts)

    def branch(i: int):
        def update(grads, state, params):
            updates, new = opts[i].update(grads, state[i], params)
            return updates, (*state[:i], new, *state[i + 1:])
        return update

    def update(grads, state, params=None):
        if len(opts) == 1:
            return branch(0)(grads, state, params)
        return jax.lax.switch(index, [branch(i) for i in range(len(opts))], grads, state,
                              params)

    return optax.GradientTransformation(init, update)
