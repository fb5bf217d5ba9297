"""engine.teach.surfaces: the optimizer race on analytic 2-D surfaces.

The paths must be optax's own updates (checked against a plain Python loop of
``optax.<optimizer>``), the race must not recompile when a number changes, a
divergence must stop the path honestly, and every claim a lesson makes must hold.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from engine.errors import SpecError
from engine.teach.surfaces import (
    BOUND,
    SURFACES,
    default_values,
    optimizer_paths,
    stack_values,
    surface_grid,
)
from engine.train import count_compiles


def _values(*lrs: float, **changes: float):
    return stack_values([default_values(learning_rate=lr, **changes) for lr in lrs])


def _reference(surface: str, opt: optax.GradientTransformation, steps: int) -> np.ndarray:
    """optax's update applied step by step in a plain Python loop: (steps + 1, 2)."""
    fn = SURFACES.get(surface).fn
    p = jnp.asarray(SURFACES.get(surface).start, jnp.float32)
    state = opt.init(p)

    @jax.jit
    def step(p, state):
        updates, state = opt.update(jax.grad(fn)(p), state, p)
        return optax.apply_updates(p, updates), state

    out = [p]
    for _ in range(steps):
        p, state = step(p, state)
        out.append(p)
    return np.stack([np.asarray(q) for q in out])


@pytest.mark.parametrize("name", SURFACES.names())
def test_known_minima_are_flat_and_lowest_and_everything_is_in_view(name):
    surf = SURFACES.get(name)
    (x0, x1), (y0, y1) = surf.view
    assert x0 < surf.start[0] < x1 and y0 < surf.start[1] < y1
    xs, ys, z = surface_grid(name, 201)
    assert xs.shape == ys.shape == (201,) and z.shape == (201, 201)
    assert xs[0] == x0 and xs[-1] == x1 and ys[0] == y0 and ys[-1] == y1
    grad = jax.grad(surf.fn)
    values = []
    for m in surf.minima:
        assert x0 < m[0] < x1 and y0 < m[1] < y1
        point = jnp.asarray(m, jnp.float32)
        assert float(jnp.max(jnp.abs(grad(point)))) < 1e-3, m
        values.append(float(surf.fn(point)))
    assert max(values) - min(values) < 1e-6  # global minima: all equally deep
    assert max(values) <= z.min() + 1e-6  # nothing on the grid lies lower
    # The grid's lowest cell is next to one of the known minima.
    i, j = np.unravel_index(np.argmin(z), z.shape)
    gap = min(np.hypot(xs[j] - mx, ys[i] - my) for mx, my in surf.minima)
    assert gap < 2 * (x1 - x0) / 200 + 2 * (y1 - y0) / 200


def test_grid_rows_are_y_and_log_scale_keeps_the_order():
    xs, ys, z = surface_grid("rosenbrock", 7)
    fn = SURFACES.get("rosenbrock").fn
    assert z[2, 5] == pytest.approx(float(fn(jnp.asarray([xs[5], ys[2]]))), rel=1e-6)
    _, _, logz = surface_grid("rosenbrock", 7, log_z=True)
    assert logz.min() == 0.0
    np.testing.assert_array_equal(np.argsort(z, axis=None), np.argsort(logz, axis=None))


REFERENCES = {  # name -> (optax's own optimizer from the same numbers, its rates per surface)
    "sgd": (lambda lr, v: optax.sgd(lr), {"rosenbrock": 0.001, "ravine": 0.035}),
    "momentum": (lambda lr, v: optax.sgd(lr, momentum=v.momentum),
                 {"rosenbrock": 0.001, "ravine": 0.02}),
    "nesterov": (lambda lr, v: optax.sgd(lr, momentum=v.momentum, nesterov=True),
                 {"rosenbrock": 0.001, "ravine": 0.02}),
    "adam": (lambda lr, v: optax.adam(lr, b1=v.b1, b2=v.b2, eps=v.eps),
             {"rosenbrock": 0.02, "ravine": 0.1}),
    "rmsprop": (lambda lr, v: optax.rmsprop(lr, decay=v.decay, eps=v.eps),
                {"rosenbrock": 0.01, "ravine": 0.05}),
    "adagrad": (lambda lr, v: optax.adagrad(lr, eps=v.eps), {"rosenbrock": 0.1, "ravine": 0.5}),
}


@pytest.mark.parametrize("surface", ["rosenbrock", "ravine"])
def test_every_path_is_optax_applied_step_by_step(surface):
    # Numbers off their defaults, so a hyperparameter wired to the wrong field shows.
    changes = dict(momentum=0.8, b1=0.85, b2=0.99, eps=1e-6, decay=0.95)
    names = tuple(REFERENCES)
    lrs = [REFERENCES[n][1][surface] for n in names]
    paths = optimizer_paths(surface, names, _values(*lrs, **changes), 40)
    assert paths.points.shape == (6, 41, 2) and paths.losses.shape == (6, 41)
    assert not paths.diverged.any()
    v = default_values(**changes)
    for k, name in enumerate(names):
        want = _reference(surface, REFERENCES[name][0](lrs[k], v), 40)
        np.testing.assert_allclose(paths.points[k], want, rtol=1e-5, atol=1e-6, err_msg=name)
        assert np.abs(want[-1] - want[0]).max() > 0.05, name  # the path really moves
    fn = jax.vmap(jax.vmap(SURFACES.get(surface).fn))
    np.testing.assert_allclose(paths.losses, fn(paths.points), rtol=1e-6)


def test_several_optimizers_in_one_call_equal_each_alone():
    names = ("adam", "sgd", "momentum", "adam")
    lrs = (0.02, 0.001, 0.001, 0.05)
    starts = np.array([[-1.2, 1.0], [-1.2, 1.0], [0.5, -0.5], [1.5, 2.5]], np.float32)
    together = optimizer_paths("rosenbrock", names, _values(*lrs), 60, start=starts)
    for k, name in enumerate(names):
        alone = optimizer_paths("rosenbrock", (name,), _values(lrs[k]), 60, start=starts[k])
        np.testing.assert_allclose(together.points[k], alone.points[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(together.losses[k], alone.losses[0], rtol=1e-5, atol=1e-6)


def test_new_numbers_starts_or_order_never_recompile():
    names = ("sgd", "momentum", "adam")
    optimizer_paths("beale", names, _values(0.01, 0.001, 0.01), 25)  # warm
    with count_compiles() as box:
        optimizer_paths("beale", names, _values(0.002, 0.003, 0.2, momentum=0.5, b1=0.7), 25)
        optimizer_paths("beale", ("adam", "sgd", "momentum"), _values(0.1, 0.2, 0.3), 25,
                        start=(2.0, -1.0))
    assert box["compiles"] == 0, box["names"]
    with count_compiles() as box:  # the counter does count: a new step count compiles
        optimizer_paths("beale", names, _values(0.01, 0.001, 0.01), 26)
    assert box["compiles"] >= 1


def test_a_diverging_path_is_flagged_and_frozen_at_its_last_finite_point():
    paths = optimizer_paths("ravine", ("sgd", "sgd"), _values(0.05, 0.035), 100)
    assert paths.diverged.tolist() == [True, False]
    assert np.isfinite(paths.points).all() and np.isfinite(paths.losses).all()
    assert np.abs(paths.points).max() <= BOUND
    blown = paths.points[0]
    assert np.abs(blown[-1]).max() > 1e4  # it really went far before it stopped
    moved = np.flatnonzero(np.any(blown[1:] != blown[:-1], axis=1))
    assert moved[-1] < 99  # it stopped moving before the last step: frozen, not clipped
    assert np.hypot(*paths.points[1, -1]) < 0.2


def test_momentum_crosses_the_ravine_faster_than_sgd_and_nesterov_needs_a_smaller_rate():
    paths = optimizer_paths("ravine", ("sgd", "momentum", "nesterov", "nesterov"),
                            _values(0.035, 0.035, 0.035, 0.025), 100)
    dist = np.hypot(*paths.points[:, -1].T)
    assert dist[1] < 0.3 * dist[0]  # momentum: same rate, same steps, much closer
    assert paths.diverged.tolist() == [False, False, True, False]  # the lesson's claim
    assert dist[3] < dist[0]


def test_adam_escapes_the_saddle_while_sgd_lingers_on_it():
    paths = optimizer_paths("saddle", ("sgd", "adam"), _values(0.05, 0.05), 100)
    sgd, adam = paths.points
    assert np.hypot(*sgd[30]) < 0.1  # SGD sits at the saddle point after 30 steps
    assert abs(adam[30, 1]) > 1.0  # Adam is well away, falling into a minimum
    assert np.argmax(np.abs(adam[:, 1]) > 1) * 2 < np.argmax(np.abs(sgd[:, 1]) > 1)
    for path in (sgd, adam):  # both end in one of the two minima
        assert np.hypot(path[-1, 0], abs(path[-1, 1]) - 2**0.5) < 0.05


def test_rosenbrock_throws_sgd_out_at_a_rate_adam_takes_and_momentum_arrives():
    paths = optimizer_paths("rosenbrock", ("sgd", "adam", "sgd", "momentum"),
                            _values(0.01, 0.01, 0.001, 0.001), 2000)
    assert paths.diverged.tolist() == [True, False, False, False]
    dist = np.hypot(*(paths.points[:, -1] - 1.0).T)
    assert dist[3] < 0.01 and dist[2] > 0.3  # momentum at (1, 1); SGD still crawling


def test_beale_one_rate_does_not_suit_every_optimizer():
    fast = optimizer_paths("beale", ("sgd", "momentum"), _values(0.01, 0.01), 2000)
    slow = optimizer_paths("beale", ("sgd", "momentum"), _values(0.001, 0.001), 2000)
    assert fast.diverged.tolist() == [False, True] and not slow.diverged.any()
    assert np.hypot(*(fast.points[0, -1] - (3.0, 0.5))) < 0.01
    assert slow.losses[1, -1] < 0.01 * slow.losses[0, -1]


def test_the_lessons_hold_at_the_pages_defaults():
    """What each surface's lesson says of the Optimizer paths page's default race (five
    optimizers, the surface's rate, 1000 steps) is what its table shows: the first step
    within 0.01 of a minimum, or the distance left."""
    names = ("sgd", "momentum", "nesterov", "adam", "rmsprop")

    def race(surface):
        s = SURFACES.get(surface)
        paths = optimizer_paths(surface, names, _values(*[s.lr] * 5), 1000)
        gaps = np.linalg.norm(paths.points[:, :, None] - np.array(s.minima)[None, None],
                              axis=-1).min(axis=-1)  # (5, steps + 1)
        first = {n: (int(np.argmax(g <= 0.01)) if (g <= 0.01).any() else None)
                 for n, g in zip(names, gaps, strict=True)}
        return dict(zip(names, paths.diverged.tolist(), strict=True)), first, gaps[:, -1]

    diverged, first, _ = race("saddle")
    assert first["rmsprop"] <= 0.6 * first["sgd"] and first["adam"] < first["sgd"]
    s = SURFACES.get("saddle")  # Adam leaves the saddle (0.3 from a minimum) in under half
    paths = optimizer_paths("saddle", ("sgd", "adam"), _values(s.lr, s.lr), 1000)
    near = np.linalg.norm(paths.points[:, :, None] - np.array(s.minima)[None, None],
                          axis=-1).min(axis=-1) < 0.3
    assert 2 * np.argmax(near[1]) < np.argmax(near[0])
    diverged, first, left = race("beale")
    assert diverged["momentum"] and not diverged["sgd"]
    assert first["sgd"] is None and left[0] < 0.05 and first["rmsprop"] is not None
    diverged, first, left = race("rosenbrock")
    assert not any(diverged.values()) and int(np.argmin(left)) == names.index("momentum")


def test_himmelblau_start_and_optimizer_decide_which_minimum():
    minima = np.array(SURFACES.get("himmelblau").minima)
    starts = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1], [0, 0], [0, 0]], np.float32)
    paths = optimizer_paths("himmelblau", ("sgd",) * 5 + ("momentum",), _values(*[0.01] * 6),
                            500, start=starts)
    gaps = np.linalg.norm(paths.points[:, -1, None] - minima[None], axis=-1)  # (6, 4)
    assert (gaps.min(axis=1) < 1e-3).all()
    found = gaps.argmin(axis=1)
    assert sorted(found[:4]) == [0, 1, 2, 3]  # four starts, four different minima
    assert found[4] != found[5]  # same start, SGD and momentum end apart


def test_bad_input_is_a_spec_error_naming_the_choices():
    v = _values(0.01)
    with pytest.raises(SpecError, match="rosenbrock"):
        optimizer_paths("banana", ("sgd",), v, 10)
    with pytest.raises(SpecError, match="adam"):
        optimizer_paths("ravine", ("lbfgs",), v, 10)
    for steps in (0, 5001, 2.5, True):
        with pytest.raises(SpecError, match="steps"):
            optimizer_paths("ravine", ("sgd",), v, steps)
    with pytest.raises(SpecError, match="learning_rate"):
        optimizer_paths("ravine", ("sgd", "adam"), _values(0.1, 0.2, 0.3), 10)
    with pytest.raises(SpecError, match="start"):
        optimizer_paths("ravine", ("sgd", "adam"), _values(0.1, 0.2), 10, start=np.zeros((3, 2)))
    with pytest.raises(SpecError, match="start"):
        optimizer_paths("ravine", ("sgd",), v, 10, start=(np.nan, 0.0))
    with pytest.raises(SpecError, match="optimizers"):
        optimizer_paths("ravine", (), v, 10)
    with pytest.raises(SpecError, match="resolution"):
        surface_grid("ravine", 1)
    with pytest.raises(SpecError, match="momentun"):
        default_values(momentun=0.5)


def test_defaults_come_from_the_spec_and_scalars_are_shared():
    from engine.spec import OptimizerSpec

    spec = OptimizerSpec()
    assert default_values() == tuple(float(getattr(spec, f)) for f in default_values()._fields)
    shared = optimizer_paths("ravine", ("sgd", "sgd"), default_values(learning_rate=0.02), 20)
    np.testing.assert_array_equal(shared.points[0], shared.points[1])


def test_ravine_lesson_momentum_arrives_first_and_less_momentum_swings_less():
    """The lesson's claim: at the ravine's rate, momentum 0.9 reaches the minimum before
    SGD, and momentum 0.7 sooner still (its swings across the valley die out faster)."""
    from engine.teach.surfaces import default_values, optimizer_paths, stack_values

    values = stack_values([default_values(learning_rate=0.035, momentum=m)
                           for m in (0.0, 0.9, 0.7)])
    paths = optimizer_paths("ravine", ("sgd", "momentum", "momentum"), values, 300)
    near = np.linalg.norm(paths.points, axis=-1) < 0.01  # (3, 301)
    first = [int(np.argmax(row)) if row.any() else 10**9 for row in near]
    assert first[2] < first[1] < first[0] < 10**9
