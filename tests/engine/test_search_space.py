"""engine.search.space and the plain strategies: axes, grids, random designs, checks."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from engine.errors import SpecError
from engine.search import (
    STRATEGIES,
    Axis,
    at_edge,
    check_space,
    clean_results,
    grid,
    latin_hypercube,
    propose,
    random_points,
)

LR = Axis("learning_rate", 1e-4, 1.0, log=True)
DROP = Axis("dropout_rate", 0.0, 0.8)


# --- axes ------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [LR, DROP, Axis("momentum", -1.0, 3.0)])
def test_axis_round_trips_between_real_and_unit_coordinates(axis):
    u = np.linspace(0.0, 1.0, 17)
    x = axis.from_unit(u)
    assert x[0] == axis.low and x[-1] == axis.high  # exact at the ends
    assert np.all(np.diff(x) > 0)
    np.testing.assert_allclose(axis.to_unit(x), u, atol=1e-12)


def test_a_log_axis_gives_each_decade_the_same_share():
    np.testing.assert_allclose(LR.to_unit([1e-4, 1e-3, 1e-2, 1e-1, 1.0]),
                               [0.0, 0.25, 0.5, 0.75, 1.0], atol=1e-12)
    np.testing.assert_allclose(LR.from_unit(0.5), 1e-2)  # the geometric mean of the ends
    np.testing.assert_allclose(DROP.from_unit(0.5), 0.4)  # a linear axis: the plain mean


def test_axis_normalises_its_numbers():
    axis = Axis("units", 1, 10, log=np.bool_(True))
    assert isinstance(axis.low, float) and axis.log is True


@pytest.mark.parametrize(("kwargs", "field", "words"), [
    ({"low": 1.0, "high": 1.0}, "search.x.high", "must be above low"),
    ({"low": 2.0, "high": 1.0}, "search.x.high", "must be above low"),
    ({"low": 0.0, "high": 1.0, "log": True}, "search.x.low", "must be > 0 on a log axis"),
    ({"low": -1e-3, "high": 1.0, "log": True}, "search.x.low", "must be > 0 on a log axis"),
    ({"low": float("nan"), "high": 1.0}, "search.x.low", "must be finite"),
    ({"low": 0.0, "high": float("inf")}, "search.x.high", "must be finite"),
    ({"low": "0", "high": 1.0}, "search.x.low", "must be a number"),
    ({"low": True, "high": 2.0}, "search.x.low", "must be a number"),
    ({"low": 0.0, "high": 1.0, "log": "yes"}, "search.x.log", "true or false"),
])
def test_a_bad_axis_names_its_field(kwargs, field, words):
    with pytest.raises(SpecError, match=words) as err:
        Axis("x", **kwargs)
    assert err.value.field == field


def test_an_axis_needs_a_name():
    with pytest.raises(SpecError, match="needs a name"):
        Axis("  ", 0.0, 1.0)


def test_a_space_holds_one_or_two_distinct_axes():
    assert check_space(LR) == (LR,)
    assert check_space([LR, DROP]) == (LR, DROP)
    with pytest.raises(SpecError, match="1 or 2 axes, got 3"):
        check_space((LR, DROP, Axis("momentum", 0.0, 0.99)))
    with pytest.raises(SpecError, match="1 or 2 axes, got 0"):
        check_space(())
    with pytest.raises(SpecError, match="each hyperparameter once"):
        check_space((LR, Axis("learning_rate", 0.1, 1.0)))
    with pytest.raises(SpecError, match=r"axes\[1\]: must be an Axis"):
        check_space((LR, "dropout"))


# --- grids -----------------------------------------------------------------------------

def test_a_1d_grid_uses_the_whole_budget_with_both_ends():
    g = grid((LR,), 5)
    assert g.shape == (5, 1)
    np.testing.assert_allclose(g[:, 0], [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert g[0, 0] == 1e-4 and g[-1, 0] == 1.0
    np.testing.assert_allclose(g[1:, 0] / g[:-1, 0], 10.0)  # evenly spaced in log10


@pytest.mark.parametrize(("budget", "per_axis"), [(9, 3), (10, 3), (15, 3), (16, 4), (100, 10),
                                                  (2, 1), (4, 2)])
def test_a_2d_grid_is_the_largest_full_grid_within_the_budget(budget, per_axis):
    g = grid((LR, DROP), budget)
    assert g.shape == (per_axis**2, 2)
    assert len({tuple(p) for p in g}) == per_axis**2  # distinct
    if per_axis > 1:  # both ends of both axes, and every corner
        corners = {(a, b) for a in (LR.low, LR.high) for b in (DROP.low, DROP.high)}
        assert corners <= {tuple(p) for p in g}
    # First axis slowest: reshaped to (k, k), rows share the learning rate.
    square = g.reshape(per_axis, per_axis, 2)
    assert np.all(square[:, :, 0] == square[:, :1, 0])
    assert np.all(square[:, :, 1] == square[:1, :, 1])


def test_a_one_point_grid_sits_in_the_centre():
    np.testing.assert_allclose(grid((DROP,), 1), [[0.4]])
    np.testing.assert_allclose(grid((LR, DROP), 3), [[1e-2, 0.4]])


@pytest.mark.parametrize("budget", [0, -3, 2.5, True, 10**9])
def test_a_bad_budget_is_refused(budget):
    with pytest.raises(SpecError, match=r"search\.budget"):
        grid((LR,), budget)
    with pytest.raises(SpecError, match=r"search\.budget"):
        random_points((LR,), budget, 0)


# --- random designs --------------------------------------------------------------------

def test_random_points_are_deterministic_per_seed_and_inside_the_bounds():
    a = random_points((LR, DROP), 200, 7)
    assert a.shape == (200, 2)
    np.testing.assert_array_equal(a, random_points((LR, DROP), 200, 7))
    assert not np.allclose(a, random_points((LR, DROP), 200, 8))
    assert np.all((a[:, 0] >= 1e-4) & (a[:, 0] <= 1.0))
    assert np.all((a[:, 1] >= 0.0) & (a[:, 1] <= 0.8))


def test_random_points_accept_a_jax_key():
    key = jax.random.key(3)
    a = random_points((DROP,), 50, key)
    np.testing.assert_array_equal(a, random_points((DROP,), 50, key))
    assert np.all((a >= 0.0) & (a <= 0.8))


def test_random_points_are_log_uniform_on_a_log_axis():
    x = random_points((LR,), 4000, 0)[:, 0]
    per_decade = np.histogram(np.log10(x), bins=[-4, -3, -2, -1, 0])[0]
    assert np.all(np.abs(per_decade - 1000) < 120), per_decade  # ~1000 each, not 90% in the top


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_a_bad_seed_is_refused(seed):
    with pytest.raises(SpecError, match=r"search\.seed"):
        random_points((LR,), 3, seed)


def test_a_latin_hypercube_puts_one_point_in_every_slice_of_every_axis():
    u = latin_hypercube(8, 2, (5, 1))
    assert u.shape == (8, 2)
    for j in range(2):
        assert sorted(np.floor(u[:, j] * 8).astype(int)) == list(range(8))
    np.testing.assert_array_equal(u, latin_hypercube(8, 2, (5, 1)))


# --- the plain strategies through propose ----------------------------------------------

def test_the_registry_lists_the_three_methods_with_a_sentence_each():
    assert STRATEGIES.names() == ["grid", "random", "bayesian"]
    assert STRATEGIES.concept == "search method"
    for name in STRATEGIES:
        assert STRATEGIES.describe(name).endswith(".")


def test_grid_search_proposes_the_untried_grid_points_in_order():
    space = (LR, DROP)
    full = grid(space, 9)
    x, y, rounds = np.zeros((0, 2)), np.zeros(0), []
    for r in range(4):
        p = propose("grid", space, x, y, 4, seed=0, round_index=r, budget=9)
        rounds.append(len(p))
        x, y = np.vstack([x, p]), np.append(y, np.zeros(len(p)))
    assert rounds == [4, 4, 1, 0]  # the grid runs out; nothing is proposed twice
    np.testing.assert_allclose(x, full)
    # Tried points count even when they came back as float32 (the trainer's dtype).
    left = propose("grid", space, full[:5].astype(np.float32), np.zeros(5), 9, budget=9)
    np.testing.assert_allclose(left, full[5:])


def test_grid_search_without_a_budget_lays_the_whole_grid_in_one_round():
    p = propose("grid", (LR,), np.zeros((0, 1)), [], 6)
    np.testing.assert_allclose(p, grid((LR,), 6))


def test_random_search_is_fresh_each_round_and_reproducible():
    space = (LR, DROP)
    r0 = propose("random", space, np.zeros((0, 2)), [], 5, seed=1, round_index=0)
    r1 = propose("random", space, r0, np.ones(5), 5, seed=1, round_index=1)
    assert r0.shape == r1.shape == (5, 2)
    assert not np.allclose(r0, r1)
    np.testing.assert_array_equal(r1, propose("random", space, r0, np.ones(5), 5, 1, 1))
    assert not np.allclose(r1, propose("random", space, r0, np.ones(5), 5, 2, 1))


def test_non_finite_results_count_as_the_worst_finite_one():
    np.testing.assert_array_equal(clean_results([1.0, np.nan, 3.0, np.inf, -np.inf]),
                                  [1.0, 3.0, 3.0, 3.0, 3.0])
    np.testing.assert_array_equal(clean_results([np.nan, np.nan]), [0.0, 0.0])


@pytest.mark.parametrize(("args", "kwargs", "words"), [
    (("sgd_search", (LR,), [], [], 2), {}, "unknown search method 'sgd_search'; choose one of: "
                                           "grid, random, bayesian"),
    (("grid", (LR,), [], [], 0), {}, "search.round_size: must be between 1"),
    (("grid", (LR,), [], [], 2), {"round_index": -1}, "search.round_index"),
    (("grid", (LR,), [], [], 2), {"seed": -2}, "search.seed"),
    (("grid", (LR,), [], [], 2), {"budget": 0}, "search.budget"),
    (("random", (LR, DROP), [[0.1]], [1.0], 2), {}, r"observed_x: must have shape \(n, 2\)"),
    (("random", (LR,), [[0.1], [0.2]], [1.0], 2), {}, "one result per point"),
    (("random", (LR,), [[-0.1]], [1.0], 2), {}, "> 0 on a log axis"),
    (("random", (DROP,), [[np.nan]], [1.0], 2), {}, "must be finite"),
    (("random", (DROP,), [["a"]], [1.0], 2), {}, "results must be numbers"),
    (("random", (LR, DROP, DROP), [], [], 2), {}, "1 or 2 axes"),
])
def test_propose_refuses_bad_input_with_a_specific_message(args, kwargs, words):
    with pytest.raises(SpecError, match=words):
        propose(*args, **kwargs)


def test_at_edge_names_the_axes_whose_value_sits_at_an_end_of_its_range():
    # log axes in decades: 1e-4..1 is four, so 0.7 (0.16 of a decade from 1) is at it
    assert at_edge((LR, DROP), {"learning_rate": 0.7, "dropout_rate": 0.4}) == [(LR, "high")]
    assert at_edge((LR, DROP), {"learning_rate": 1e-4, "dropout_rate": 0.02}) == [
        (LR, "low"), (DROP, "low")]
    assert at_edge((LR, DROP), {"learning_rate": 0.01, "dropout_rate": 0.79}) == [
        (DROP, "high")]
    assert at_edge((LR,), {"learning_rate": 0.3}) == []  # half a decade inside


def test_at_edge_leaves_out_a_low_end_at_its_floor():
    """A best momentum of 0 or batch of 1 has nothing beyond it to search (a review)."""
    mom = Axis("momentum", 0.0, 0.99)
    assert at_edge((mom,), {"momentum": 0.0}) == [(mom, "low")]
    assert at_edge((mom,), {"momentum": 0.0}, floors={"momentum": 0.0}) == []
    assert at_edge((mom,), {"momentum": 0.99}, floors={"momentum": 0.0}) == [(mom, "high")]
    raised = Axis("momentum", 0.5, 0.99)  # a floor below the range: its low end can move
    assert at_edge((raised,), {"momentum": 0.5}, floors={"momentum": 0.0}) == [
        (raised, "low")]
