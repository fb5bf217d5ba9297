"""Optimizers from optax, in one registry, with hyperparameters as state.

Each optimizer is wrapped in ``optax.inject_hyperparams`` so its learning
rate, momentum and friends live in the optimizer state as arrays. The trainer
writes the current values there at every step, so changing one never
recompiles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from engine.registry import Registry


@dataclass(frozen=True)
class Optimizer:
    """An optax optimizer factory and the spec fields it reads.

    Attributes:
        factory: builds the ``optax.GradientTransformation`` from keyword values.
        hparams: optax argument name -> spec field (``optimizer.<field>``).
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


def make_optimizer(name: str, values: Mapping[str, jax.Array]) -> optax.GradientTransformation:
    """The optimizer ``name`` with injectable hyperparameters set from ``values``."""
    opt = OPTIMIZERS.get(name)
    init = {arg: jnp.asarray(values[src], jnp.float32) for arg, src in opt.hparams.items()}
    return optax.inject_hyperparams(opt.factory)(**init)


def set_hyperparams(name: str, opt_state, values: Mapping[str, jax.Array], lr: jax.Array):
    """Return ``opt_state`` with its hyperparameters replaced by the current values.

    ``lr`` is the scheduled learning rate for this step; the rest come from
    ``values``. Pure: returns a new state.
    """
    hp = {arg: values[src] for arg, src in OPTIMIZERS.get(name).hparams.items()}
    hp["learning_rate"] = lr
    return opt_state._replace(hyperparams={**opt_state.hyperparams, **hp})
