"""Analytic 2-D loss surfaces for the optimizer race, and every optimizer's path on them.

``SURFACES`` holds functions with a known difficulty (a ravine, Rosenbrock's banana,
Beale's plateau, a saddle, Himmelblau's four minima). ``optimizer_paths`` runs several
optimizer configurations on one of them in one compiled call, with exactly the optax
update rules that train networks (``engine.blocks.optimizers.choose_optimizer``), so
what the race shows is what training does. ``surface_grid`` samples a surface for a
contour plot.

May import: the ground floor, ``engine.blocks`` and ``engine.spec`` (for the
optimizer defaults), plus jax, optax and numpy. Never a UI library.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine.blocks.optimizers import OPTIMIZERS, OptimizerValues, choose_optimizer
from engine.errors import SpecError
from engine.registry import Registry
from engine.spec import OptimizerSpec

MAX_STEPS = 5000
MAX_RESOLUTION = 1000
BOUND = 1e6  # a point farther than this from the origin (any coordinate) has diverged


@dataclass(frozen=True)
class Surface:
    """A loss surface of two parameters.

    Attributes:
        fn: pure jnp function of a point, shape (2,), to a scalar loss.
        start: where the race starts, (x, y), inside ``view``.
        view: ((xmin, xmax), (ymin, ymax)), the region worth drawing.
        minima: the known global minima, each (x, y).
        lr: a learning rate at which plain SGD makes progress without diverging.
        lesson: what the surface teaches, for the page.
    """

    fn: Callable[[jax.Array], jax.Array]
    start: tuple[float, float]
    view: tuple[tuple[float, float], tuple[float, float]]
    minima: tuple[tuple[float, float], ...]
    lr: float
    lesson: str


def ravine(p: jax.Array) -> jax.Array:
    """0.5 (x^2 + 50 y^2): a quadratic with condition number 50, minimum (0, 0)."""
    return 0.5 * (p[0] ** 2 + 50.0 * p[1] ** 2)


def rosenbrock(p: jax.Array) -> jax.Array:
    """(1 - x)^2 + 100 (y - x^2)^2, minimum (1, 1).

    H. H. Rosenbrock, "An automatic method for finding the greatest or least value of
    a function", The Computer Journal 3(3), 175-184 (1960); his start was (-1.2, 1).
    """
    x, y = p[0], p[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def beale(p: jax.Array) -> jax.Array:
    """(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2, minimum (3, 0.5).

    E. M. L. Beale, "On an iterative method for finding a local minimum of a function
    of more than one variable", Technical Report 25, Statistical Techniques Research
    Group, Princeton University (1958).
    """
    x, y = p[0], p[1]
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
            + (2.625 - x + x * y**3) ** 2)


def saddle(p: jax.Array) -> jax.Array:
    """x^2 - y^2 + y^4 / 4: a saddle at (0, 0), minima at (0, +-sqrt 2) with f = -1.

    The quartic term is there so that the surface has minima to land in: a pure
    x^2 - y^2 has none, and every path that leaves the saddle would run off to minus
    infinity (then the race would end in "diverged" for the optimizers that escape,
    which teaches the wrong thing). Near the saddle the two are the same.
    """
    x, y = p[0], p[1]
    return x**2 - y**2 + 0.25 * y**4


def himmelblau(p: jax.Array) -> jax.Array:
    """(x^2 + y - 11)^2 + (x + y^2 - 7)^2: four minima, all with f = 0.

    D. M. Himmelblau, "Applied Nonlinear Programming", McGraw-Hill (1972).
    """
    x, y = p[0], p[1]
    return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2


SURFACES: Registry[Surface] = Registry("surface")
SURFACES.register("ravine", Surface(
    ravine, start=(-5.0, 1.0), view=((-6.0, 6.0), (-2.0, 2.0)), minima=((0.0, 0.0),),
    lr=0.035,
    lesson="A long, narrow valley: 50 times steeper across than along. The gradient points "
           "mostly across it, so gradient descent zig-zags between the walls and crawls "
           "along the floor, and a rate large enough to move fast along the floor (above "
           "2/50 = 0.04) bounces ever higher up the walls and diverges. Momentum piles up "
           "speed along the floor, where every gradient agrees, and reaches the minimum "
           "first; at 0.9 it still swings across the valley, at 0.7 the swings die out "
           "faster. Nesterov's look-ahead is "
           "stiffer across the valley: at this rate it diverges, below about 0.027 it wins "
           "the race. Adam and RMSprop rescale each direction by its own gradient size."),
    "A long narrow valley, much steeper across than along: plain gradient descent "
    "zig-zags across it.")
SURFACES.register("rosenbrock", Surface(
    rosenbrock, start=(-1.2, 1.0), view=((-2.0, 2.0), (-1.0, 3.0)), minima=((1.0, 1.0),),
    lr=0.001,
    lesson="Rosenbrock's banana (1960): finding the curved valley is easy, following its "
           "flat floor round the bend to (1, 1) is hard. The walls are about a thousand "
           "times steeper than the floor, so SGD needs a tiny rate (at 0.01 the walls throw "
           "it out) and then crawls; momentum builds up speed along the floor and gets closest. "
           "Adam moves about one learning rate per step whatever the gradient: slow at "
           "SGD's tiny rate, but safe at rates that throw SGD out (try 0.01 to 0.05). The "
           "log colour scale shows the valley."),
    "Rosenbrock's banana: a curved valley with a nearly flat floor, easy to find and slow "
    "to follow.")
SURFACES.register("beale", Surface(
    beale, start=(1.0, 1.5), view=((-4.5, 4.5), (-4.5, 4.5)), minima=((3.0, 0.5),),
    lr=0.01,
    lesson="Beale's function (1958): a wide, almost flat plateau in the middle and walls "
           "that rise like y^6 near the corners, with the minimum at (3, 0.5) at the end of "
           "a narrow curved valley. The gradient is tiny on the plateau and huge on the "
           "walls, so one learning rate cannot suit every optimizer: at 0.01 SGD walks most "
           "of the way to the minimum (RMSprop, which rescales its steps, gets there), "
           "while momentum, whose velocity makes its steps about ten times larger, is "
           "thrown off a wall; at 0.001 momentum comes closest and SGD is slow."),
    "Beale's function: a flat plateau with very steep walls, so no single learning rate "
    "suits the whole surface.")
SURFACES.register("saddle", Surface(
    saddle, start=(1.5, 0.001), view=((-2.0, 2.0), (-2.0, 2.0)),
    minima=((0.0, 2.0**0.5), (0.0, -(2.0**0.5))), lr=0.05,
    lesson="A saddle point at (0, 0): uphill along x, downhill along y. Starting almost on "
           "the line y = 0, the downhill pull is tiny, so SGD first slides into the saddle "
           "and lingers there, where the gradient is nearly zero, before it rolls off to "
           "one of the two minima at (0, ±1.41). Adam divides each gradient by its own "
           "recent size, so even the tiny pull along y gives full-size steps: it leaves "
           "the saddle in under half SGD's steps, though its momentum then carries it "
           "past the minimum, so it arrives only a little sooner. RMSprop, the same "
           "rescaling without momentum, arrives in about half SGD's steps. "
           "(The y^4/4 term only bends the surface back up far from the saddle so that "
           "there are minima; a pure x^2 - y^2 has none.)"),
    "A saddle point: the gradient almost vanishes there even though it is not a minimum, "
    "and some optimizers stall on it.")
SURFACES.register("himmelblau", Surface(
    himmelblau, start=(0.0, 0.0), view=((-5.0, 5.0), (-5.0, 5.0)),
    minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
            (3.584428, -1.848126)),
    lr=0.01,
    lesson="Himmelblau's function (1972): four valleys, all equally deep (f = 0). Which "
           "one an optimizer ends in depends on where it starts and how it steps, not on "
           "which minimum is better: move the start, or change the optimizer, and watch "
           "the paths split. A network's loss has many such equally good minima."),
    "Himmelblau's function: four equally deep minima, so where you start decides where "
    "you end.")


class Paths(NamedTuple):
    """Every configuration's path (NumPy arrays).

    Attributes:
        points: (N, steps + 1, 2), the start then the point after each step. A path
            that diverged stays at its last good point from then on.
        losses: (N, steps + 1), the surface's value at each point.
        diverged: (N,) bool, True where a step left the finite region (a coordinate
            non-finite or beyond ``BOUND``, or a non-finite loss) and the path stopped.
    """

    points: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray


def default_values(**changes: float) -> OptimizerValues:
    """One configuration's hyperparameters: ``OptimizerSpec``'s defaults with ``changes``.

    Leaves are Python floats. An unknown name raises ``SpecError``.
    """
    spec = OptimizerSpec()
    unknown = sorted(set(changes) - set(OptimizerValues._fields))
    if unknown:
        raise SpecError("optimizer", f"unknown hyperparameter(s) {', '.join(unknown)}; "
                                     f"choose from: {', '.join(OptimizerValues._fields)}")
    return OptimizerValues(**{f: float(changes.get(f, getattr(spec, f)))
                              for f in OptimizerValues._fields})


def stack_values(configs: Sequence[OptimizerValues]) -> OptimizerValues:
    """N configurations' hyperparameters as one ``OptimizerValues`` of (N,) float32 arrays."""
    if not configs:
        raise SpecError("optimizer", "give at least one configuration")
    return OptimizerValues(*(np.asarray([float(getattr(c, f)) for c in configs], np.float32)
                             for f in OptimizerValues._fields))


def _check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) \
            or not 1 <= steps <= MAX_STEPS:
        raise SpecError("steps", f"must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")


def _batched(values: OptimizerValues, n: int) -> OptimizerValues:
    """``values`` with every leaf a (n,) float32 array (a scalar leaf is shared by all)."""
    leaves = []
    for name, leaf in zip(OptimizerValues._fields, values, strict=True):
        arr = np.asarray(leaf, np.float32)
        if arr.ndim == 0:
            arr = np.full((n,), arr, np.float32)
        if arr.shape != (n,):
            raise SpecError(f"optimizer.{name}", f"needs one value per optimizer ({n}), "
                                                 f"got shape {arr.shape}")
        leaves.append(arr)
    return OptimizerValues(*leaves)


def _starts(surface: Surface, start: object, n: int) -> np.ndarray:
    """The (n, 2) float32 start points: the surface's own, one shared (2,) or one per row."""
    arr = np.asarray(surface.start if start is None else start, np.float32)
    if arr.shape == (2,):
        arr = np.broadcast_to(arr, (n, 2))
    if arr.shape != (n, 2):
        raise SpecError("start", f"must be one point (x, y) or one per optimizer ({n}, 2), "
                                 f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(np.abs(arr) > BOUND):
        raise SpecError("start", f"must be finite and within ±{BOUND:g}")
    return np.ascontiguousarray(arr)


@functools.lru_cache(maxsize=64)
def _race(surface: str, names: tuple[str, ...], steps: int) -> Callable:
    """The compiled race for one surface, set of optimizers and step count.

    jit keys its own cache by shapes, so N is the last part of the key; the
    hyperparameters, indices and starts are traced arguments and never recompile.
    """
    fn = SURFACES.get(surface).fn

    def one(index: jax.Array, values: OptimizerValues, start: jax.Array):
        opt = choose_optimizer(names, index, values, values.learning_rate)

        def step(carry, _):
            p, state, dead = carry
            updates, new_state = opt.update(jax.grad(fn)(p), state, p)
            q = optax.apply_updates(p, updates)
            ok = jnp.all(jnp.isfinite(q)) & jnp.all(jnp.abs(q) <= BOUND) & jnp.isfinite(fn(q))
            dead = dead | ~ok
            # Frozen, not clipped: the page shows where it blew up, honestly.
            keep = functools.partial(jnp.where, dead)
            p = keep(p, q)
            state = jax.tree.map(keep, state, new_state)
            return (p, state, dead), p

        carry = (start, opt.init(start), jnp.asarray(False))
        (_, _, dead), ps = jax.lax.scan(step, carry, None, length=steps)
        points = jnp.concatenate([start[None], ps])
        return points, jax.vmap(fn)(points), dead

    return jax.jit(jax.vmap(one))


def optimizer_paths(surface: str, optimizers: tuple[str, ...], values: OptimizerValues,
                    steps: int, start: object = None) -> Paths:
    """Each configuration's path on ``surface`` for ``steps`` steps, in one compiled call.

    Args:
        surface: a ``SURFACES`` name.
        optimizers: N ``OPTIMIZERS`` names, one per configuration (repeats allowed:
            e.g. SGD at two learning rates).
        values: ``OptimizerValues`` with (N,) leaves (``stack_values``) or scalar leaves
            shared by all; ``values.learning_rate`` is each configuration's rate.
        steps: 1 to ``MAX_STEPS``.
        start: None (the surface's start), one (2,) point, or (N, 2) points.

    Returns:
        ``Paths``: points (N, steps + 1, 2), losses (N, steps + 1), diverged (N,).

    Compiles once per (surface, set of optimizer names, steps, N): new learning rates,
    momenta, starts or a reordering of the optimizers reuse the compiled race.
    """
    surf = SURFACES.get(surface, "surface")
    _check_steps(steps)
    names = tuple(optimizers) if not isinstance(optimizers, str) else (optimizers,)
    if not names:
        raise SpecError("optimizers", "give at least one optimizer")
    for i, name in enumerate(names):
        OPTIMIZERS.get(name, f"optimizers[{i}]")
    n = len(names)
    # Registry order, so ("adam", "sgd") and ("sgd", "adam") share one compiled race.
    unique = tuple(name for name in OPTIMIZERS.names() if name in names)
    index = np.asarray([unique.index(name) for name in names], np.int32)
    points, losses, diverged = _race(surface, unique, int(steps))(
        index, _batched(values, n), _starts(surf, start, n))
    return Paths(np.asarray(points), np.asarray(losses), np.asarray(diverged))


@functools.lru_cache(maxsize=16)
def _grid_fn(surface: str) -> Callable:
    fn = SURFACES.get(surface).fn
    return jax.jit(lambda xs, ys: jax.vmap(lambda y: jax.vmap(
        lambda x: fn(jnp.stack([x, y])))(xs))(ys))


def surface_grid(surface: str, resolution: int, log_z: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The surface sampled on a ``resolution`` x ``resolution`` grid over its view.

    Returns:
        xs (R,), ys (R,) and z (R, R) with ``z[i, j] = f(xs[j], ys[i])`` (rows are y,
        as contour plots expect). With ``log_z``, z is log10(1 + f - min f) over the
        grid: steep walls and a flat floor (Rosenbrock, Beale) both stay visible.
    """
    surf = SURFACES.get(surface, "surface")
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer) \
            or not 2 <= resolution <= MAX_RESOLUTION:
        raise SpecError("resolution", f"must be a whole number from 2 to {MAX_RESOLUTION}, "
                                      f"got {resolution!r}")
    (x0, x1), (y0, y1) = surf.view
    xs = np.linspace(x0, x1, resolution, dtype=np.float32)
    ys = np.linspace(y0, y1, resolution, dtype=np.float32)
    z = np.asarray(_grid_fn(surface)(xs, ys))
    if log_z:
        z = np.log10(1.0 + z - z.min())
    return xs, ys, z
