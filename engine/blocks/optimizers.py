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
import jax.numpy as jnp
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
        usual_rate: a learning rate it commonly trains small networks well at (a new
            contestant's in the race).
        bounded: whether each weight's step is at most about the learning rate,
            whatever the gradient's size (per-weight scaling by the root of squared
            gradients; Kingma and Ba, 2015, section 2.1, for Adam). RMSprop, without
            Adam's bias correction, steps up to lr / sqrt(1 - decay) while its average
            is young (3.2x at decay 0.9).
    """

    factory: Callable[..., optax.GradientTransformation]
    hparams: Mapping[str, str]
    usual_rate: float = 0.03
    bounded: bool = False


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
OPTIMIZERS.register("adagrad", Optimizer(optax.adagrad, {**_LR, "eps": "eps"}, bounded=True),
                    "Adagrad: per-weight rates that shrink with the sum of squared gradients.")
OPTIMIZERS.register("rmsprop", Optimizer(
    optax.rmsprop, {**_LR, "decay": "decay", "eps": "eps"}, 0.003, bounded=True),
                    "RMSprop: per-weight rates from a moving average of squared gradients.")
OPTIMIZERS.register("adam", Optimizer(optax.adam, _ADAM, 0.003, bounded=True),
                    "Adam: momentum plus RMSprop-style per-weight rates, with bias correction.")
OPTIMIZERS.register("adamw", Optimizer(
    optax.adamw, {**_ADAM, "weight_decay": "weight_decay"}, 0.003, bounded=True),
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


class Family(NamedTuple):
    """Optimizers a padded network picks among by a traced index (``Choices.optimizer``),
    so that a pick within the family compiles nothing.

    ``make(index, values, learning_rate)`` builds the family's transform: one state for
    all (the widest member's), each member's updates exactly optax's, the picked one's
    selected. ``widen(name, state)`` puts member ``name``'s own optax state into the
    family's; ``narrow(name, state)`` takes it back out.
    """

    names: tuple[str, ...]
    make: Callable[[jax.Array, Any, jax.Array], optax.GradientTransformation]
    widen: Callable[[str, Any], Any]
    narrow: Callable[[str, Any], Any]


def _momentum_family(index: jax.Array, values: Any, learning_rate: jax.Array
                     ) -> optax.GradientTransformation:
    # One velocity, updated as optax.trace does: momentum steps by it, Nesterov by the
    # look-ahead optax.trace(nesterov=True) returns; both are optax.sgd's state.
    velocity = optax.trace(decay=values.momentum, nesterov=True)
    scale = optax.scale_by_learning_rate(learning_rate)

    def init(params):
        return velocity.init(params), scale.init(params)

    def update(grads, state, params=None):
        ahead, trace = velocity.update(grads, state[0])
        steps = jax.tree_util.tree_map(lambda v, a: jnp.where(index == 0, v, a),
                                       trace.trace, ahead)
        steps, scaled = scale.update(steps, state[1], params)
        return steps, (trace, scaled)

    return optax.GradientTransformation(init, update)


def _adam_family(index: jax.Array, values: Any, learning_rate: jax.Array
                 ) -> optax.GradientTransformation:
    # optax.adamw's chain (its state); Adam's steps skip the decayed weights, as
    # optax.adam's chain does (u + 0 * w would be NaN at an infinite weight).
    moments = optax.scale_by_adam(values.b1, values.b2, values.eps)
    decayed = optax.add_decayed_weights(values.weight_decay)
    scale = optax.scale_by_learning_rate(learning_rate)

    def init(params):
        return moments.init(params), decayed.init(params), scale.init(params)

    def update(grads, state, params=None):
        steps, adam = moments.update(grads, state[0], params)
        decay, kept = decayed.update(steps, state[1], params)
        steps = jax.tree_util.tree_map(lambda a, w: jnp.where(index == 1, w, a), steps, decay)
        steps, scaled = scale.update(steps, state[2], params)
        return steps, (adam, kept, scaled)

    return optax.GradientTransformation(init, update)


def _accumulator_family(index: jax.Array, values: Any, learning_rate: jax.Array
                        ) -> optax.GradientTransformation:
    # One accumulator of squared gradients in optax.rmsprop's state: RMSprop's moving
    # average (optax.scale_by_rms) or Adagrad's sum (optax.scale_by_rss), then one step
    # g / sqrt(acc + eps) (Adagrad's 0 while its sum is 0). Written out: both of optax's
    # whole rules cost 1.45x either alone (padded Playground network, 2-core CPU);
    # tests/engine/test_optimizer_families.py holds each member to optax's, bit for bit.
    adagrad, decay = index == 0, values.decay
    scale = optax.scale_by_learning_rate(learning_rate)

    def init(params):
        return optax.scale_by_rms().init(params), optax.EmptyState(), optax.EmptyState()

    def update(grads, state, params=None):
        acc = jax.tree_util.tree_map(lambda g, t: jnp.where(
            adagrad, jnp.square(g) + t, (1 - decay) * jnp.square(g) + decay * t),
            grads, state[0].nu)
        steps = jax.tree_util.tree_map(
            lambda g, t: jnp.where(~adagrad | (t > 0), jax.lax.rsqrt(t + values.eps), 0.0)
            * g, grads, acc)
        steps, scaled = scale.update(steps, state[1], params)
        return steps, (optax.ScaleByRmsState(acc), scaled, state[2])

    return optax.GradientTransformation(init, update)


def _as_rmsprop(name: str, s: Any) -> Any:
    """Adagrad's optax state in optax.rmsprop's (its sum where RMSprop's average is)."""
    if name != "adagrad":
        return s
    return optax.ScaleByRmsState(s[0].sum_of_squares), s[1], optax.EmptyState()


def _from_rmsprop(name: str, s: Any) -> Any:
    """The inverse of ``_as_rmsprop``."""
    return (optax.ScaleByRssState(s[0].nu), s[1]) if name == "adagrad" else s


FAMILIES: tuple[Family, ...] = (
    Family(("momentum", "nesterov"), _momentum_family,
           lambda name, s: s, lambda name, s: s),
    Family(("adam", "adamw"), _adam_family,
           lambda name, s: (s[0], optax.EmptyState(), s[1]) if name == "adam" else s,
           lambda name, s: (s[0], s[2]) if name == "adam" else s),
    Family(("adagrad", "rmsprop"), _accumulator_family, _as_rmsprop, _from_rmsprop),
)
"""The families (``Family``): members that share a state, so a family costs what its
widest member does (measured on a padded Playground network, 2-core CPU). Not SGD: a
velocity it never reads cost the default network 10-15% more CPU per epoch. Adagrad
and RMSprop apart from Adam: their accumulator in the place of Adam's second moment,
each member's whole rule run at every step, cost Adam about 1.5x."""

PICKED = "|"
"""Joins a family's names into a padded structure's ``optimizer`` (``family_key``)."""


def family_of(key: str) -> Family | None:
    """The family whose ``family_key`` or member is ``key``, if any."""
    names = tuple(key.split(PICKED))
    return next((f for f in FAMILIES if f.names == names or key in f.names), None)


def family_key(name: str) -> str:
    """The padded structure's ``optimizer`` for ``name``: its family's names joined by
    ``PICKED`` (``name`` itself when it is in no family)."""
    family = family_of(name)
    return name if family is None else PICKED.join(family.names)


def structure_optimizer(key: str, index: jax.Array | None, values: Any,
                        learning_rate: jax.Array) -> optax.GradientTransformation:
    """A structure's optimizer: ``key`` an ``OPTIMIZERS`` name, or a ``family_key``
    whose member ``index`` picks (None: the first; any gives the same state's shape)."""
    family = family_of(key) if PICKED in key else None
    if family is None:
        return make_optimizer(key, values, learning_rate)
    return family.make(jnp.int32(0) if index is None else index, values, learning_rate)
