"""The fused training loop: K epochs (or K steps) in one jitted call.

Epochs run inside a ``fori_loop`` (the count is traced: any K up to the capacity
reuses one compilation), each a ``lax.scan`` over its mini-batches. After every
epoch: metrics of every split, divergence (a NaN keeps the last finite state) and
early stopping (the best weights come back, as Keras' ``restore_best_weights``).
Training by steps stops inside an epoch (``TrainState.cursor``) and draws the very
batches training by epochs would.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from engine.model import featurize
from engine.train.pack import all_finite
from engine.train.state import HISTORY, Monitor, TrainState


class Loop(NamedTuple):
    """What one call's epochs share (loop-invariant, built once per call)."""

    fns: Any  # the ``Compiled`` functions of the structure
    evals: tuple[jax.Array, tuple[int, ...]]  # every split's raw inputs, and the sizes
    x_train: jax.Array  # (n, ...) raw training inputs (featurized a batch at a time)
    y_train: jax.Array  # (n, ...) training labels
    batch: Any  # int, or traced with counted data (``counted``)
    steps: Any  # batches per epoch; a last partial batch is skipped
    has_val: Any  # bool, or traced with counted data
    data: Any  # DataArrays
    values: Any  # Values


PACKED_SHUFFLE = 4096
"""Up to this many examples an epoch's order is one sort of packed words (``shuffle``)."""


def shuffle(key: jax.Array, n: int) -> jax.Array:
    """A random permutation of ``range(n)``, (n,) int32.

    Up to ``PACKED_SHUFFLE`` examples: random bits with the index in the low bits,
    sorted as ONE uint32 operand. XLA:CPU sorts a single primitive operand natively
    but calls a comparator per comparison for argsort's two (``jax.random.permutation``),
    which made the shuffle most of a 64-configuration sweep's epoch (1.7 ms of 2.5).
    With at least 20 random bits per example, ties (kept in index order) are rare.
    """
    if n > PACKED_SHUFFLE:
        return jax.random.permutation(key, n)
    low = max(1, (n - 1).bit_length())
    bits = jax.random.bits(key, (n,), jnp.uint32)
    words = (bits >> low) << low | jnp.arange(n, dtype=jnp.uint32)
    return (jnp.sort(words) & jnp.uint32((1 << low) - 1)).astype(jnp.int32)


def shuffle_first(key: jax.Array, capacity: int, n: jax.Array) -> jax.Array:
    """``shuffle(key, n)`` for a traced ``n`` <= ``capacity`` <= ``PACKED_SHUFFLE``:
    (capacity,) int32 whose first ``n`` entries are that very permutation (a padded
    network's epoch, ``engine.train.padded``). JAX's random bits of ``(capacity,)``
    begin with those of ``(n,)`` (threefry is counter based), and the padding sorts
    last."""
    n = jnp.asarray(n, jnp.int32)
    low = jnp.maximum(1, 32 - jax.lax.clz(jnp.maximum(n - 1, 0))).astype(jnp.uint32)
    bits = jax.random.bits(key, (capacity,), jnp.uint32)
    index = jnp.arange(capacity, dtype=jnp.uint32)
    words = jnp.where(index < n.astype(jnp.uint32), (bits >> low) << low | index,
                      jnp.uint32(0xFFFFFFFF))
    return (jnp.sort(words) & ((jnp.uint32(1) << low) - 1)).astype(jnp.int32)


def counted(lp: Loop) -> bool:
    """Whether the data's example counts and batch size are traced (``DataArrays.sizes``:
    a padded network's): then each step reads ``fns.s.batch_size`` rows, the first
    ``batch`` of them real (a 0/1 weight each), and an epoch runs ``steps`` of them."""
    return lp.data.sizes is not None


def counted_order(lp: Loop, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``epoch_order`` of counted data: the same permutation (``shuffle_first``), then
    room for a last step's full window of rows; a step's key is folded from one key."""
    key, k_perm, k_drop = jax.random.split(key, 3)
    rows = lp.fns.s.batch_size
    perm = shuffle_first(k_perm, lp.x_train.shape[0], lp.data.sizes[0])
    return key, jnp.concatenate([perm, jnp.zeros(rows, jnp.int32)]), k_drop


def counted_batch(lp: Loop, perm: jax.Array, k_drop: jax.Array, i: jax.Array
                  ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Step ``i``'s features, labels, 0/1 weights and key from a ``counted_order``."""
    rows = lp.fns.s.batch_size
    idx = jax.lax.dynamic_slice_in_dim(perm, i * lp.batch, rows)
    weights = (jnp.arange(rows) < lp.batch).astype(jnp.float32)
    return batch_features(lp, idx), lp.y_train[idx], weights, jax.random.fold_in(k_drop, i)


def run_counted_epoch(lp: Loop, st: TrainState) -> tuple[TrainState, dict]:
    """``run_epoch`` of counted data: ``steps`` (traced) steps of ``batch`` (traced)
    examples, in the order ``run_epoch`` would draw them."""
    key, perm, k_drop = counted_order(lp, st.key)

    def one(i, carry):
        params, opt_state, mstate, t = carry
        h, y, w, k = counted_batch(lp, perm, k_drop, i)
        params, opt_state, mstate = lp.fns.update(params, opt_state, mstate, t, h, y, k,
                                                  lp.values, weights=w)
        return params, opt_state, mstate, t + 1

    params, opt_state, mstate, t = jax.lax.fori_loop(
        0, lp.steps, one, (st.params, st.opt_state, st.model_state, st.step))
    return end_epoch(lp, st, params, opt_state, mstate, t, key)


def epoch_order(key: jax.Array, n: int, steps: int, batch: int
                ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The epoch's next key, its batch order and dropout keys, from the state's ``key``."""
    key, k_perm, k_drop = jax.random.split(key, 3)
    perm = shuffle(k_perm, n)[: steps * batch]
    return key, perm, jax.random.split(k_drop, steps)


def batch_features(lp: Loop, idx: jax.Array) -> jax.Array:
    """The features of the training examples ``idx`` (batch, F...)."""
    return featurize(lp.fns.s.net, lp.x_train[idx], lp.data.mean, lp.data.std)


def run_epoch(lp: Loop, st: TrainState) -> tuple[TrainState, dict]:
    """One shuffled pass in mini-batches, then the epoch's end."""
    if counted(lp):
        return run_counted_epoch(lp, st)
    key, perm, keys = epoch_order(st.key, lp.x_train.shape[0], lp.steps, lp.batch)

    def one(carry, batch):
        params, opt_state, mstate, t = carry
        idx, k = batch
        # Each step gathers and featurizes its own batch: doing the whole shuffled
        # training set up front costs buffers its size (63 MB for 20,000 MNIST
        # pictures), 40% of an MLP's epoch on CPU.
        params, opt_state, mstate = lp.fns.update(params, opt_state, mstate, t,
                                                  batch_features(lp, idx), lp.y_train[idx],
                                                  k, lp.values)
        return (params, opt_state, mstate, t + 1), None

    (params, opt_state, mstate, t), _ = jax.lax.scan(
        one, (st.params, st.opt_state, st.model_state, st.step),
        (perm.reshape(lp.steps, lp.batch), keys),
        unroll=1)  # unrolling buys little here and doubles compile time
    return end_epoch(lp, st, params, opt_state, mstate, t, key)


def end_epoch(lp: Loop, st: TrainState, params, opt_state, mstate, t: jax.Array,
              key: jax.Array) -> tuple[TrainState, dict]:
    """Metrics, divergence (back to ``st``), early stopping: the epoch's end."""
    m = lp.fns.metrics(params, mstate, lp.evals, lp.data, lp.values)
    return close_epoch(lp.fns, lp.has_val, lp.values, st, params, opt_state, mstate, t, key, m)


def close_epoch(fns: Any, has_val: Any, values: Any, st: TrainState, params, opt_state,
                mstate, t: jax.Array, key: jax.Array, m: dict) -> tuple[TrainState, dict]:
    """The epoch's end given its metrics ``m``: divergence (back to ``st``, the epoch's
    start) and early stopping; returns the new state and the history row. ``has_val``
    is a bool, or a traced one for counted data."""
    m = dict(m)
    finite = jnp.isfinite(m["train_loss"]) & all_finite(params)
    # Divergence keeps the last finite state (the start of this epoch). One cond, not a
    # where per leaf: on CPU every tiny kernel costs ~1 us.
    params, opt_state, mstate, t = jax.lax.cond(
        finite, lambda a, b: a, lambda a, b: b, (params, opt_state, mstate, t),
        (st.params, st.opt_state, st.model_state, st.step))
    epoch = st.epoch + jnp.where(finite, 1, 0)

    def with_val(params):
        mon, es = st.monitor, values.early_stopping
        improved = finite & (m["val_loss"] < mon.best_val - es.min_delta)
        best_params = jax.lax.cond(improved, lambda p, b: p, lambda p, b: b, params,
                                   st.best_params)
        bad = jnp.where(improved, 0, mon.bad_epochs + 1)
        stop = finite & (es.patience > 0) & (bad >= es.patience)
        mon = Monitor(jnp.where(improved, m["val_loss"], mon.best_val),
                      jnp.where(improved, epoch, mon.best_epoch), bad, stop, ~finite)
        # Early stopping keeps the best weights, as Keras' restore_best_weights.
        params = jax.lax.cond(stop, lambda b, p: b, lambda b, p: p, best_params, params)
        return params, best_params, mon

    def without_val(params):
        return params, params, st.monitor._replace(diverged=~finite)

    if isinstance(has_val, bool):
        params, best_params, mon = (with_val if has_val else without_val)(params)
    else:  # counted data: whether there is a validation split is a traced value
        params, best_params, mon = jax.lax.cond(has_val, with_val, without_val, params)
    m["learning_rate"] = fns.learning_rate(st.step, values)
    m["trained"] = finite
    return TrainState(params, opt_state, mstate, key, t, epoch, mon, best_params,
                      jnp.int32(0)), m


def no_metrics() -> dict:
    """The row of an epoch that did not run (stopped, diverged or not yet ended)."""
    m = {k: jnp.float32(jnp.nan) for k in HISTORY[:-1]}
    m["trained"] = jnp.bool_(False)
    return m


def one_step(lp: Loop, st: TrainState) -> tuple[TrainState, dict, jax.Array]:
    """One batch of the epoch at ``st.cursor``; the epoch's end when it is the last."""
    # the same order run_epoch would draw
    if counted(lp):
        key, perm, k_drop = counted_order(lp, st.key)
        h, y, w, k = counted_batch(lp, perm, k_drop, st.cursor)
        params, opt_state, mstate = lp.fns.update(st.params, st.opt_state, st.model_state,
                                                  st.step, h, y, k, lp.values, weights=w)
    else:
        key, perm, keys = epoch_order(st.key, lp.x_train.shape[0], lp.steps, lp.batch)
        idx = jax.lax.dynamic_slice_in_dim(perm, st.cursor * lp.batch, lp.batch)
        params, opt_state, mstate = lp.fns.update(
            st.params, st.opt_state, st.model_state, st.step, batch_features(lp, idx),
            lp.y_train[idx], keys[st.cursor], lp.values)
    moved = st._replace(params=params, opt_state=opt_state, model_state=mstate,
                        step=st.step + 1, cursor=st.cursor + 1)
    # Checked every step: a NaN must not ride along to the end of the epoch.
    ok = all_finite(params)
    halted = st._replace(monitor=st.monitor._replace(diverged=jnp.bool_(True)))
    new = jax.lax.cond(ok, lambda a, b: a, lambda a, b: b, moved, halted)
    # >=: hand-placed points removed mid-epoch can leave the cursor past a shorter
    # epoch's end; that epoch ends now instead of never.
    ended = ok & (new.cursor >= lp.steps)
    new, m = jax.lax.cond(
        ended, lambda s: end_epoch(lp, st, s.params, s.opt_state, s.model_state, s.step, key),
        lambda s: (s, no_metrics()), new)
    return new, m, ended


def fit(lp: Loop, state: TrainState, count: jax.Array, capacity: int,
        by_steps: bool) -> tuple[TrainState, jax.Array, jax.Array]:
    """Train ``count`` (traced, <= ``capacity``) epochs, or that many steps.

    Returns ``(state, table, rows)``: ``table`` is (capacity, len(HISTORY)), a row per
    epoch that ended (rows past the last are NaN), and ``rows`` how many were written.
    Training by epochs returns ``count`` rows: epochs skipped after early stopping or
    divergence are NaN rows (``trained`` not set). The loop ends as soon as the state
    has stopped or diverged; under ``jax.vmap`` (a sweep) when every configuration has,
    so that a search's finished configurations stop costing as a group.
    """
    n = jnp.minimum(count, capacity)

    def going(carry):
        i, st, _, _ = carry
        return (i < n) & ~(st.monitor.stopped | st.monitor.diverged)

    def body(carry):
        i, st, table, rows = carry
        if by_steps:
            st, m, ended = one_step(lp, st)
        else:
            st, m = run_epoch(lp, st)
            ended = jnp.bool_(True)
        row = jnp.stack([m[k].astype(jnp.float32) for k in HISTORY])
        table = jax.lax.dynamic_update_index_in_dim(table, row, rows, 0)
        return i + 1, st, table, rows + ended.astype(jnp.int32)

    table = jnp.full((capacity, len(HISTORY)), jnp.nan, jnp.float32)
    _, state, table, rows = jax.lax.while_loop(going, body,
                                               (jnp.int32(0), state, table, jnp.int32(0)))
    if not by_steps:  # the skipped epochs' rows (NaN: not trained), as the count asked
        rows = n.astype(jnp.int32)
    return state, table, rows
