"""Experience replay: a fixed-size ring buffer of transitions, as a pytree.

Lin (1992) and Mnih et al. (2015): learning from transitions drawn at random from
the recent past, instead of from the latest ones in order, breaks their correlation
and lets each be used many times. The buffer is a set of arrays of capacity ``N``
(one per field of ``Transition``), the next write position and the number of filled
slots; ``add`` writes a batch at once (one transition per environment) and wraps
around, overwriting the oldest; ``sample`` draws uniformly over the filled slots.
Pure functions: both return new values and never mutate.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Transition(NamedTuple):
    """One step of experience (or a batch, with a leading axis).

    Attributes:
        obs: ``(..., 4)`` float32: the state the action was taken in.
        action: ``(...)`` int32.
        reward: ``(...)`` float32.
        next_obs: ``(..., 4)`` float32: the state it led to (before any reset).
        terminal: ``(...)`` bool: the episode truly ended there (no bootstrapping
            past it; a time-limit truncation is not terminal).
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminal: jax.Array


class Replay(NamedTuple):
    """The ring buffer.

    Attributes:
        data: a ``Transition`` of arrays with leading axis ``N`` (the capacity).
        pos: int32: the slot the next transition goes to.
        size: int32: filled slots, at most ``N``.
    """

    data: Transition
    pos: jax.Array
    size: jax.Array

    @property
    def capacity(self) -> int:
        """``N``, the number of slots (static)."""
        return self.data.action.shape[0]


def empty(capacity: int, obs_dim: int = 4) -> Replay:
    """A buffer of ``capacity`` zeroed slots, none filled."""
    data = Transition(jnp.zeros((capacity, obs_dim), jnp.float32),
                      jnp.zeros((capacity,), jnp.int32), jnp.zeros((capacity,), jnp.float32),
                      jnp.zeros((capacity, obs_dim), jnp.float32),
                      jnp.zeros((capacity,), bool))
    return Replay(data, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def add(buffer: Replay, batch: Transition) -> Replay:
    """Write ``B`` transitions (leading axis ``B <= N``) at ``pos``, wrapping around.

    The oldest slots are overwritten once the buffer is full; ``size`` grows to ``N``.
    """
    n, b = buffer.capacity, batch.action.shape[0]
    if b > n:
        raise ValueError(f"a batch of {b} transitions does not fit a buffer of {n}")
    idx = (buffer.pos + jnp.arange(b)) % n  # (B,)
    data = jax.tree.map(lambda arr, new: arr.at[idx].set(new.astype(arr.dtype)),
                        buffer.data, batch)
    return Replay(data, (buffer.pos + b) % n, jnp.minimum(buffer.size + b, n))


def sample(buffer: Replay, key: jax.Array, batch: int) -> Transition:
    """``batch`` transitions drawn uniformly, with replacement, from the filled slots.

    The filled slots are ``0 .. size - 1`` (``add`` fills from slot 0 and wraps only
    once full), so one uniform index below ``size`` suffices. An empty buffer gives
    slot 0's zeros.
    """
    idx = jax.random.randint(key, (batch,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree.map(lambda arr: arr[idx], buffer.data)
