"""Deep-network pieces: residual and normalised dense layers, and per-layer statistics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine import Spec, SpecError
from engine.blocks import LAYERS
from engine.probes import HIST_BINS, STATS, ProbeOptions
from engine.probes.stats import DEAD_SLOPE, peak_slope, tree_norm
from engine.train import count_compiles

_NO_GRIDS = ProbeOptions(resolution=0, neuron_resolution=0)
_LAYER_STATS = ProbeOptions(resolution=0, neuron_resolution=0, layers=True)


def _spec(layers: list[dict], **extra) -> Spec:
    d = Spec().to_dict()
    d["model"]["layers"] = layers
    d.update(extra)
    return Spec.from_dict(d)


def _dense(units: int, activation: str = "relu", **opts) -> dict:
    return {"type": "dense", "units": units, "activation": activation, **opts}


def _run(kind: str, params, state, x, opts, train=False):
    """Apply one layer; its traced options come from ``opts`` too."""
    full = {name: default for name, (_, default) in LAYERS.get(kind).options.items()}
    full.update(opts)
    values = {name: full[name] for name in LAYERS.get(kind).values}
    return LAYERS.get(kind).apply(params, state, x, values, full, key=None, train=train)


# --- residual connections ------------------------------------------------------------------

def test_residual_dense_adds_its_input():
    key = jax.random.PRNGKey(0)
    opts = {"units": 5, "activation": "tanh", "init": "default", "norm": "none",
            "residual": True}
    params, state, shape = LAYERS.get("dense").init(key, (5,), opts, "he_normal")
    x = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    y, _ = _run("dense", params, state, x, opts)
    expected = x + np.tanh(x @ np.asarray(params["w"]) + np.asarray(params["b"]))
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-6)
    assert shape == (5,)


def test_residual_needs_matching_widths_and_says_which_layer():
    layers = [_dense(8), _dense(8, residual=True), _dense(4, residual=True)]
    with pytest.raises(SpecError) as info:
        engine.build(_spec(layers))
    assert info.value.field == "model.layers[2].residual"
    assert "as many units as its input (8), not 4" in str(info.value)
    # the first layer sees the 2 input features: residual with 8 units is impossible too
    with pytest.raises(SpecError) as info:
        engine.build(_spec([_dense(8, residual=True)]))
    assert info.value.field == "model.layers[0].residual"


def test_residuals_carry_the_gradient_through_a_deep_sigmoid_stack():
    """The lesson: the identity path keeps the first layer's gradient alive."""
    def first_to_last(residual: bool) -> float:
        layers = [_dense(16, "sigmoid")] + [_dense(16, "sigmoid", residual=residual)] * 14
        exp = engine.build(_spec(layers))
        g = exp.probe(exp.init(), _NO_GRIDS).grad_norm
        return float(g[0] / g[-2])

    plain, residual = first_to_last(False), first_to_last(True)
    assert plain < 1e-3
    assert residual > 100 * plain


# --- normalisation inside a dense layer ---------------------------------------------------

@pytest.mark.parametrize("norm", ["batch_norm", "layer_norm"])
def test_dense_norm_equals_linear_dense_then_norm_then_activation(norm):
    key = jax.random.PRNGKey(1)
    opts = {"units": 6, "activation": "relu", "init": "default", "norm": norm,
            "residual": False}
    params, state, _ = LAYERS.get("dense").init(key, (3,), opts, "glorot_uniform")
    assert set(params) == {"w", "b", "scale", "offset"}
    params = {**params, "scale": jnp.linspace(0.5, 2.0, 6), "offset": jnp.linspace(-1, 1, 6)}
    x = np.random.default_rng(1).normal(size=(9, 3)).astype(np.float32)
    for train in (True, False):
        y, new_state = _run("dense", params, state, x, opts, train=train)
        z = x @ np.asarray(params["w"]) + np.asarray(params["b"])
        zn, ref_state = _run(norm, {"scale": params["scale"], "offset": params["offset"]},
                             state, z, {"momentum": 0.9, "eps": 1e-5}, train=train)
        np.testing.assert_allclose(np.asarray(y), np.maximum(np.asarray(zn), 0), rtol=1e-5,
                                   atol=1e-5)
        for k in new_state:
            np.testing.assert_allclose(np.asarray(new_state[k]), np.asarray(ref_state[k]),
                                       rtol=1e-6)


def test_batch_norm_dense_trains_and_keeps_running_statistics():
    exp = engine.build(_spec([_dense(8, "tanh", norm="batch_norm")] * 3))
    state = exp.init()
    before = [dict(s) for s in state.model_state]
    state, chunk = exp.train(state, 20)
    assert chunk.history["trained"].all()
    assert not np.allclose(np.asarray(state.model_state[0]["mean"]), before[0]["mean"])
    assert chunk.history["train_loss"][-1] < chunk.history["train_loss"][0]


def test_probe_gradient_uses_batch_statistics_and_no_dropout():
    """The probe's gradient is the full-batch gradient training would follow."""
    layers = [_dense(8, "tanh", norm="batch_norm"), {"type": "dropout", "rate": 0.5},
              _dense(8, "tanh")]
    exp = engine.build(_spec(layers))
    state = exp.init()
    fns, data = exp.fns, exp.dataset.arrays
    h = engine.model.featurize(exp.structure.net, data.x_train, data.mean, data.std)
    grads, _ = jax.grad(fns.objective, has_aux=True)(
        state.params, state.model_state, h, data.y_train, exp.values, None, True)
    want = [float(np.sqrt(sum(np.sum(np.square(v)) for v in g.values()))) for g in grads]
    got = exp.probe(state, _NO_GRIDS).grad_norm
    np.testing.assert_allclose(got, want, rtol=1e-4)
    # and it differs from the evaluation-mode gradient (running statistics at init)
    eval_grads, _ = jax.grad(fns.objective, has_aux=True)(
        state.params, state.model_state, h, data.y_train, exp.values, None, False)
    assert not np.allclose(float(tree_norm(eval_grads[0])), got[0], rtol=1e-3)


# --- per-layer statistics -----------------------------------------------------------------

def _layer_inputs(exp, state):
    data = exp.dataset.arrays
    net = exp.structure.net
    h = engine.model.featurize(net, data.x_train, data.mean, data.std)
    outs = engine.model.apply_network(net, state.params, state.model_state, h, exp.values,
                                      key=None, train=False, collect=True)[3]
    return [np.asarray(a) for a in [h, *outs]]


def test_layer_stats_match_numpy():
    layers = [_dense(6, "tanh"), {"type": "dropout", "rate": 0.1}, _dense(5, "relu"),
              _dense(5, "sigmoid")]
    exp = engine.build(_spec(layers))
    state = exp.init()
    stats = exp.probe(state, _LAYER_STATS).layers
    inputs = _layer_inputs(exp, state)
    p = [{k: np.asarray(v) for k, v in layer.items()} for layer in state.params]
    dense_at = [0, 2, 3]
    assert stats.pre_hist.shape == (3, HIST_BINS)
    assert stats.act_stats.shape == (3, len(STATS)) and stats.weight_stats.shape == (4, 5)
    acts = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
            "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    for row, i in enumerate(dense_at):
        z = inputs[i] @ p[i]["w"] + p[i]["b"]
        assert stats.pre_hist[row].sum() == z.size
        np.testing.assert_allclose(stats.pre_range[row], np.abs(z).max(), rtol=1e-5)
        a = acts[layers[i]["activation"]](z)
        want = [a.min(), a.mean() - a.std(), a.mean(), a.mean() + a.std(), a.max()]
        np.testing.assert_allclose(stats.act_stats[row], want, rtol=1e-4, atol=1e-6)
    for row, i in enumerate([*dense_at, 4]):
        w = p[i]["w"]
        np.testing.assert_allclose(stats.weight_stats[row, [0, 2, 4]],
                                   [w.min(), w.mean(), w.max()], rtol=1e-5, atol=1e-7)


def test_dead_relus_are_counted():
    """Push half the units' biases far negative: exactly those units are dead."""
    exp = engine.build(_spec([_dense(8, "relu")]))
    state = exp.init()
    b = np.zeros(8, np.float32)
    b[:4] = -100.0
    params = [dict(state.params[0], b=jnp.asarray(b)), state.params[1]]
    state = state._replace(params=params)
    stats = exp.probe(state, _LAYER_STATS).layers
    assert stats.dead[0] == pytest.approx(0.5)
    z = _layer_inputs(exp, state)[0] @ np.asarray(params[0]["w"]) + b
    assert stats.saturated[0] == pytest.approx(np.mean(z <= 0), abs=1e-6)


def test_saturated_share_of_a_large_init_tanh_layer_is_high():
    """tanh with N(0, 1) weights on standardised inputs saturates most units."""
    sat = {}
    for init in ("normal", "glorot_uniform"):
        exp = engine.build(_spec([_dense(32, "tanh", init="normal")] * 2
                                 if init == "normal" else [_dense(32, "tanh")] * 2))
        sat[init] = exp.probe(exp.init(), _LAYER_STATS).layers.saturated
    assert sat["normal"][1] > 0.3 > sat["glorot_uniform"][1]


def test_peak_slopes():
    assert peak_slope("sigmoid") == pytest.approx(0.25, rel=1e-3)
    assert peak_slope("tanh") == pytest.approx(1.0, rel=1e-3)
    assert peak_slope("relu") == pytest.approx(1.0)
    assert DEAD_SLOPE < 0.05


def test_layer_stats_cost_no_recompile_when_asked_again():
    exp = engine.build(_spec([_dense(8, "tanh")] * 3))
    state = exp.init()
    state, _ = exp.train(state, 2, probes=ProbeOptions(layers=True, neuron_resolution=0))
    with count_compiles() as box:
        exp.train(state, 3, probes=ProbeOptions(layers=True, neuron_resolution=0))
    assert box["compiles"] == 0
