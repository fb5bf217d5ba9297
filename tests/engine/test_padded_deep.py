"""The deep padded network (``padded="deep"``, the Gradient flow page's): the same
results as the unpadded network, layer statistics included, and no compilation when a
stack's depth, width, activation, initialiser or residual connections change."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import engine
from engine import ProbeOptions, Spec
from engine.presets import preset
from engine.train import count_compiles
from engine.train.compile import Compiled
from engine.train.padded import PROFILES, Padder

LAYERS = ProbeOptions(resolution=0, neuron_resolution=0, layers=True)  # the page's frames


def _stack(base: str, depth: int, units: int, activation: str | None = None,
           residual: bool = False, **top) -> Spec:
    """A uniform stack on ``base``'s data, as the Gradient flow page builds it."""
    d = preset(base).to_dict()
    first = {**d["model"]["layers"][0], "units": units, "residual": False}
    if activation:
        first["activation"] = activation
    d["model"]["layers"] = [first] + [{**first, "residual": residual}] * (depth - 1)
    for key, value in top.items():
        d[key] = {**d[key], **value} if isinstance(value, dict) else value
    return Spec.from_dict(d)


CASES = {
    "the page's default: ten sigmoid layers of 32": preset("vanishing_sigmoid"),
    "twelve residual ReLU layers of 16, He init, Adam": _stack(
        "healthy_he_relu", 12, 16, residual=True,
        optimizer={"name": "adam", "learning_rate": 0.003}),
    "three tanh layers of 48 (the second width), N(0, 1) init": preset(
        "exploding_normal_init").updated(model={"layers": [
            {"type": "dense", "units": 48, "activation": "tanh"}] * 3}),
    "one ELU layer of 2, momentum, L2": _stack(
        "vanishing_sigmoid", 1, 2, "elu",
        optimizer={"name": "momentum", "learning_rate": 0.05, "momentum": 0.9},
        regularization={"kind": "l2", "rate": 0.001}),
}


def _close(a, b, **tol) -> None:
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), **tol)


@pytest.mark.parametrize("name", [  # about a minute each on 2 cores
    pytest.param(n, marks=pytest.mark.long) if n.startswith("one ELU") else n for n in CASES])
def test_the_deep_padded_network_trains_exactly_like_the_real_one(name):
    spec = CASES[name]
    real, padded = engine.build(spec), engine.build(spec, padded="deep")
    assert isinstance(real.fns, Compiled) and isinstance(padded.fns, Padder)
    runs = [exp.train(exp.init(), 12, probes=LAYERS) for exp in (real, padded)]
    (s1, c1), (s2, c2) = runs
    for a, b in zip(jax.tree_util.tree_leaves(s1), jax.tree_util.tree_leaves(s2), strict=True):
        _close(a, b, rtol=1e-4, atol=1e-5)
    for key in ("train_loss", "test_loss", "train_accuracy"):
        _close(c1.history[key], c2.history[key], rtol=1e-4, atol=1e-6)
    a, b = c1.probes, c2.probes
    # gradient norms span orders of magnitude (vanishing): compare them relatively
    _close(a.grad_norm, b.grad_norm, rtol=1e-3, atol=1e-12)
    _close(a.weight_norm, b.weight_norm, rtol=1e-4)
    la, lb = a.layers, b.layers
    assert [x.shape for x in la] == [x.shape for x in lb]
    for field in ("pre_range", "act_stats", "weight_stats", "dead", "saturated"):
        _close(getattr(la, field), getattr(lb, field), rtol=1e-4, atol=1e-5)
    # the same totals in the histograms; a value on a bin's edge may fall either side
    np.testing.assert_array_equal(la.pre_hist.sum(axis=1), lb.pre_hist.sum(axis=1))
    assert np.abs(la.pre_hist - lb.pre_hist).max() <= 1


def test_edits_of_a_stack_compile_nothing():
    """Depth (1 to 30), width within a capacity, activation, initialiser, residual
    connections, weight penalty and learning-rate schedule: a change of values for the
    padded network, and new first weights drawn without a kernel per shape
    (``initializers.dense_weights``)."""
    exp = engine.build(CASES["the page's default: ten sigmoid layers of 32"], padded="deep")
    exp.warm_inits()  # what the server's warm-up does
    state, _ = exp.train(exp.init(), 1, probes=LAYERS)
    exp.metrics(state)
    edits = {
        "a layer more": _stack("vanishing_sigmoid", 11, 32),
        "one layer": _stack("vanishing_sigmoid", 1, 32),
        "thirty layers": _stack("vanishing_sigmoid", PROFILES["deep"].depth, 32),
        "narrower": _stack("vanishing_sigmoid", 10, 20),
        "ReLU and He init": _stack("vanishing_sigmoid", 10, 32, "relu").updated(
            model={"init": "he_normal"}),
        "residual": _stack("vanishing_sigmoid", 10, 32, residual=True),
        "L2 and a step decay": _stack("vanishing_sigmoid", 10, 32).updated(
            regularization={"kind": "l2", "rate": 0.001},
            optimizer={"schedule": {"name": "step", "decay_steps": 50}}),
    }
    for what, spec in edits.items():
        new = exp.with_spec(spec)
        assert new.structure != exp.structure and isinstance(new.fns, Padder)
        with count_compiles() as box:
            st, chunk = new.train(new.init(), 1, probes=LAYERS)
            new.metrics(st)
        assert box["names"] == [], f"{what} compiled {box['names']}"
        depth = len(spec.model.layers)
        assert chunk.probes.layers.act_stats.shape == (depth, 5)
        assert chunk.probes.grad_norm.shape == (depth + 1,)


def test_the_second_width_is_its_own_network_and_the_warm_up_compiles_it():
    exp = engine.build(CASES["the page's default: ten sigmoid layers of 32"], padded="deep")
    wide = engine.build(_stack("vanishing_sigmoid", 10, 33), padded="deep")
    assert wide.fns.s != exp.fns.s  # 33 units: the 64-unit network
    variants = exp.padded_variants()
    assert any(v.model.layers[0].opts()["units"] == 64 for v in variants)
    assert {engine.build(v, padded="deep").fns.s for v in variants} >= {wide.fns.s}


@pytest.mark.parametrize("change", [
    {"norm": "batch_norm"},  # normalisation is not padded: it compiles its own
    {"units": 65},  # wider than the widest capacity
])
def test_stacks_beyond_the_deep_padding_compile_their_own(change):
    d = CASES["the page's default: ten sigmoid layers of 32"].to_dict()
    d["model"]["layers"] = [{**layer, **change} for layer in d["model"]["layers"]]
    assert isinstance(engine.build(Spec.from_dict(d), padded="deep").fns, Compiled)


def test_the_playgrounds_padding_has_no_residual_layers():
    spec = _stack("vanishing_sigmoid", 3, 4, residual=True)
    assert isinstance(engine.build(spec, padded=True).fns, Compiled)
    assert isinstance(engine.build(spec, padded="deep").fns, Padder)
