"""Tests for engine.data.features: the feature menu, apply_features and check_features."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.numpy_mlp import FEATURES as NP_FEATURES
from engine.data.features import (
    FEATURES,
    MAX_INPUT_DIM,
    apply_features,
    check_features,
    get_feature,
    raw_column_index,
)
from engine.errors import SpecError

# Independent NumPy formulas for every menu entry, (n, 2) -> (n,).
FORMULAS = NP_FEATURES


def _points(n: int = 50, d: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-6, 6, (n, d)).astype(np.float32)


def test_menu_order_labels_and_docs():
    assert FEATURES.names() == ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)",
                               "cos(x1)", "cos(x2)"]
    assert FEATURES.get("x1^2").label == "x₁²"
    assert FEATURES.get("x1*x2").label == "x₁x₂"
    for name in FEATURES:
        assert FEATURES.describe(name).endswith(".")
        uses_x2 = "x2" in name
        assert FEATURES.get(name).needs_dim == (2 if uses_x2 else 1)


@pytest.mark.parametrize("name", list(FORMULAS))
def test_each_feature_matches_its_formula(name):
    x = _points()
    out = apply_features(x, (name,))
    assert isinstance(out, jax.Array)
    assert out.shape == (50, 1)
    np.testing.assert_allclose(np.asarray(out[:, 0]), FORMULAS[name](x), rtol=1e-5, atol=1e-5)


def test_apply_features_stacks_in_order_and_keeps_batch_dims():
    x = _points(24).reshape(2, 3, 4, 2)  # (..., d) with three batch axes
    names = ("x1*x2", "x1", "sin(x2)")
    out = apply_features(x, names)
    assert out.shape == (2, 3, 4, 3)
    flat = x.reshape(-1, 2)
    expected = np.stack([FORMULAS[n](flat) for n in names], axis=-1).reshape(2, 3, 4, 3)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)


def test_apply_features_under_jit_matches_eager():
    names = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
    x = jnp.asarray(_points())
    jitted = jax.jit(apply_features, static_argnums=1)
    np.testing.assert_allclose(
        np.asarray(jitted(x, names)), np.asarray(apply_features(x, names)), rtol=1e-6
    )


def test_raw_column_names_beyond_x2():
    x = _points(10, d=5)
    out = apply_features(x, ("x5", "x3", "x1"))
    np.testing.assert_array_equal(np.asarray(out), x[:, [4, 2, 0]])
    assert get_feature("x12").label == "x₁₂"
    assert get_feature("x12").needs_dim == 12
    assert get_feature("x3") is get_feature("x3")
    assert raw_column_index("x16") == 15
    for not_raw in ("x0", "x17", "x01", "y1", "x1^2", "x"):
        assert raw_column_index(not_raw) is None
    assert MAX_INPUT_DIM == 16


def test_check_features_accepts_valid_lists():
    check_features(("x1", "x2", "x1*x2"), 2)
    check_features(("x1", "x1^2", "sin(x1)"), 1)
    check_features(("x1", "x2", "x3", "x4"), 4)
    check_features(["x2"], 2)


@pytest.mark.parametrize(
    ("names", "input_dim", "fragments"),
    [
        ((), 2, ["at least one"]),
        (("x1", "x2", "x1"), 2, ["'x1'", "twice"]),
        (("x1", "tan(x1)"), 2, ["unknown feature 'tan(x1)'", "x1*x2", "sin(x2)"]),
        (("x17",), 16, ["unknown feature 'x17'"]),
        (("x1", "x2"), 1, ["feature 'x2' needs 2-D data", "has 1 input column"]),
        (("x1*x2",), 1, ["'x1*x2' needs 2-D"]),
        (("x3",), 2, ["'x3' needs 3-D data", "has 2 input columns"]),
    ],
)
def test_check_features_errors(names, input_dim, fragments):
    with pytest.raises(SpecError) as err:
        check_features(names, input_dim)
    assert err.value.field == "data.features"
    for fragment in fragments:
        assert fragment in str(err.value)


def test_check_features_uses_the_given_field():
    with pytest.raises(SpecError) as err:
        check_features(("nope",), 2, field="lesson.features")
    assert err.value.field == "lesson.features"
