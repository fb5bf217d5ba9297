"""Weight initialisers: one registry, from which every menu is built.

Each entry draws a weight matrix of shape ``(fan_in, fan_out)`` from an explicit
PRNG key and names the constant its biases start at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from engine.registry import Registry

WeightFn = Callable[[jax.Array, tuple[int, ...], jnp.dtype], jax.Array]


@dataclass(frozen=True)
class Initializer:
    """How to start a layer's weights and biases.

    Attributes:
        weights: ``weights(key, shape, dtype) -> array`` for a ``(fan_in, fan_out)`` matrix.
        bias: the constant every bias starts at.
    """

    weights: WeightFn
    bias: float = 0.0


def _uniform(lo: float, hi: float) -> WeightFn:
    def init(key: jax.Array, shape: tuple[int, ...], dtype: jnp.dtype = jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, lo, hi)

    return init


_init = jax.nn.initializers
INITIALIZERS: Registry[Initializer] = Registry("initializer")
_add = INITIALIZERS.register
_add("zeros", Initializer(_init.zeros),
     "All weights 0: every unit in a layer stays identical (symmetry is never broken).")
_add("tf_playground", Initializer(_uniform(-0.5, 0.5), bias=0.1),
     "TensorFlow Playground's: weights uniform in (-0.5, 0.5), biases 0.1.")
_add("normal", Initializer(_init.normal(stddev=1.0)),
     "Standard normal N(0, 1): too large for deep nets, activations and gradients explode.")
_add("glorot_uniform", Initializer(_init.glorot_uniform()),
     "Xavier/Glorot uniform: variance 2 / (fan_in + fan_out), made for tanh and sigmoid.")
_add("glorot_normal", Initializer(_init.glorot_normal()),
     "Xavier/Glorot normal: variance 2 / (fan_in + fan_out), made for tanh and sigmoid.")
_add("he_uniform", Initializer(_init.he_uniform()),
     "He/Kaiming uniform: variance 2 / fan_in, made for ReLU.")
_add("he_normal", Initializer(_init.he_normal()),
     "He/Kaiming normal: variance 2 / fan_in, made for ReLU.")
_add("lecun_uniform", Initializer(_init.lecun_uniform()),
     "LeCun uniform: variance 1 / fan_in.")
_add("lecun_normal", Initializer(_init.lecun_normal()),
     "LeCun normal: variance 1 / fan_in, the partner of SELU.")
del _add
