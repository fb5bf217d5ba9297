"""The logistic-regression head on frozen embeddings (``engine.text.head``) and the raw
texts of a review set's splits (``ReviewSet.split_texts``)."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.errors import DataError
from engine.presets import preset
from engine.text.head import init_head, predict_head, train_head


def _separable(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    return x, (x[:, 0] - 0.5 * x[:, 3] > 0).astype(np.int32)


def test_the_head_learns_a_separable_problem_and_predicts_probabilities() -> None:
    x, y = _separable(300, 0)
    xt, yt = _separable(200, 1)
    state, log = train_head(init_head(8, 0.05), x, y, xt, yt, steps=300, learning_rate=0.05)
    assert log.train_loss.shape == (300,) and log.train_loss[-1] < 0.2 * log.train_loss[0]
    assert log.test_accuracy[-1] > 0.95
    p = predict_head(state.head, xt)
    assert p.shape == (200,) and np.all((p >= 0) & (p <= 1))
    assert np.mean((p > 0.5) == (yt == 1)) == pytest.approx(log.test_accuracy[-1], abs=1e-6)


def test_the_first_step_is_adams_step_on_the_mean_cross_entropy() -> None:
    x, y = _separable(50, 2)
    state, _ = train_head(init_head(8, 0.1), x, y, x, y, steps=1, learning_rate=0.1)
    # From w = 0, b = 0: p = 0.5, the gradient is mean((p - y) x); Adam's first step
    # moves each weight by lr against the gradient's sign.
    grad_w = ((0.5 - y)[:, None] * x).mean(0)
    np.testing.assert_allclose(np.asarray(state.head.w), -0.1 * np.sign(grad_w), atol=1e-5)


def test_mismatched_shapes_are_one_clear_error() -> None:
    x, y = _separable(10, 0)
    with pytest.raises(DataError, match="expected embeddings"):
        train_head(init_head(8), x, y[:5], x, y)


def test_split_texts_are_the_very_sentences_the_dataset_splits() -> None:
    spec = preset("rt_bilstm").updated(data={"n": 300})
    train, y_train, test, y_test = engine.DATASETS.get("rt_sentences").split_texts(spec.data)
    arrays = engine.build(spec).dataset.arrays
    assert len(train) == arrays.x_train.shape[0] and len(test) == arrays.x_test.shape[0]
    np.testing.assert_array_equal(y_train, np.asarray(arrays.y_train))
    np.testing.assert_array_equal(y_test, np.asarray(arrays.y_test))
