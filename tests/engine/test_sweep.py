"""Batched training (``engine.sweep``): N configurations in one compiled call, each
equal to the same spec trained alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import engine
from engine.sweep import sweep
from engine.train import count_compiles

BASE = engine.Spec.from_dict({
    "data": {"name": "circle", "n": 200, "noise": 0.1, "val_fraction": 0.2},
    "model": {"layers": [{"type": "dense", "units": 5, "activation": "tanh"},
                         {"type": "dense", "units": 3, "activation": "relu"}]},
    "optimizer": {"name": "sgd", "learning_rate": 0.05},
    "batch_size": 10,
})

VARIANTS = [
    {},
    {"optimizer": {"name": "momentum", "learning_rate": 0.02, "momentum": 0.8}},
    {"optimizer": {"name": "adam", "learning_rate": 0.01, "b1": 0.85}},
    {"optimizer": {"name": "rmsprop", "learning_rate": 0.003}},
    {"seed": 7},
    {"optimizer": {"name": "adam", "learning_rate": 0.02}, "seed": 3},
]


def _specs(variants=VARIANTS, base=BASE):
    return [base.updated(**v) for v in variants]


def _leaves_close(a, b, atol):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    return all(np.allclose(np.asarray(x), np.asarray(y), atol=atol)
               for x, y in zip(la, lb, strict=True))


@pytest.fixture(scope="module")
def trained():
    specs = _specs()
    sw = sweep(specs)
    states, chunk = sw.train(sw.init(), 15)
    return specs, sw, states, chunk


def test_each_configuration_equals_the_same_spec_trained_alone(trained):
    specs, sw, states, chunk = trained
    assert sw.optimizers == ("sgd", "momentum", "rmsprop", "adam")  # registry order
    for i, spec in enumerate(specs):
        exp = engine.build(spec)
        alone, ch = exp.train(exp.init(), 15)
        np.testing.assert_allclose(chunk.history["train_loss"][i], ch.history["train_loss"],
                                   rtol=2e-4, atol=1e-5)
        np.testing.assert_allclose(chunk.history["val_loss"][i], ch.history["val_loss"],
                                   rtol=2e-4, atol=1e-5)
        one = sw.state(states, i)
        assert _leaves_close(one.params, alone.params, 1e-4), f"configuration {i}"
        assert _leaves_close(one.opt_state, alone.opt_state, 1e-4), f"configuration {i}"
        assert int(one.epoch) == int(alone.epoch) == 15
        # The configuration's state goes on training alone as if it had never left.
        assert _leaves_close(exp.train(one, 2)[0].params, exp.train(alone, 2)[0].params, 2e-4)


def test_configurations_really_differ(trained):
    _, _, _, chunk = trained
    finals = chunk.history["train_loss"][:, -1]
    assert len(set(np.round(finals, 5))) == len(finals)


def test_same_seed_means_same_initial_weights_different_seed_different():
    sw = sweep(_specs())
    states = sw.init()
    p = [sw.state(states, i).params for i in range(sw.n)]
    assert _leaves_close(p[0], p[1], 0) and _leaves_close(p[0], p[3], 0)  # all seed 0
    assert not _leaves_close(p[0], p[4], 1e-3)  # seed 7
    alone = engine.build(_specs()[4]).init()
    assert _leaves_close(p[4], alone.params, 0)


def test_metrics_per_configuration_equal_the_experiments(trained):
    specs, sw, states, _ = trained
    for i, m in enumerate(sw.metrics(states)):
        want = engine.build(specs[i]).metrics(sw.state(states, i))
        assert m.keys() == want.keys()
        for k, v in want.items():
            assert (m[k] is None) == (v is None)
            if v is not None:
                assert m[k] == pytest.approx(v, rel=1e-4, abs=1e-6), (i, k)


def test_probes_come_back_per_configuration(trained):
    specs, sw, states, _ = trained
    opts = engine.ProbeOptions(resolution=12, neuron_resolution=0, gradients=False)
    _, chunk = sw.train(states, 0, probes=opts)
    assert chunk.probes.output.shape == (len(specs), 12, 12, 1)
    for i in (0, 2, 5):
        alone = engine.build(specs[i]).probe(sw.state(states, i), opts)
        np.testing.assert_allclose(chunk.probes.output[i], alone.output, atol=1e-5)


def test_changing_values_or_n_within_a_capacity_does_not_recompile(trained):
    specs = trained[0]
    # Compiled here, not only by the fixture: under xdist other modules' tests may run
    # on this worker in between and push the sweep out of its cache.
    sw = sweep(specs)
    sw.train(sw.init(), 3)
    with count_compiles() as box:
        other = sweep([s.updated(optimizer={"learning_rate": 0.5 * s.optimizer.learning_rate},
                                 regularization={"kind": "none", "rate": 0.0})
                       for s in specs[:5]])  # 5 and 6 share the capacity 8
        assert other.fns is sw.fns
        _, chunk = other.train(other.init(), 3)
    assert box["compiles"] == 0
    assert chunk.history["train_loss"].shape == (5, 3)


def test_one_configuration_diverging_leaves_the_others_training():
    specs = _specs([{}, {"optimizer": {"learning_rate": 100.0}}, {"seed": 2}])
    sw = sweep(specs)
    states, chunk = sw.train(sw.init(), 20)
    assert bool(states.monitor.diverged[1])
    assert not bool(states.monitor.diverged[0]) and not bool(states.monitor.diverged[2])
    assert chunk.history["trained"][0].all() and chunk.history["trained"][2].all()
    assert not chunk.history["trained"][1].all()
    assert np.isfinite(jax.tree_util.tree_leaves(sw.state(states, 1).params)[0]).all()


def test_early_stopping_is_per_configuration():
    specs = _specs([{"early_stopping": {"patience": 2, "min_delta": 0.5}},
                    {"early_stopping": {"patience": 0}}])
    sw = sweep(specs)
    states, chunk = sw.train(sw.init(), 30)
    assert bool(states.monitor.stopped[0]) and not bool(states.monitor.stopped[1])
    assert chunk.history["trained"][1].all() and not chunk.history["trained"][0].all()


@pytest.mark.parametrize(("change", "field"), [
    ({"batch_size": 20}, "batch_size"),
    ({"model": {"layers": [{"type": "dense", "units": 4}]}}, "model"),
    ({"data": {"name": "xor"}}, "data"),
    ({"regularization": {"kind": "l1", "rate": 0.01}}, "regularization.kind"),
])
def test_configurations_that_differ_in_structure_are_refused(change, field):
    with pytest.raises(engine.SpecError, match=field):
        sweep([BASE, BASE.updated(**change)])


def test_too_few_or_too_many_configurations_are_refused():
    with pytest.raises(engine.SpecError, match="1 to"):
        sweep([])
    with pytest.raises(engine.SpecError, match="1 to"):
        sweep([BASE] * 257)


_SHARDED = """
import json, jax, numpy as np, engine
from engine.sweep import sweep
specs = [engine.Spec.from_dict(json.loads(s)) for s in json.loads(open(0).read())]
sw = sweep(specs)
from engine.train import count_compiles
replicated = jax.device_put(sw.init(), jax.sharding.NamedSharding(
    jax.sharding.Mesh(np.array(jax.devices()), ("config",)), jax.sharding.PartitionSpec()))
sw.train(replicated, 6)  # states split otherwise (a snapshot): still the same program
states, chunk = sw.train(sw.init(), 6)
with count_compiles() as box:
    sw.train(states, 6)  # the split that training returns: nothing new to compile
leaf = jax.tree_util.tree_leaves(states.params)[0]
small = sweep(specs[:3])  # capacity 4: too few to split
one = jax.tree_util.tree_leaves(small.init().params)[0]
print(json.dumps({"devices": len(jax.devices()),
                  "shards": len(leaf.sharding.device_set),
                  "small_shards": len(one.sharding.device_set),
                  "names": [n for n in box["names"] if "train_chunk" in n],
                  "loss": chunk.history["train_loss"].tolist()}))
"""


def test_configurations_are_sharded_across_devices():
    """With two (host) devices the configuration axis is split across them, and the
    results are those of one device."""
    specs = json.dumps([s.to_json() for s in _specs()])
    out = {}
    for n in (1, 2):
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n}",
               "JAX_PLATFORMS": "cpu"}
        run = subprocess.run([sys.executable, "-c", _SHARDED], input=specs, env=env,
                             capture_output=True, text=True, timeout=300,
                             cwd=Path(__file__).resolve().parents[2], check=True)
        out[n] = json.loads(run.stdout.strip().splitlines()[-1])
    assert out[1]["devices"] == 1 and out[2]["devices"] == 2
    assert out[2]["shards"] == 2 and out[2]["small_shards"] == 1
    assert out[1]["names"] == out[2]["names"] == []
    np.testing.assert_allclose(out[1]["loss"], out[2]["loss"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("devices", "capacity", "used"), [
    (8, 1, 1), (8, 4, 1), (8, 8, 2), (8, 16, 4), (8, 64, 8), (8, 256, 8),
    (3, 64, 2), (1, 64, 1), (8, 24, 4), (8, 18, 2),  # not capacities the engine picks
])
def test_a_sweep_is_split_across_devices_with_a_few_configurations_each(
        monkeypatch, devices, capacity, used):
    from engine.train import sweep as train_sweep

    fake = [f"device {i}" for i in range(devices)]
    monkeypatch.setattr(train_sweep.jax, "devices", lambda: fake)
    assert train_sweep.sweep_devices(capacity) == fake[:used]
    assert capacity % used == 0
    if capacity in train_sweep.CONFIG_CAPACITIES:
        assert train_sweep.config_capacity(max(capacity - 1, 1)) == capacity


def test_the_optimizer_mix_in_any_order_is_one_compiled_sweep():
    specs = _specs()[:4]
    assert sweep(specs).fns is sweep(specs[::-1]).fns


def test_training_by_steps_equals_the_experiments_steps():
    specs = _specs()[:3]
    sw = sweep(specs)
    states, chunk = sw.train(sw.init(), 37, by_steps=True)  # 1 epoch = 14 steps here
    for i, spec in enumerate(specs):
        exp = engine.build(spec)
        alone, ch = exp.train_steps(exp.init(), 37)
        assert int(np.asarray(states.step)[i]) == int(alone.step) == 37
        assert int(np.asarray(states.cursor)[i]) == int(alone.cursor)
        np.testing.assert_allclose(chunk.history["train_loss"][i], ch.history["train_loss"],
                                   rtol=2e-4, atol=1e-5)
        assert _leaves_close(sw.state(states, i).params, alone.params, 1e-4)


_LAYERS = [{"type": "dense", "units": 5, "activation": "tanh"}]


@pytest.mark.parametrize("change", [
    {"model": {"layers": [*_LAYERS, {"type": "dropout", "rate": 0.3}]}},
    {"model": {"layers": [{**_LAYERS[0], "norm": "batch_norm"}]}},
    {"optimizer": {"schedule": {"name": "exponential", "warmup_steps": 20,
                                "decay_steps": 50, "decay_rate": 0.5}}},
    {"optimizer": {"clip_norm": 0.5}},
    {"regularization": {"kind": "l1", "rate": 0.01}},
    {"early_stopping": {"patience": 3}},
], ids=["dropout", "batch_norm", "warmup_decay", "clip", "l1", "early_stopping"])
def test_each_configuration_equals_alone_with_every_kind_of_layer_and_option(change):
    base = BASE.updated(**change)
    # Adam is left out before batch norm: the bias of a dense layer that batch norm
    # follows has a true gradient of 0, and Adam scales its rounding noise (1e-9) up to
    # full steps, so any change of summation order (vmap's) gives another random walk.
    other = "momentum" if "norm" in str(change) else "adam"
    specs = [base, base.updated(optimizer={"name": other, "learning_rate": 0.01}, seed=4)]
    sw = sweep(specs)
    states, chunk = sw.train(sw.init(), 12)
    for i, spec in enumerate(specs):
        exp = engine.build(spec)
        alone, ch = exp.train(exp.init(), 12)
        np.testing.assert_allclose(chunk.history["train_loss"][i], ch.history["train_loss"],
                                   rtol=5e-4, atol=1e-5, equal_nan=True)
        assert _leaves_close(sw.state(states, i).params, alone.params, 2e-4)
        assert _leaves_close(sw.state(states, i).model_state, alone.model_state, 2e-4)
