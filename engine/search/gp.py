"""A Gaussian-process surrogate, written out in JAX: the picture a Bayesian search draws.

Prior: zero mean on standardised targets, Matern-5/2 covariance with one length scale
per axis (Rasmussen & Williams 2006, *Gaussian Processes for Machine Learning*,
eq. 4.17), plus Gaussian observation noise. Posterior mean and variance are eqs. 2.25
and 2.26 (Algorithm 2.1: one Cholesky factor, two triangular solves).

Observations live in fixed-size buffers: ``x_obs`` (CAP, d) in unit coordinates,
``y_obs`` (CAP,), ``mask`` (CAP,) bool. A masked slot has its kernel row and column
zeroed and 1 on the diagonal, so the covariance is block-diagonal [[K_obs, 0], [0, I]]
and its target is 0: the Cholesky factor, the solves and the log determinant of the
observed block are exactly those of the GP on the observed points alone, and the free
slots contribute nothing. Adding an observation flips one mask bit and writes one row;
the shapes do not change, so nothing recompiles. ``CAPACITIES`` are the buffer sizes
used (a search of up to 64 results factors a 64x64 matrix, not 256x256).

Hyperparameters (length scales, signal variance, noise) are chosen by maximising the
log marginal likelihood (R&W eq. 2.30) over a small fixed grid of length scales and
noise-to-signal ratios, with the signal variance solved in closed form for each (the
maximum a posteriori under a weak inverse-gamma prior, so one or two results do not
give a zero variance). A grid is deterministic and cannot diverge; it is also what
the page can show.

May import: jax, numpy and engine.errors.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve, solve_triangular
from jax.scipy.stats import norm

from engine.errors import SpecError

CAPACITIES = (64, 256)  # observation buffer sizes; the smallest that fits is used
# Length scales in unit coordinates: a twentieth of the range (wiggly) to twice it
# (nearly linear). Fewer per axis in 2-D, where the grid is their product.
LENGTH_SCALES = {1: np.geomspace(0.05, 2.0, 10), 2: np.geomspace(0.05, 2.0, 6)}
# Noise variance as a share of the signal variance, from "exact" to "half noise" (a
# seed-to-seed spread of training results). The floor, 1e-4, is also the
# jitter that keeps a float32 Cholesky factor of a smooth kernel well defined.
NOISE_RATIOS = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
# Inverse-gamma(shape, scale) prior on the signal variance of the standardised targets:
# worth a few pseudo-observations of variance ~1, so one result does not mean "flat".
PRIOR_SHAPE, PRIOR_SCALE = 1.0, 2.0


class GPParams(NamedTuple):
    """The fitted hyperparameters (JAX scalars, a pytree).

    Attributes:
        length_scale: (d,) per axis, in unit coordinates.
        signal_var: prior variance of the standardised function.
        noise_ratio: noise variance / signal variance.
        y_mean, y_std: the standardisation of the targets (real units).
    """

    length_scale: jax.Array
    signal_var: jax.Array
    noise_ratio: jax.Array
    y_mean: jax.Array
    y_std: jax.Array


def capacity_for(n: int) -> int:
    """The smallest buffer size in ``CAPACITIES`` holding ``n`` observations."""
    for cap in CAPACITIES:
        if n <= cap:
            return cap
    raise SpecError("search.budget", f"the Bayesian surrogate holds at most {CAPACITIES[-1]} "
                                     f"results, got {n}")


def matern52(a: jax.Array, b: jax.Array, length_scale: jax.Array) -> jax.Array:
    """Matern-5/2 correlation between rows of ``a`` (n, d) and ``b`` (m, d): (n, m).

    k(r) = (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r), r the distance scaled per axis
    by ``length_scale`` (d,) (R&W eq. 4.17; unit amplitude). Twice differentiable
    samples: smooth enough for loss curves, rougher than the RBF's."""
    diff = (a[:, None, :] - b[None, :, :]) / length_scale
    r = jnp.sqrt(jnp.sum(diff * diff, axis=-1))  # a sum of squares: never negative
    s5r = jnp.sqrt(5.0) * r
    return (1.0 + s5r + s5r * s5r / 3.0) * jnp.exp(-s5r)


def _standardise(y: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(z (CAP,), mean, std): observed targets standardised, free slots 0. Fewer than
    two distinct values give std 1 (a single result fixes the level, not the scale)."""
    n = jnp.maximum(jnp.sum(mask), 1)
    y = jnp.where(mask, y, 0.0)  # a free slot may hold anything, nan included
    mean = jnp.sum(y) / n
    var = jnp.sum(jnp.where(mask, (y - mean) ** 2, 0.0)) / n
    std = jnp.where(var > 1e-12 * (1.0 + mean * mean), jnp.sqrt(var), 1.0)
    return jnp.where(mask, (y - mean) / std, 0.0), mean, std


def _unit_cov(x: jax.Array, mask: jax.Array, length_scale: jax.Array,
              noise_ratio: jax.Array) -> jax.Array:
    """Correlation plus noise (CAP, CAP) of the observed slots, identity on free ones."""
    both = mask[:, None] & mask[None, :]
    eye = jnp.eye(x.shape[0], dtype=x.dtype)
    return jnp.where(both, matern52(x, x, length_scale) + noise_ratio * eye, eye)


def _neg_log_posterior(x: jax.Array, z: jax.Array, mask: jax.Array, length_scale: jax.Array,
                       noise_ratio: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(-log p(z | theta) - log p(signal_var), signal_var) for one grid point theta.

    With K = s * R (R the correlation plus noise ratio), -log p(z) = z'R^-1 z / (2s)
    + (n/2) log s + (1/2) log|R| + const (R&W eq. 2.30); adding the inverse-gamma
    prior, the best s is (z'R^-1 z + 2 scale) / (n + 2 shape + 2)."""
    n = jnp.sum(mask)
    chol = jnp.linalg.cholesky(_unit_cov(x, mask, length_scale, noise_ratio))
    alpha = solve_triangular(chol, z, lower=True)
    quad = alpha @ alpha
    s = (quad + 2 * PRIOR_SCALE) / (n + 2 * PRIOR_SHAPE + 2)
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))  # free slots: log 1 = 0
    nlp = (quad / (2 * s) + 0.5 * n * jnp.log(s) + 0.5 * log_det
           + (PRIOR_SHAPE + 1) * jnp.log(s) + PRIOR_SCALE / s)
    return jnp.where(jnp.isfinite(nlp), nlp, jnp.inf), s  # a failed factor never wins


def _hyper_grid(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (length scales (G, d), noise ratio (G,)) pair the fit tries."""
    ticks = LENGTH_SCALES[d]
    scales = np.stack([m.reshape(-1) for m in np.meshgrid(*([ticks] * d), indexing="ij")], 1)
    reps = len(NOISE_RATIOS)
    return (np.repeat(scales, reps, axis=0).astype(np.float32),
            np.tile(NOISE_RATIOS, len(scales)).astype(np.float32))


@jax.jit
def fit_hyperparameters(x_obs: jax.Array, y_obs: jax.Array, mask: jax.Array) -> GPParams:
    """Choose the hyperparameters for the observed slots (see the module docstring).

    Args: x_obs (CAP, d) unit coordinates, y_obs (CAP,), mask (CAP,) bool.
    Ties go to the first grid point (the shortest length scale, the least noise)."""
    z, mean, std = _standardise(y_obs, mask)
    scales, ratios = _hyper_grid(x_obs.shape[1])
    nlp, s = jax.vmap(lambda ls, g: _neg_log_posterior(x_obs, z, mask, ls, g))(scales, ratios)
    best = jnp.argmin(nlp)
    return GPParams(jnp.asarray(scales)[best], s[best], jnp.asarray(ratios)[best], mean, std)


@jax.jit
def predict(params: GPParams, x_obs: jax.Array, y_obs: jax.Array, mask: jax.Array,
            x_query: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Posterior mean (Q,) and standard deviation (Q,) of the latent function at
    ``x_query`` (Q, d), in the targets' real units, for the given hyperparameters.

    The std is the function's, without the observation noise: how unsure the model is
    of the curve, which is what expected improvement needs (R&W eqs. 2.25-2.26)."""
    z = jnp.where(mask, (y_obs - params.y_mean) / params.y_std, 0.0)
    chol = jnp.linalg.cholesky(_unit_cov(x_obs, mask, params.length_scale, params.noise_ratio))
    k_star = jnp.where(mask[None, :], matern52(x_query, x_obs, params.length_scale), 0.0)
    mean = k_star @ cho_solve((chol, True), z)
    v = solve_triangular(chol, k_star.T, lower=True)  # (CAP, Q)
    var = params.signal_var * (1.0 - jnp.sum(v * v, axis=0))
    std = jnp.sqrt(jnp.maximum(var, 0.0))  # rounding can dip a hair below 0 at a datum
    return mean * params.y_std + params.y_mean, std * params.y_std


@jax.jit
def posterior(x_obs: jax.Array, y_obs: jax.Array, mask: jax.Array,
              x_query: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Fit the hyperparameters to the observed slots, then ``predict``: (mean, std), (Q,).

    Args: x_obs (CAP, d) unit coordinates, y_obs (CAP,), mask (CAP,) bool, x_query (Q, d).
    Only the shapes are compiled in; filling a slot recompiles nothing."""
    return predict(fit_hyperparameters(x_obs, y_obs, mask), x_obs, y_obs, mask, x_query)


@jax.jit
def expected_improvement(mean: jax.Array, std: jax.Array, best: jax.Array | float,
                         xi: jax.Array | float = 0.01) -> jax.Array:
    """Expected improvement below ``best`` (minimisation; Jones, Schonlau & Welch 1998,
    eq. 15): E[max(best - xi - f, 0)] for f ~ N(mean, std^2). Shapes (Q,) -> (Q,), >= 0.

    ``xi`` asks for a margin of improvement (same units as ``mean``), nudging the search
    away from polishing its current best. Where std is 0 it is max(best - xi - mean, 0)."""
    gain = best - xi - mean
    safe = jnp.where(std > 0, std, 1.0)
    u = gain / safe
    ei = gain * norm.cdf(u) + safe * norm.pdf(u)
    ei = jnp.where(std > 0, ei, jnp.maximum(gain, 0.0))
    return jnp.maximum(ei, 0.0)  # the formula is >= 0; float rounding is not always
