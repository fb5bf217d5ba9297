"""Reinforcement learning: CartPole in JAX and a DQN that learns to balance it.

``cartpole`` (the environment: pure ``reset`` and ``step``, vmappable), ``replay`` (a
fixed-size ring buffer of transitions), ``dqn`` (the Q-network, the fused
collect-and-learn loop, and its probes: returns, loss, mean Q, epsilon, the Q-values
over a slice of states, a greedy rollout, a greedy evaluation). ``PRESETS`` names a
few runs worth comparing, each with its lesson: ``preset(name)`` gives its
``DQNConfig``.

May import: the ground floor, ``engine.blocks``, ``engine.data``, ``engine.spec``,
``engine.model`` (floor 5, beside ``engine.train``).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.registry import Registry
from engine.rl import cartpole, dqn, replay
from engine.rl.dqn import DQNConfig, DQNLog, DQNState, DQNValues, QSlice


@dataclass(frozen=True)
class RLPreset:
    """A named DQN run and what it teaches."""

    config: DQNConfig
    lesson: str


SOURCE = DQNConfig()
"""The source material's Q-network (64 ReLU units, Adam 0.001, squared error) with a
target network and replay; the loop's other numbers tuned to solve CartPole quickly."""

PRESETS: Registry[RLPreset] = Registry("RL preset")
PRESETS.register(
    "source_dqn",
    RLPreset(SOURCE, "A target network and a replay buffer keep the regression target still "
                     "and the batches uncorrelated: the return climbs to 500 (the time "
                     "limit). Watch for dips later: DQN can forget what it learned, then "
                     "learn it again."),
    "The source material's DQN: 64 ReLU units, Adam 0.001, squared error, target network, "
    "replay.")
PRESETS.register(
    "no_target_network",
    RLPreset(SOURCE.replace(target_period=1, tau=1.0),
             "The target moves with every update: each step chases its own tail, so the "
             "return rises more slowly and falls back more often (mean greedy return over "
             "the first 240,000 steps: 309 against the default's 357, seeds 0-5)."),
    "Bootstraps from the network being trained (target = online every step): unstable.")
PRESETS.register(
    "no_replay",
    RLPreset(SOURCE.replace(buffer_size=SOURCE.batch_size),
             "With a buffer the size of one batch, every update sees only the latest, "
             "strongly correlated steps and forgets the rest: learning is slow and erratic."),
    "A buffer of one batch: learns from the latest transitions only.")
PRESETS.register(
    "tiny_epsilon",
    RLPreset(SOURCE.replace(eps_start=0.001, eps_end=0.001),
             "Epsilon 0.001 from the start: the agent almost never tries what it does not "
             "already prefer. On CartPole that costs little (8 cart-poles from random starts "
             "and a network that keeps changing vary its actions enough): exploration "
             "matters most where rewards are rare, and CartPole pays for every step."),
    "Epsilon 0.001 from the start: never explores.")


def preset(name: str) -> DQNConfig:
    """The ``DQNConfig`` of an ``PRESETS`` entry."""
    return PRESETS.get(name, "preset").config


__all__ = ["PRESETS", "SOURCE", "DQNConfig", "DQNLog", "DQNState", "DQNValues", "QSlice",
           "RLPreset", "cartpole", "dqn", "preset", "replay"]
