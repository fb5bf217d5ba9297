"""Backpropagation written out, one example at a time, for small dense networks.

``trace`` returns every number of one forward and backward pass: each layer's
pre-activations and activations, each local derivative, the chain-rule
products flowing back and the gradients, then the updated weights. It is the
chain rule by hand on purpose (it is what the page teaches); the tests check
every gradient against ``jax.grad`` of the same loss.

Convention (row vectors, as the engine): z_l = a_{l-1} W_l + b_l, a_l = f_l(z_l),
loss L = 0.5 * sum (a_L - t)^2 (the classic tutorial's squared error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.blocks.activations import ACTIVATIONS
from engine.errors import SpecError
from engine.teach.explain import activation_curve


@dataclass(frozen=True)
class LayerTrace:
    """One layer's numbers for one example (NumPy, float64).

    Attributes:
        a_in: the layer's input a_{l-1}, (fan_in,).
        z: pre-activation z_l, (units,).
        a: activation a_l = f(z_l), (units,).
        da_dz: local derivative f'(z_l), (units,).
        dL_da: gradient arriving from above, dL/da_l, (units,).
        dL_dz: chain-rule product dL/da_l * f'(z_l), (units,).
        dL_dW: outer product a_{l-1}^T dL/dz_l, (fan_in, units).
        dL_db: equals dL/dz_l, (units,).
        W, b: weights before the update; W_new, b_new after it.
    """

    a_in: np.ndarray
    z: np.ndarray
    a: np.ndarray
    da_dz: np.ndarray
    dL_da: np.ndarray
    dL_dz: np.ndarray
    dL_dW: np.ndarray
    dL_db: np.ndarray
    W: np.ndarray
    b: np.ndarray
    W_new: np.ndarray
    b_new: np.ndarray


@dataclass(frozen=True)
class Trace:
    """A whole forward and backward pass: layers (first to last), loss, output, target."""

    layers: tuple[LayerTrace, ...]
    loss: float
    output: np.ndarray
    target: np.ndarray


def trace(weights: list[np.ndarray], biases: list[np.ndarray], activations: list[str],
          x: np.ndarray, t: np.ndarray, lr: float) -> Trace:
    """Forward, backward and one gradient-descent update for one example.

    Args:
        weights: W_l, each (fan_in, units); biases: b_l, each (units,).
        activations: one activation name per layer (the output's last).
        x: the example's input, (fan_in_0,); t: its target, (units_L,).
        lr: learning rate of the update W <- W - lr dL/dW.
    """
    for name in activations:
        if ACTIVATIONS.get(name, "activation").param_init is not None or name == "softmax":
            raise SpecError("activation", f"{name} is not an elementwise function of one "
                                          "value; the step-by-step trace needs one")
    a = np.asarray(x, np.float64)
    forward = []
    for W, b, name in zip(weights, biases, activations, strict=True):
        z = a @ W + b
        curve = activation_curve(name, z)  # f(z) and f'(z) by jax.grad
        out = curve.y.astype(np.float64)
        forward.append((a, z, out, curve.dy.astype(np.float64)))
        a = out
    t = np.asarray(t, np.float64)
    loss = 0.5 * float(np.sum((a - t) ** 2))
    dL_da = a - t  # derivative of 0.5 (a - t)^2
    layers: list[LayerTrace] = []
    for (a_in, z, out, da_dz), W, b in zip(reversed(forward), reversed(weights),
                                           reversed(biases), strict=True):
        dL_dz = dL_da * da_dz
        dL_dW = np.outer(a_in, dL_dz)
        layers.append(LayerTrace(a_in, z, out, da_dz, dL_da, dL_dz, dL_dW, dL_dz,
                                 np.asarray(W, np.float64), np.asarray(b, np.float64),
                                 W - lr * dL_dW, b - lr * dL_dz))
        dL_da = dL_dz @ np.asarray(W, np.float64).T  # what the layer below receives
    return Trace(tuple(reversed(layers)), loss, a, t)
