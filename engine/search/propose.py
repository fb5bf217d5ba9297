"""Proposing a search's next round of hyperparameters, and the surrogate's picture.

``propose`` is stateless: it is given everything tried so far (real units) and the
round's number, and returns the next ``round_size`` points (real units), the same
for the same inputs. ``STRATEGIES`` (concept "search method") holds grid, random and
bayesian, each a function of a ``Request`` returning unit coordinates.

Bayesian search, in this order:

- opening: while fewer results exist than a Latin hypercube of ``max(2d + 1,
  round_size)`` points (fixed by the seed), the next points of that design;
- then, the candidates of a dense grid (1-D: 256 points, 2-D: 32 x 32) with the
  largest expected improvement under the GP (``gp.py``); EI is taken on standardised
  targets, so ``xi`` = 0.01 means a hundredth of the results' spread;
- batch heuristic, the pessimistic *constant liar* (CL-max; Ginsbourger, Le Riche &
  Carraro 2010): after choosing a point, pretend it was evaluated and returned the
  worst result seen so far, with the hyperparameters kept, and recompute. The lie
  raises the mean within about a length scale of the point, so the next pick goes
  somewhere else worth trying. (The *kriging believer*, which lies with the posterior
  mean, was tried first: near a confident optimum it filled a round of 6 with
  neighbouring grid cells, 0.03 apart; CL-max spread the same rounds 0.1 to 0.4 apart
  and reached Forrester's minimum as fast or faster.) The opening's points still
  pending in the same round get the same lie. A candidate within half a grid step of
  a tried or chosen point is never picked, and where EI underflows to 0 everywhere the
  pick is the largest std (nothing to gain: learn something).

Diverged runs (non-finite results) count as the worst finite result seen: the
region is bad, which is information worth keeping; with no finite result at all
every result counts as 0 and the search explores by std alone.

May import: numpy, jax, and engine.errors, engine.registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from engine.errors import SpecError
from engine.registry import Registry
from engine.search.gp import capacity_for, expected_improvement, fit_hyperparameters, predict
from engine.search.space import (
    FIELD,
    Space,
    _count,
    _uniform,
    check_space,
    from_unit,
    grid_per_axis,
    latin_hypercube,
    to_unit,
    unit_grid,
)

RESOLUTION = {1: 256, 2: 32}  # candidates per axis of the Bayesian search's dense grid
MAX_RESOLUTION = {1: 2048, 2: 128}  # the picture's limit (the GP runs on every point)
XI = 0.01  # EI's margin, in standardised units (see the module docstring)
MAX_ROUND = 1024


class Request(NamedTuple):
    """What a strategy is given (validated by ``propose``).

    Attributes:
        space: the axes.
        x: (n, d) tried points, unit coordinates.
        y: (n,) their results (lower is better; may hold nan/inf).
        round_size: how many points to propose.
        seed, round_index: the search's seed and this round's number (from 0).
        budget: the whole search's size (the grid's size), or None.
    """

    space: Space
    x: np.ndarray
    y: np.ndarray
    round_size: int
    seed: int
    round_index: int
    budget: int | None


def _grid(req: Request) -> np.ndarray:
    """The untried points of the budget's grid, in grid order, at most round_size."""
    d = len(req.space)
    per_axis = grid_per_axis(req.budget or req.round_size, d)
    points = unit_grid(per_axis, d)
    tol = min(1e-4, 0.25 / max(per_axis - 1, 1))  # float32 round trips, well below a step
    if len(req.x):  # a grid point counts as tried if a result sits on it
        near = np.abs(points[:, None, :] - req.x[None, :, :]).max(axis=-1) < tol
        points = points[~near.any(axis=1)]
    return points[: req.round_size]


def _random(req: Request) -> np.ndarray:
    """round_size uniform points, a stream of their own per (seed, round)."""
    return _uniform((req.seed, req.round_index), req.round_size, len(req.space))


def clean_results(y: np.ndarray) -> np.ndarray:
    """Results with every non-finite one replaced by the worst (largest) finite one;
    all zeros when none is finite. (n,) float64."""
    y = np.asarray(y, np.float64)
    ok = np.isfinite(y)
    if not ok.any():
        return np.zeros_like(y)
    return np.where(ok, y, y[ok].max())


def _buffers(x: np.ndarray, y: np.ndarray, cap: int) -> tuple[np.ndarray, ...]:
    """Fixed-size float32 buffers (CAP, d), (CAP,), mask (CAP,) holding x and y first."""
    n, d = x.shape
    xb = np.zeros((cap, d), np.float32)
    yb = np.zeros(cap, np.float32)
    mask = np.zeros(cap, bool)
    xb[:n], yb[:n], mask[:n] = x, y, True
    return xb, yb, mask


def _bayesian(req: Request) -> np.ndarray:
    """The opening design, then EI maxima with the constant liar (module docstring)."""
    d, n = len(req.space), len(req.y)
    # A three-int seed: a stream apart from random search's (seed, round).
    opening = latin_hypercube(max(2 * d + 1, req.round_size), d, (req.seed, 0, 0))
    chosen = list(opening[n: n + req.round_size])  # empty once the opening is spent
    if len(chosen) == req.round_size:
        return np.array(chosen)
    y = clean_results(req.y)
    xb, yb, mask = _buffers(req.x, y, capacity_for(n + req.round_size))
    params = fit_hyperparameters(xb, yb, mask)
    cand = unit_grid(RESOLUTION[d], d).astype(np.float32)
    step = 0.5 / (RESOLUTION[d] - 1)
    blocked = np.zeros(len(cand), bool)
    for point in (*req.x, *chosen):
        blocked |= np.abs(cand - point).max(axis=1) < step
    y_mean, y_std = float(params.y_mean), float(params.y_std)
    best = (y.min() - y_mean) / y_std if n else 0.0
    lie = y.max() if n else 0.0  # the worst result so far (see the module docstring)
    slot = n
    for point in chosen:  # the opening's points still pending in this round
        xb[slot], yb[slot], mask[slot] = point, lie, True
        slot += 1
    while len(chosen) < req.round_size and not blocked.all():
        mean, std = (np.asarray(a, np.float64) for a in predict(params, xb, yb, mask, cand))
        ei = np.asarray(expected_improvement((mean - y_mean) / y_std, std / y_std, best, XI))
        score = np.where(blocked, -np.inf, ei)
        if not score.max() > 0:  # EI underflowed everywhere: explore instead
            score = np.where(blocked, -np.inf, std)
        pick = int(np.argmax(score))
        chosen.append(cand[pick].astype(np.float64))
        blocked[pick] = True
        xb[slot], yb[slot], mask[slot] = cand[pick], lie, True
        slot += 1
    return np.array(chosen).reshape(-1, d)


STRATEGIES: Registry[Callable[[Request], np.ndarray]] = Registry("search method")
STRATEGIES.register("grid", _grid, "Every point of an even grid (log axes evenly in decades), "
                                   "in order, until the budget is spent.")
STRATEGIES.register("random", _random, "Fresh points drawn uniformly each round "
                                       "(log axes: each decade equally likely).")
STRATEGIES.register("bayesian", _bayesian, "A Gaussian process models the results so far; "
                                           "each round tries where the expected improvement "
                                           "is largest.")
STRATEGIES.retitle({"grid": "Grid", "random": "Random", "bayesian": "Bayesian"})


def _observed(space: Space, observed_x: Any, observed_y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated (x in unit coordinates (n, d), y (n,) float64)."""
    d = len(space)
    try:
        x = np.asarray(observed_x, np.float64)
        y = np.asarray(observed_y, np.float64)
    except (TypeError, ValueError) as err:
        raise SpecError(f"{FIELD}.observed", f"results must be numbers ({err})") from None
    x = x.reshape(0, d) if x.size == 0 else x
    if x.ndim != 2 or x.shape[1] != d:
        raise SpecError(f"{FIELD}.observed_x", f"must have shape (n, {d}), got {x.shape}")
    if y.shape != (len(x),):
        raise SpecError(f"{FIELD}.observed_y",
                        f"must have shape ({len(x)},), one result per point, got {y.shape}")
    u = to_unit(space, x)
    if not np.isfinite(u).all():
        raise SpecError(f"{FIELD}.observed_x",
                        "every tried point must be finite (and > 0 on a log axis)")
    return u, y


def propose(method: str, space: Space, observed_x: Any, observed_y: Any, round_size: int,
            seed: int = 0, round_index: int = 0, *, budget: int | None = None) -> np.ndarray:
    """The next round's points, (k, d) in real units; k = ``round_size`` except for grid
    when fewer untried grid points remain (0 once the grid is done) and for bayesian
    when every candidate is taken.

    Args:
        method: a name in ``STRATEGIES``.
        space: one or two axes.
        observed_x: (n, d) points tried so far, real units; observed_y: (n,) their
            results, lower is better (non-finite = diverged; see the module docstring).
        round_size: points per round. seed, round_index: make every answer reproducible.
        budget: the whole search's size; grid search lays out floor(budget^(1/d))^d
            points (default: ``round_size``, the whole grid in one round).
    """
    strategy = STRATEGIES.get(method, f"{FIELD}.method")
    space = check_space(space)
    round_size = _count(round_size, f"{FIELD}.round_size", 1, MAX_ROUND)
    round_index = _count(round_index, f"{FIELD}.round_index", 0)
    seed = _count(seed, f"{FIELD}.seed", 0, 2**63 - 1)
    if budget is not None:
        budget = _count(budget, f"{FIELD}.budget")
    x, y = _observed(space, observed_x, observed_y)
    unit = strategy(Request(space, x, y, round_size, seed, round_index, budget))
    return from_unit(space, unit)


def surrogate_picture(space: Space, observed_x: Any, observed_y: Any,
                      resolution: int | None = None) -> dict[str, Any]:
    """The GP's view of the results on a dense grid, for the page to draw (NumPy, real units).

    Returns a dict:
        ``axes``: per axis, its ``resolution`` grid values (R,);
        ``x``: (R^d, d) the grid points, first axis slowest (2-D reshapes to (R, R));
        ``mean``, ``std``, ``ei``: (R^d,) posterior mean, its std, expected improvement
        (all nan before any result); ``best``: the best (cleaned) result, nan if none;
        ``observed_x``, ``observed_y``: the results as drawn (non-finite ones replaced);
        ``length_scale`` (d,) in unit coordinates, ``signal_std``, ``noise_std`` in the
        results' units: the fitted hyperparameters (nan before any result).
    """
    space = check_space(space)
    d = len(space)
    res = RESOLUTION[d] if resolution is None else _count(
        resolution, f"{FIELD}.resolution", 2, MAX_RESOLUTION[d])
    ticks = np.linspace(0.0, 1.0, res)
    cand = unit_grid(res, d)
    x, y = _observed(space, observed_x, observed_y)
    y = clean_results(y)
    nan = np.full(len(cand), np.nan)
    out: dict[str, Any] = {
        "axes": [axis.from_unit(ticks) for axis in space], "x": from_unit(space, cand),
        "mean": nan, "std": nan, "ei": nan, "best": float("nan"),
        "observed_x": from_unit(space, x), "observed_y": y,
        "length_scale": np.full(d, np.nan), "signal_std": float("nan"),
        "noise_std": float("nan"),
    }
    if not len(y):
        return out
    xb, yb, mask = _buffers(x, y, capacity_for(len(y)))
    params = fit_hyperparameters(xb, yb, mask)
    mean, std = (np.asarray(a, np.float64) for a in
                 predict(params, xb, yb, mask, cand.astype(np.float32)))
    y_mean, y_std = float(params.y_mean), float(params.y_std)
    ei = expected_improvement((mean - y_mean) / y_std, std / y_std,
                              (y.min() - y_mean) / y_std, XI)
    signal = float(np.sqrt(params.signal_var)) * y_std
    out.update(mean=mean, std=std, ei=np.asarray(ei, np.float64) * y_std, best=float(y.min()),
               length_scale=np.asarray(params.length_scale, np.float64), signal_std=signal,
               noise_std=signal * float(np.sqrt(params.noise_ratio)))
    return out
