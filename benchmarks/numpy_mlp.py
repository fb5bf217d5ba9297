"""A plain NumPy multilayer perceptron: the speed reference and an independent check.

Nothing here imports JAX. Backprop is written by hand and vectorised per batch, so
this module serves two purposes: the benchmark compares the JAX engine's speed
against it (DESIGN.md section 5), and tests compare the engine's forward pass and
gradients against it.

Conventions (row vectors, as TensorFlow Playground's maths reads):

- ``x`` is ``(batch, in)``; layer ``i`` computes ``z = a @ W[i] + b[i]`` with
  ``W[i]`` of shape ``(sizes[i], sizes[i + 1])`` and ``b[i]`` of shape
  ``(sizes[i + 1],)``, then ``a = f(z)``.
- Every loss is a mean over the batch, and ``gradients`` returns the gradient of
  that mean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

Fn = Callable[[np.ndarray], np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # Stable for any z (no overflow in exp) and keeps the dtype.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _dsigmoid(z: np.ndarray) -> np.ndarray:
    s = _sigmoid(z)
    return s * (1.0 - s)


def _dtanh(z: np.ndarray) -> np.ndarray:
    t = np.tanh(z)
    return 1.0 - t * t


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def _drelu(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(z.dtype)


LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0


def _leaky_relu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _dleaky_relu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z.dtype.type(1), z.dtype.type(LEAKY_SLOPE))


def _elu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0)))


def _delu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z.dtype.type(1), ELU_ALPHA * np.exp(np.minimum(z, 0)))


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, z)


def _swish(z: np.ndarray) -> np.ndarray:
    return z * _sigmoid(z)


def _dswish(z: np.ndarray) -> np.ndarray:
    s = _sigmoid(z)
    return s + z * s * (1.0 - s)


ACTIVATIONS: dict[str, tuple[Fn, Fn]] = {
    "linear": (lambda z: z, np.ones_like),
    "sigmoid": (_sigmoid, _dsigmoid),
    "tanh": (np.tanh, _dtanh),
    "relu": (_relu, _drelu),
    "leaky_relu": (_leaky_relu, _dleaky_relu),
    "elu": (_elu, _delu),
    "softplus": (_softplus, _sigmoid),
    "swish": (_swish, _dswish),
    "silu": (_swish, _dswish),
}
"""name -> (f(z), f'(z)), both elementwise; the derivative takes the pre-activation z."""

LOSSES = ("half_mse", "mse", "bce", "ce")
_LOGIT_LOSSES = {"bce": "sigmoid", "ce": "softmax"}  # loss -> required output activation


def _softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of ``z`` (batch, classes)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# TensorFlow Playground's input features as independent NumPy formulas, (n, 2) -> (n,).
FEATURES = {
    "x1": lambda x: x[:, 0],
    "x2": lambda x: x[:, 1],
    "x1^2": lambda x: x[:, 0] ** 2,
    "x2^2": lambda x: x[:, 1] ** 2,
    "x1*x2": lambda x: x[:, 0] * x[:, 1],
    "sin(x1)": lambda x: np.sin(x[:, 0]),
    "sin(x2)": lambda x: np.sin(x[:, 1]),
    "cos(x1)": lambda x: np.cos(x[:, 0]),
    "cos(x2)": lambda x: np.cos(x[:, 1]),
}

class NumpyMLP:
    """Fully connected network trained with plain minibatch SGD.

    Args:
        sizes: layer widths, input first and output last, e.g. ``[2, 4, 2, 1]``.
        activation: hidden activation name (a key of ``ACTIVATIONS``), or a list of
            one name per hidden layer (``len(sizes) - 2`` names).
        output_activation: a key of ``ACTIVATIONS``, or ``"softmax"``. Loss ``"bce"``
            needs ``"sigmoid"`` and loss ``"ce"`` needs ``"softmax"``.
        loss: ``"half_mse"`` (TensorFlow Playground's: 0.5 * batch mean of the sum
            over outputs of ``(o - t)**2``), ``"mse"`` (mean over batch and outputs),
            ``"bce"`` (sigmoid binary cross-entropy from the logit, mean over batch
            and outputs; targets in {0, 1}) or ``"ce"`` (softmax cross-entropy with
            integer labels, mean over batch).
        seed: seeds the default initialisation (TensorFlow Playground's: weights
            uniform in [-0.5, 0.5), biases 0.1), drawn layer by layer, weights only.
        weights: optional initial weights, ``weights[i]`` of shape
            ``(sizes[i], sizes[i + 1])``; copied.
        biases: optional initial biases, ``biases[i]`` of shape ``(sizes[i + 1],)``;
            copied.
        dtype: floating dtype of parameters and computation.

    Attributes:
        weights: list of ``(sizes[i], sizes[i + 1])`` arrays, updated in place by
            ``train_epochs``.
        biases: list of ``(sizes[i + 1],)`` arrays, likewise.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "tanh",
        output_activation: str = "tanh",
        loss: str = "half_mse",
        seed: int = 0,
        weights: Sequence[np.ndarray] | None = None,
        biases: Sequence[np.ndarray] | None = None,
        dtype=np.float64,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list >= 2 positive widths, got {sizes}")
        n_hidden = len(sizes) - 2
        hidden = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        if len(hidden) != n_hidden:
            raise ValueError(f"activation lists {len(hidden)} names for {n_hidden} hidden layers")
        for name in hidden:
            if name not in ACTIVATIONS:
                raise ValueError(f"unknown activation {name!r}; allowed: {sorted(ACTIVATIONS)}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; allowed: {list(LOSSES)}")
        if output_activation not in ACTIVATIONS and output_activation != "softmax":
            allowed = sorted([*ACTIVATIONS, "softmax"])
            raise ValueError(f"unknown output_activation {output_activation!r}; allowed: {allowed}")
        required = _LOGIT_LOSSES.get(loss)
        if required is not None and output_activation != required:
            raise ValueError(f"loss {loss!r} needs output_activation {required!r}")
        if output_activation == "softmax" and loss != "ce":
            raise ValueError("output_activation 'softmax' is only supported with loss 'ce'")

        self.sizes = sizes
        self.activations = hidden
        self.output_activation = output_activation
        self.loss_name = loss
        self.dtype = np.dtype(dtype)

        shapes = list(pairwise(sizes))
        if weights is None:
            rng = np.random.default_rng(seed)
            weights = [rng.uniform(-0.5, 0.5, size=shape) for shape in shapes]
        if biases is None:
            biases = [np.full(n_out, 0.1) for _, n_out in shapes]
        self.weights = [np.array(w, dtype=self.dtype) for w in weights]
        self.biases = [np.array(b, dtype=self.dtype) for b in biases]
        for i, (shape, w, b) in enumerate(zip(shapes, self.weights, self.biases, strict=True)):
            if w.shape != shape or b.shape != (shape[1],):
                raise ValueError(
                    f"layer {i}: expected weight {shape} and bias {(shape[1],)}, "
                    f"got {w.shape} and {b.shape}"
                )

        # Per layer: the activation, and its derivative as a function of (z, a) where
        # a = f(z) is already cached; tanh, sigmoid and relu read it off a (one op
        # fewer than recomputing from z), linear needs no multiply at all (None).
        # For a logit loss (bce, ce) the output derivative is unused: the delta is p - y.
        names = [*hidden, output_activation]
        self._act: list[Fn] = [ACTIVATIONS[n][0] for n in hidden]
        output_fns = {"sigmoid": _sigmoid, "softmax": _softmax}
        self._act.append(output_fns[required] if required else ACTIVATIONS[output_activation][0])
        self._deriv: list[Callable[[np.ndarray, np.ndarray], np.ndarray] | None] = [
            _derivative(n) for n in names
        ]

    # ----------------------------------------------------------------- forward
    def _forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations ``zs`` and activations ``acts`` (``acts[0]`` is ``x``)."""
        a = x
        zs: list[np.ndarray] = []
        acts = [a]
        for w, b, f in zip(self.weights, self.biases, self._act, strict=True):
            z = a @ w + b  # (batch, n_out)
            a = f(z)
            zs.append(z)
            acts.append(a)
        return zs, acts

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
        """Run the network.

        Args:
            x: inputs, ``(batch, sizes[0])``.

        Returns:
            ``(output, cache)``: ``output`` is ``(batch, sizes[-1])``, after the
            output activation (probabilities for ``"bce"`` and ``"ce"``). ``cache``
            has ``"z"``, the pre-activations of each layer (``z[i]`` is
            ``(batch, sizes[i + 1])``; the last one is the logits), and ``"a"``,
            the activations with the input first (``a[0]`` is ``x``, ``a[i + 1]``
            is ``f(z[i])``, ``a[-1]`` is ``output``).
        """
        zs, acts = self._forward(np.asarray(x, dtype=self.dtype))
        return acts[-1], {"z": zs, "a": acts}

    # -------------------------------------------------------------------- loss
    def _targets(self, y: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Float targets shaped like ``out``, or ``(batch,)`` int labels for ``"ce"``."""
        if self.loss_name == "ce":
            return np.asarray(y).astype(np.intp, copy=False).reshape(out.shape[0])
        return np.asarray(y, dtype=self.dtype).reshape(out.shape)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean loss over the batch.

        Args:
            x: ``(batch, sizes[0])``.
            y: ``(batch, sizes[-1])`` float targets, or ``(batch,)`` int labels for
                ``"ce"``.
        """
        zs, acts = self._forward(np.asarray(x, dtype=self.dtype))
        z, out = zs[-1], acts[-1]  # (batch, out)
        t = self._targets(y, out)
        name = self.loss_name
        if name == "ce":
            shifted = z - z.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(shifted).sum(axis=1))
            return float(np.mean(log_norm - shifted[np.arange(len(t)), t]))
        if name == "bce":
            # max(z, 0) - z t + log(1 + exp(-|z|)): stable for any logit.
            return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
        sq = (out - t) ** 2
        if name == "half_mse":
            return 0.5 * float(np.sum(sq)) / out.shape[0]
        return float(np.mean(sq))  # mse

    # ---------------------------------------------------------------- backward
    def _output_delta(self, z: np.ndarray, out: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Gradient of the mean loss w.r.t. the last pre-activation ``z`` (batch, out)."""
        name = self.loss_name
        if name == "ce":
            delta = out.copy()  # softmax probabilities
            delta[np.arange(len(t)), t] -= 1.0
            return delta * (1.0 / len(t))
        if name == "bce":
            return (out - t) * (1.0 / t.size)  # sigmoid(z) - t
        scale = 1.0 / out.shape[0] if name == "half_mse" else 2.0 / out.size
        dout = (out - t) * scale  # dL/d(out)
        deriv = self._deriv[-1]
        return dout if deriv is None else dout * deriv(z, out)

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradients of the mean loss, by hand-written backprop.

        Args:
            x: ``(batch, sizes[0])``.
            y: as in ``loss``.

        Returns:
            ``(dW, db)`` shaped like ``weights`` and ``biases``.
        """
        zs, acts = self._forward(np.asarray(x, dtype=self.dtype))
        delta = self._output_delta(zs[-1], acts[-1], self._targets(y, acts[-1]))
        n_layers = len(self.weights)
        dws: list[np.ndarray] = [None] * n_layers  # type: ignore[list-item]
        dbs: list[np.ndarray] = [None] * n_layers  # type: ignore[list-item]
        for i in range(n_layers - 1, -1, -1):
            # delta: (batch, sizes[i + 1]), the gradient w.r.t. zs[i]
            dws[i] = acts[i].T @ delta  # (sizes[i], sizes[i + 1])
            dbs[i] = np.add.reduce(delta, axis=0)  # (sizes[i + 1],)
            if i:
                delta = delta @ self.weights[i].T  # (batch, sizes[i]), w.r.t. acts[i]
                deriv = self._deriv[i - 1]
                if deriv is not None:
                    delta = delta * deriv(zs[i - 1], acts[i])
        return dws, dbs

    # ---------------------------------------------------------------- training
    def train_epochs(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int,
        batch_size: int,
        lr: float,
        rng: np.random.Generator,
    ) -> None:
        """Plain minibatch SGD, updating ``weights`` and ``biases`` in place.

        Each epoch draws a fresh permutation of the ``n`` rows from ``rng`` and makes
        ``n // batch_size`` updates ``W -= lr * dW``, over consecutive slices of the
        permuted rows; the last ``n % batch_size`` rows of that permutation are
        skipped for the epoch.

        Args:
            x: ``(n, sizes[0])``.
            y: ``(n, sizes[-1])`` targets, or ``(n,)`` labels for ``"ce"``.
            epochs: number of passes.
            batch_size: rows per update.
            lr: learning rate.
            rng: source of the permutations.
        """
        x = np.asarray(x, dtype=self.dtype)
        y = np.asarray(y)
        n = x.shape[0]
        steps = n // batch_size
        weights, biases = self.weights, self.biases
        for _ in range(epochs):
            perm = rng.permutation(n)
            xp, yp = x[perm], y[perm]  # one gather per epoch; batches are views
            for k in range(steps):
                rows = slice(k * batch_size, (k + 1) * batch_size)
                dws, dbs = self.gradients(xp[rows], yp[rows])
                for w, b, dw, db in zip(weights, biases, dws, dbs, strict=True):
                    w -= lr * dw
                    b -= lr * db


def _derivative(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """``f'`` as a function of ``(z, a = f(z))``; ``None`` for linear (f' = 1)."""
    if name == "linear":
        return None
    if name == "tanh":
        return lambda z, a: 1.0 - a * a
    if name == "sigmoid":
        return lambda z, a: a * (1.0 - a)
    if name == "relu":
        return lambda z, a: z > 0  # bool; multiplying keeps the float dtype
    if name in ACTIVATIONS:
        dfn = ACTIVATIONS[name][1]
        return lambda z, a: dfn(z)
    return None  # softmax: only an output for "ce", whose delta is computed directly
