"""Activation functions: one registry, from which every menu is built.

Each entry is a pure ``jax.numpy`` function. PReLU is the one activation with a
learnable parameter (a slope per unit), so entries say whether they take one.
Derivatives are never written by hand: pages use ``jax.grad`` on these.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from engine.registry import Registry


@dataclass(frozen=True)
class Activation:
    """An activation function and the facts the engine needs about it.

    Attributes:
        fn: ``fn(z)`` or, when ``param_init`` is set, ``fn(z, alpha)``; elementwise
            except softmax, which normalises over the last axis.
        lo: lower bound of the output range (``-inf`` when unbounded).
        hi: upper bound of the output range (``inf`` when unbounded).
        param_init: initial value of the learnable slope, or ``None``.
        formula: the formula in plain text, for help and tooltips.
    """

    fn: Callable[..., jax.Array]
    lo: float
    hi: float
    param_init: float | None = None
    formula: str = ""

    def __call__(self, z: jax.Array, alpha: jax.Array | None = None) -> jax.Array:
        """Apply to ``z`` (any shape); ``alpha`` is the learned slope (PReLU only)."""
        return self.fn(z) if self.param_init is None else self.fn(z, alpha)

    @property
    def binary_targets(self) -> tuple[float, float]:
        """Targets (negative, positive) for a two-class output through this function.

        Outputs that can go negative (tanh, linear, ...) use -1/+1, as TensorFlow
        Playground does with tanh; outputs bounded below by 0 use 0/1.
        """
        return (0.0, 1.0) if self.lo >= 0 else (-1.0, 1.0)

    @property
    def threshold(self) -> float:
        """Decision threshold for a two-class output: the midpoint of the targets."""
        neg, pos = self.binary_targets
        return 0.5 * (neg + pos)


def _prelu(z: jax.Array, alpha: jax.Array) -> jax.Array:
    return jnp.where(z >= 0, z, alpha * z)


INF = float("inf")
ACTIVATIONS: Registry[Activation] = Registry("activation")
_add = ACTIVATIONS.register
_add("linear", Activation(lambda z: z, -INF, INF, formula="f(z) = z"),
     "Identity: no non-linearity (a stack of linear layers is still linear).")
_add("sigmoid", Activation(jax.nn.sigmoid, 0.0, 1.0, formula="f(z) = 1 / (1 + e^-z)"),
     "Squashes to (0, 1); saturates for large |z|, so deep sigmoid nets' gradients vanish.")
_add("tanh", Activation(jnp.tanh, -1.0, 1.0, formula="f(z) = tanh(z)"),
     "Squashes to (-1, 1), zero-centred; saturates like the sigmoid.")
_add("relu", Activation(jax.nn.relu, 0.0, INF, formula="f(z) = max(0, z)"),
     "Rectified linear unit: cheap, no saturation for z > 0, but units can die (z < 0 always).")
_add("leaky_relu", Activation(jax.nn.leaky_relu, -INF, INF,
                              formula="f(z) = z if z > 0 else 0.01 z"),
     "ReLU with a small slope (0.01) for z < 0, so units never die completely.")
_add("prelu", Activation(_prelu, -INF, INF, param_init=0.25, formula="f(z) = z if z > 0 else a z"),
     "Parametric ReLU: the negative slope a is learned per unit (starts at 0.25).")
_add("elu", Activation(jax.nn.elu, -1.0, INF, formula="f(z) = z if z > 0 else e^z - 1"),
     "Exponential linear unit: smooth, negative outputs push mean activations towards zero.")
_add("selu", Activation(jax.nn.selu, -1.7581, INF, formula="f(z) = 1.0507 elu_1.6733(z)"),
     "Scaled ELU: with LeCun-normal init keeps activations normalised through deep nets.")
_add("swish", Activation(jax.nn.silu, -0.2785, INF, formula="f(z) = z sigmoid(z)"),
     "Swish / SiLU: smooth, non-monotonic ReLU-like function.")
_add("gelu", Activation(functools.partial(jax.nn.gelu, approximate=False), -0.17, INF,
                        formula="f(z) = z Phi(z)"),
     "Gaussian error linear unit, used in transformers (BERT, GPT).")
_add("softplus", Activation(jax.nn.softplus, 0.0, INF, formula="f(z) = log(1 + e^z)"),
     "A smooth ReLU; its derivative is the sigmoid.")
_add("softmax", Activation(lambda z: jax.nn.softmax(z, axis=-1), 0.0, 1.0,
                           formula="f(z)_i = e^z_i / sum_j e^z_j"),
     "Turns a vector of scores into probabilities that sum to 1 (multi-class outputs).")
del _add
ACTIVATIONS.retitle({  # what menus show (``ACTIVATIONS.title``): the field's spelling
    "linear": "Linear (none)", "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU",
    "leaky_relu": "Leaky ReLU", "prelu": "PReLU (learned slope)", "elu": "ELU", "selu": "SELU",
    "swish": "Swish (SiLU)", "gelu": "GELU", "softplus": "Softplus",
    "softmax": "Softmax (over the layer's units)"})

