"""engine.search.gp and the Bayesian strategy: the GP's maths, masking, compiles, and that
a Bayesian search beats random search on a known function."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import SpecError
from engine.search import (
    Axis,
    expected_improvement,
    fit_hyperparameters,
    matern52,
    posterior,
    predict,
    propose,
    surrogate_picture,
)
from engine.train import count_compiles

LR = Axis("learning_rate", 1e-4, 1.0, log=True)
DROP = Axis("dropout_rate", 0.0, 0.8)


def _observations(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    return x, np.sin(5.0 * x.sum(axis=1)) + x[:, 0]


def _buffers(x: np.ndarray, y: np.ndarray, cap: int, slots: np.ndarray | None = None):
    """x, y placed at ``slots`` of CAP-sized buffers whose other slots hold garbage."""
    rng = np.random.default_rng(99)
    xb = rng.random((cap, x.shape[1])).astype(np.float32)
    yb = np.full(cap, 1e6, np.float32)
    yb[::3] = np.nan  # a free slot may hold anything
    mask = np.zeros(cap, bool)
    slots = np.arange(len(x)) if slots is None else slots
    xb[slots], yb[slots], mask[slots] = x, y, True
    return xb, yb, mask


def _forrester(u: np.ndarray) -> np.ndarray:
    """Forrester et al. (2008): a global minimum -6.0207 at u = 0.7572, a local one near 0.14."""
    return (6 * u - 2) ** 2 * np.sin(12 * u - 4)


# --- the GP ----------------------------------------------------------------------------

def test_the_matern_kernel_matches_its_formula():
    a = np.array([[0.0, 0.0], [0.3, 0.1]], np.float32)
    b = np.array([[0.0, 0.0], [0.5, 0.5]], np.float32)
    ls = np.array([0.2, 0.5], np.float32)
    r = np.sqrt((((a[:, None] - b[None]) / ls) ** 2).sum(-1))
    want = (1 + np.sqrt(5) * r + 5 * r**2 / 3) * np.exp(-np.sqrt(5) * r)
    np.testing.assert_allclose(matern52(a, b, ls), want, rtol=1e-5)


@pytest.mark.parametrize("d", [1, 2])
def test_a_masked_buffer_gives_exactly_the_gp_of_the_observed_points(d):
    x, y = _observations(7, d)
    query = np.random.default_rng(1).random((50, d)).astype(np.float32)
    plain = posterior(*_buffers(x, y, 7), query)
    slots = np.random.default_rng(2).permutation(64)[:7]  # scattered, not just the front
    masked = posterior(*_buffers(x, y, 64, slots), query)
    for want, got in zip(plain, masked, strict=True):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    fit_plain = fit_hyperparameters(*_buffers(x, y, 7))
    fit_masked = fit_hyperparameters(*_buffers(x, y, 64, slots))
    for want, got in zip(fit_plain, fit_masked, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_the_posterior_is_the_textbook_formula():
    """R&W eqs. 2.25-2.26 in float64 NumPy with the fitted hyperparameters."""
    x, y = _observations(9, 2, seed=4)
    xb, yb, mask = _buffers(x, y, 64, np.arange(9) * 5)
    params = fit_hyperparameters(xb, yb, mask)
    query = np.random.default_rng(5).random((30, 2))
    mean, std = predict(params, xb, yb, mask, query.astype(np.float32))
    ls, s, g = (np.asarray(p, np.float64) for p in params[:3])
    m, sd = float(params.y_mean), float(params.y_std)

    def k(a, b):
        r = np.sqrt((((a[:, None] - b[None]) / ls) ** 2).sum(-1))
        return s * (1 + np.sqrt(5) * r + 5 * r**2 / 3) * np.exp(-np.sqrt(5) * r)

    big_k = k(x, x) + s * g * np.eye(9)
    want_mean = k(query, x) @ np.linalg.solve(big_k, (y - m) / sd)
    want_var = s - np.einsum("qi,qi->q", k(query, x), np.linalg.solve(big_k, k(x, query)).T)
    np.testing.assert_allclose(mean, want_mean * sd + m, atol=2e-3)
    np.testing.assert_allclose(std, np.sqrt(np.maximum(want_var, 0)) * sd, atol=2e-3)


def test_the_mean_interpolates_and_the_std_grows_away_from_the_data():
    x = np.linspace(0.0, 0.5, 8)[:, None]
    y = np.sin(6 * x[:, 0])
    xb, yb, mask = _buffers(x, y, 64)
    params = fit_hyperparameters(xb, yb, mask)
    assert float(params.noise_ratio) <= 1e-3  # smooth exact data: little noise fitted
    mean, std = predict(params, xb, yb, mask, x.astype(np.float32))
    np.testing.assert_allclose(mean, y, atol=0.02 * np.ptp(y))
    _, far_std = predict(params, xb, yb, mask, np.array([[1.0]], np.float32))
    assert float(std.max()) < 0.1 * float(far_std[0])
    assert float(far_std[0]) > 0.05 * np.ptp(y)


def test_noisy_results_are_fitted_as_noise():
    rng = np.random.default_rng(0)
    x = rng.random((30, 1))
    y = rng.normal(size=30)  # no signal at all
    params = fit_hyperparameters(*_buffers(x, y, 64))
    assert float(params.noise_ratio) >= 0.1


def test_adding_an_observation_does_not_recompile():
    x, y = _observations(40, 2)
    query = np.random.default_rng(1).random((100, 2)).astype(np.float32)
    xb, yb, mask = _buffers(x[:5], y[:5], 64)
    np.asarray(posterior(xb, yb, mask, query)[0])  # compile once for these shapes
    means = []
    with count_compiles() as box:
        for n in range(6, 40):
            xb[n - 1], yb[n - 1], mask[n - 1] = x[n - 1], y[n - 1], True
            means.append(np.asarray(posterior(xb, yb, mask, query)[0]))
    assert box["compiles"] == 0, box["names"]
    assert not np.allclose(means[0], means[-1])  # the data did change the answer


# --- expected improvement --------------------------------------------------------------

def test_expected_improvement_is_the_closed_form_and_never_negative():
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=500), np.abs(rng.normal(size=500))
    std[::7] = 0.0
    ei = np.asarray(expected_improvement(mean, std, 0.0))
    assert ei.shape == (500,) and np.all(ei >= 0) and np.all(np.isfinite(ei))
    # At the best with std 1 and no margin: E[max(-Z, 0)] = phi(0).
    np.testing.assert_allclose(expected_improvement(np.zeros(1), np.ones(1), 0.0, 0.0),
                               [1 / np.sqrt(2 * np.pi)], rtol=1e-6)
    # Without uncertainty it is the plain improvement beyond the margin.
    np.testing.assert_allclose(
        expected_improvement(np.array([-1.0, 2.0]), np.zeros(2), 0.5, 0.1), [1.4, 0.0],
        rtol=1e-6)


def test_expected_improvement_prefers_low_means_and_uncertainty():
    mean = np.linspace(-2.0, 2.0, 41)
    ei = np.asarray(expected_improvement(mean, np.full(41, 0.5), 0.0))
    assert np.all(np.diff(ei) < 0)  # lower mean, more to gain
    std = np.linspace(0.01, 3.0, 41)
    ei = np.asarray(expected_improvement(np.full(41, 1.0), std, 0.0))
    assert np.all(np.diff(ei) > 0)  # a worse mean still pays if it is uncertain enough


# --- the Bayesian strategy -------------------------------------------------------------

def _evaluations_to_reach(method: str, seed: int, round_size: int, tol: float = 0.1,
                          budget: int = 40) -> int:
    """Results a search needs before one is within ``tol`` of Forrester's minimum
    (on a log learning-rate axis); budget + 1 if it never gets there."""
    x, y = np.zeros((0, 1)), np.zeros(0)
    for r in range(budget):
        for point in propose(method, (LR,), x, y, round_size, seed=seed, round_index=r):
            x, y = np.vstack([x, point]), np.append(y, _forrester(LR.to_unit(point[0])))
            if y[-1] < -6.0207 + tol:
                return len(y)
            if len(y) == budget:
                return budget + 1
    return budget + 1


@pytest.mark.parametrize("round_size", [1, 4])
def test_bayesian_search_finds_the_minimum_in_fewer_evaluations_than_random(round_size):
    seeds = range(10)
    bayes = np.mean([_evaluations_to_reach("bayesian", s, round_size) for s in seeds])
    rand = np.mean([_evaluations_to_reach("random", s, round_size) for s in seeds])
    # Measured: round size 1: 4.5 vs 25.9; round size 4: 10.8 vs 32.1.
    assert bayes < 0.7 * rand, (bayes, rand)


@pytest.mark.parametrize("seed", [0, 3])
def test_a_bayesian_round_is_spread_out_and_reproducible(seed):
    space = (LR, DROP)
    x = propose("random", space, np.zeros((0, 2)), [], 8, seed=seed)
    y = np.sin(3 * LR.to_unit(x[:, 0])) + x[:, 1]  # best in a corner: tempting to crowd it
    batch = propose("bayesian", space, x, y, 6, seed=seed, round_index=1)
    assert batch.shape == (6, 2)
    unit = np.stack([LR.to_unit(batch[:, 0]), DROP.to_unit(batch[:, 1])], axis=1)
    gaps = np.abs(unit[:, None] - unit[None]).max(axis=-1) + 9 * np.eye(6)
    assert gaps.min() > 0.05, gaps.min()  # the liar moves each next pick away (not next door)
    assert not {tuple(p) for p in batch} & {tuple(p) for p in x}
    assert np.all((batch[:, 0] >= LR.low) & (batch[:, 0] <= LR.high))
    assert np.all((batch[:, 1] >= DROP.low) & (batch[:, 1] <= DROP.high))
    np.testing.assert_array_equal(batch, propose("bayesian", space, x, y, 6, seed, 1))


def test_the_first_bayesian_rounds_are_a_spread_out_design():
    first = propose("bayesian", (DROP,), np.zeros((0, 1)), [], 1, seed=0)
    x = first
    for r in (1, 2):  # 2d + 1 = 3 opening points, one per round, a third of the range each
        x = np.vstack([x, propose("bayesian", (DROP,), x, np.ones(len(x)), 1, 0, r)])
    assert sorted(np.floor(DROP.to_unit(x[:, 0]) * 3).astype(int)) == [0, 1, 2]


def test_bayesian_rounds_after_the_first_do_not_recompile():
    rng = np.random.default_rng(0)
    x = rng.random((6, 2)) * [1.0, 0.8] + [1e-4, 0.0]
    y = x[:, 1] - x[:, 0]
    propose("bayesian", (LR, DROP), x, y, 4, seed=0, round_index=1)  # compile
    with count_compiles() as box:
        for r in range(2, 5):
            new = propose("bayesian", (LR, DROP), x, y, 4, seed=0, round_index=r)
            x, y = np.vstack([x, new]), np.append(y, new[:, 1] - new[:, 0])
    assert box["compiles"] == 0, box["names"]


def test_diverged_runs_are_kept_as_bad_results():
    x = np.array([[1e-4], [1e-2], [0.3], [0.6], [1.0]])
    y = np.array([1.0, 0.5, np.nan, np.inf, np.nan])  # high learning rates diverged
    batch = propose("bayesian", (LR,), x, y, 3, seed=0, round_index=1)
    assert np.all(np.isfinite(batch)) and np.all(batch[:, 0] < 0.3)
    picture = surrogate_picture((LR,), x, y)
    np.testing.assert_array_equal(picture["observed_y"], [1.0, 0.5, 1.0, 1.0, 1.0])


def test_the_surrogate_picture_has_what_a_page_draws():
    x, y = _observations(10, 2)
    real = np.stack([LR.from_unit(x[:, 0]), DROP.from_unit(x[:, 1])], axis=1)
    pic = surrogate_picture((LR, DROP), real, y, resolution=16)
    assert pic["x"].shape == (256, 2)
    for key in ("mean", "std", "ei"):
        assert pic[key].shape == (256,) and np.all(np.isfinite(pic[key]))
    assert np.all(pic["ei"] >= 0) and pic["best"] == y.min()
    np.testing.assert_allclose(pic["axes"][0][[0, -1]], [LR.low, LR.high])
    grid = pic["x"].reshape(16, 16, 2)  # rows: the first axis, as the axes say
    np.testing.assert_allclose(grid[:, 0, 0], pic["axes"][0])
    np.testing.assert_allclose(grid[0, :, 1], pic["axes"][1])
    assert pic["length_scale"].shape == (2,) and pic["noise_std"] >= 0
    empty = surrogate_picture((LR,), np.zeros((0, 1)), [])
    assert empty["x"].shape == (256, 1) and np.all(np.isnan(empty["mean"]))


def test_the_bayesian_surrogate_refuses_more_results_than_it_holds():
    x = np.linspace(0.0, 0.8, 300)[:, None]
    with pytest.raises(SpecError, match="at most 256 results"):
        propose("bayesian", (DROP,), x, np.zeros(300), 1)
    with pytest.raises(SpecError, match=r"search\.resolution"):
        surrogate_picture((DROP,), x[:3], np.zeros(3), resolution=1)
