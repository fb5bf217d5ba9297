"""Training by steps: frames that stop inside an epoch train exactly as whole epochs."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import engine
from engine import Spec
from engine.presets import preset
from engine.train import count_compiles


def _spec(**extra) -> Spec:
    d = {"data": {"name": "spiral", "n": 200}, "batch_size": 10,
         "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                              {"type": "dropout", "rate": 0.2}]}}
    d.update(extra)
    return Spec.from_dict(d)


def _close(a, b) -> None:
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("spec", [_spec(), preset("reverse_lstm")], ids=["mlp", "lstm"])
def test_steps_adding_up_to_epochs_train_like_epochs(spec):
    exp = engine.build(spec)
    per = exp.steps_per_epoch
    by_epochs, chunk = exp.train(exp.init(), 2)
    state, rows = exp.init(), []
    for k in (3, per - 3, 1, per - 1):  # 2 epochs in uneven frames
        state, c = exp.train_steps(state, k)
        rows.append(c.history["train_loss"])
    _close(state.params, by_epochs.params)
    assert int(state.step) == int(by_epochs.step) == 2 * per
    assert int(state.epoch) == 2 and int(state.cursor) == 0
    assert [len(r) for r in rows] == [0, 1, 0, 1]  # a row as each epoch ends
    np.testing.assert_allclose(np.concatenate(rows), chunk.history["train_loss"], rtol=1e-4)


def test_a_frame_inside_an_epoch_remembers_where_it_stopped():
    exp = engine.build(_spec())
    state, chunk = exp.train_steps(exp.init(), 4)
    assert int(state.cursor) == 4 and int(state.step) == 4 and int(state.epoch) == 0
    assert len(chunk.history["train_loss"]) == 0
    assert exp.steps_per_epoch == 10
    with count_compiles() as box:
        state, chunk = exp.train_steps(state, 3)
    assert box["compiles"] == 0  # the step count is traced
    assert int(state.cursor) == 7
    state, chunk = exp.train_steps(state, 5)  # across the epoch's end
    assert int(state.cursor) == 2 and int(state.epoch) == 1
    assert len(chunk.history["train_loss"]) == 1


def test_divergence_is_caught_at_the_step_and_keeps_the_last_finite_weights():
    spec = _spec(optimizer={"learning_rate": 100.0}, model={
        "layers": [{"type": "dense", "units": 32, "activation": "relu"}] * 4, "init": "normal"})
    exp = engine.build(spec)
    state, _ = exp.train_steps(exp.init(), 50)
    assert bool(state.monitor.diverged)
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree_util.tree_leaves(state.params))
    assert int(state.step) < 50


def test_early_stopping_fires_at_an_epoch_end_in_step_mode():
    spec = _spec(data={"name": "spiral", "n": 200, "val_fraction": 0.2},
                 early_stopping={"patience": 1, "min_delta": 10.0})  # nothing improves by 10
    exp = engine.build(spec)
    state, chunk = exp.train_steps(exp.init(), 10 * exp.steps_per_epoch)
    assert bool(state.monitor.stopped)
    assert int(state.epoch) == 2  # epoch 1 sets the best, epoch 2 fails to improve
    assert len(chunk.history["train_loss"]) == 2
