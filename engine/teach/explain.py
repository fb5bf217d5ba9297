"""Curves for the explorers: activations and losses with their derivatives.

Derivatives come from ``jax.grad``, never from formulas written by hand, so
what a page shows is exactly what training uses.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from engine.blocks.activations import ACTIVATIONS
from engine.blocks.losses import LOSSES, Head
from engine.errors import SpecError

SATURATION = 0.05  # |f'(z)| below this share of its maximum counts as saturated
GRADIENT_HEALTH = (0.01, 100.0)  # first/last layer gradient ratio outside: vanishing/exploding


class Curve(NamedTuple):
    """A function sampled on ``x`` with its derivative (NumPy arrays, same shape)."""

    x: np.ndarray
    y: np.ndarray
    dy: np.ndarray


def _scalar_activation(name: str, alpha: float):
    """``f(z)`` for one scalar z; softmax is shown as the first of [z, 0] (a sigmoid)."""
    act = ACTIVATIONS.get(name, "activation")
    if name == "softmax":
        return lambda z: act.fn(jnp.stack([z, jnp.zeros_like(z)]))[0]
    return lambda z: act(z, jnp.float32(alpha))


def activation_curve(name: str, z: np.ndarray, alpha: float = 0.25) -> Curve:
    """f(z) and f'(z) of activation ``name`` on the points ``z`` (1-D).

    ``alpha`` is PReLU's slope. Softmax, a function of a vector, is shown for
    the vector [z, 0], where it equals the sigmoid of z.
    """
    f = _scalar_activation(name, alpha)
    zs = jnp.asarray(z, jnp.float32)
    y = jax.vmap(f)(zs)
    dy = jax.vmap(jax.grad(f))(zs)
    return Curve(np.asarray(zs), np.asarray(y), np.asarray(dy))


def saturated(curve: Curve, share: float = SATURATION) -> np.ndarray:
    """Boolean mask: where |f'(z)| is below ``share`` of its largest value."""
    peak = float(np.max(np.abs(curve.dy)))
    if peak == 0.0:
        return np.ones_like(curve.dy, dtype=bool)
    return np.abs(curve.dy) < share * peak


def loss_curve(loss: str, output_activation: str, target: float, z: np.ndarray,
               task: str = "classification") -> Curve:
    """A loss as a function of the output neuron's pre-activation z, and d loss / d z.

    ``x`` of the result is the prediction o = activation(z), ``y`` the loss and
    ``dy`` its gradient with respect to z: the signal backpropagation sends
    into the network. For ``task`` "classification" ``target`` is the class (0
    or 1), encoded as training encodes it (after tanh, class 0 is -1); for
    "regression" it is the target value. Categorical cross-entropy is shown for
    two classes with logits [z, 0].
    """
    entry = LOSSES.get(loss, "loss")
    act = ACTIVATIONS.get(output_activation, "output_activation")
    if entry.needs_activation and entry.needs_activation != output_activation:
        raise SpecError("output_activation", f"{loss} needs a {entry.needs_activation} output")
    if task not in entry.tasks:
        raise SpecError("loss", f"{loss} is for classification, not regression")
    classify = task == "classification"
    if classify and target not in (0, 1):
        raise SpecError("target", f"a class must be 0 or 1, got {target!r}")
    if loss == "categorical_crossentropy":
        head = Head("classification", 2, 2, "softmax")

        def per_example(zz):
            logits = jnp.stack([zz, jnp.zeros_like(zz)])[None, :]  # (1, 2)
            o = jax.nn.softmax(logits, axis=-1)
            y = jnp.asarray([1 - int(target)], jnp.int32)  # class 0 is "z wins"
            return entry.fn(logits, o, y, head)[0], o[0, 0]
    else:
        head = Head(task, 2 if classify else 0, 1, output_activation)
        y = jnp.asarray([target], jnp.int32 if classify else jnp.float32)

        def per_example(zz):
            zb = zz.reshape(1, 1)
            o = act(zb, jnp.float32(0.25))
            return entry.fn(zb, o, y, head)[0], o[0, 0]

    zs = jnp.asarray(z, jnp.float32)
    (values, preds), grads = jax.vmap(jax.value_and_grad(per_example, has_aux=True))(zs)
    return Curve(np.asarray(preds), np.asarray(values), np.asarray(grads))


def gradient_health(first: float, last: float) -> tuple[float, str]:
    """How the gradient reaching the first hidden layer compares with the last one's.

    ``first`` and ``last`` are gradient norms (of the first and last hidden layers'
    parameters). Returns ``(first / last, verdict)`` with verdict "vanishing" when the
    ratio is below ``GRADIENT_HEALTH[0]`` (the first layer barely learns), "exploding"
    above ``GRADIENT_HEALTH[1]``, "healthy" between, and "no gradient" when the last
    layer's gradient is zero or not finite.
    """
    if not (np.isfinite(first) and np.isfinite(last)) or last <= 0.0:
        return float("nan"), "no gradient"
    ratio = first / last
    if ratio < GRADIENT_HEALTH[0]:
        return ratio, "vanishing"
    if ratio > GRADIENT_HEALTH[1]:
        return ratio, "exploding"
    return ratio, "healthy"
