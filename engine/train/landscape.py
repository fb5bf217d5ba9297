"""The loss landscape of a trained network: its loss over a 2-D plane through its weights.

After Li, Xu, Taylor, Studer and Goldstein, "Visualizing the Loss Landscape of Neural
Nets" (NeurIPS 2018, arXiv:1712.09913). The plane is ``theta + a d1 + b d2`` around the
trained parameters ``theta``, and the surface is the loss at every ``(a, b)`` of a grid:

* ``directions="random"`` (the paper's section 4): two Gaussian directions, each filter
  rescaled to the norm of the same filter in ``theta`` (``filter_normalized_direction``).
  A plain Gaussian direction moves small filters proportionally far more than large
  ones, and networks that differ only by a per-filter rescaling (which ReLU and batch
  norm make equivalent) would look different; filter normalisation removes that.
  ``a = 1`` moves every filter by its own norm.
* ``directions="pca"`` (the paper's section 7): the two principal directions of the
  training trajectory's displacements ``theta_t - theta``. Random directions in a space
  of thousands of dimensions are nearly orthogonal to the path the optimizer took, so
  a trajectory projected on them barely moves; its principal plane holds most of it.

The loss is the model's own evaluation loss (``Compiled.metrics``: evaluation mode,
data loss without the L1/L2 penalty, on the first ``EVAL_TRAIN`` training examples for
``split="train"``): the number the training history reports, so the plane's centre is
``Experiment.metrics(state)["train_loss"]``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from engine.cost import evaluated
from engine.errors import DataError, SpecError
from engine.train.compile import compiled
from engine.train.state import SPLITS, Structure
from engine.train.step import is_weight

DIRECTIONS = ("random", "pca")
"""How the plane's two directions are chosen (see the module's docstring)."""

RESOLUTIONS = (3, 101)
"""Smallest and largest number of grid points per axis (101 x 101 = 10,201 networks)."""

PCA_MARGIN = 1.25
"""With pca directions at ``span=1``, each axis reaches 25% past the trajectory's
farthest point on it, so the whole path lies inside the plane with some ground around."""

PLANE_ELEMENTS = 1 << 24
"""Parameter values of grid points evaluated together (vmapped): 64 MB of float32."""

_BLOCK = 1 << 20  # columns of a float64 product at a time (``_products``)


class Landscape(NamedTuple):
    """The loss over a plane through the weights (host NumPy arrays).

    Attributes:
        alphas: (R,) coordinates along the first direction ``d1``.
        betas: (R,) coordinates along the second direction ``d2``.
        loss: (R, R) the loss at ``params + alphas[j] d1 + betas[i] d2`` in row i,
            column j (rows = beta, columns = alpha, as an image is drawn).
        path: (T, 2) each trajectory point's (alpha, beta): its least-squares
            projection on the plane (exact with pca directions when the trajectory
            lies in a 2-D plane through the final parameters); (0, 2) without one.
        path_loss: (T,) the loss at those projected points, on the plane: it equals
            the trajectory's own loss only where the projection is exact.
        center_loss: the loss at ``params`` itself.
    """

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    path: np.ndarray
    path_loss: np.ndarray
    center_loss: float


def _leaf_name(path: tuple) -> str:
    """A parameter's name: the key of the innermost dict holding it."""
    return str(getattr(path[-1], "key", "")) if path else ""


def filter_normalized_direction(params: Any, key: jax.Array) -> Any:
    """A Gaussian direction shaped like ``params``, filter by filter as large as them.

    Li et al.'s filter normalisation (section 4): a weight of shape (..., units) (dense
    (in, out), conv (kh, kw, cin, cout), recurrent and attention matrices, embedding
    tables) is a bank of ``units`` filters, one per output unit or channel, each the
    slice ``w[..., j]``. Filter j of the direction is drawn from N(0, 1) and rescaled to
    the norm of filter j of ``params`` (a dead filter of norm 0 gets 0). Biases, norm
    scales and offsets, PReLU slopes and learned positions are set to 0: the paper's
    "ignore biases and BN parameters" choice, which keeps the plane about the weights.

    Args:
        params: a parameters tree (list per layer of dicts of arrays).
        key: PRNG key; each leaf draws from its own split of it.

    Returns:
        A tree of float32 arrays with the structure and shapes of ``params``.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    keys = jax.random.split(key, max(len(leaves), 1))
    out = []
    for (path, p), k in zip(leaves, keys, strict=False):
        p = jnp.asarray(p, jnp.float32)
        if not (is_weight(_leaf_name(path)) and p.ndim >= 2):
            out.append(jnp.zeros_like(p))
            continue
        d = jax.random.normal(k, p.shape, jnp.float32)
        axes = tuple(range(p.ndim - 1))  # every axis but the filters' (the last)
        p_norm = jnp.sqrt(jnp.sum(p * p, axes, keepdims=True))
        d_norm = jnp.sqrt(jnp.sum(d * d, axes, keepdims=True))
        out.append(d * (p_norm / jnp.maximum(d_norm, 1e-30)))
    return jax.tree_util.tree_unflatten(treedef, out)


def random_directions(params: Any, seed: int) -> tuple[Any, Any]:
    """The plane's two random directions for ``seed``: ``filter_normalized_direction``
    of the two halves of ``jax.random.split(jax.random.PRNGKey(seed))``."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return filter_normalized_direction(params, k1), filter_normalized_direction(params, k2)


def _products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` in float64 for float32 rows (m, P) and (n, P), a block of columns at a
    time: exact enough for projections, without a float64 copy of a whole trajectory."""
    out = np.zeros((a.shape[0], b.shape[0]))
    for s in range(0, a.shape[1], _BLOCK):
        out += a[:, s:s + _BLOCK].astype(np.float64) @ b[:, s:s + _BLOCK].astype(np.float64).T
    return out


def _combine(coeffs: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """``coeffs @ moves`` in float64 for coefficients (k, T) and float32 rows (T, P), a
    block of columns at a time."""
    out = np.empty((coeffs.shape[0], moves.shape[1]))
    for s in range(0, moves.shape[1], _BLOCK):
        out[:, s:s + _BLOCK] = coeffs @ moves[:, s:s + _BLOCK].astype(np.float64)
    return out


def _displacements(params: Any, trajectory: list[Any]) -> np.ndarray:
    """(T, P) float32: each trajectory point minus ``params``, flattened."""
    flat = np.asarray(ravel_pytree(params)[0], np.float32)
    shapes = [np.shape(x) for x in jax.tree_util.tree_leaves(params)]
    struct = jax.tree_util.tree_structure(params)
    rows = []
    for t, point in enumerate(trajectory):
        if (jax.tree_util.tree_structure(point) != struct
                or [np.shape(x) for x in jax.tree_util.tree_leaves(point)] != shapes):
            raise DataError(f"trajectory point {t} is not shaped like the parameters: every "
                            "point must be a parameters tree of the same network")
        rows.append(np.asarray(ravel_pytree(point)[0], np.float32) - flat)
    return np.stack(rows) if rows else np.zeros((0, flat.size), np.float32)


def _pca_directions(params: Any, moves: np.ndarray, seed: int) -> np.ndarray:
    """(2, P) orthonormal rows: the top two principal directions of ``moves`` (T, P).

    Uncentred (Li et al.'s matrix of ``theta_t - theta_n``; sklearn's PCA would centre):
    the plane passes through the final parameters, and these two directions capture the
    most of the squared distances from them. They come from the small (T, T) Gram
    matrix, never a (P, P) one. A path on a straight line has no second direction: a
    random filter-normalised one, made orthogonal to the first, completes the plane.
    """
    if moves.shape[0] == 0:
        raise DataError("pca directions need a trajectory: pass trajectory=[params of "
                        "earlier epochs, oldest first]")
    lam, u = np.linalg.eigh(_products(moves, moves))  # ascending eigenvalues
    lam, u = lam[::-1], u[:, ::-1]
    if not lam[0] > 0:
        raise DataError("pca directions need a trajectory that moves: every point of it "
                        "equals the final parameters")
    rows = list(_combine(u[:, :2].T, moves))
    if len(lam) < 2 or not lam[1] > 1e-10 * lam[0]:
        rows = rows[:1]
        d = np.asarray(ravel_pytree(random_directions(params, seed)[0])[0], np.float64)
        r0 = rows[0] / np.linalg.norm(rows[0])
        rows.append(d - (d @ r0) * r0)
    return np.stack([r / np.linalg.norm(r) for r in rows]).astype(np.float32)


def _project(directions: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """(T, 2): the least-squares coordinates of each move on the two directions' span.

    Random directions are not orthogonal (nearly, in high dimension), so the normal
    equations use their (2, 2) Gram matrix; its pseudo-inverse copes with parallel ones.
    """
    gram = _products(directions, directions)
    return _products(moves, directions) @ np.linalg.pinv(gram).T


def _half_widths(directions: str, span: float, path: np.ndarray) -> tuple[float, float]:
    """Each axis reaches ``span`` filter-normalised units (random), or ``span`` times the
    path's extent on it with a margin (pca: those units are parameter-space distances,
    so no fixed number fits every network)."""
    if directions != "pca":
        return span, span
    reach = np.max(np.abs(path), axis=0) * PCA_MARGIN * span
    top = float(np.max(reach))
    # A path on a line has no extent across it: show as much across as along.
    return tuple(float(r) if r > 1e-6 * top else top for r in reach)


def _only(data: Any, split: str) -> Any:
    """``data`` with every other split emptied: the pass evaluates one split, not three
    (each example's evaluation-mode loss does not depend on the others)."""
    return data._replace(**{f"{kind}_{s}": getattr(data, f"{kind}_{s}")[:0]
                            for s in SPLITS if s != split for kind in ("x", "y")})


@functools.partial(jax.jit, static_argnames=("structure", "split", "batch"))
def _plane_losses(params: Any, model_state: Any, d1: Any, d2: Any, coords: jax.Array,
                  data: Any, values: Any, *, structure: Structure, split: str,
                  batch: int) -> jax.Array:
    """(N,) the loss at ``params + a d1 + b d2`` for each row (a, b) of ``coords`` (N, 2).

    One compiled call for every point; ``lax.map`` vmaps ``batch`` points at a time so
    memory stays bounded. Batch-norm running statistics stay the trained ones.
    """
    fns = compiled(structure)
    evals = fns.eval_inputs(data)

    def loss_at(ab: jax.Array) -> jax.Array:
        p = jax.tree_util.tree_map(lambda w, u, v: w + ab[0] * u + ab[1] * v, params, d1, d2)
        return fns.metrics(p, model_state, evals, data, values)[f"{split}_loss"]

    return jax.lax.map(loss_at, coords, batch_size=batch)


def _check(resolution: Any, span: Any, seed: Any, split: Any, directions: Any,
           data: Any) -> None:
    lo, hi = RESOLUTIONS
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer) \
            or not lo <= resolution <= hi:
        raise SpecError("resolution", f"grid points per axis must be an integer from {lo} "
                                      f"to {hi}, got {resolution!r}")
    if isinstance(span, bool) or not isinstance(span, int | float | np.number) \
            or not math.isfinite(span) or span <= 0:
        raise SpecError("span", f"the plane's half-width must be a finite number > 0, "
                                f"got {span!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise SpecError("seed", f"the seed must be an integer, got {seed!r}")
    if directions not in DIRECTIONS:
        raise SpecError("directions", f"unknown directions {directions!r}: choose "
                                      f"{' or '.join(DIRECTIONS)}")
    if split not in SPLITS:
        raise SpecError("split", f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    if getattr(data, f"x_{split}").shape[0] == 0:
        hint = {"val": " (set data.val_fraction > 0 to hold one out)"}.get(split, "")
        raise DataError(f"the {split} split has no examples, so it has no loss "
                        f"landscape{hint}")


def loss_landscape(structure: Structure, data: Any, values: Any, params: Any,
                   model_state: Any, *, trajectory: list[Any] | None = None,
                   resolution: int = 21, span: float = 1.0, seed: int = 0,
                   split: str = "train", directions: str = "random") -> Landscape:
    """The loss over the plane ``params + a d1 + b d2`` (Li et al. 2018), with the
    training trajectory projected on it.

    Args:
        structure, data, values: the experiment's (``exp.structure``,
            ``exp.dataset.arrays``, ``exp.values``).
        params, model_state: the trained state's (``state.params``,
            ``state.model_state``); the plane's centre.
        trajectory: parameter trees along training, oldest first (e.g. ``state.params``
            saved every few epochs); the last is usually ``params``.
        resolution: R, grid points per axis, 3 to 101 (odd puts ``params`` on the grid).
        span: each axis is ``linspace(-h, h, R)``, ``h = span`` filter-normalised units
            for random directions, ``span`` times 1.25 times the path's reach on that
            axis for pca ones.
        seed: draws the random directions (``random_directions``); with pca, only the
            second direction of a path on a straight line.
        split: "train", "val" or "test": whose loss.
        directions: "random" (filter-normalised) or "pca" (of the trajectory).

    Returns:
        A ``Landscape``: all R*R grid points, the centre and the path's T points are
        evaluated in one compiled call.

    Raises:
        SpecError: a resolution, span, seed, split or directions out of range.
        DataError: an empty split; a trajectory point shaped unlike ``params``; pca
            directions without a trajectory that moves.
    """
    _check(resolution, span, seed, split, directions, data)
    moves = _displacements(params, list(trajectory or []))  # (T, P)
    _, unravel = ravel_pytree(params)
    if directions == "pca":
        rows = _pca_directions(params, moves, seed)
        d1, d2 = unravel(jnp.asarray(rows[0])), unravel(jnp.asarray(rows[1]))
    else:
        d1, d2 = random_directions(params, seed)
        rows = np.stack([np.asarray(ravel_pytree(d)[0], np.float32) for d in (d1, d2)])
    path = _project(rows, moves)
    ha, hb = _half_widths(directions, float(span), path)
    alphas = np.linspace(-ha, ha, resolution, dtype=np.float32)
    betas = np.linspace(-hb, hb, resolution, dtype=np.float32)
    aa, bb = np.meshgrid(alphas, betas)  # (R, R): row i is betas[i], column j alphas[j]
    coords = np.concatenate([np.stack([aa.ravel(), bb.ravel()], 1), np.zeros((1, 2)),
                             path]).astype(np.float32)
    one = _only(data, split)
    n = evaluated(one.x_train.shape[0], one.x_train.shape[0] + one.x_val.shape[0]
                  + one.x_test.shape[0])
    # Grid points vmapped at once: their activations fit one evaluation chunk's bound,
    # and their copies of the parameters fit PLANE_ELEMENTS.
    batch = max(1, min(compiled(structure).eval_chunk // n, PLANE_ELEMENTS // rows.shape[1],
                       len(coords)))
    losses = np.asarray(_plane_losses(params, model_state, d1, d2, jnp.asarray(coords), one,
                                      values, structure=structure, split=split, batch=batch))
    r2 = resolution * resolution
    return Landscape(alphas, betas, losses[:r2].reshape(resolution, resolution),
                     path.astype(np.float32), losses[r2 + 1:], float(losses[r2]))


__all__ = ["DIRECTIONS", "PCA_MARGIN", "RESOLUTIONS", "Landscape", "filter_normalized_direction",
           "loss_landscape", "random_directions"]
