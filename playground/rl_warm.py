"""What the Reinforcement learning page compiles before its visitors need it: every
speed of a network, in the background once per process (``warm``), and the server
warm-up's entry for the default network (``warm_default``, listed by
``warmup.others_of_the_app``); and the frame's episode, evaluation and Q-value slice
calls, which the warm-up runs as a frame does."""

from __future__ import annotations

import threading
from typing import Any

import jax

from engine.rl import SOURCE, DQNConfig, dqn
from playground.core import warmup
from playground.rl_frame import OMEGA_MAX, SLICE_RESOLUTION

SPEEDS = (10, 100, 200)  # iterations per frame: each compiles once (warmed per network)
SPEED = 100
EVAL_EPISODES = 100

_warmed: set = set()  # network structures whose speeds compiled (per process, not per user)
_warm_lock = threading.Lock()


def _speeds() -> tuple[int, ...]:
    """Every speed, the default first: Play's frames use it."""
    return (SPEED, *(n for n in SPEEDS if n != SPEED))


def _compile(c: DQNConfig, speeds: tuple[int, ...]) -> None:
    state = dqn.init(c)
    for n in speeds:
        dqn.train(state, n)


def warm(c: DQNConfig) -> None:
    """Compile every speed of ``c``'s network in the background, once per process (off
    with the server's warm-up, as in the tests; left to it while it is due to)."""
    structure = dqn.structure_of(c)
    with _warm_lock:
        if (structure in _warmed or not warmup.enabled()
                or warmup.waiting_for(structure) is not None):
            return
        _warmed.add(structure)
    threading.Thread(target=_compile, args=(c, _speeds()), name="rl-warm", daemon=True).start()


def warm_key() -> Any:
    """The server warm-up's key of the default network (``warmup.waiting_for``)."""
    return dqn.structure_of(SOURCE)


def warm_default() -> threading.Thread | None:
    """Compile what a visit of the default runs (the server's warm-up,
    ``warmup.others_of_the_app``): in this thread the first frame's episode, evaluation
    and Q-value slice and Play's speed, so that its visitors wait for no more; the other
    speeds in a background thread, returned (None: a visit compiled them already)."""
    with _warm_lock:
        if warm_key() in _warmed:
            return None
        _warmed.add(warm_key())
    state = dqn.init(SOURCE)
    episode_and_return(state, SOURCE, 1)
    q_slice(state)
    dqn.train(state, SPEED)
    rest = threading.Thread(target=_compile, args=(SOURCE, _speeds()[1:]), name="rl-warm",
                            daemon=True)
    rest.start()
    return rest


def episode_and_return(state: Any, c: DQNConfig, rid: int, evaluate: bool = True
                       ) -> tuple[Any, float | None]:
    """Rollout ``rid``'s greedy episode and (``evaluate``) the greedy mean return: what
    a frame and the warm-up (``warm_default``) run alike."""
    key = jax.random.fold_in(jax.random.PRNGKey(c.seed), rid)
    ep = dqn.rollout(state, key)
    return ep, (dqn.evaluate(state, jax.random.fold_in(key, 1), EVAL_EPISODES)
                if evaluate else None)


def q_slice(state: Any) -> Any:
    """The Q-values over the slice of states the view draws."""
    return dqn.q_slice(state, SLICE_RESOLUTION, omega_max=OMEGA_MAX)
