"""Weight initialisers: one registry, from which every menu is built.

Each entry draws a weight matrix of shape ``(fan_in, fan_out)`` from an explicit
PRNG key and names the constant its biases start at.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from engine.registry import Registry

WeightFn = Callable[[jax.Array, tuple[int, ...], jnp.dtype], jax.Array]


@dataclass(frozen=True)
class Initializer:
    """How to start a layer's weights and biases.

    Attributes:
        weights: ``weights(key, shape, dtype) -> array`` for a ``(fan_in, fan_out)`` matrix.
        bias: the constant every bias starts at.
        unit, scale, mode: how ``weights`` draws, for ``dense_weights``: the unit
            distribution (``UNIT_DRAWS``) and, for a variance-scaling initialiser,
            its scale and fan mode (``jax.nn.initializers.variance_scaling``); None: a
            distribution to use as drawn.
    """

    weights: WeightFn
    bias: float = 0.0
    unit: str | None = None
    scale: float = 1.0
    mode: str | None = None


def _uniform(lo: float, hi: float) -> WeightFn:
    def init(key: jax.Array, shape: tuple[int, ...], dtype: jnp.dtype = jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, lo, hi)

    return init


_init = jax.nn.initializers


def _vs(scale: float, mode: str, distribution: str) -> Initializer:
    return Initializer(_init.variance_scaling(scale, mode, distribution), unit=distribution,
                       scale=scale, mode=mode)


INITIALIZERS: Registry[Initializer] = Registry("initializer")
_add = INITIALIZERS.register
_add("zeros", Initializer(_init.zeros, unit="zeros"),
     "All weights 0: every unit in a layer stays identical (symmetry is never broken).")
_add("tf_playground", Initializer(_uniform(-0.5, 0.5), bias=0.1, unit="uniform_half"),
     "TensorFlow Playground's: weights uniform in (-0.5, 0.5), biases 0.1.")
_add("normal", Initializer(_init.normal(stddev=1.0), unit="normal"),
     "Standard normal N(0, 1): too large for deep nets, activations and gradients explode.")
_add("glorot_uniform", _vs(1.0, "fan_avg", "uniform"),
     "Xavier/Glorot uniform: variance 2 / (fan_in + fan_out), made for tanh and sigmoid.")
_add("glorot_normal", _vs(1.0, "fan_avg", "truncated_normal"),
     "Xavier/Glorot normal: variance 2 / (fan_in + fan_out), made for tanh and sigmoid.")
_add("he_uniform", _vs(2.0, "fan_in", "uniform"),
     "He/Kaiming uniform: variance 2 / fan_in, made for ReLU.")
_add("he_normal", _vs(2.0, "fan_in", "truncated_normal"),
     "He/Kaiming normal: variance 2 / fan_in, made for ReLU.")
_add("lecun_uniform", _vs(1.0, "fan_in", "uniform"),
     "LeCun uniform: variance 1 / fan_in.")
_add("lecun_normal", _vs(1.0, "fan_in", "truncated_normal"),
     "LeCun normal: variance 1 / fan_in, the partner of SELU.")
del _add
INITIALIZERS.retitle({
    "zeros": "Zeros", "tf_playground": "TF Playground's (uniform -0.5 to 0.5)",
    "normal": "Normal (std 1)", "glorot_uniform": "Glorot (Xavier) uniform",
    "glorot_normal": "Glorot (Xavier) normal", "he_uniform": "He uniform",
    "he_normal": "He normal", "lecun_uniform": "LeCun uniform", "lecun_normal": "LeCun normal"})

# -- one draw for every shape --------------------------------------------------------------

FLAT = 64 * 64
"""Weights of a dense layer up to this many elements are cut from one draw of ``FLAT``."""

UNIT_DRAWS: dict[str, Callable[[jax.Array, tuple[int, ...]], jax.Array]] = {
    "zeros": lambda key, shape: jnp.zeros(shape, jnp.float32),
    "uniform": lambda key, shape: jax.random.uniform(key, shape, jnp.float32, -1),
    "uniform_half": lambda key, shape: jax.random.uniform(key, shape, jnp.float32, -0.5, 0.5),
    "normal": lambda key, shape: jax.random.normal(key, shape, jnp.float32),
    "truncated_normal": lambda key, shape: jax.random.truncated_normal(
        key, -2, 2, shape, jnp.float32),
}
"""The unit distributions of ``jax.nn.initializers``, elementwise in JAX's random bits."""


@functools.cache
def _flat_draw(unit: str) -> Callable[[jax.Array], jax.Array]:
    return jax.jit(lambda key: UNIT_DRAWS[unit](key, (FLAT,)))


def _factor(ini: Initializer, fan_in: int, fan_out: int) -> np.float32 | None:
    """What ``jax.nn.initializers`` multiplies the unit draw by, in the same float32
    operations (so the product is the same to the bit); None: nothing."""
    if ini.mode is None:
        return None
    denominator = {"fan_in": fan_in, "fan_out": fan_out,
                   "fan_avg": (fan_in + fan_out) / 2}[ini.mode]
    variance = np.float32(ini.scale / denominator)
    if ini.unit == "uniform":
        return np.sqrt(np.float32(3) * variance)
    return np.sqrt(variance) / np.float32(.87962566103423978)  # truncated normal's std


def dense_weights(name: str, key: jax.Array, fan_in: int, fan_out: int) -> jax.Array:
    """``INITIALIZERS[name].weights(key, (fan_in, fan_out))``, the same to the bit, without
    compiling anything per shape.

    JAX's random bits for a shape are those of its elements' flat positions (the
    counter-based threefry), so a small matrix's draw is the first elements of one
    fixed draw of ``FLAT``, made once per distribution; the initialiser's factor is
    applied on the host. Eagerly, a new shape would compile JAX's small kernels (a
    quarter second per shape, on a 2-core CPU): a padded page's width edit waited for
    them. For a traced key, a bigger matrix, or JAX's older random bits
    (``jax_threefry_partitionable`` off), it is the initialiser itself. Tested against
    it for every initialiser.
    """
    ini = INITIALIZERS.get(name)
    n = fan_in * fan_out
    if (ini.unit is None or n > FLAT or isinstance(key, jax.core.Tracer)
            or not jax.config.jax_threefry_partitionable):  # (the flat positions' bits)
        return ini.weights(key, (fan_in, fan_out), jnp.float32)
    with jax.ensure_compile_time_eval():  # a concrete key inside a trace: drawn now
        flat = np.asarray(_flat_draw(ini.unit)(key))
    w = flat[:n].reshape(fan_in, fan_out)
    factor = _factor(ini, fan_in, fan_out)
    return jax.device_put(w if factor is None else w * factor)


def warm_draws() -> None:
    """Compile every unit distribution's one draw (``dense_weights``), so that no
    initialiser's first use compiles."""
    key = jax.random.PRNGKey(0)
    with jax.ensure_compile_time_eval():  # as dense_weights calls them (a cache key)
        for unit in UNIT_DRAWS:
            _flat_draw(unit)(key)
