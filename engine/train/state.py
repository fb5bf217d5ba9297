"""Training state: the ``TrainState`` pytree, what a training call returns, and the
structural key of compiled functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from engine.blocks.optimizers import choose_optimizer, structure_optimizer
from engine.model import Network, init_network
from engine.probes import Probes

SPLITS = ("train", "val", "test")
METRICS = ("train_loss", "val_loss", "test_loss", "train_accuracy", "val_accuracy",
           "test_accuracy")
HISTORY = (*METRICS, "learning_rate", "trained")  # columns of a chunk's history table
CAPACITIES = (128, 1024)
"""History buffer sizes of one training call: one compilation each, any count below.

The first is above every live page's frame (at most 100 epochs or steps), so a page's
first frame (count 0), Step and every speed of Play share one compilation."""


class Monitor(NamedTuple):
    """Early-stopping and divergence bookkeeping (all scalars)."""

    best_val: jax.Array  # best validation loss so far (inf before the first epoch)
    best_epoch: jax.Array  # epoch (1-based) of that loss, 0 if none
    bad_epochs: jax.Array  # epochs since the last improvement
    stopped: jax.Array  # early stopping fired
    diverged: jax.Array  # a NaN/inf appeared; the last finite state was kept


class TrainState(NamedTuple):
    """Everything that changes while training, as one pytree.

    Attributes:
        params: list (one per layer, output last) of dicts of arrays.
        opt_state: the optimizer's state (velocities, moments; no hyperparameters).
        model_state: batch-norm running statistics, list per layer.
        key: PRNG key for shuffling and dropout.
        step: optimizer steps taken (int32).
        epoch: epochs completed (int32).
        monitor: early stopping and divergence.
        best_params: parameters at the best validation loss (== params without validation).
        cursor: batches of the current epoch already taken (int32); 0 between epochs.
            Only ``train_chunk(by_steps=True)`` stops inside an epoch; a call by
            epochs starts the epoch over from its first batch.
    """

    params: Any
    opt_state: Any
    model_state: Any
    key: jax.Array
    step: jax.Array
    epoch: jax.Array
    monitor: Monitor
    best_params: Any
    cursor: jax.Array


class Chunk(NamedTuple):
    """What one training call returns besides the new state (host NumPy arrays).

    Attributes:
        history: per-epoch metrics, each (K,): ``METRICS`` plus ``learning_rate``
            and ``trained`` (False for epochs skipped after stopping or divergence).
        probes: ``Probes`` (NumPy arrays) when asked for, else None.
    """

    history: dict[str, np.ndarray]
    probes: Probes | None


CHOSEN = "chosen"
"""A padded network's schedule and weight penalty (``Structure``): the real network's,
picked by traced values (``Values.choices``; the L1 and L2 rates, one of them 0), so
that another pick from those menus compiles nothing. Its optimizer is the real one's
family (``engine.blocks.optimizers.FAMILIES``), picked by ``Values.choices`` too."""


@dataclass(frozen=True)
class Structure:
    """The structural part of an experiment: the cache key of compiled functions.

    Values (learning rate, rates, momentum, ...) are deliberately absent.
    """

    net: Network
    input_dim: int
    optimizer: str  # an ``OPTIMIZERS`` name, or a padded network's ``family_key``
    schedule: str  # a ``SCHEDULES`` name, or ``CHOSEN``
    regularization: str  # "none", "l1", "l2" or ``CHOSEN`` (both, at traced rates)
    clip: bool
    batch_size: int


def init_state(structure: Structure, values: Any, key: jax.Array,
               optimizers: tuple[str, ...] | None = None) -> TrainState:
    """A fresh ``TrainState``: parameters drawn from ``key``, optimizer state built.

    ``values`` is the experiment's ``Values`` (the optimizer's state has the same shape
    whatever the hyperparameters' values). ``optimizers``: a sweep's, whose state is
    the tuple of each one's (``choose_optimizer``); default: the structure's own.
    """
    k_init, k_train = jax.random.split(key)
    params, mstate = init_network(structure.net, k_init)
    opt = values.optimizer
    if optimizers is None:
        opt_state = structure_optimizer(structure.optimizer, None, opt,
                                        opt.learning_rate).init(params)
    else:
        opt_state = choose_optimizer(optimizers, 0, opt, opt.learning_rate).init(params)
    mon = Monitor(jnp.float32(jnp.inf), jnp.int32(0), jnp.int32(0), jnp.bool_(False),
                  jnp.bool_(False))
    return TrainState(params, opt_state, mstate, k_train, jnp.int32(0), jnp.int32(0), mon,
                      params, jnp.int32(0))


def to_numpy(tree: Any) -> Any:
    """Copy a pytree of device arrays to host NumPy arrays (one transfer per leaf)."""
    return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))
