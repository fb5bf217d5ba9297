"""A deep padded network is traced once per layer shape, not once per layer: its
masked layer and layer statistics are nested jits, the per-layer histograms and norms
of same-shaped layers one batched computation, and the probes' shapes come from the
trace training already made. The numbers stay the same."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine.blocks import masked
from engine.model import apply_network
from engine.presets import preset
from engine.probes import PROBE_EXAMPLES, ProbeOptions, probe
from engine.probes.batched import map_layers, one_by_one, runs
from engine.train.compile import Compiled

# One worker runs the module: its module-scoped fixtures are built once, not once a worker.
pytestmark = pytest.mark.xdist_group("padded_tracing")

FLOW = ProbeOptions(resolution=0, neuron_resolution=0, layers=True)  # Gradient flow's frames


def _stack(depth: int, units: int = 16, residual: bool = True) -> engine.Spec:
    d = preset("healthy_he_relu").to_dict()
    first = {**d["model"]["layers"][0], "units": units, "residual": False}
    d["model"]["layers"] = [first] + [{**first, "residual": residual}] * (depth - 1)
    return engine.Spec.from_dict(d)


@pytest.fixture(scope="module")
def deep():
    """Twelve ReLU layers of 16 in Gradient flow's padded network (30 masked layers,
    29 of one shape), trained a little: (compiled functions, padded state, data, values)."""
    exp = engine.build(_stack(12), padded="deep")
    state, _ = exp.train(exp.init(), 3)
    pad = exp.fns
    return (pad.fns, pad.pad_state(state), pad.data(exp.dataset.arrays),
            pad.values(exp.values))


def _same(a, b, **tol) -> None:
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb) and la
    for x, y in zip(la, lb, strict=True):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64),
                                   **tol)


def test_the_probes_are_the_same_batched_or_layer_by_layer(deep):
    c, st, data, values = deep

    def run(batched):
        return jax.jit(lambda s, d, v: probe(
            c.s.net, c.s.input_dim, s.params, s.model_state, d, v, FLOW, c.objective,
            c.example_losses, min(PROBE_EXAMPLES, c.eval_chunk), batched=batched))(
            st, data, values)

    by_layer, batched = run(False), run(True)
    assert by_layer.layers.pre_hist.shape == (30, 20)
    # inf where a statistic has no real entry (a layer not in use): the same in both
    _same(by_layer, batched, rtol=1e-5, atol=1e-7)


def test_thirty_masked_layers_are_traced_once_per_shape(deep, monkeypatch):
    c, st, _, values = deep
    traced = []
    real = masked.masked_activation
    monkeypatch.setattr(masked, "masked_activation",
                        lambda z, v: traced.append(z.shape) or real(z, v))
    masked.masked_layer.clear_cache()  # traces cached by an earlier test would not count
    h = jnp.zeros((8, len(c.s.net.features)))
    jaxpr = jax.make_jaxpr(lambda p: apply_network(c.s.net, p, st.model_state, h, values,
                                                   key=None, train=False)[1])(st.params)
    assert len(c.s.net.layers) == 30
    assert len(traced) == 2, traced  # the first layer (7 features in) and the other 29
    assert str(jaxpr).count("masked_layer") >= 30  # yet every layer is in the program


def test_the_probes_are_traced_once_for_training_and_unpacking(monkeypatch):
    """``Compiled.layout`` reads the probes' shapes from training's own trace."""
    calls = []
    real = Compiled._probe
    monkeypatch.setattr(Compiled, "_probe", lambda self, *a, **k: calls.append(1) or real(
        self, *a, **k))
    exp = engine.build(_stack(3, units=5))  # a structure no other test compiles
    _, chunk = exp.train(exp.init(), 2, probes=FLOW)
    assert chunk.probes.layers.pre_hist.shape == (3, 20)
    assert len(calls) == 1


def test_runs_are_stretches_of_equal_keys():
    keys = ["a", "a", "a", "b", "b", "c", "c", "c", "c", "a"]
    assert runs(keys, min_run=3) == {0: 3, 5: 9}
    assert runs(keys, min_run=2) == {0: 3, 3: 5, 5: 9}
    assert runs([], min_run=1) == {}


def test_map_layers_is_the_list_comprehension_with_runs_batched():
    """Items of one shape at once, others one by one, in their order; a ``None``
    leaf (no mask) and a tuple result survive."""
    rng = np.random.default_rng(0)
    items = ([(rng.normal(size=(3, 4)), None) for _ in range(5)]
             + [(rng.normal(size=(2, 2)), None)]
             + [(rng.normal(size=(3, 4)), rng.integers(0, 2, (3, 4)).astype(np.float32))
                for _ in range(4)])

    def fn(x, mask):
        x = x if mask is None else x * mask
        return jnp.sum(x ** 2), x.T

    want = one_by_one(fn, items)
    got = jax.jit(lambda its: map_layers(fn, its))(items)
    _same(want, got, rtol=1e-6)
    jaxpr = str(jax.make_jaxpr(lambda its: map_layers(fn, its))(items))
    assert jaxpr.count("integer_pow") == 3  # one per run of 5 and 4, one for the odd item


@pytest.mark.parametrize("name", masked.PADDED_ACTIVATIONS)
def test_the_switched_activation_has_each_activations_value_and_slope(name):
    """The masked layer's activation (one switch gives value and slope) against the
    activation itself differentiated by JAX, over a range where some saturate; padded
    units (mask 0) get no gradient and no NaN."""
    act = engine.ACTIVATIONS.get(name)
    z = jnp.linspace(-30.0, 30.0, 601).reshape(601, 1) * jnp.ones((1, 2))
    values = {"act": jnp.int32(masked.PADDED_ACTIVATIONS.index(name)),
              "out_mask": jnp.asarray([1.0, 0.0])}

    def mine(z):
        return jnp.sum(masked.masked_activation(z, values) ** 2)

    def theirs(z):
        return jnp.sum((act(z) * values["out_mask"]) ** 2)

    _same(masked.masked_activation(z, values), act(z) * values["out_mask"], rtol=1e-6)
    g_mine, g_theirs = jax.grad(mine)(z), jax.grad(theirs)(z)
    # float32 rounding: tanh's slope 1 - y^2 cancels where y is near 1
    _same(g_mine, g_theirs, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(g_mine[:, 1]) == 0.0)
    _same(jax.jit(jax.grad(mine))(z), g_theirs, rtol=1e-5, atol=1e-6)


def test_layers_without_parameters_are_probed_one_by_one():
    """A run of parameter-free layers (dropout, activation, dropout: nothing to batch)
    is probed as before, batched or not."""
    spec = preset("tf_playground").updated(model={"layers": [
        {"type": "dense", "units": 4, "activation": "tanh"}, {"type": "dropout", "rate": 0.1},
        {"type": "activation", "activation": "relu"}, {"type": "dropout", "rate": 0.1},
        {"type": "dense", "units": 3, "activation": "tanh"}]})
    exp = engine.build(spec)
    st, c = exp.init(), exp.fns
    data, values = exp.dataset.arrays, exp.values
    got = [jax.jit(lambda s, d, v, b=b: probe(
        c.s.net, c.s.input_dim, s.params, s.model_state, d, v, FLOW, c.objective,
        c.example_losses, min(PROBE_EXAMPLES, c.eval_chunk), batched=b))(st, data, values)
        for b in (False, True)]
    _same(got[0], got[1], rtol=1e-5, atol=1e-7)
    assert got[1].weight_norm.shape == (6,)
    assert float(got[1].weight_norm[1]) == 0.0  # a dropout layer has no weights
