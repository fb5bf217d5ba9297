"""Configuration-minor sweeps (``engine.train.sweep_minor``): which sweeps take that
path, and that each configuration still equals the same spec trained alone (every
metric column, the epoch, the weights): with one shared shuffle (one seed) or each its
own, after some stop or diverge, with softmax, regression without a validation split,
a loss past float32's range, and an evaluation in many blocks."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import engine
from engine.sweep import sweep
from engine.sweep_presets import RACES, race_specs
from engine.train import sweep_minor
from engine.train.state import METRICS, Monitor

BASE = engine.Spec.from_dict({
    "data": {"name": "xor", "n": 160, "noise": 0.1, "val_fraction": 0.25},
    "model": {"layers": [{"type": "dense", "units": 6, "activation": "relu"},
                         {"type": "dropout", "rate": 0.2},
                         {"type": "dense", "units": 3, "activation": "tanh"}]},
    "optimizer": {"name": "sgd", "learning_rate": 0.05},
    "batch_size": 8,
})


def _fits(spec: engine.Spec, by_steps: bool = False) -> bool:
    sw = sweep([spec])
    return sweep_minor.fits(sw.fns.s, sw.experiment.dataset.arrays, by_steps)


def test_playground_networks_take_the_configuration_minor_path():
    assert _fits(engine.preset("tf_playground"))
    assert _fits(BASE)
    for name in RACES:  # every race of the Optimizer race page
        assert _fits(race_specs(name)[0]), name


@pytest.mark.parametrize("change", [
    {"model": {"layers": [{"type": "dense", "units": 4, "norm": "batch_norm"}]}},
    {"model": {"layers": [{"type": "dense", "units": 40}]}},
], ids=["batch_norm", "wide"])
def test_other_networks_take_the_vmap_path(change):
    assert not _fits(BASE.updated(**change))
    assert not _fits(BASE, by_steps=True)


def _alone(spec: engine.Spec, epochs: int):
    exp = engine.build(spec)
    return exp.train(exp.init(), epochs)


def _assert_each_equals_alone(specs, epochs, atol=2e-4, params=True):
    sw = sweep(specs)
    assert sweep_minor.fits(sw.fns.s, sw.experiment.dataset.arrays, False)  # this path
    states, chunk = sw.train(sw.init(), epochs)
    for i, spec in enumerate(specs):
        alone, ch = _alone(spec, epochs)
        for column in METRICS:  # losses and accuracies of every split
            np.testing.assert_allclose(chunk.history[column][i], ch.history[column],
                                       rtol=5e-4, atol=1e-5, equal_nan=True, err_msg=column)
        np.testing.assert_array_equal(chunk.history["trained"][i], ch.history["trained"])
        assert int(sw.state(states, i).epoch) == int(alone.epoch)
        if not params:
            continue
        for a, b in zip(jax.tree_util.tree_leaves(sw.state(states, i).params),
                        jax.tree_util.tree_leaves(alone.params), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol)
    return states, chunk


def test_one_seed_shares_its_shuffle_and_dropout_and_each_equals_alone():
    base = BASE.updated(regularization={"kind": "l2", "rate": 0.01},
                        optimizer={"clip_norm": 0.5})
    layers = [{"type": "dense", "units": 6, "activation": "relu"},
              {"type": "dropout", "rate": 0.5},
              {"type": "dense", "units": 3, "activation": "tanh"}]
    specs = [base,
             base.updated(optimizer={"name": "adam", "learning_rate": 0.01}),
             base.updated(optimizer={"name": "momentum", "learning_rate": 0.02},
                          model={"layers": layers}),
             base.updated(regularization={"rate": 0.1}, optimizer={"clip_norm": 5.0})]
    sw = sweep(specs)
    assert sweep_minor.one_order(sw.init())
    _assert_each_equals_alone(specs, 9)


def test_the_shared_shuffle_goes_on_after_the_first_configuration_stops():
    # The first stops early and the second diverges; the shared shuffle must then come
    # from one that still trains (a stopped one's key no longer moves).
    base = BASE.updated(data={"name": "circle", "n": 200, "val_fraction": 0.2},
                        batch_size=10, model={"layers": [
                            {"type": "dense", "units": 5, "activation": "tanh"},
                            {"type": "dense", "units": 3, "activation": "relu"}]})
    specs = [base.updated(early_stopping={"patience": 1, "min_delta": 1.0}),
             base.updated(optimizer={"learning_rate": 100.0}),
             base.updated(optimizer={"learning_rate": 0.2})]
    states, chunk = _assert_each_equals_alone(specs, 20)
    assert bool(states.monitor.stopped[0]) and bool(states.monitor.diverged[1])
    assert chunk.history["trained"][2].all()


def test_softmax_normalises_over_units_not_configurations():
    base = engine.Spec.from_dict({
        "data": {"name": "blobs", "n": 120, "noise": 0.3, "val_fraction": 0.25,
                 "classes": 3},
        "model": {"layers": [{"type": "dense", "units": 5, "activation": "softmax"},
                             {"type": "activation", "activation": "softmax"}],
                  "output_activation": "softmax"},
        "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.1}, "batch_size": 10})
    specs = [base, base.updated(optimizer={"learning_rate": 0.5})]
    _assert_each_equals_alone(specs, 3)
    _assert_each_equals_alone([base.updated(loss="auto", model={"layers": [
        {"type": "dense", "units": 5, "activation": "tanh"}], "output_activation": "auto"})
        ] * 2, 3)  # a 3-class head: softmax and cross-entropy, accuracies too


def test_a_loss_past_float32s_range_diverges_in_the_same_epoch_as_alone():
    # The training loss of epoch 3 is about 1e37 an example: its split's sum overflows
    # alone (so that epoch diverged); the sweep must sum before it divides, too.
    base = engine.Spec.from_dict({
        "data": {"name": "circle", "n": 120, "noise": 0.1, "val_fraction": 0.25},
        "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"},
                             {"type": "dense", "units": 3, "activation": "relu"}]},
        "optimizer": {"name": "sgd", "learning_rate": 100.0}, "batch_size": 10, "seed": 7})
    states, _ = _assert_each_equals_alone([base], 4, params=False)  # 1e19 apart
    assert bool(states.monitor.diverged[0])


def test_every_activation_acts_on_units_as_alone():
    z = jax.random.normal(jax.random.PRNGKey(0), (6, 5, 3))  # (batch, units, C)
    alpha = jax.random.uniform(jax.random.PRNGKey(1), (5, 3))
    for name in engine.ACTIVATIONS.names():
        act = engine.ACTIVATIONS.get(name)
        alone = jax.vmap(lambda z1, a1, act=act: act(z1, a1), in_axes=(2, 1), out_axes=2)(
            z, alpha)
        np.testing.assert_allclose(sweep_minor.activate(name, z, alpha), alone, rtol=1e-6,
                                   atol=1e-6, err_msg=name)


def test_configurations_of_different_seeds_regression_without_validation():
    base = engine.Spec.from_dict({
        "data": {"name": "sine", "n": 120, "noise": 0.1},
        "model": {"layers": [{"type": "dense", "units": 6, "activation": "tanh"},
                             {"type": "dropout", "rate": 0.2}]},
        "optimizer": {"name": "adam", "learning_rate": 0.01}, "batch_size": 8})
    specs = [base, base.updated(seed=3), base.updated(seed=5, optimizer={"name": "sgd"})]
    sw = sweep(specs)
    assert not sweep_minor.one_order(sw.init())  # each its own shuffle and dropout
    _assert_each_equals_alone(specs, 5)


def test_one_order_counts_only_configurations_still_training():
    keys = np.array([[0, 1], [0, 1], [5, 5]], np.uint32)
    no = np.zeros(3, bool)
    state = engine.train.state.TrainState(
        None, None, None, keys, None, None, Monitor(None, None, None, no, no), None, None)
    assert not sweep_minor.one_order(state)
    stopped = state._replace(monitor=Monitor(None, None, None, np.array([0, 0, 1], bool), no))
    assert sweep_minor.one_order(stopped)


def test_an_evaluation_in_many_blocks_equals_alone(monkeypatch):
    monkeypatch.setattr(sweep_minor, "EVAL_BLOCK", 100)  # traced below: a new structure
    base = BASE.updated(batch_size=7)
    _assert_each_equals_alone([base, base.updated(optimizer={"learning_rate": 0.3})], 4)
