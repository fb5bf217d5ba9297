"""engine.teach.explain: activation and loss curves with jax.grad derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from engine import ACTIVATIONS, SpecError
from engine.teach.explain import activation_curve, loss_curve, saturated

Z = np.linspace(-5.0, 5.0, 41) + 0.0137  # avoid the kink of ReLU-like functions at 0


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activation_derivative_matches_finite_differences(name):
    c = activation_curve(name, Z)
    h = 1e-2
    up = activation_curve(name, Z + h).y.astype(np.float64)
    down = activation_curve(name, Z - h).y.astype(np.float64)
    np.testing.assert_allclose(c.dy, (up - down) / (2 * h), atol=2e-3, rtol=1e-2)


def test_softmax_curve_is_the_sigmoid_of_z():
    c = activation_curve("softmax", Z)
    np.testing.assert_allclose(c.y, 1 / (1 + np.exp(-Z)), rtol=1e-5)


def test_prelu_uses_the_given_slope():
    c = activation_curve("prelu", np.array([-2.0, 3.0]), alpha=0.5)
    np.testing.assert_allclose(c.y, [-1.0, 3.0])
    np.testing.assert_allclose(c.dy, [0.5, 1.0])


def test_saturation_marks_the_flat_tails():
    z = np.linspace(-8, 8, 161)
    sig = saturated(activation_curve("sigmoid", z))
    assert sig[0] and sig[-1] and not sig[80]  # tails flat, centre not
    relu = saturated(activation_curve("relu", z))
    assert relu[z < -0.1].all() and not relu[z > 0.1].any()  # the dead half only


def test_cross_entropy_gradient_is_p_minus_y_and_beats_mse_when_confidently_wrong():
    z = np.array([-6.0, 0.0, 6.0])
    p = 1 / (1 + np.exp(-z))
    bce = loss_curve("binary_crossentropy", "sigmoid", 1, z)
    np.testing.assert_allclose(bce.x, p, rtol=1e-5)
    np.testing.assert_allclose(bce.dy, p - 1, atol=1e-6)
    mse = loss_curve("mse", "sigmoid", 1, z)
    np.testing.assert_allclose(mse.dy, 2 * (p - 1) * p * (1 - p), atol=1e-6)
    assert abs(bce.dy[0]) > 100 * abs(mse.dy[0])  # the lesson the page tells


def test_categorical_crossentropy_for_two_classes_equals_binary():
    z = np.linspace(-4, 4, 9)
    cce = loss_curve("categorical_crossentropy", "softmax", 1, z)
    bce = loss_curve("binary_crossentropy", "sigmoid", 1, z)
    np.testing.assert_allclose(cce.y, bce.y, rtol=1e-5)
    np.testing.assert_allclose(cce.dy, bce.dy, atol=1e-6)


def test_hinge_and_regression_losses():
    hinge = loss_curve("hinge", "linear", 1, np.array([-1.0, 0.5, 2.0]))
    np.testing.assert_allclose(hinge.y, [2.0, 0.5, 0.0])
    np.testing.assert_allclose(hinge.dy, [-1.0, -1.0, 0.0])
    mae = loss_curve("mae", "linear", 2.0, np.array([0.0, 3.0]), task="regression")
    np.testing.assert_allclose(mae.y, [2.0, 1.0])
    np.testing.assert_allclose(mae.dy, [-1.0, 1.0])
    # class 0 after tanh is the target -1, as training encodes it
    half = loss_curve("half_mse", "tanh", 0, np.array([0.0]))
    np.testing.assert_allclose(half.y, [0.5])


@pytest.mark.parametrize("args", [
    ("binary_crossentropy", "tanh", 1, "classification"),
    ("binary_crossentropy", "sigmoid", 1.0, "regression"),
    ("mse", "sigmoid", 2, "classification"),
])
def test_bad_combinations_raise_spec_errors(args):
    loss, act, target, task = args
    with pytest.raises(SpecError):
        loss_curve(loss, act, target, np.zeros(3), task)
