"""Tests of the NumPy reference MLP and the benchmark workloads.

Other tests compare the JAX engine against ``benchmarks.numpy_mlp``, so the
reference itself is checked here against finite differences and plain formulas.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from benchmarks import torch_mlp
from benchmarks.numpy_mlp import ACTIVATIONS, NumpyMLP
from benchmarks.workloads import (
    WORKLOADS,
    Workload,
    make_points,
    numpy_epochs_per_second,
)


def _random_net(sizes, seed=0, **kwargs) -> NumpyMLP:
    """A float64 net with weights large enough to leave the near-linear regime."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, 0.8, (a, b)) for a, b in pairwise(sizes)]
    biases = [rng.normal(0.0, 0.3, b) for b in sizes[1:]]
    return NumpyMLP(sizes, weights=weights, biases=biases, **kwargs)


def _check_gradients(net: NumpyMLP, x: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> None:
    """Compare ``net.gradients`` with central finite differences of ``net.loss``."""
    dws, dbs = net.gradients(x, y)
    for params, grads in ((net.weights, dws), (net.biases, dbs)):
        for p, g in zip(params, grads, strict=True):
            assert g.shape == p.shape
            numeric = np.zeros_like(p)
            for i in np.ndindex(p.shape):
                old = p[i]
                p[i] = old + eps
                up = net.loss(x, y)
                p[i] = old - eps
                down = net.loss(x, y)
                p[i] = old
                numeric[i] = (up - down) / (2 * eps)
            np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


def _inputs(batch: int, n_in: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.5, (batch, n_in))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_finite_difference(name):
    fn, dfn = ACTIVATIONS[name]
    z = np.linspace(-4.0, 4.0, 81) + 0.0123  # avoid the kinks at exactly 0
    numeric = (fn(z + 1e-6) - fn(z - 1e-6)) / 2e-6
    np.testing.assert_allclose(dfn(z), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_keeps_float32(name):
    fn, dfn = ACTIVATIONS[name]
    z = np.linspace(-3, 3, 7, dtype=np.float32)
    assert fn(z).dtype == np.float32
    assert dfn(z).dtype == np.float32


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradients_match_finite_differences_per_activation(name):
    out_act = name if name != "relu" else "tanh"  # a relu output could be dead on all rows
    net = _random_net([3, 4, 3, 2], activation=name, output_activation=out_act)
    x = _inputs(6, 3)
    y = np.random.default_rng(2).uniform(-1, 1, (6, 2))
    _check_gradients(net, x, y)


@pytest.mark.parametrize(
    ("loss", "out_act"),
    [
        ("half_mse", "tanh"),
        ("half_mse", "linear"),
        ("mse", "tanh"),
        ("mse", "sigmoid"),
        ("bce", "sigmoid"),
        ("ce", "softmax"),
    ],
)
@pytest.mark.parametrize("sizes", [[3, 4, 3, 2], [3, 5, 1]])
def test_gradients_match_finite_differences_per_loss(loss, out_act, sizes):
    net = _random_net(sizes, activation="tanh", output_activation=out_act, loss=loss)
    rng = np.random.default_rng(3)
    x = _inputs(7, 3)
    if loss == "ce":
        y = rng.integers(0, sizes[-1], 7)
    elif loss == "bce":
        y = rng.integers(0, 2, (7, sizes[-1])).astype(np.float64)
    else:
        y = rng.uniform(-1, 1, (7, sizes[-1]))
    _check_gradients(net, x, y)


def test_gradients_with_one_activation_per_hidden_layer():
    net = _random_net([3, 4, 4, 3, 2], activation=["elu", "swish", "sigmoid"])
    y = np.random.default_rng(4).uniform(-1, 1, (5, 2))
    _check_gradients(net, _inputs(5, 3), y)


def _plain_forward(net: NumpyMLP, x: np.ndarray) -> np.ndarray:
    """Forward pass of a net with tanh everywhere, written independently."""
    a = x
    for w, b in zip(net.weights, net.biases, strict=True):
        a = np.tanh(a @ w + b)
    return a


def test_forward_shapes_and_cache():
    net = NumpyMLP([2, 4, 2, 1])
    x = _inputs(9, 2)
    out, cache = net.forward(x)
    assert out.shape == (9, 1)
    assert [z.shape for z in cache["z"]] == [(9, 4), (9, 2), (9, 1)]
    assert [a.shape for a in cache["a"]] == [(9, 2), (9, 4), (9, 2), (9, 1)]
    np.testing.assert_allclose(out, _plain_forward(net, x))
    np.testing.assert_allclose(cache["a"][1], np.tanh(cache["z"][0]))


def test_default_init_is_tensorflow_playgrounds():
    net = NumpyMLP([2, 8, 8, 1], seed=5)
    assert [w.shape for w in net.weights] == [(2, 8), (8, 8), (8, 1)]
    for w, b in zip(net.weights, net.biases, strict=True):
        assert np.all((w >= -0.5) & (w < 0.5))
        np.testing.assert_array_equal(b, 0.1)
    other = NumpyMLP([2, 8, 8, 1], seed=5)
    for w, v in zip(net.weights, other.weights, strict=True):
        np.testing.assert_array_equal(w, v)


def test_loss_values_equal_the_formulas():
    x = _inputs(8, 2)
    rng = np.random.default_rng(6)
    t = rng.uniform(-1, 1, (8, 3))
    net = _random_net([2, 4, 3])
    o = _plain_forward(net, x)
    assert net.loss(x, t) == pytest.approx(0.5 * np.mean(np.sum((o - t) ** 2, axis=1)))
    mse = _random_net([2, 4, 3], loss="mse")
    assert mse.loss(x, t) == pytest.approx(np.mean((o - t) ** 2))

    bce = _random_net([2, 4, 3], output_activation="sigmoid", loss="bce")
    t01 = rng.integers(0, 2, (8, 3)).astype(np.float64)
    p = bce.forward(x)[0]
    expected = -np.mean(t01 * np.log(p) + (1 - t01) * np.log(1 - p))
    assert bce.loss(x, t01) == pytest.approx(expected)

    ce = _random_net([2, 4, 3], output_activation="softmax", loss="ce")
    labels = rng.integers(0, 3, 8)
    p = ce.forward(x)[0]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert ce.loss(x, labels) == pytest.approx(-np.mean(np.log(p[np.arange(8), labels])))


def test_bce_is_stable_for_large_logits():
    net = NumpyMLP(
        [1, 1],
        output_activation="sigmoid",
        loss="bce",
        weights=[np.array([[1.0]])],
        biases=[np.array([0.0])],
    )
    x = np.array([[800.0], [-800.0]])
    assert net.loss(x, np.array([[1.0], [0.0]])) == pytest.approx(0.0)
    assert net.loss(x, np.array([[0.0], [1.0]])) == pytest.approx(800.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "ce"}, "softmax"),
        ({"loss": "bce"}, "sigmoid"),
        ({"loss": "nope"}, "loss"),
        ({"activation": "nope"}, "activation"),
        ({"activation": ["tanh"]}, "hidden"),
    ],
)
def test_bad_configurations_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NumpyMLP([2, 3, 3, 1], **kwargs)


def _small_training_data():
    w = WORKLOADS["small"]
    x, y = make_points(w.n_points, seed=0)
    return w, x[: w.n_train], y[: w.n_train]


def test_training_reduces_loss_and_is_deterministic():
    w, x, y = _small_training_data()
    nets = []
    for _ in range(2):
        net = NumpyMLP(list(w.sizes), seed=0)
        before = net.loss(x, y)
        net.train_epochs(x, y, 200, w.batch_size, w.lr, np.random.default_rng(7))
        assert net.loss(x, y) < 0.5 * before
        nets.append(net)
    for a, b in zip(
        nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    other = NumpyMLP(list(w.sizes), seed=0)
    other.train_epochs(x, y, 3, w.batch_size, w.lr, np.random.default_rng(8))
    nets[0] = NumpyMLP(list(w.sizes), seed=0)
    nets[0].train_epochs(x, y, 3, w.batch_size, w.lr, np.random.default_rng(7))
    assert not np.array_equal(other.weights[0], nets[0].weights[0])


def test_float32_training_stays_float32():
    w, x, y = _small_training_data()
    net = NumpyMLP(list(w.sizes), dtype=np.float32)
    net.train_epochs(x, y, 2, w.batch_size, w.lr, np.random.default_rng(0))
    assert all(p.dtype == np.float32 for p in net.weights + net.biases)


class _SpyMLP(NumpyMLP):
    """Records the rows (by their id in column 0) each gradient call sees."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches: list[np.ndarray] = []

    def gradients(self, x, y):
        self.batches.append(x[:, 0].astype(int))
        return super().gradients(x, y)


@pytest.mark.parametrize(("n", "batch"), [(250, 10), (250, 30), (7, 7), (5, 8)])
def test_updates_per_epoch_are_floor_n_over_batch(n, batch):
    x = np.stack([np.arange(n), np.zeros(n)], axis=1).astype(np.float64)  # row id in col 0
    y = np.zeros((n, 1))
    net = _SpyMLP([2, 3, 1])
    epochs = 3
    net.train_epochs(x, y, epochs, batch, 0.01, np.random.default_rng(0))
    steps = n // batch
    assert len(net.batches) == epochs * steps
    for e in range(epochs):
        seen = np.concatenate(net.batches[e * steps : (e + 1) * steps] or [np.array([], int)])
        assert all(len(b) == batch for b in net.batches[e * steps : (e + 1) * steps])
        assert len(np.unique(seen)) == steps * batch  # no row twice in an epoch
    if steps:  # a fresh permutation each epoch
        assert not np.array_equal(net.batches[0], net.batches[steps])


def test_make_points_balanced_deterministic_and_on_the_circles():
    x, y = make_points(500, seed=3)
    assert x.shape == (500, 2) and y.shape == (500, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert np.sum(y == 1) == 250 and np.sum(y == -1) == 250
    r = np.hypot(x[:, 0], x[:, 1])
    pos = y[:, 0] == 1
    assert r[pos].max() <= 2.5 + 1e-5
    assert r[~pos].min() >= 3.5 - 1e-5 and r[~pos].max() <= 5.0 + 1e-5
    train = y[:250, 0]
    assert 0.35 < np.mean(train == 1) < 0.65  # shuffled: the training half is mixed
    x2, y2 = make_points(500, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, make_points(500, seed=4)[0])
    xo, yo = make_points(7, seed=0)
    assert xo.shape == (7, 2) and np.sum(yo == 1) == 4


def test_workloads_match_design():
    small, big = WORKLOADS["small"], WORKLOADS["big"]
    assert small.sizes == (2, 4, 2, 1) and small.batch_size == 10 and small.lr == 0.03
    assert big.sizes == (2, 8, 8, 8, 8, 8, 8, 1) and big.batch_size == 30 and big.lr == 0.03
    for w in (small, big):
        assert w.n_points == 500 and w.train_fraction == 0.5 and w.n_train == 250
    assert Workload("x", [2, 1], 1, 0.1).sizes == (2, 1)
    with pytest.raises(AttributeError):
        small.lr = 1.0  # type: ignore[misc]
    assert hash(small) == hash(Workload(**vars(small)))


def test_numpy_epochs_per_second_is_positive():
    assert numpy_epochs_per_second(WORKLOADS["small"], seconds=0.02) > 0


def test_torch_available_returns_a_bool():
    assert isinstance(torch_mlp.available(), bool)
