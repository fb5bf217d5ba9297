"""Tests of the probes: the decision grid, neuron pictures, norms and histograms.

One 2-D classifier (four input features, a dropout and a layer-norm layer) is
trained once for the whole module; 1-D and three-class networks are probed at
their initial weights. Each new structure or resolution compiles once.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine import ACTIVATIONS, Spec
from engine.data.features import apply_features
from engine.probes import HIST_BINS, ProbeOptions, Probes, grid_points

FEATURES = ("x1", "x2", "x1^2", "x2^2")
LAYERS = [
    {"type": "dense", "units": 6, "activation": "tanh"},
    {"type": "dropout", "rate": 0.1},
    {"type": "layer_norm"},
    {"type": "dense", "units": 4, "activation": "tanh"},
]
NEURON_UNITS = [len(FEATURES), 6, 6, 4, 1]  # features, dense, layer_norm, dense, output
PLANE = Spec.from_dict({
    "data": {"name": "circle", "n": 200, "noise": 0.0, "features": list(FEATURES),
             "standardize": True},
    "model": {"layers": LAYERS},
    "optimizer": {"name": "adam", "learning_rate": 0.03},
    "regularization": {"kind": "l2", "rate": 0.001},
    "batch_size": 10,
})
EPOCHS = 30


@pytest.fixture(scope="module")
def trained():
    """(experiment, state, chunk): the circle classifier trained with probes."""
    exp = engine.build(PLANE)
    state, chunk = exp.train(exp.init(), EPOCHS, probes=True)
    assert chunk.history["trained"].all()
    return exp, state, chunk


@pytest.fixture(scope="module")
def coarse(trained):
    """Probes of the trained state at resolution 30 (neurons at 10)."""
    exp, state, _ = trained
    return exp.probe(state, ProbeOptions(resolution=30, neuron_resolution=10))


def _np(probes: Probes) -> dict:
    """The probes as a dict of NumPy arrays (neurons as a list)."""
    d = probes._asdict()
    return {k: ([np.asarray(a) for a in v] if k == "neurons" else
                (None if v is None else np.asarray(v))) for k, v in d.items()}


def _features(exp, x) -> np.ndarray:
    """Standardised input features of raw points, computed outside the engine's jit."""
    a = exp.dataset.arrays
    h = np.asarray(apply_features(np.asarray(x, np.float32), exp.dataset.features))
    return (h - np.asarray(a.mean)) / np.asarray(a.std)


def _grid_xs(exp, resolution: int) -> np.ndarray:
    return np.linspace(-1.0, 1.0, resolution, dtype=np.float32) * np.float32(exp.dataset.extent)


# --- 1. shapes --------------------------------------------------------------------------------

def _check_shapes(exp, probes, resolution: int, neuron_resolution: int, plane: bool):
    p = _np(probes)
    params = exp.init().params
    out_dim = exp.structure.net.head.out_dim
    lead = (resolution, resolution) if plane else (resolution,)
    nlead = (neuron_resolution, neuron_resolution) if plane else (neuron_resolution,)
    assert p["output"].shape == (*lead, out_dim)

    drawn = [layer for layer in exp.structure.net.layers if layer.type != "dropout"]
    assert len(p["neurons"]) == 1 + len(drawn) + 1
    assert p["neurons"][0].shape == (*nlead, len(exp.dataset.features))
    assert p["neurons"][-1].shape == (*nlead, out_dim)
    for a in p["neurons"]:
        assert a.shape[:-1] == nlead and np.all(np.isfinite(a))

    n_layers = len(exp.structure.net.layers) + 1
    assert p["grad_norm"].shape == (n_layers,) and p["weight_norm"].shape == (n_layers,)
    dense = [q for q in params if "w" in q]
    assert p["weight_hist"].shape == (len(dense), HIST_BINS)
    assert p["grad_hist"].shape == (len(dense), HIST_BINS)
    assert p["weight_range"].shape == (len(dense),) and p["grad_range"].shape == (len(dense),)
    sizes = [q["w"].size for q in dense]
    np.testing.assert_array_equal(p["weight_hist"].sum(axis=1), sizes)
    np.testing.assert_array_equal(p["grad_hist"].sum(axis=1), sizes)
    assert np.all(p["weight_hist"] >= 0) and np.all(p["grad_hist"] >= 0)
    assert np.all(p["weight_range"] > 0) and np.all(p["grad_range"] > 0)
    return p


def test_plane_shapes_at_resolution_100(trained):
    exp, _, chunk = trained
    p = _check_shapes(exp, chunk.probes, 100, 24, plane=True)
    assert [a.shape[-1] for a in p["neurons"]] == NEURON_UNITS


def test_plane_shapes_at_resolution_30(trained, coarse):
    exp, _, _ = trained
    p = _check_shapes(exp, coarse, 30, 10, plane=True)
    assert [a.shape[-1] for a in p["neurons"]] == NEURON_UNITS
    # Layers without parameters (dropout) have zero norms; the others do not.
    kinds = [layer.type for layer in exp.structure.net.layers] + ["dense"]
    for kind, g, w in zip(kinds, p["grad_norm"], p["weight_norm"], strict=True):
        if kind == "dropout":
            assert g == 0.0 and w == 0.0
        else:
            assert w > 0.0 and g > 0.0


def test_line_shapes():
    spec = Spec.from_dict({"data": {"name": "sine", "n": 100},
                           "model": {"layers": [{"type": "dense", "units": 5,
                                                 "activation": "tanh"},
                                                {"type": "dropout", "rate": 0.2},
                                                {"type": "dense", "units": 3,
                                                 "activation": "relu"}]}})
    exp = engine.build(spec)
    assert exp.dataset.input_dim == 1
    state = exp.init()
    probes = exp.probe(state, ProbeOptions(resolution=40, neuron_resolution=12))
    p = _check_shapes(exp, probes, 40, 12, plane=False)
    assert [a.shape for a in p["neurons"]] == [(12, 1), (12, 5), (12, 3), (12, 1)]
    # The line is the grid [-extent, extent]; its outputs are the network's outputs there.
    xs = _grid_xs(exp, 40)
    line = np.asarray(grid_points(1, 40, *_plane(1, exp.dataset.extent)))
    np.testing.assert_allclose(line[:, 0], xs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(p["output"], exp.predict(state, xs[:, None]), rtol=1e-5,
                               atol=1e-6)


def test_three_class_output_shape():
    spec = Spec.from_dict({"data": {"name": "blobs", "n": 90, "classes": 3},
                           "model": {"layers": [{"type": "dense", "units": 4,
                                                 "activation": "relu"}]}})
    exp = engine.build(spec)
    assert exp.structure.net.head.out_dim == 3
    options = ProbeOptions(resolution=20, neuron_resolution=6)
    p = _check_shapes(exp, exp.probe(exp.init(), options), 20, 6, plane=True)
    assert [a.shape[-1] for a in p["neurons"]] == [2, 4, 3]
    np.testing.assert_allclose(p["output"].sum(axis=-1), 1.0, rtol=1e-5)  # softmax


# --- 2. orientation -------------------------------------------------------------------------

def _plane(d, extent, centre=0.0):
    return jnp.full((d,), centre, jnp.float32), jnp.full((d,), extent, jnp.float32)


def test_grid_points_order():
    r, extent = 7, 2.5
    grid = np.asarray(grid_points(2, r, *_plane(2, extent)))
    xs = np.linspace(-extent, extent, r)
    assert grid.shape == (r * r, 2)
    for i in range(r):
        for j in range(r):
            np.testing.assert_allclose(grid[i * r + j], (xs[j], xs[i]), atol=1e-6)
    assert grid_points(0, r, *_plane(1, extent)) is None


def test_grid_points_of_wider_data_span_two_chosen_columns():
    r, d = 5, 4
    centre = jnp.array([1.0, 2.0, 3.0, 4.0], jnp.float32)
    extent = jnp.array([0.5, 1.0, 2.0, 4.0], jnp.float32)
    grid = np.asarray(grid_points(d, r, centre, extent, jnp.array([3, 1], jnp.int32)))
    assert grid.shape == (r * r, d)
    np.testing.assert_allclose(grid[:, 0], 1.0)  # the other columns sit at the centre
    np.testing.assert_allclose(grid[:, 2], 3.0)
    across, up = np.linspace(0.0, 8.0, r), np.linspace(1.0, 3.0, r)
    for i in range(r):
        for j in range(r):
            np.testing.assert_allclose(grid[i * r + j, [3, 1]], (across[j], up[i]), atol=1e-6)


def test_probe_grid_matches_predict(trained):
    # The initial weights: a lopsided surface, so a transposed grid would be caught.
    exp = trained[0]
    state = exp.init()
    r = 30
    p = _np(exp.probe(state, ProbeOptions(resolution=r, neuron_resolution=10)))
    out = p["output"]
    assert np.max(np.abs(out - out.transpose(1, 0, 2))) > 1e-3
    xs = _grid_xs(exp, r)
    points = np.array([(xs[j], xs[i]) for i in range(r) for j in range(r)], np.float32)
    predicted = exp.predict(state, points).reshape(r, r, -1)
    np.testing.assert_allclose(out, predicted, rtol=1e-5, atol=1e-6)
    # Row 0 is the bottom of the plane: x2 = -extent.
    np.testing.assert_allclose(out[0, -1], exp.predict(state, [[xs[-1], xs[0]]])[0],
                               rtol=1e-5, atol=1e-6)

    # Neurons: the first picture is the input features, the last the output, on the
    # coarse grid in the same orientation; the first dense layer is tanh(h W + b).
    xc = _grid_xs(exp, 10)
    coarse_points = np.array([(xc[j], xc[i]) for i in range(10) for j in range(10)])
    h = _features(exp, coarse_points)
    np.testing.assert_allclose(p["neurons"][0], h.reshape(10, 10, -1), rtol=1e-5, atol=1e-5)
    first = state.params[0]
    hidden = np.tanh(h @ np.asarray(first["w"]) + np.asarray(first["b"]))
    np.testing.assert_allclose(p["neurons"][1], hidden.reshape(10, 10, -1), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(p["neurons"][-1],
                               exp.predict(state, coarse_points).reshape(10, 10, -1),
                               rtol=1e-5, atol=1e-6)


# --- 3. a trained circle ------------------------------------------------------------------------

def test_trained_circle_grid_classifies_centre_and_corners(trained):
    exp, _, chunk = trained
    head = exp.structure.net.head
    assert head.activation == "sigmoid" and head.out_dim == 1
    assert ACTIVATIONS.get(head.activation).threshold == 0.5
    assert chunk.history["test_accuracy"][-1] >= 0.9
    out = chunk.probes.output
    r = out.shape[0]
    classes = np.asarray(head.predict(jnp.asarray(out.reshape(r * r, -1)))).reshape(r, r)
    centre = classes[r // 2 - 1: r // 2 + 1, r // 2 - 1: r // 2 + 1]
    assert np.all(centre == 1)
    corners = [classes[0, 0], classes[0, -1], classes[-1, 0], classes[-1, -1]]
    assert corners == [0, 0, 0, 0]
    assert np.all(out[r // 2 - 1: r // 2 + 1, r // 2 - 1: r // 2 + 1] > 0.5)


# --- 4. probes from training ------------------------------------------------------------------

def test_train_returns_host_probes_of_the_final_state(trained):
    exp, state, chunk = trained
    assert isinstance(chunk.probes, Probes)
    for name, value in chunk.probes._asdict().items():
        if name == "neurons":
            assert isinstance(value, list)
            assert all(isinstance(a, np.ndarray) for a in value)
        elif name in ("layers", "sequence", "images"):
            assert value is None  # per-layer, sequence and image probes only when asked for
        else:
            assert isinstance(value, np.ndarray), name
    assert np.issubdtype(chunk.probes.weight_hist.dtype, np.integer)
    assert np.issubdtype(chunk.probes.grad_hist.dtype, np.integer)

    direct = _np(exp.probe(state))
    got = _np(chunk.probes)
    for name in Probes._fields:
        if name in ("layers", "sequence", "images"):
            continue  # None in both (checked above)
        if name == "neurons":
            assert len(got[name]) == len(direct[name])
            for a, b in zip(got[name], direct[name], strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        elif name.endswith("hist"):
            # Counts may move by one where a value sits on a bin edge.
            assert np.abs(got[name] - direct[name]).sum() <= 2, name
        else:
            np.testing.assert_allclose(got[name], direct[name], rtol=1e-4, atol=1e-6,
                                       err_msg=name)


def test_zero_epochs_returns_probes_of_the_state(trained):
    exp, state, _ = trained
    same, chunk = exp.train(state, 0, probes=True)
    assert all(len(v) == 0 for v in chunk.history.values())
    assert int(same.epoch) == int(state.epoch)
    np.testing.assert_allclose(chunk.probes.output, np.asarray(exp.probe(state).output),
                               rtol=1e-5, atol=1e-6)


# --- 5. gradient norms and histograms -----------------------------------------------------

@pytest.fixture(scope="module")
def grads(trained):
    """Full-batch gradient of the training objective at the trained state, per layer."""
    exp, state, _ = trained
    a = exp.dataset.arrays
    h = jnp.asarray(_features(exp, a.x_train), jnp.float32)

    def loss(params):
        return exp.fns.objective(params, state.model_state, h, a.y_train, exp.values, None,
                                 False)[0]

    return jax.jit(jax.grad(loss))(state.params)  # one compile instead of op-by-op


def _layer_norm(tree) -> float:
    leaves = [np.asarray(x, np.float64) for x in jax.tree_util.tree_leaves(tree)]
    return float(np.sqrt(sum(np.sum(x * x) for x in leaves)))


def test_grad_and_weight_norms_match_an_independent_computation(trained, coarse, grads):
    _, state, _ = trained
    p = _np(coarse)
    expected = [_layer_norm(g) for g in grads]
    assert max(expected) > 1e-4  # not a trivial comparison of zeros
    np.testing.assert_allclose(p["grad_norm"], expected, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(p["weight_norm"], [_layer_norm(q) for q in state.params],
                               rtol=1e-5)


def test_histograms_match_numpy(trained, coarse, grads):
    _, state, _ = trained
    p = _np(coarse)
    dense = [i for i, q in enumerate(state.params) if "w" in q]
    assert len(dense) == 3  # two hidden dense layers and the output
    for k, i in enumerate(dense):
        for values, counts, half in ((state.params[i]["w"], p["weight_hist"][k],
                                      p["weight_range"][k]),
                                     (grads[i]["w"], p["grad_hist"][k], p["grad_range"][k])):
            v = np.asarray(values, np.float64).ravel()
            m = np.max(np.abs(v))
            assert half == pytest.approx(m, rel=1e-3)
            ref, _ = np.histogram(v, bins=HIST_BINS, range=(-m, m))
            assert np.abs(counts - ref).sum() <= 2
