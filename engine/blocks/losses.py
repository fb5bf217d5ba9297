"""Loss functions: one registry, from which every menu is built.

A loss sees the output layer's pre-activation ``z`` (batch, out), its
activation's output ``o`` (batch, out) and the labels ``y`` (batch,): class ids
(int) for classification, targets (float) for regression. It returns one loss
per example, shape (batch,). Cross-entropies use ``z`` directly, which is
numerically stable where ``log(sigmoid(z))`` is not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine.blocks.activations import ACTIVATIONS
from engine.registry import Registry


@dataclass(frozen=True)
class Head:
    """The static facts about a network's output that losses and metrics need.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        n_classes: number of classes (0 for regression).
        out_dim: number of output units.
        activation: name of the output activation.
    """

    task: str
    n_classes: int
    out_dim: int
    activation: str

    def value_targets(self, y: jax.Array) -> jax.Array:
        """Targets for losses that compare values, shape (batch, out_dim).

        Two classes through one unit use the activation's target pair (-1/+1
        after tanh as in TensorFlow Playground, 0/1 after sigmoid); more units
        use a one-hot code in that pair.
        """
        if self.task == "regression":
            return y.astype(jnp.float32)[:, None]
        neg, pos = ACTIVATIONS.get(self.activation).binary_targets
        if self.out_dim == 1:
            return jnp.where(y == 1, pos, neg).astype(jnp.float32)[:, None]
        return jnp.where(jax.nn.one_hot(y, self.out_dim) > 0, pos, neg)

    def predict(self, o: jax.Array) -> jax.Array:
        """Predicted class ids (batch,) from outputs o (batch, out_dim); NumPy in, NumPy
        out (on the host, no kernel compiled per new batch size)."""
        xp = np if isinstance(o, np.ndarray) else jnp
        if self.out_dim == 1:
            return (o[:, 0] > ACTIVATIONS.get(self.activation).threshold).astype(xp.int32)
        return xp.argmax(o, axis=-1).astype(xp.int32)


@dataclass(frozen=True)
class Loss:
    """A loss: ``fn(z, o, y, head) -> (batch,)`` and the tasks it fits.

    Attributes:
        fn: per-example loss.
        tasks: tasks it accepts.
        needs_activation: output activation it requires (cross-entropies), or None.
    """

    fn: Callable[[jax.Array, jax.Array, jax.Array, Head], jax.Array]
    tasks: tuple[str, ...] = ("classification", "regression")
    needs_activation: str | None = None


def _mse(z, o, y, head):
    return jnp.mean((o - head.value_targets(y)) ** 2, axis=-1)


def _half_mse(z, o, y, head):
    # TensorFlow Playground's "square" error: 0.5 (o - t)^2, summed over outputs.
    return 0.5 * jnp.sum((o - head.value_targets(y)) ** 2, axis=-1)


def _mae(z, o, y, head):
    return jnp.mean(jnp.abs(o - head.value_targets(y)), axis=-1)


def _huber(z, o, y, head):
    return jnp.mean(optax.losses.huber_loss(o, head.value_targets(y), delta=1.0), axis=-1)


def _bce(z, o, y, head):
    return optax.losses.sigmoid_binary_cross_entropy(z[:, 0], y.astype(jnp.float32))


def _cce(z, o, y, head):
    return optax.losses.softmax_cross_entropy_with_integer_labels(z, y)


def _hinge(z, o, y, head):
    if head.out_dim == 1:  # labels as -1/+1, margin 1
        t = jnp.where(y == 1, 1.0, -1.0)
        return jnp.maximum(0.0, 1.0 - t * o[:, 0])
    # Crammer-Singer multi-class hinge: the true score must beat the best other by 1.
    true = jnp.take_along_axis(o, y[:, None], axis=-1)[:, 0]
    others = jnp.where(jax.nn.one_hot(y, head.out_dim) > 0, -jnp.inf, o)
    return jnp.maximum(0.0, 1.0 + jnp.max(others, axis=-1) - true)


LOSSES: Registry[Loss] = Registry("loss")
LOSSES.register("mse", Loss(_mse), "Mean squared error: mean of (output - target)^2.")
LOSSES.register("half_mse", Loss(_half_mse),
                "Half squared error 0.5 (output - target)^2, as TensorFlow Playground uses.")
LOSSES.register("mae", Loss(_mae), "Mean absolute error: robust to outliers, constant gradient.")
LOSSES.register("huber", Loss(_huber),
                "Huber: squared error near the target, absolute error far from it (delta 1).")
LOSSES.register("binary_crossentropy",
                Loss(_bce, ("classification",), needs_activation="sigmoid"),
                "Binary cross-entropy -[y log p + (1-y) log(1-p)] for two classes after a sigmoid.")
LOSSES.register("categorical_crossentropy",
                Loss(_cce, ("classification",), needs_activation="softmax"),
                "Categorical cross-entropy -log p(true class) after a softmax.")
LOSSES.register("hinge", Loss(_hinge, ("classification",)),
                "Hinge max(0, 1 - t f(x)) with t = -1/+1: the SVM loss; zero once the margin is 1.")
LOSSES.retitle({"mse": "Mean squared error", "half_mse": "Half squared error",
                "mae": "Mean absolute error", "huber": "Huber",
                "binary_crossentropy": "Binary cross-entropy",
                "categorical_crossentropy": "Categorical cross-entropy", "hinge": "Hinge"})
