"""Hyperparameter search (``engine.hyper``): the designs it claims, the trials it keeps,
the weights it judges by, the errors it raises, and the teaching claims it illustrates.

Every expected number is recomputed here (``np.geomspace``, ``engine.build`` trained
alone), never copied from an earlier run. One small network on 200 points, so every
sweep after the first reuses its compilation.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import engine
import engine.hyper as hyper
from engine.data.base import split_sizes
from engine.hyper import HYPERPARAMETERS, Search, axis
from engine.search import Axis

# One worker runs the module: its module-scoped fixtures are built once, not once a worker.
pytestmark = pytest.mark.xdist_group("hyper")

EPOCHS = 30
BASE = engine.Spec.from_dict({
    "data": {"name": "circle", "n": 200, "noise": 0.1, "val_fraction": 0.2},
    "model": {"layers": [{"type": "dense", "units": 5, "activation": "tanh"}]},
    "optimizer": {"name": "sgd", "learning_rate": 0.05},
    "batch_size": 20,
})
# A regression plane: plain SGD diverges above a learning rate of about 0.5.
PLANE = BASE.updated(data={"name": "reg_plane"})


def _run(search: Search) -> Search:
    while not search.done:
        search = search.next_round()
    return search


def _alone(spec: engine.Spec, raw: engine.RawData | None = None, epochs: int = EPOCHS):
    """``spec`` trained by itself: (experiment, final state, chunk)."""
    exp = engine.build(spec, raw)
    state, chunk = exp.train(exp.init(), epochs)
    return exp, state, chunk


def _values(search: Search, name: str) -> list[float]:
    return [t.values[name] for t in search.trials]


@pytest.fixture(scope="module")
def lr_grid() -> Search:
    """A 1-D grid over a log learning rate, in two rounds (3 + 1)."""
    return _run(Search.start(BASE, [axis("learning_rate", 1e-3, 1.0)], method="grid",
                             budget=4, round_size=3, epochs=EPOCHS))


@pytest.fixture(scope="module")
def l2_grid() -> Search:
    """A grid over the L2 rate at a good learning rate: a strong penalty hurts, so the
    best trial comes from the first of two rounds, not the last."""
    base = BASE.updated(optimizer={"learning_rate": 1.0})
    return _run(Search.start(base, [axis("l2_rate", 1e-5, 0.1)], method="grid", budget=4,
                             round_size=2, epochs=EPOCHS))


# -- grid ---------------------------------------------------------------------------------

def test_grid_on_a_log_axis_tries_exactly_the_grid_in_order(lr_grid):
    s = lr_grid
    assert s.done and s.rounds == 2 and len(s.trials) == 4
    assert [t.round for t in s.trials] == [0, 0, 0, 1]
    got = _values(s, "learning_rate")
    np.testing.assert_allclose(got, np.geomspace(1e-3, 1.0, 4), rtol=1e-12)
    assert got[0] == 1e-3 and got[-1] == 1.0  # the endpoints to the last bit
    ratios = np.array(got[1:]) / np.array(got[:-1])
    np.testing.assert_allclose(ratios, 10.0, rtol=1e-9)  # evenly spaced in decades
    for t in s.trials:
        assert t.spec.optimizer.learning_rate == t.values["learning_rate"]
        assert t.spec == BASE.updated(optimizer={"learning_rate": t.values["learning_rate"]})


def test_grid_in_two_dimensions_is_the_full_product_then_stops():
    # budget 10 in 2-D: a 3 x 3 grid (floor(sqrt(10)) per axis), linear x log.
    axes = [axis("momentum", 0.0, 0.9), axis("l1_rate", 1e-4, 1e-2)]
    s = Search.start(BASE, axes, method="grid", budget=10, round_size=4, epochs=EPOCHS)
    counts = []
    while not s.done:
        s = s.next_round()
        counts.append(len(s.trials))
    # 4 + 4 + 1 points, then a round that finds the grid spent (not the budget).
    assert counts == [4, 8, 9, 9]
    assert s.finished and s.rounds == 3 and len(s.trials) == 9 < s.budget
    want = list(itertools.product(np.linspace(0.0, 0.9, 3), np.geomspace(1e-4, 1e-2, 3)))
    got = [(t.values["momentum"], t.values["l1_rate"]) for t in s.trials]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)  # first axis slowest
    for t in s.trials:
        assert t.spec.optimizer.momentum == t.values["momentum"]
        assert t.spec.regularization.kind == "l1"
        assert t.spec.regularization.rate == t.values["l1_rate"]
    # A spent search answers with itself.
    assert s.next_round() is s


def test_l2_rate_lands_in_the_regularization_section(l2_grid):
    np.testing.assert_allclose(_values(l2_grid, "l2_rate"), np.geomspace(1e-5, 0.1, 4),
                               rtol=1e-12)
    for t in l2_grid.trials:
        assert t.spec.regularization.kind == "l2"
        assert t.spec.regularization.rate == t.values["l2_rate"]
        assert t.spec.optimizer.learning_rate == 1.0


# -- random -------------------------------------------------------------------------------

def test_random_search_is_deterministic_per_seed_and_stays_in_its_ranges():
    axes = [axis("learning_rate", 1e-3, 1.0), axis("momentum", 0.1, 0.9)]

    def search(seed):
        s = Search.start(BASE, axes, method="random", budget=6, round_size=4,
                         epochs=EPOCHS, seed=seed)
        return _run(s)

    a, b, c = search(3), search(3), search(4)
    pa = [tuple(t.values.values()) for t in a.trials]
    assert pa == [tuple(t.values.values()) for t in b.trials]
    assert [t.val_loss for t in a.trials] == [t.val_loss for t in b.trials]
    pc = [tuple(t.values.values()) for t in c.trials]
    assert not set(pa) & set(pc)  # another seed, other points
    for s in (a, c):
        lr, mom = np.array(_values(s, "learning_rate")), np.array(_values(s, "momentum"))
        assert lr.min() >= 1e-3 and lr.max() <= 1.0 and mom.min() >= 0.1 and mom.max() <= 0.9
        assert len(set(lr)) == 6  # each round draws fresh points
        for t in s.trials:
            assert t.spec.optimizer.learning_rate == t.values["learning_rate"]
            assert t.spec.optimizer.momentum == t.values["momentum"]


# -- judging ------------------------------------------------------------------------------

def test_every_trial_keeps_the_best_epoch_of_its_validation_curve(lr_grid):
    for t in lr_grid.trials:
        assert t.curve.shape == (EPOCHS,) and not t.diverged
        assert t.val_loss == pytest.approx(float(t.curve.min()), rel=1e-6)
        assert t.val_loss == pytest.approx(float(t.curve[t.best_epoch - 1]), rel=1e-6)
    # The learning rates really differ in quality, so choosing is not a formality.
    losses = [t.val_loss for t in lr_grid.trials]
    assert max(losses) > 2 * min(losses)


def test_the_best_trial_has_the_lowest_val_loss_and_equals_its_spec_trained_alone(lr_grid):
    best = lr_grid.best()
    assert best is min(lr_grid.trials, key=lambda t: t.val_loss)
    _, state, chunk = _alone(best.spec)
    assert float(state.monitor.best_val) == pytest.approx(best.val_loss, rel=1e-4)
    assert float(chunk.history["val_loss"].min()) == pytest.approx(best.val_loss, rel=1e-4)
    assert int(state.monitor.best_epoch) == best.best_epoch
    np.testing.assert_allclose(best.curve, chunk.history["val_loss"], rtol=2e-4, atol=1e-5)


def test_test_metrics_are_the_best_weights_of_the_best_trial(l2_grid):
    best = l2_grid.best()
    assert best is min(l2_grid.trials, key=lambda t: t.val_loss)
    # The best came from the first round: the kept state must still be its own.
    assert best.round == 0 and l2_grid.rounds == 2
    exp, state, _ = _alone(best.spec)
    alone = exp.metrics(state._replace(params=state.best_params))
    got = l2_grid.test_metrics()
    assert set(got) == set(alone)
    for key, value in alone.items():
        assert got[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert got["val_loss"] == pytest.approx(best.val_loss, rel=1e-5)
    assert got["val_accuracy"] == pytest.approx(best.val_accuracy, abs=1e-6)


def test_nothing_to_report_before_the_first_round():
    s = Search.start(BASE, [axis("learning_rate")], method="random", budget=4, round_size=4,
                     epochs=EPOCHS)
    assert s.best() is None and s.test_metrics() is None and not s.done
    assert s.rounds == 0 and s.trials == ()
    pic = s.picture(resolution=16)
    assert pic["mean"].shape == (16,) and np.isnan(pic["mean"]).all()


def _table(flip_test: bool) -> tuple[engine.Spec, engine.RawData]:
    """Two classes in a disc; with ``flip_test`` the rows that land in the test split
    get the wrong label (the split is ``default_rng(data.seed).permutation``)."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1.0, 1.0, (200, 2))
    y = (np.hypot(x[:, 0], x[:, 1]) < 0.6).astype(np.int64)
    spec = BASE.updated(data={"name": "csv", "seed": 3})
    if flip_test:
        n_train, n_val, _ = split_sizes(200, spec.data.train_fraction, spec.data.val_fraction)
        test_rows = np.random.default_rng(3).permutation(200)[n_train + n_val:]
        y = y.copy()
        y[test_rows] = 1 - y[test_rows]
    return spec, engine.RawData(x, y, "classification", 2, ("a", "b"), ("0", "1"))


def test_the_test_split_never_decides():
    """The same table with its test labels flipped: the test loss now ranks the trials
    upside down, yet every trial and the best are the same; only test_metrics sees it."""
    runs = []
    for flip in (False, True):
        spec, raw = _table(flip)
        runs.append((_run(Search.start(spec, [axis("learning_rate", 1e-3, 3.0)],
                                       method="grid", budget=4, round_size=4, epochs=EPOCHS,
                                       raw=raw)), raw))
    (clean, _), (flipped, raw_flipped) = runs
    # The flip reached the test split and nothing else.
    a, b = (engine.build(s.base, r).dataset.arrays for s, r in runs)
    np.testing.assert_array_equal(np.asarray(a.y_val), np.asarray(b.y_val))
    np.testing.assert_array_equal(np.asarray(a.y_test), 1 - np.asarray(b.y_test))
    for t, u in zip(clean.trials, flipped.trials, strict=True):
        assert t.values == u.values and t.val_loss == u.val_loss
        np.testing.assert_array_equal(t.curve, u.curve)
    assert clean.best().values == flipped.best().values
    assert flipped.test_metrics()["val_loss"] == clean.test_metrics()["val_loss"]
    assert flipped.test_metrics()["test_loss"] > clean.test_metrics()["test_loss"]
    # Each trial's test loss on the flipped table, trained alone: a search that read
    # the test split would choose another trial than the one it chose.
    test_loss = []
    for t in flipped.trials:
        exp, state, _ = _alone(t.spec, raw_flipped)
        test_loss.append(exp.metrics(state._replace(params=state.best_params))["test_loss"])
    by_val = int(np.argmin([t.val_loss for t in flipped.trials]))
    assert flipped.best() is flipped.trials[by_val]
    assert int(np.argmin(test_loss)) != by_val


# -- structural hyperparameters -----------------------------------------------------------

def test_structural_candidates_train_in_one_sweep_per_network(monkeypatch):
    calls = []

    def recording(specs, raw=None):
        calls.append(list(specs))
        return engine.sweep(specs, raw)

    monkeypatch.setattr(hyper, "sweep", recording)
    axes = [axis("units", 2.2, 9.4), axis("learning_rate", 0.05, 1.0)]
    s = Search.start(BASE, axes, method="grid", budget=4, round_size=4, epochs=EPOCHS)
    s = s.next_round()
    assert len(s.trials) == 4 and s.rounds == 1
    # 2 x 2 grid: two networks (2 and 9 units, rounded), two learning rates each.
    assert len(calls) == 2
    for specs in calls:
        assert len(specs) == 2
        assert len({sp.model.layers for sp in specs}) == 1
        assert len({sp.optimizer.learning_rate for sp in specs}) == 2
    assert sorted({t.values["units"] for t in s.trials}) == [2.0, 9.0]
    for t in s.trials:
        assert t.values["units"] == round(t.point[0]) and t.point[0] in (2.2, 9.4)
        units = t.spec.model.layers[0].opts()["units"]
        assert units == t.values["units"] and isinstance(units, int)
        _, state, chunk = _alone(t.spec)
        assert t.val_loss == pytest.approx(float(state.monitor.best_val), rel=1e-4)
        np.testing.assert_allclose(t.curve, chunk.history["val_loss"], rtol=2e-4, atol=1e-5)


def test_batch_size_is_rounded_and_gets_a_sweep_of_its_own(monkeypatch):
    calls = []

    def recording(specs, raw=None):
        calls.append([sp.batch_size for sp in specs])
        return engine.sweep(specs, raw)

    monkeypatch.setattr(hyper, "sweep", recording)
    s = _run(Search.start(BASE, [axis("batch_size", 8, 40)], method="grid", budget=3,
                          round_size=3, epochs=EPOCHS))
    want = [float(round(v)) for v in np.geomspace(8, 40, 3)]
    assert _values(s, "batch_size") == want and want[1] != np.geomspace(8, 40, 3)[1]
    assert sorted(calls) == [[int(v)] for v in want]
    for t in s.trials:
        assert t.spec.batch_size == int(t.values["batch_size"])
    t = s.trials[1]
    _, state, _ = _alone(t.spec)
    assert t.val_loss == pytest.approx(float(state.monitor.best_val), rel=1e-4)


def test_a_grid_over_an_integer_axis_reaches_its_last_points_across_rounds():
    """Rounded values (3.30 -> 3) are not the grid's points: the grid must still count
    3.30 as tried, or the next round proposes it again and 9 is never reached."""
    s = Search.start(BASE, [axis("units", 2, 9)], method="grid", budget=4, round_size=3,
                     epochs=EPOCHS)
    s = _run(s)
    grid = np.geomspace(2, 9, 4)
    assert _values(s, "units") == [float(round(v)) for v in grid] == [2.0, 3.0, 5.0, 9.0]
    np.testing.assert_allclose([t.point[0] for t in s.trials], grid, rtol=1e-12)
    assert [t.round for t in s.trials] == [0, 0, 0, 1]


# -- budget and rounds --------------------------------------------------------------------

def test_budget_and_round_size_decide_the_rounds():
    s = Search.start(BASE, [axis("learning_rate", 1e-3, 1.0)], method="random", budget=10,
                     round_size=4, epochs=EPOCHS, seed=1)
    sizes, rounds = [], []
    while not s.done:
        s = s.next_round()
        sizes.append(len(s.trials))
        rounds.append(s.rounds)
    assert sizes == [4, 8, 10] and rounds == [1, 2, 3]
    assert [t.round for t in s.trials] == [0] * 4 + [1] * 4 + [2] * 2
    assert s.done and not s.finished  # the budget ended it
    assert s.next_round() is s
    one = Search.start(BASE, [axis("learning_rate")], method="random", budget=3,
                       round_size=8, epochs=EPOCHS).next_round()
    assert one.done and one.rounds == 1 and len(one.trials) == 3


# -- Bayesian -----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_bayesian_search_improves_on_its_opening(seed):
    s = Search.start(BASE, [axis("learning_rate", 1e-3, 1.0)], method="bayesian",
                     budget=12, round_size=4, epochs=EPOCHS, seed=seed)
    s = s.next_round()
    # The opening: a Latin hypercube, one point in each quarter of the log range.
    u = np.log10(_values(s, "learning_rate")) / 3.0 + 1.0
    assert sorted(np.minimum(np.floor(u * 4), 3).astype(int)) == [0, 1, 2, 3]
    s = _run(s)
    assert len(s.trials) == 12 and s.rounds == 3
    opening = min(t.val_loss for t in s.trials if t.round == 0)
    later = min(t.val_loss for t in s.trials if t.round > 0)
    assert later <= opening  # the model's picks found something at least as good
    assert s.best().val_loss <= opening

    pic = s.picture()
    for key in ("mean", "std", "ei"):
        assert pic[key].shape == (256,) and np.isfinite(pic[key]).all(), key
    assert (pic["std"] >= 0).all() and (pic["ei"] >= 0).all()
    x, y = s.observed()
    np.testing.assert_allclose(x[:, 0], _values(s, "learning_rate"))
    np.testing.assert_allclose(pic["observed_x"], x, rtol=1e-6)
    np.testing.assert_allclose(pic["observed_y"], y)
    np.testing.assert_allclose(y, np.log10([t.val_loss for t in s.trials]))
    assert pic["best"] == pytest.approx(float(y.min()))
    small = s.picture(resolution=50)
    assert small["mean"].shape == small["std"].shape == small["ei"].shape == (50,)
    assert small["x"].shape == (50, 1)


# -- bad inputs ---------------------------------------------------------------------------

LR = axis("learning_rate", 1e-3, 1.0)


@pytest.mark.parametrize(("make", "field", "message"), [
    (lambda: Search.start(BASE, [LR], method="annealing"), "search.method",
     "unknown search method 'annealing'; choose one of: grid, random, bayesian"),
    (lambda: Search.start(BASE, [Axis("width", 1, 10)]), "search.axes",
     "unknown hyperparameter 'width'; choose one of: " + ", ".join(HYPERPARAMETERS)),
    (lambda: axis("width"), "search.axes", "unknown hyperparameter 'width'"),
    (lambda: Search.start(BASE, [LR], budget=0), "search.budget",
     "must be a whole number from 1 to 256, got 0"),
    (lambda: Search.start(BASE, [LR], budget=10**6), "search.budget",
     "must be a whole number from 1 to 256, got 1000000"),
    (lambda: Search.start(BASE, [LR], budget=8.0), "search.budget", "got 8.0"),
    (lambda: Search.start(BASE, [LR], round_size=0), "search.round_size",
     "must be a whole number from 1 to 256, got 0"),
    (lambda: Search.start(BASE, [LR], epochs=0), "search.epochs",
     "must be a whole number from 1 to 5000, got 0"),
    (lambda: Search.start(BASE.updated(data={"val_fraction": 0.0}), [LR]), "data.val_fraction",
     "a search is decided on the validation split"),
    (lambda: Search.start(BASE, [axis("dropout_rate")]), "search.axes",
     "the network has no dropout layer to set the rate of"),
    (lambda: axis("learning_rate", 0.1, 0.1), "search.learning_rate.high",
     "must be above low (0.1), got 0.1"),
    (lambda: axis("learning_rate", 0.1, 0.01), "search.learning_rate.high",
     "must be above low"),
    (lambda: axis("momentum", 0.0, 0.9, log=True), "search.momentum.low",
     "must be > 0 on a log axis"),
    (lambda: Search.start(BASE, [LR, axis("momentum"), axis("l2_rate")]), "search.axes",
     "a search walks 1 or 2 axes, got 3"),
    (lambda: Search.start(BASE, [LR, axis("learning_rate")]), "search.axes",
     "each hyperparameter once"),
])
def test_bad_inputs_raise_spec_errors(make, field, message):
    with pytest.raises(engine.SpecError) as err:
        make()
    assert err.value.field == field
    assert message in str(err.value)


@pytest.mark.parametrize(("ax", "section"), [
    (axis("learning_rate", 0.1, 1000.0), {"optimizer": {"learning_rate": 1000.0}}),
    (axis("l2_rate", 1e-3, 100.0), {"regularization": {"kind": "l2", "rate": 100.0}}),
    (axis("units", 1, 10**5), {"model": {"layers": [{"type": "dense", "units": 10**5,
                                                     "activation": "tanh"}]}}),
    (axis("batch_size", 0.2, 10.0), {"batch_size": 0}),
])
def test_a_range_the_spec_refuses_raises_the_specs_own_error(ax, section):
    """Both ends are tried before any training; the error is the spec's, word for word."""
    with pytest.raises(engine.SpecError) as want:
        BASE.updated(**section)
    with pytest.raises(engine.SpecError) as got:
        Search.start(BASE, [ax])
    assert got.value.field == want.value.field
    assert str(got.value) == str(want.value)


def test_dropout_rate_is_searchable_on_a_network_with_dropout():
    d = BASE.to_dict()
    d["model"]["layers"].append({"type": "dropout", "rate": 0.1})
    s = Search.start(engine.Spec.from_dict(d), [axis("dropout_rate", 0.0, 0.5)])
    assert s.space[0].name == "dropout_rate" and s.trials == ()


# -- divergence ---------------------------------------------------------------------------

def test_diverged_candidates_are_marked_and_never_the_best():
    s = _run(Search.start(PLANE, [axis("learning_rate", 0.01, 10.0)], method="grid",
                          budget=3, round_size=3, epochs=EPOCHS))
    small, middle, huge = s.trials
    assert huge.values["learning_rate"] == 10.0 and huge.diverged
    assert not small.diverged and not middle.diverged
    assert s.best() is not huge and not s.best().diverged
    assert s.best() is min((small, middle), key=lambda t: t.val_loss)
    assert huge.val_loss > 100 * s.best().val_loss
    # Trained alone, the same spec diverges too.
    _, state, _ = _alone(huge.spec)
    assert bool(state.monitor.diverged)
    # test_metrics still describes the best, finite trial.
    assert s.test_metrics()["val_loss"] == pytest.approx(s.best().val_loss, rel=1e-5)


# -- a teaching claim ---------------------------------------------------------------------

def test_random_search_beats_grid_when_one_hyperparameter_does_not_matter():
    """Bergstra & Bengio (2012): with 9 trials over (learning rate, momentum) and plain
    SGD, which ignores momentum, a 3 x 3 grid tries 3 learning rates and random search
    9; random's best validation loss is lower (averaged over seeds).

    The loss claim holds here because the best learning rate (about 0.1 to 0.3) lies
    between the grid's 0.001, 0.032 and 1 (which diverges); a range whose end is the
    optimum favours the grid instead."""
    axes = [axis("learning_rate", 1e-3, 1.0), axis("momentum", 0.0, 0.99)]
    grid = _run(Search.start(PLANE, axes, method="grid", budget=9, round_size=5,
                             epochs=EPOCHS))
    randoms = [_run(Search.start(PLANE, axes, method="random", budget=9, round_size=5,
                                 epochs=EPOCHS, seed=seed)) for seed in range(4)]
    # Momentum really does not matter: the same learning rate, the same result.
    by_lr: dict[float, set[float]] = {}
    for t in grid.trials:
        by_lr.setdefault(t.values["learning_rate"], set()).add(round(t.val_loss, 6))
    assert len(by_lr) == 3 and all(len(v) == 1 for v in by_lr.values())
    assert len({t.values["momentum"] for t in grid.trials}) == 3
    for r in randoms:
        assert len({t.values["learning_rate"] for t in r.trials}) == 9
    random_best = float(np.mean([r.best().val_loss for r in randoms]))
    assert random_best <= grid.best().val_loss
    assert all(math.isfinite(r.best().val_loss) for r in randoms)


def test_l1_and_l2_rates_together_are_refused():
    with pytest.raises(engine.SpecError, match="L1 or L2"):
        Search.start(BASE, [axis("l1_rate"), axis("l2_rate")], "grid", 4, 4, 5)


def test_dropout_rates_train_in_one_sweep(monkeypatch):
    base = BASE.updated(model={"layers": [{"type": "dense", "units": 4},
                                          {"type": "dropout", "rate": 0.1}]})
    calls = []
    real = hyper.sweep
    monkeypatch.setattr(hyper, "sweep", lambda specs, raw=None: calls.append(len(specs))
                        or real(specs, raw))
    search = Search.start(base, [axis("dropout_rate", 0.0, 0.6)], "grid", 3, 3, 5).next_round()
    assert calls == [3] and len(search.trials) == 3
    rates = sorted(t.spec.model.layers[1].opts()["rate"] for t in search.trials)
    assert rates == pytest.approx([0.0, 0.3, 0.6])


def test_round_flops_bounds_the_next_round_and_grows_with_what_it_trains():
    def flops(**kw):
        args = dict(method="grid", budget=8, round_size=4, epochs=10)
        args.update(kw)
        axes = args.pop("axes", [axis("learning_rate")])
        return Search.start(BASE, axes, **args).round_flops()

    small = flops()
    assert small > 0
    assert flops(epochs=20) == pytest.approx(2 * small)
    assert flops(round_size=8) == pytest.approx(2 * small)  # capacity 8 instead of 4
    # units at the top of the range cost more than the network's own width
    assert flops(axes=[axis("units", 1, 64)]) > 10 * small
    done = _run(Search.start(BASE, [axis("learning_rate")], "grid", 2, 2, 3))
    assert done.round_flops() == 0.0


@pytest.mark.parametrize("method", ["random", "grid"])
def test_a_whole_number_axis_trains_each_value_once(method):
    """units 1..3 cannot give 8 different networks: each width is trained once and the
    search then says it is finished."""
    search = _run(Search.start(BASE, [axis("units", 1, 3, log=False)], method, 8, 4, 3))
    widths = [t.values["units"] for t in search.trials]
    assert len(widths) == len(set(widths)) and set(widths) <= {1.0, 2.0, 3.0}
    assert search.done


def test_a_round_reports_progress_and_a_raise_abandons_it():
    """``progress`` sees the share of the round grow to 1 in calls of
    ``PROGRESS_EPOCHS`` epochs, and the round's trials equal a round without it; raising
    from it (an app's Stop) leaves the search as it was, ready to go on."""
    from engine.sweep import PROGRESS_EPOCHS

    start = Search.start(BASE, [axis("learning_rate")], method="random", budget=8,
                         round_size=4, epochs=120, seed=3)
    shares: list[float] = []
    told = start.next_round(progress=shares.append)
    plain = start.next_round()
    assert len(shares) == math.ceil(120 / PROGRESS_EPOCHS)
    assert shares == sorted(shares) and shares[-1] == pytest.approx(1.0) and shares[0] < 1
    for a, b in zip(told.trials, plain.trials, strict=True):
        assert a.values == b.values
        assert a.val_loss == pytest.approx(b.val_loss, rel=1e-5)
        np.testing.assert_allclose(a.curve, b.curve, rtol=1e-5)

    class Stop(Exception):
        pass

    def stop(share: float) -> None:
        raise Stop

    with pytest.raises(Stop):
        start.next_round(progress=stop)
    assert start.rounds == 0 and not start.trials  # unchanged: nothing half kept
    again = start.next_round()
    assert [t.values for t in again.trials] == [t.values for t in plain.trials]


def test_at_edge_reads_the_best_trial_and_knows_each_hyperparameters_floor(lr_grid):
    best = lr_grid.best().values["learning_rate"]
    ax = lr_grid.space[0]
    assert lr_grid.at_edge() == lr_grid.at_edge({"learning_rate": best})
    assert lr_grid.at_edge({"learning_rate": 1.0}) == [(ax, "high")]
    assert lr_grid.at_edge({"learning_rate": 1e-3}) == [(ax, "low")]  # no floor: 0 is open
    assert lr_grid.at_edge({"learning_rate": 0.03}) == []
    mom = Search.start(BASE, [axis("momentum")], method="grid", budget=2, round_size=2,
                       epochs=EPOCHS)
    assert mom.at_edge() == []  # nothing tried yet
    assert mom.at_edge({"momentum": 0.0}) == []  # momentum's floor: nothing below 0
