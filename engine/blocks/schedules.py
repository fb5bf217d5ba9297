"""Learning-rate schedules as pure functions of a traced step.

optax ships schedules too, but they take Python numbers (and check them in
Python), so changing a decay rate there would rebuild and recompile the
optimizer. Here every number is a traced value: moving a slider never
recompiles. Each schedule returns a multiplier of the base learning rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from engine.registry import Registry

Schedule = Callable[[jax.Array, Any], jax.Array]  # (steps after warm-up, ScheduleValues)

SCHEDULES: Registry[Schedule] = Registry("schedule")
SCHEDULES.register("constant", lambda t, v: jnp.ones_like(t),
                   "The learning rate stays where you set it.")
SCHEDULES.register("step", lambda t, v: v.decay_rate ** jnp.floor(t / v.decay_steps),
                   "The rate drops in stairs: times the decay rate every 'decay steps' steps.")
SCHEDULES.register("exponential", lambda t, v: v.decay_rate ** (t / v.decay_steps),
                   "Smooth decay: the rate shrinks by the decay rate every 'decay steps' steps.")
SCHEDULES.register(
    "cosine",
    lambda t, v: v.alpha + (1 - v.alpha) * 0.5 * (
        1 + jnp.cos(jnp.pi * jnp.minimum(t / v.decay_steps, 1.0))),
    "Half a cosine from the full rate down to alpha x rate (alpha: 0 unless a link "
    "sets it) over 'decay steps' steps, then flat.",
)
SCHEDULES.retitle({"constant": "Constant", "step": "Step decay",
                   "exponential": "Exponential decay", "cosine": "Cosine decay"})


def learning_rate(name: str, step: jax.Array, v: Any, base: jax.Array) -> jax.Array:
    """The learning rate at optimizer step ``step`` (0-based), a float32 scalar.

    A linear warm-up over ``v.warmup_steps`` steps (0 = none) comes first; the
    schedule ``name`` then runs from the end of the warm-up.

    Args:
        name: a ``SCHEDULES`` entry.
        step: the step, an int32 scalar.
        v: a ``ScheduleValues``: warmup_steps, decay_steps, decay_rate, alpha.
        base: the learning rate the schedule multiplies.
    """
    t = step.astype(jnp.float32)
    w = v.warmup_steps
    warm = jnp.where(w > 0, jnp.minimum(1.0, (t + 1.0) / jnp.maximum(w, 1.0)), 1.0)
    decay = SCHEDULES.get(name)(jnp.maximum(t - w, 0.0), v)
    return base * warm * decay
