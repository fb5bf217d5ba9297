"""engine.teach.backprop: the hand-written chain rule equals jax.grad, number by number."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from engine import ACTIVATIONS
from engine.teach.backprop import trace


def _net(sizes, seed):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, 0.8, (a, b)) for a, b in itertools.pairwise(sizes)]
    bs = [rng.normal(0, 0.3, (b,)) for b in sizes[1:]]
    return ws, bs


def _jax_grads(ws, bs, acts, x, t):
    def loss(params):
        a = jnp.asarray(x)
        for (w, b), name in zip(params, acts, strict=True):
            a = ACTIVATIONS.get(name).fn(a @ w + b)
        return 0.5 * jnp.sum((a - t) ** 2)

    params = [(jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32))
              for w, b in zip(ws, bs, strict=True)]
    return loss(params), jax.grad(loss)(params)


@pytest.mark.parametrize(("sizes", "acts"), [
    ([2, 2, 1], ["sigmoid", "sigmoid"]),
    ([3, 4, 2], ["tanh", "sigmoid"]),
    ([2, 3, 3, 1], ["relu", "elu", "linear"]),
    ([2, 5, 2], ["swish", "softplus"]),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_every_gradient_equals_jax_grad(sizes, acts, seed):
    ws, bs = _net(sizes, seed)
    rng = np.random.default_rng(seed + 10)
    x, t = rng.normal(size=sizes[0]), rng.uniform(size=sizes[-1])
    tr = trace(ws, bs, acts, x, t, lr=0.5)
    loss, grads = _jax_grads(ws, bs, acts, x, t)
    assert tr.loss == pytest.approx(float(loss), rel=1e-4)
    for layer, (gw, gb), w, b in zip(tr.layers, grads, ws, bs, strict=True):
        np.testing.assert_allclose(layer.dL_dW, gw, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(layer.dL_db, gb, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(layer.W_new, w - 0.5 * np.asarray(gw), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(layer.b_new, b - 0.5 * np.asarray(gb), rtol=1e-4, atol=1e-6)


def test_the_chain_is_consistent_layer_to_layer():
    ws, bs = _net([2, 2, 1], 3)
    tr = trace(ws, bs, ["sigmoid", "sigmoid"], np.array([1.0, -1.0]), np.array([1.0]), 1.0)
    hidden, out = tr.layers
    np.testing.assert_allclose(out.dL_da, tr.output - tr.target)
    np.testing.assert_allclose(out.da_dz, out.a * (1 - out.a), rtol=1e-5)  # sigmoid' = a(1-a)
    np.testing.assert_allclose(out.dL_dz, out.dL_da * out.da_dz)
    np.testing.assert_allclose(hidden.dL_da, out.dL_dz @ ws[1].T)
    np.testing.assert_allclose(hidden.a, out.a_in)


def test_a_classic_worked_example():
    # the widely used 2-2-1 sigmoid example: x (0.05, 0.1), one output target 0.01
    ws = [np.array([[0.15, 0.25], [0.2, 0.3]]), np.array([[0.4], [0.45]])]
    bs = [np.array([0.35, 0.35]), np.array([0.6])]
    tr = trace(ws, bs, ["sigmoid", "sigmoid"], np.array([0.05, 0.1]), np.array([0.01]), 0.5)
    np.testing.assert_allclose(tr.layers[0].a, [0.593270, 0.596884], atol=1e-6)
    np.testing.assert_allclose(tr.layers[1].dL_dW[:, 0], [0.082167, 0.082668], atol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "prelu"])
def test_non_elementwise_or_parametric_activations_are_refused(name):
    from engine import SpecError

    ws, bs = _net([2, 2, 1], 0)
    with pytest.raises(SpecError, match=name):
        trace(ws, bs, [name, "sigmoid"], np.ones(2), np.ones(1), 0.1)
