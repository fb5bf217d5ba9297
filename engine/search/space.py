"""Search spaces: the axes a hyperparameter search walks, and the plain designs on them.

An ``Axis`` is one hyperparameter's range (linear or log10); a ``Space`` is a tuple
of one or two axes. Everything the surrogate sees lives in *unit coordinates*: each
axis mapped linearly (log axes: their log10 mapped linearly) onto [0, 1], so a
length scale of 0.1 means "a tenth of the range" whatever the axis. ``grid`` and
``random_points`` return points in real units, shape (n, d) with d = len(space).

May import: numpy, jax (a PRNG key may seed ``random_points``) and engine.errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from engine.errors import SpecError

FIELD = "search"  # prefix of every field a SpecError names here
MAX_AXES = 2  # a page can draw a 1-D curve or a 2-D map; more is no longer a picture
MAX_POINTS = 100_000  # a budget beyond this is a typo, not a search


def _number(value: Any, field: str) -> float:
    """``value`` as a finite float, or a SpecError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SpecError(field, f"must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise SpecError(field, f"must be finite, got {value!r}")
    return out


def _count(value: Any, field: str, low: int = 1, high: int = MAX_POINTS) -> int:
    """``value`` as an int in [low, high], or a SpecError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise SpecError(field, f"must be a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise SpecError(field, f"must be between {low} and {high}, got {int(value)}")
    return int(value)


@dataclass(frozen=True)
class Axis:
    """One hyperparameter's range.

    Attributes:
        name: the hyperparameter (``"learning_rate"``, ``"l2_rate"``, ...); the caller
            maps names to values, this module only carries it.
        low, high: the range's ends in real units, ``low < high``.
        log: whether the axis is spaced in log10 (then ``low > 0``).
    """

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError(f"{FIELD}.axis", f"an axis needs a name, got {self.name!r}")
        where = f"{FIELD}.{self.name}"
        low = _number(self.low, f"{where}.low")
        high = _number(self.high, f"{where}.high")
        if not isinstance(self.log, bool | np.bool_):
            raise SpecError(f"{where}.log", f"must be true or false, got {self.log!r}")
        if not low < high:
            raise SpecError(f"{where}.high", f"must be above low ({low:g}), got {high:g}")
        if self.log and low <= 0:
            raise SpecError(f"{where}.low", f"must be > 0 on a log axis, got {low:g}")
        # Frozen: normalise the numbers once, so every later use sees floats.
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(self.log))

    def _ends(self) -> tuple[float, float]:
        return (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)

    def to_unit(self, x: Any) -> np.ndarray:
        """Real value(s) -> unit coordinate(s): 0 at ``low``, 1 at ``high`` (same shape).

        Log axes map log10(x) linearly, so each decade gets the same share."""
        x = np.asarray(x, np.float64)
        a, b = self._ends()
        with np.errstate(divide="ignore", invalid="ignore"):  # x <= 0 gives nan: the caller checks
            t = np.log10(x) if self.log else x
        return (t - a) / (b - a)

    def from_unit(self, u: Any) -> np.ndarray:
        """Unit coordinate(s) -> real value(s) (same shape); exact at u = 0 and u = 1,
        so a grid's endpoints are ``low`` and ``high`` to the last bit."""
        u = np.asarray(u, np.float64)
        a, b = self._ends()
        t = a + u * (b - a)
        x = np.power(10.0, t) if self.log else t
        return np.where(u == 0.0, self.low, np.where(u == 1.0, self.high, x))


Space = tuple[Axis, ...]
"""One or two axes; ``check_space`` enforces it."""


def check_space(space: Any) -> Space:
    """``space`` as a tuple of 1 or 2 distinct ``Axis``, or a SpecError."""
    if isinstance(space, Axis):
        space = (space,)
    if not isinstance(space, Sequence) or isinstance(space, str):
        raise SpecError(f"{FIELD}.axes", f"must be a list of axes, got {type(space).__name__}")
    space = tuple(space)
    if not 1 <= len(space) <= MAX_AXES:
        raise SpecError(f"{FIELD}.axes",
                        f"a search walks 1 or {MAX_AXES} axes, got {len(space)}")
    for i, axis in enumerate(space):
        if not isinstance(axis, Axis):
            raise SpecError(f"{FIELD}.axes[{i}]", f"must be an Axis, got {type(axis).__name__}")
    names = [axis.name for axis in space]
    if len(set(names)) != len(names):
        raise SpecError(f"{FIELD}.axes", f"each hyperparameter once, got {names}")
    return space


def to_unit(space: Space, x: Any) -> np.ndarray:
    """Points in real units (n, d) -> unit coordinates (n, d), float64."""
    space = check_space(space)
    x = np.asarray(x, np.float64).reshape(-1, len(space))
    return np.stack([axis.to_unit(x[:, j]) for j, axis in enumerate(space)], axis=1)


def from_unit(space: Space, u: Any) -> np.ndarray:
    """Unit coordinates (n, d) -> points in real units (n, d), float64."""
    space = check_space(space)
    u = np.asarray(u, np.float64).reshape(-1, len(space))
    return np.stack([axis.from_unit(u[:, j]) for j, axis in enumerate(space)], axis=1)


EDGE = 0.05
"""``at_edge``'s margin: a share of each axis (of its decades, on a log axis)."""


def at_edge(space: Space, values: Mapping[str, float], margin: float = EDGE,
            floors: Mapping[str, float | None] | None = None) -> list[tuple[Axis, str]]:
    """Each axis whose value in ``values`` (axis name -> real value) lies within
    ``margin`` of an end of its range, with that end ("low" or "high"): a search's best
    there may have a better value beyond it (widen the range and search again).
    ``floors``: per axis name, the least value there is (momentum 0, one unit); a low
    end at it has nothing beyond, and is not reported."""
    out = []
    for ax in space:
        u = float(ax.to_unit(values[ax.name]))
        floor = (floors or {}).get(ax.name)
        if u <= margin and not (floor is not None and ax.low <= floor):
            out.append((ax, "low"))
        elif u >= 1 - margin:
            out.append((ax, "high"))
    return out


def grid_per_axis(budget: int, d: int) -> int:
    """Points per axis of the largest full grid within ``budget``: floor(budget^(1/d)).

    Integer arithmetic (``isqrt``), since floating roots of perfect squares can land a
    hair below the integer and lose a whole row."""
    return budget if d == 1 else math.isqrt(budget)


def unit_grid(per_axis: int, d: int) -> np.ndarray:
    """A full grid in unit coordinates, (per_axis**d, d); the first axis varies slowest.

    Evenly spaced with both ends included; one point per axis sits at the centre."""
    ticks = np.linspace(0.0, 1.0, per_axis) if per_axis > 1 else np.array([0.5])
    mesh = np.meshgrid(*([ticks] * d), indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def grid(space: Space, budget: int) -> np.ndarray:
    """A full grid in real units, (n, d) with n = floor(budget^(1/d))^d <= budget.

    Evenly spaced in unit coordinates (log axes: evenly in log10), endpoints included;
    the first axis varies slowest (row-major), so a 2-D result reshapes to (k, k)."""
    space = check_space(space)
    budget = _count(budget, f"{FIELD}.budget")
    return from_unit(space, unit_grid(grid_per_axis(budget, len(space)), len(space)))


def _generator(seed: Any) -> np.random.Generator:
    """NumPy's PCG64 seeded by an int or a sequence of ints (e.g. (seed, round))."""
    seeds = seed if isinstance(seed, Sequence) else (seed,)
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0:
            raise SpecError(f"{FIELD}.seed",
                            f"must be a whole number >= 0 or a PRNG key, got {seed!r}")
    return np.random.default_rng([int(s) for s in seeds])


def _uniform(key_or_seed: Any, n: int, d: int) -> np.ndarray:
    """(n, d) uniform draws in [0, 1): JAX's generator for a PRNG key, else NumPy's."""
    if isinstance(key_or_seed, jax.Array):
        return np.asarray(jax.random.uniform(key_or_seed, (n, d)), np.float64)
    return _generator(key_or_seed).random((n, d))


def random_points(space: Space, budget: int, key_or_seed: Any) -> np.ndarray:
    """``budget`` points drawn uniformly in unit coordinates, in real units (budget, d).

    Deterministic per seed: the same seed (int, sequence of ints, or JAX key) gives the
    same points. On a log axis "uniform" means log-uniform (each decade equally likely)."""
    space = check_space(space)
    budget = _count(budget, f"{FIELD}.budget")
    return from_unit(space, _uniform(key_or_seed, budget, len(space)))


def latin_hypercube(n: int, d: int, seed: Any) -> np.ndarray:
    """``n`` points in unit coordinates (n, d), one in each of the n equal slices of
    every axis (McKay, Beckman & Conover 1979): a spread-out opening design.
    ``seed``: an int or a sequence of ints, as for ``random_points``."""
    rng = _generator(seed)
    slots = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    return (slots + rng.random((n, d))) / n
