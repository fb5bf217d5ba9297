"""CartPole in pure JAX: the classic cart-and-pole of CartPole-v1, vmappable and jittable.

A pole is hinged on a cart that moves along a frictionless track; each step pushes the
cart left (action 0) or right (action 1) with a force of 10 N. The dynamics are those
of Barto, Sutton & Anderson (1983), "Neuronlike adaptive elements that can solve
difficult learning control problems" (IEEE SMC 13(5)), as gymnasium's ``CartPole-v1``
writes them (``gymnasium/envs/classic_control/cartpole.py``): explicit Euler with
``tau = 0.02`` s, reward 1 for every step including the one that ends the episode,
termination when ``|x| > 2.4`` or ``|theta| > 12`` degrees, truncation at 500 steps.
Written in the same order of operations as gymnasium's, so float64 trajectories agree
with it to the last few bits.

Arrays follow their input's dtype: ``reset`` draws in the default float type (float64
when ``jax_enable_x64`` is on) unless told otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds between state updates
X_THRESHOLD = 2.4
THETA_THRESHOLD = 12 * 2 * math.pi / 360  # 12 degrees, in radians (as gymnasium)
MAX_STEPS = 500  # CartPole-v1's time limit
RESET_BOUND = 0.05
OBS_NAMES = ("x", "x_dot", "theta", "theta_dot")


class CartPoleState(NamedTuple):
    """One cart-pole (or a batch, with leading axes under ``vmap``).

    Attributes:
        obs: ``(..., 4)``: cart position x (m), velocity x_dot (m/s), pole angle theta
            (rad, 0 upright, positive leaning right), angular velocity theta_dot (rad/s).
        t: ``(...)`` int32: steps taken in this episode (truncation at ``MAX_STEPS``).
    """

    obs: jax.Array
    t: jax.Array


def reset(key: jax.Array, dtype: jnp.dtype | None = None) -> CartPoleState:
    """A fresh episode: the 4 state values uniform in [-0.05, 0.05), step counter 0."""
    dtype = dtype or jnp.result_type(float)
    obs = jax.random.uniform(key, (4,), dtype, -RESET_BOUND, RESET_BOUND)
    return CartPoleState(obs, jnp.zeros((), jnp.int32))


def dynamics(obs: jax.Array, action: jax.Array) -> jax.Array:
    """One Euler step of the equations of motion: ``(4,)`` state -> ``(4,)`` state.

    ``action`` 1 pushes right, 0 left. The pole's angular acceleration comes from the
    pole's torque balance with the cart's reaction (Barto et al., 1983, eq. 23-24,
    frictionless).
    """
    x, x_dot, theta, theta_dot = obs[0], obs[1], obs[2], obs[3]
    force = jnp.where(action == 1, FORCE_MAG, -FORCE_MAG).astype(obs.dtype)
    costheta, sintheta = jnp.cos(theta), jnp.sin(theta)
    temp = (force + POLEMASS_LENGTH * jnp.square(theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * jnp.square(costheta) / TOTAL_MASS))
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    return jnp.stack([x + TAU * x_dot, x_dot + TAU * xacc,
                      theta + TAU * theta_dot, theta_dot + TAU * thetaacc])


def terminated(obs: jax.Array) -> jax.Array:
    """Whether the cart left the track or the pole fell: bool ``(...)`` for ``(..., 4)``.

    This is the true end of an episode (no bootstrapping past it); a truncation at
    ``MAX_STEPS`` is not.
    """
    return (jnp.abs(obs[..., 0]) > X_THRESHOLD) | (jnp.abs(obs[..., 2]) > THETA_THRESHOLD)


def step(state: CartPoleState, action: jax.Array
         ) -> tuple[CartPoleState, jax.Array, jax.Array]:
    """Apply ``action`` (0 left, 1 right): ``(new_state, reward, done)``.

    ``reward`` is 1 (in the state's dtype) for every step, including the last, as in
    CartPole-v1; ``done`` is termination or truncation at ``MAX_STEPS`` steps. The
    state after ``done`` is the final one (``reset_where`` starts the next episode).
    """
    obs = dynamics(state.obs, action)
    t = state.t + 1
    done = terminated(obs) | (t >= MAX_STEPS)
    return CartPoleState(obs, t), jnp.ones((), obs.dtype), done


def reset_where(state: CartPoleState, done: jax.Array, key: jax.Array) -> CartPoleState:
    """A batch of ``E`` cart-poles where those ``done`` ``(E,)`` start a new episode."""
    fresh = jax.vmap(lambda k: reset(k, state.obs.dtype))(jax.random.split(key, done.shape[0]))
    return CartPoleState(jnp.where(done[:, None], fresh.obs, state.obs),
                         jnp.where(done, fresh.t, state.t))


class Episode(NamedTuple):
    """One episode run for a fixed number of steps, frozen after it ends.

    Attributes:
        obs: ``(steps + 1, 4)``: the states, the start first; repeats after the end.
        actions: ``(steps,)`` int32: the action taken from each state.
        alive: ``(steps,)`` bool: whether step i happened (the episode had not ended).
        ret: scalar: the episode's return (its number of steps).
    """

    obs: jax.Array
    actions: jax.Array
    alive: jax.Array
    ret: jax.Array


def run_episode(policy: Callable[[jax.Array], jax.Array], start: CartPoleState,
                steps: int = MAX_STEPS) -> Episode:
    """Run ``policy`` (``(4,)`` obs -> action) from ``start`` for ``steps`` steps.

    A fixed-length ``lax.scan`` with a mask, so that many episodes vmap into one call;
    once ``done``, the state stays as it was and no reward is counted.
    """
    def one(carry, _):
        state, alive = carry
        action = policy(state.obs).astype(jnp.int32)
        new, reward, done = step(state, action)
        kept = jax.tree.map(lambda a, b: jnp.where(alive, a, b), new, state)
        return (kept, alive & ~done), (kept.obs, action, alive, reward * alive)

    _, (obs, actions, alive, rewards) = jax.lax.scan(
        one, (start, jnp.ones((), bool)), None, length=steps)
    return Episode(jnp.concatenate([start.obs[None], obs]), actions, alive, rewards.sum())
