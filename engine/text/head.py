"""A classifier on frozen sentence embeddings: transfer learning in its simplest form.

The pretrained transformer stays fixed; only a logistic-regression head, ``(384,) ->
P(positive)``, learns, by full-batch Adam on the training sentences' embeddings. With
little data this usually beats a recurrent network trained from scratch on the same
sentences: the transformer already knows what words mean.

Pure functions over a small pytree; one compiled call runs ``steps`` updates (the step
count is static: keep it fixed across calls).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine.errors import DataError


class Head(NamedTuple):
    """A logistic-regression head: ``w`` (D,), ``b`` () float32."""

    w: jax.Array
    b: jax.Array


class HeadState(NamedTuple):
    """The head and its Adam moments."""

    head: Head
    opt: optax.OptState


class HeadLog(NamedTuple):
    """Per step: training loss (binary cross-entropy) and test accuracy, (steps,)."""

    train_loss: np.ndarray
    test_accuracy: np.ndarray


def _check(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if x.ndim != 2 or y.shape != (x.shape[0],) or not len(y):
        raise DataError(f"{what}: expected embeddings (n, D) and labels (n,) with n >= 1, "
                        f"got {x.shape} and {y.shape}")


def init_head(dim: int, learning_rate: float = 0.01) -> HeadState:
    """A zero head (logistic regression needs no symmetry breaking) and Adam's state."""
    head = Head(jnp.zeros(dim, jnp.float32), jnp.zeros((), jnp.float32))
    return HeadState(head, optax.adam(learning_rate).init(head))


def logits(head: Head, x: jax.Array) -> jax.Array:
    """``x @ w + b``: (n, D) -> (n,)."""
    return x @ head.w + head.b


@partial(jax.jit, static_argnames=("steps", "learning_rate"))
def _train(state: HeadState, x, y, x_test, y_test, steps: int, learning_rate: float):
    opt = optax.adam(learning_rate)

    def loss_fn(head: Head) -> jax.Array:
        return optax.sigmoid_binary_cross_entropy(logits(head, x), y).mean()

    def one(st: HeadState, _):
        loss, grads = jax.value_and_grad(loss_fn)(st.head)
        updates, opt_state = opt.update(grads, st.opt, st.head)
        head = optax.apply_updates(st.head, updates)
        acc = jnp.mean((logits(head, x_test) > 0) == (y_test > 0.5))
        return HeadState(head, opt_state), (loss, acc)

    return jax.lax.scan(one, state, None, length=steps)


def train_head(state: HeadState, x_train: np.ndarray, y_train: np.ndarray,
               x_test: np.ndarray, y_test: np.ndarray, steps: int = 50,
               learning_rate: float = 0.01) -> tuple[HeadState, HeadLog]:
    """``steps`` full-batch Adam updates of the head on ``(x_train (n, D), y_train (n,)
    of 0/1)``; the log has each step's training loss and test accuracy.

    Raises:
        DataError: for embeddings and labels of mismatched shapes.
    """
    x, y = np.asarray(x_train, np.float32), np.asarray(y_train, np.float32)
    xt, yt = np.asarray(x_test, np.float32), np.asarray(y_test, np.float32)
    _check(x, y, "training")
    _check(xt, yt, "test")
    state, (loss, acc) = _train(state, x, y, xt, yt, steps, learning_rate)
    return state, HeadLog(np.asarray(loss), np.asarray(acc))


def predict_head(head: Head, x: np.ndarray) -> np.ndarray:
    """P(positive) for embeddings ``x`` (n, D) -> (n,)."""
    return np.asarray(jax.nn.sigmoid(logits(head, jnp.asarray(x, jnp.float32))))
