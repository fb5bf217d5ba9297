"""Tests of the loss landscape (``engine.train.landscape``, Li et al. 2018): the plane's
losses are the model's own, its directions are filter-normalised, a trained minimum
sits low in it, pca directions reconstruct a planar path, and bad inputs say what."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine.errors import DataError, SpecError
from engine.train import count_compiles
from engine.train.landscape import (
    Landscape,
    filter_normalized_direction,
    loss_landscape,
    random_directions,
)

SPEC = {
    "data": {"name": "circle", "n": 200, "noise": 0.05},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                         {"type": "dense", "units": 8, "activation": "tanh"}]},
    "optimizer": {"name": "adam", "learning_rate": 0.03},
    "batch_size": 10,
}
R = 11  # grid points per axis in most tests: one compilation shared


@pytest.fixture(scope="module")
def trained():
    """A circle classifier trained 100 epochs, with its parameters every 10 epochs."""
    exp = engine.build(engine.Spec.from_dict(SPEC))
    state = exp.init()
    trajectory = [state.params]
    for _ in range(10):
        state, _ = exp.train(state, 10)
        trajectory.append(state.params)
    assert exp.metrics(state)["train_accuracy"] >= 0.95  # well trained: a real minimum
    return exp, state, trajectory


def _landscape(exp, state, **kw) -> Landscape:
    kw.setdefault("resolution", R)
    return loss_landscape(exp.structure, exp.dataset.arrays, exp.values, state.params,
                          state.model_state, **kw)


def _moved(params, d1, d2, a, b):
    return jax.tree_util.tree_map(lambda w, u, v: w + a * u + b * v, params, d1, d2)


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.asarray(x, np.float64).ravel()
                           for x in jax.tree_util.tree_leaves(tree)])


def test_shapes_and_the_centre_is_the_reported_training_loss(trained):
    exp, state, trajectory = trained
    land = _landscape(exp, state, trajectory=trajectory)
    assert land.alphas.shape == land.betas.shape == (R,)
    assert land.loss.shape == (R, R)
    assert land.path.shape == (len(trajectory), 2) and land.path_loss.shape == (len(trajectory),)
    np.testing.assert_allclose(land.alphas, np.linspace(-1, 1, R), atol=1e-6)
    metrics = exp.metrics(state)
    np.testing.assert_allclose(land.center_loss, metrics["train_loss"], rtol=1e-5)
    # An odd resolution puts the parameters themselves in the middle of the grid.
    np.testing.assert_allclose(land.loss[R // 2, R // 2], land.center_loss, rtol=1e-5)
    test = _landscape(exp, state, split="test")
    np.testing.assert_allclose(test.center_loss, metrics["test_loss"], rtol=1e-5)


def test_a_grid_point_is_the_loss_of_those_parameters(trained):
    exp, state, _ = trained
    land = _landscape(exp, state, seed=3)
    d1, d2 = random_directions(state.params, 3)
    for i, j in [(0, 0), (2, 7), (R - 1, 4)]:  # row i is beta, column j is alpha
        moved = _moved(state.params, d1, d2, land.alphas[j], land.betas[i])
        loss = exp.metrics(state._replace(params=moved))["train_loss"]
        np.testing.assert_allclose(land.loss[i, j], loss, rtol=1e-4)


def test_the_path_loss_is_the_loss_on_the_plane_at_its_projection(trained):
    exp, state, trajectory = trained
    land = _landscape(exp, state, trajectory=trajectory, seed=1)
    d1, d2 = random_directions(state.params, 1)
    np.testing.assert_allclose(land.path[-1], [0, 0], atol=1e-6)  # the last point is params
    a, b = land.path[0]
    moved = _moved(state.params, d1, d2, a, b)
    np.testing.assert_allclose(land.path_loss[0],
                               exp.metrics(state._replace(params=moved))["train_loss"],
                               rtol=1e-4)
    # Least squares: what is left of the first move is orthogonal to both directions.
    rest = _flat(trajectory[0]) - _flat(state.params) - a * _flat(d1) - b * _flat(d2)
    scale = np.linalg.norm(rest) * np.linalg.norm(_flat(d1))
    assert abs(rest @ _flat(d1)) < 1e-4 * scale and abs(rest @ _flat(d2)) < 1e-4 * scale


def test_filters_of_a_direction_have_the_parameters_norms():
    key = jax.random.PRNGKey(0)
    kernel = jax.random.normal(key, (3, 3, 2, 4)) * jnp.arange(1.0, 5.0)  # conv (kh, kw, cin, cout)
    kernel = kernel.at[..., 2].set(0.0)  # a dead filter
    params = [{"w": kernel, "b": jnp.ones(4)},
              {"scale": jnp.ones(4), "offset": jnp.ones(4)},
              {"w": jax.random.normal(key, (4, 5)) * 3.0, "b": jnp.ones(5),
               "alpha": jnp.full(5, 0.25)}]
    d = filter_normalized_direction(params, jax.random.PRNGKey(7))
    assert jax.tree_util.tree_structure(d) == jax.tree_util.tree_structure(params)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(d[0]["w"]).reshape(-1, 4), axis=0),
                               np.linalg.norm(np.asarray(kernel).reshape(-1, 4), axis=0),
                               rtol=1e-5)
    assert not np.any(np.asarray(d[0]["w"][..., 2]))  # a dead filter stays dead
    np.testing.assert_allclose(np.linalg.norm(np.asarray(d[2]["w"]), axis=0),
                               np.linalg.norm(np.asarray(params[2]["w"]), axis=0), rtol=1e-5)
    for leaf in (d[0]["b"], d[1]["scale"], d[1]["offset"], d[2]["b"], d[2]["alpha"]):
        assert not np.any(np.asarray(leaf))  # biases and norms: not part of the plane
    # Gaussian, not a copy of the parameters.
    assert abs(np.corrcoef(np.ravel(d[2]["w"]), np.ravel(params[2]["w"]))[0, 1]) < 0.9


def test_a_trained_minimum_is_among_the_lowest_points_of_its_plane(trained):
    exp, state, _ = trained
    for seed in (0, 1):
        land = _landscape(exp, state, seed=seed)
        assert np.mean(land.loss < land.center_loss - 1e-6) <= 0.05
        # The edges at span 1 (every filter moved by its own norm) are far worse.
        assert np.median(land.loss) > 2 * land.center_loss


def test_pca_directions_on_the_training_path(trained):
    exp, state, trajectory = trained
    land = _landscape(exp, state, trajectory=trajectory, directions="pca")
    np.testing.assert_allclose(land.path[-1], [0, 0], atol=1e-5)
    assert np.linalg.norm(land.path[0]) > 0.1
    # The plane covers the whole path, with a margin.
    assert np.all(np.abs(land.path[:, 0]) < land.alphas[-1])
    assert np.all(np.abs(land.path[:, 1]) < land.betas[-1])
    assert land.loss.min() <= land.center_loss + 1e-6 < land.loss.max()


def test_pca_reconstructs_a_path_that_lies_in_a_plane(trained):
    exp, state, _ = trained
    k1, k2 = jax.random.split(jax.random.PRNGKey(5))
    u = jax.tree_util.tree_map(lambda p: 0.1 * jax.random.normal(k1, p.shape), state.params)
    v = jax.tree_util.tree_map(lambda p: 0.1 * jax.random.normal(k2, p.shape), state.params)
    steps = [(1.0, 0.5), (0.6, 0.9), (0.3, -0.4), (0.1, 0.1), (0.0, 0.0)]
    trajectory = [_moved(state.params, u, v, a, b) for a, b in steps]
    land = _landscape(exp, state, trajectory=trajectory, directions="pca")
    # The path's coordinates reproduce every point in an orthonormal basis of the plane.
    moves = np.stack([_flat(t) - _flat(state.params) for t in trajectory])
    basis, *_ = np.linalg.lstsq(land.path.astype(np.float64), moves, rcond=None)  # (2, P)
    np.testing.assert_allclose(land.path @ basis, moves, atol=1e-5 * np.abs(moves).max())
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-4)  # orthonormal
    np.testing.assert_allclose(land.path[-1], [0, 0], atol=1e-6)
    assert np.linalg.norm(land.path[0]) > 0.1
    # The projection is exact, so the path's losses are the trajectory's own.
    for t, params in enumerate(trajectory):
        loss = exp.metrics(state._replace(params=params))["train_loss"]
        np.testing.assert_allclose(land.path_loss[t], loss, rtol=1e-4)


def test_pca_of_a_straight_path_completes_the_plane(trained):
    exp, state, _ = trained
    u = jax.tree_util.tree_map(lambda p: 0.05 * jnp.ones_like(p), state.params)
    trajectory = [_moved(state.params, u, u, a, 0.0) for a in (2.0, 1.0, 0.0)]
    land = _landscape(exp, state, trajectory=trajectory, directions="pca")
    reach = np.array([2.0, 1.0, 0.0]) * np.linalg.norm(_flat(u))
    np.testing.assert_allclose(np.abs(land.path[:, 0]), reach, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(land.path[:, 1], 0.0, atol=1e-4)
    assert land.betas[-1] == pytest.approx(land.alphas[-1])  # as wide across as along
    assert np.all(np.isfinite(land.loss))


def test_same_seed_same_plane_and_no_recompilation(trained):
    exp, state, trajectory = trained
    a = _landscape(exp, state, trajectory=trajectory, seed=4)
    with count_compiles() as box:
        b = _landscape(exp, state, trajectory=trajectory, seed=4)
        c = _landscape(exp, state, trajectory=trajectory, seed=5, span=0.5)
    assert box["compiles"] == 0, box["names"]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a.loss, c.loss)
    np.testing.assert_allclose(c.alphas[[0, -1]], [-0.5, 0.5])


@pytest.mark.parametrize(("kw", "error", "words"), [
    ({"resolution": 2}, SpecError, "resolution: grid points per axis must be an integer "
                                   "from 3 to 101, got 2"),
    ({"resolution": 102}, SpecError, "got 102"),
    ({"resolution": 11.0}, SpecError, "got 11.0"),
    ({"resolution": True}, SpecError, "got True"),
    ({"span": 0.0}, SpecError, "span: the plane's half-width must be a finite number > 0"),
    ({"span": -1}, SpecError, "got -1"),
    ({"span": float("inf")}, SpecError, "got inf"),
    ({"span": float("nan")}, SpecError, "got nan"),
    ({"seed": 1.5}, SpecError, "seed: the seed must be an integer"),
    ({"split": "dev"}, SpecError, "split: unknown split 'dev': choose one of train, val, test"),
    ({"split": "val"}, DataError, "the val split has no examples"),
    ({"directions": "hessian"}, SpecError, "unknown directions 'hessian': choose random or pca"),
    ({"directions": "pca"}, DataError, "pca directions need a trajectory"),
    ({"directions": "pca", "trajectory": "same"}, DataError, "trajectory that moves"),
    ({"trajectory": "wrong"}, DataError, "trajectory point 0 is not shaped like the parameters"),
])
def test_bad_inputs_say_what_is_wrong(trained, kw, error, words):
    exp, state, _ = trained
    if kw.get("trajectory") == "same":
        kw = {**kw, "trajectory": [state.params, state.params]}
    elif kw.get("trajectory") == "wrong":
        kw = {**kw, "trajectory": [state.params[:-1]]}
    with pytest.raises(error) as info:
        _landscape(exp, state, **kw)
    assert words in str(info.value)
