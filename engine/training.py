"""Training: a ``TrainState`` pytree and one jitted function that trains K epochs.

``train_chunk`` runs K epochs with ``jax.lax.scan`` (epochs outside, mini-batch
steps inside), evaluates train/validation/test loss and accuracy after every
epoch, applies early stopping and divergence detection, and optionally
returns the probes for the app's pictures. Everything numeric that a user can
change without changing shapes (learning rate, momentum, regularisation rate,
dropout rate, ...) enters as the ``values`` pytree, so changing it never
recompiles; the compiled functions are cached by ``Structure`` alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine.cost import EVAL_ELEMENTS, estimate
from engine.data import DataArrays
from engine.layers import LAYERS
from engine.losses import LOSSES
from engine.model import Network, apply_network, featurize, init_network, output_layer
from engine.optimizers import make_optimizer, set_hyperparams
from engine.probes import (
    HIST_BINS,
    Probes,
    grid_points,
    grid_shape,
    histogram,
    layer_stats,
    tree_norm,
)
from engine.schedules import learning_rate
from engine.sequence_probes import sequence_probes

SPLITS = ("train", "val", "test")
METRICS = ("train_loss", "val_loss", "test_loss", "train_accuracy", "val_accuracy",
           "test_accuracy")
HISTORY = (*METRICS, "learning_rate", "trained")  # columns of a chunk's history table
CAPACITIES = (32, 1024)  # history buffer sizes: one compilation each, any K below
PROBE_EXAMPLES = 512  # gradient and layer probes read at most this many training examples


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
        opt_state: optax state, hyperparameters included.
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


@dataclass(frozen=True)
class Structure:
    """The structural part of an experiment: the cache key of compiled functions.

    Values (learning rate, rates, momentum, ...) are deliberately absent.
    """

    net: Network
    input_dim: int
    optimizer: str
    schedule: str
    regularization: str  # "none", "l1" or "l2"
    clip: bool
    batch_size: int


def is_weight(name: str) -> bool:
    """Whether a parameter is a weight matrix (or an embedding table) that L1/L2 shrink.

    Weights are named ``w``, ``wx``, ``wh``, ``wq``, ``w1``, ... (``*_rev`` for the
    backward direction) and ``table``; biases, norms' scales and offsets, learned
    positions and PReLU slopes are left alone.
    """
    return name.startswith("w") or name == "table"


def _penalty(kind: str, params, values) -> jax.Array:
    """L1 or L2 penalty on weights (``is_weight``), never biases or norms' scales."""
    ws = [v for p in params for name, v in p.items() if is_weight(name)]
    if kind == "l1":
        return values["l1"] * sum(jnp.sum(jnp.abs(w)) for w in ws)
    if kind == "l2":
        # 0.5 w^2, whose gradient is w: TensorFlow Playground's L2.
        return values["l2"] * 0.5 * sum(jnp.sum(w * w) for w in ws)
    return jnp.float32(0.0)


class Compiled:
    """The jitted functions of one ``Structure``; build through ``compiled()``."""

    def __init__(self, s: Structure):
        self.s = s
        # Forward passes over whole splits run in chunks of this many examples, so
        # that evaluation's memory stays bounded whatever the data's size.
        self.eval_chunk = estimate(s.net.layers, s.net.in_shape, output_layer(s.net),
                                   s.net.init, 1, EVAL_ELEMENTS, 1).eval_chunk
        self.loss_fn = LOSSES.get(s.net.loss).fn
        self.train_chunk = jax.jit(self._train_chunk,
                                   static_argnames=("capacity", "probes", "resolution",
                                                    "neuron_resolution", "layers",
                                                    "sequence", "gradients", "by_steps"))
        self.layouts: dict[tuple, Layout] = {}  # how to unpack train_chunk's flat output
        self.probe = jax.jit(self._probe, static_argnames=("resolution", "neuron_resolution",
                                                           "layers", "sequence", "gradients"))
        self.evaluate = jax.jit(self._evaluate)
        self.step = jax.jit(self._step)
        self.predict = jax.jit(self._predict)

    # -- pieces -------------------------------------------------------------------------
    def example_losses(self, z: jax.Array, o: jax.Array, y: jax.Array) -> jax.Array:
        """Loss per example, (batch,).

        Per-token outputs z, o (batch, T, out) with targets y (batch, T) give each
        sequence the mean loss over its steps that have a target (class -1 = none).
        """
        head = self.s.net.head
        if y.ndim == 1:
            return self.loss_fn(z, o, y, head)
        b, t = y.shape
        valid = (y >= 0) if head.task == "classification" else jnp.ones(y.shape, bool)
        flat = self.loss_fn(z.reshape(b * t, -1), o.reshape(b * t, -1),
                            jnp.where(valid, y, 0).reshape(-1), head).reshape(b, t)
        return jnp.sum(flat * valid, -1) / jnp.maximum(jnp.sum(valid, -1), 1)

    def example_hits(self, o: jax.Array, y: jax.Array) -> jax.Array:
        """Accuracy per example, (batch,): 0/1, or the share of right steps per sequence."""
        head = self.s.net.head
        if y.ndim == 1:
            return (head.predict(o) == y).astype(jnp.float32)
        b, t = y.shape
        valid = y >= 0
        hits = (head.predict(o.reshape(b * t, -1)).reshape(b, t) == y) & valid
        return jnp.sum(hits, -1) / jnp.maximum(jnp.sum(valid, -1), 1)

    def _objective(self, params, mstate, h, y, values, key, train):
        """Mean data loss + regularisation on one batch; aux: (data loss, new state)."""
        z, o, mstate, _ = apply_network(self.s.net, params, mstate, h, values, key=key,
                                        train=train)
        data = jnp.mean(self.example_losses(z, o, y))
        return data + _penalty(self.s.regularization, params, values), (data, mstate)

    def _update(self, params, opt_state, mstate, step, h, y, key, values):
        """One optimizer step on features h (batch, F) (or sequences) and labels y."""
        grads, (_, mstate) = jax.grad(self._objective, has_aux=True)(
            params, mstate, h, y, values, key, True)
        if self.s.clip:  # clip by global norm; the threshold is a traced value
            norm = tree_norm(grads)
            scale = jnp.minimum(1.0, values["clip_norm"] / jnp.maximum(norm, 1e-12))
            grads = jax.tree_util.tree_map(lambda g: g * scale, grads)
        lr = learning_rate(self.s.schedule, step, values)
        opt_state = set_hyperparams(self.s.optimizer, opt_state, values, lr)
        tx = make_optimizer(self.s.optimizer, values)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, mstate

    def _step(self, state: TrainState, x: jax.Array, y: jax.Array, data: DataArrays,
              values) -> TrainState:
        """One optimizer step on a given batch of raw points x (batch, d): for tests."""
        key, k = jax.random.split(state.key)
        h = featurize(self.s.net, x, data.mean, data.std)
        params, opt_state, mstate = self._update(state.params, state.opt_state,
                                                 state.model_state, state.step, h, y, k,
                                                 values)
        return state._replace(params=params, opt_state=opt_state, model_state=mstate,
                              key=key, step=state.step + 1)

    def _metrics(self, params, mstate, feats, data: DataArrays, values) -> dict:
        """Loss and accuracy on every split, in evaluation mode, from ONE forward pass.

        ``feats`` is ``(h_all, sizes)``: the splits' features concatenated (loop-
        invariant, built once per chunk) and their static lengths. One pass over
        all points costs a third of three passes on CPU, where per-kernel overhead
        dominates. Empty splits give NaN.
        """
        h_all, sizes = feats
        y_all = jnp.concatenate([getattr(data, f"y_{s}") for s in SPLITS])
        classify = self.s.net.head.task == "classification"

        def scores(h, y):
            z, o, _, _ = apply_network(self.s.net, params, mstate, h, values, key=None,
                                       train=False)
            losses = self.example_losses(z, o, y)  # (n,)
            return losses, (self.example_hits(o, y) if classify else losses)

        losses, hits = self.chunked(scores, h_all, y_all)
        # All six means in one fused reduction: a (splits, n_all) mask times the values.
        seg = np.zeros((len(SPLITS), sum(sizes)), np.float32)
        start = 0
        for i, n in enumerate(sizes):
            seg[i, start:start + n] = 1.0  # 0/1 mask: counts of hits stay exact
            start += n
        vals = jnp.stack([losses, hits.astype(jnp.float32) if classify else losses])
        counts = np.maximum(np.asarray(sizes, np.float32), 1.0)
        means = jnp.sum(vals[:, None, :] * seg, axis=-1) / counts  # (2, splits)
        out = {}
        nan = jnp.float32(jnp.nan)
        for i, (split, n) in enumerate(zip(SPLITS, sizes, strict=True)):
            out[f"{split}_loss"] = means[0, i] if n else nan
            out[f"{split}_accuracy"] = means[1, i] if (n and classify) else nan
        return out

    def _features(self, data: DataArrays):
        """Features of all splits, concatenated, and the split sizes."""
        xs = [getattr(data, f"x_{s}") for s in SPLITS]
        h = featurize(self.s.net, jnp.concatenate(xs), data.mean, data.std)
        return h, tuple(x.shape[0] for x in xs)

    def _evaluate(self, state: TrainState, data: DataArrays, values) -> dict:
        return self._metrics(state.params, state.model_state, self._features(data), data,
                             values)

    def _predict(self, state: TrainState, x: jax.Array, data: DataArrays, values):
        h = featurize(self.s.net, x, data.mean, data.std)
        return self.chunked(lambda hc: apply_network(self.s.net, state.params,
                                                     state.model_state, hc, values, key=None,
                                                     train=False)[1], h)

    def chunked(self, fn, *arrays: jax.Array):
        """``fn(*arrays)`` over the leading axis in chunks of ``eval_chunk`` examples.

        Small sets (the playground's) run in one piece, as if unchunked; larger
        ones are padded to whole chunks, mapped with ``lax.map`` and trimmed, so a
        pass over 10,000 long sequences never holds all their activations at once.
        """
        n, chunk = arrays[0].shape[0], self.eval_chunk
        if n <= chunk:
            return fn(*arrays)
        pad = -n % chunk

        def split(a):
            a = jnp.concatenate([a, jnp.zeros((pad, *a.shape[1:]), a.dtype)]) if pad else a
            return a.reshape(-1, chunk, *a.shape[1:])

        out = jax.lax.map(lambda xs: fn(*xs), tuple(split(a) for a in arrays))
        return jax.tree_util.tree_map(lambda a: a.reshape(-1, *a.shape[2:])[:n], out)

    # -- the fused training loop ------------------------------------------------------------
    def _train_chunk(self, state: TrainState, data: DataArrays, values, epochs: jax.Array,
                     capacity: int, probes: bool = False, resolution: int = 100,
                     neuron_resolution: int = 24, layers: bool = False,
                     sequence: bool = False, gradients: bool = True,
                     by_steps: bool = False):
        """Train ``epochs`` (traced, <= ``capacity``) epochs, or that many steps.

        With ``by_steps`` the count is of optimizer steps: the call may stop inside
        an epoch (``state.cursor`` remembers where) and the table gets a row for each
        epoch that ends during the call. Both ways draw the same batches in the same
        order from the state's key, so they train alike.

        Returns ``(state, flat)``: ``flat`` packs ``(table, probes, rows)`` (see
        ``layouts``): ``table`` is (capacity, len(HISTORY)), one row per epoch (rows
        past the last are NaN), ``probes`` a ``Probes`` or None, and ``rows`` how
        many rows were written.
        """
        feats = self._features(data)  # loop-invariant: computed once per chunk
        n = data.x_train.shape[0]
        h_train, y_train = feats[0][:n], data.y_train
        bs = min(self.s.batch_size, n)  # a batch bigger than the data is full-batch GD
        steps = n // bs  # the remainder of a shuffled epoch is skipped
        has_val = data.x_val.shape[0] > 0

        def epoch_order(st: TrainState):
            """The epoch's next key, its batch order and dropout keys, from ``st.key``."""
            key, k_perm, k_drop = jax.random.split(st.key, 3)
            perm = jax.random.permutation(k_perm, n)[: steps * bs]
            return key, perm, jax.random.split(k_drop, steps)

        def run_epoch(st: TrainState):
            key, perm, keys = epoch_order(st)
            hb = h_train[perm].reshape(steps, bs, *h_train.shape[1:])  # (steps, batch, F...)
            yb = y_train[perm].reshape(steps, bs, *y_train.shape[1:])

            def one(carry, batch):
                params, opt_state, mstate, t = carry
                params, opt_state, mstate = self._update(params, opt_state, mstate, t,
                                                         *batch, values)
                return (params, opt_state, mstate, t + 1), None

            (params, opt_state, mstate, t), _ = jax.lax.scan(
                one, (st.params, st.opt_state, st.model_state, st.step), (hb, yb, keys),
                unroll=1)  # unrolling buys little here and doubles compile time
            return end_epoch(st, params, opt_state, mstate, t, key)

        def end_epoch(st: TrainState, params, opt_state, mstate, t, key):
            """Metrics, divergence (back to ``st``), early stopping: the epoch's end."""
            m = self._metrics(params, mstate, feats, data, values)
            finite = jnp.isfinite(m["train_loss"]) & all_finite(params)
            # Divergence keeps the last finite state (the start of this epoch). One
            # cond, not a where per leaf: on CPU every tiny kernel costs ~1 us.
            params, opt_state, mstate, t = jax.lax.cond(
                finite, lambda a, b: a, lambda a, b: b,
                (params, opt_state, mstate, t),
                (st.params, st.opt_state, st.model_state, st.step))
            mon = st.monitor
            epoch = st.epoch + jnp.where(finite, 1, 0)
            best_params = st.best_params
            if has_val:
                improved = finite & (m["val_loss"] < mon.best_val - values["min_delta"])
                best_params = jax.lax.cond(improved, lambda p, b: p, lambda p, b: b,
                                           params, st.best_params)
                bad = jnp.where(improved, 0, mon.bad_epochs + 1)
                stop = finite & (values["patience"] > 0) & (bad >= values["patience"])
                mon = Monitor(jnp.where(improved, m["val_loss"], mon.best_val),
                              jnp.where(improved, epoch, mon.best_epoch), bad, stop,
                              ~finite)
                # Early stopping keeps the best weights, as Keras' restore_best_weights.
                params = jax.lax.cond(stop, lambda b, p: b, lambda b, p: p,
                                      best_params, params)
            else:
                best_params = params
                mon = mon._replace(diverged=~finite)
            m["learning_rate"] = learning_rate(self.s.schedule, st.step, values)
            m["trained"] = finite
            new = TrainState(params, opt_state, mstate, key, t, epoch, mon, best_params,
                             jnp.int32(0))
            return new, m

        def no_metrics():
            m = {k: jnp.float32(jnp.nan) for k in HISTORY[:-1]}
            m["trained"] = jnp.bool_(False)
            return m

        def skip(st: TrainState):
            return st, no_metrics()

        def one_step(st: TrainState):
            """One batch of the epoch at ``st.cursor``; the epoch's end when it is the last."""
            key, perm, keys = epoch_order(st)  # the same order run_epoch would draw
            idx = jax.lax.dynamic_slice_in_dim(perm, st.cursor * bs, bs)
            params, opt_state, mstate = self._update(
                st.params, st.opt_state, st.model_state, st.step, h_train[idx], y_train[idx],
                keys[st.cursor], values)
            moved = st._replace(params=params, opt_state=opt_state, model_state=mstate,
                                step=st.step + 1, cursor=st.cursor + 1)
            # Checked every step: a NaN must not ride along to the end of the epoch.
            ok = all_finite(params)
            halted = st._replace(monitor=st.monitor._replace(diverged=jnp.bool_(True)))
            new = jax.lax.cond(ok, lambda a, b: a, lambda a, b: b, moved, halted)
            ended = ok & (new.cursor == steps)
            new, m = jax.lax.cond(
                ended, lambda s: end_epoch(st, s.params, s.opt_state, s.model_state, s.step,
                                           key),
                lambda s: (s, no_metrics()), new)
            return new, m, ended

        def body(i, carry):
            st, table, rows = carry
            done = st.monitor.stopped | st.monitor.diverged
            if by_steps:
                st, m, ended = jax.lax.cond(done, lambda s: (s, no_metrics(), jnp.bool_(False)),
                                            one_step, st)
            else:
                st, m = jax.lax.cond(done, skip, run_epoch, st)
                ended = jnp.bool_(True)
            row = jnp.stack([m[k].astype(jnp.float32) for k in HISTORY])
            table = jax.lax.dynamic_update_index_in_dim(table, row, rows, 0)
            return st, table, rows + ended.astype(jnp.int32)

        # The count is traced: any K up to the capacity reuses one compilation.
        table = jnp.full((capacity, len(HISTORY)), jnp.nan, jnp.float32)
        state, table, rows = jax.lax.fori_loop(0, jnp.minimum(epochs, capacity), body,
                                               (state, table, jnp.int32(0)))
        pr = (self._probe(state, data, values, resolution, neuron_resolution, layers, sequence,
                          gradients) if probes else None)
        # One flat buffer instead of ~20 arrays: each device-to-host transfer has a
        # fixed cost that would otherwise dominate a 2 ms frame.
        flat, layout = pack((table, pr, rows))
        self.layouts[(capacity, probes, resolution, neuron_resolution, layers, sequence,
                      gradients, by_steps)] = layout
        return state, flat

    # -- probes ------------------------------------------------------------------------
    def _probe(self, state: TrainState, data: DataArrays, values, resolution: int = 100,
               neuron_resolution: int = 24, layers: bool = False,
               sequence: bool = False, gradients: bool = True) -> Probes:
        """Probes of ``state``; a resolution of 0 skips that grid, ``layers`` adds
        ``LayerStats``, ``sequence`` adds ``SequenceProbes`` of test example
        ``values["example"]``; without ``gradients`` the gradient probes are None."""
        net, d = self.s.net, self.s.input_dim
        params, mstate = state.params, state.model_state
        output, neurons = None, []
        plane = (values["centre"], values["extent"], values["axes"])
        grid = grid_points(d, resolution, *plane) if resolution else None
        if grid is not None:
            h = featurize(net, grid, data.mean, data.std)
            o = apply_network(net, params, mstate, h, values, key=None, train=False)[1]
            output = o.reshape(*grid_shape(d, resolution), -1)
        coarse = grid_points(d, neuron_resolution, *plane) if neuron_resolution else None
        if coarse is not None:
            hc = featurize(net, coarse, data.mean, data.std)
            _, oc, _, outs = apply_network(net, params, mstate, hc, values, key=None,
                                           train=False, collect=True)
            shape = grid_shape(d, neuron_resolution)
            drawn = [hc] + [out for layer, out in zip(net.layers, outs, strict=True)
                            if _has_neurons(layer.type)] + [oc]
            neurons = [a.reshape(*shape, -1) for a in drawn]
        # The gradient training would follow on (up to PROBE_EXAMPLES of) the training
        # set: batch norm with batch statistics (train=True), but no dropout (no key).
        n_probe = min(PROBE_EXAMPLES, self.eval_chunk)  # bounded like an evaluation chunk
        h_probe = featurize(net, data.x_train[:n_probe], data.mean, data.std)
        weight_norm = jnp.stack([tree_norm(p) for p in params])
        dense = [i for i, p in enumerate(params) if "w" in p]
        w_hist = [histogram(params[i]["w"], HIST_BINS) for i in dense]
        grad_norm = g_counts = g_ranges = None
        if gradients:
            grads, _ = jax.grad(self._objective, has_aux=True)(
                params, mstate, h_probe, data.y_train[:n_probe], values, None, True)
            grad_norm = jnp.stack([tree_norm(g) for g in grads])
            g_hist = [histogram(grads[i]["w"], HIST_BINS) for i in dense]
            g_counts = jnp.stack([c for c, _ in g_hist])
            g_ranges = jnp.stack([m for _, m in g_hist])
        stats = None
        if layers:
            outs = apply_network(net, params, mstate, h_probe, values, key=None, train=False,
                                 collect=True)[3]
            stats = layer_stats(net.layers, params, mstate, [h_probe, *outs[:-1]])
        seq = None
        if sequence:
            i = jnp.clip(values["example"], 0, data.x_test.shape[0] - 1)
            seq = sequence_probes(self, params, mstate, data.x_test[i], data.y_test[i], data,
                                  values)
        return Probes(output, neurons, grad_norm, weight_norm,
                      jnp.stack([c for c, _ in w_hist]), jnp.stack([m for _, m in w_hist]),
                      g_counts, g_ranges, stats, seq)


@dataclass(frozen=True)
class Layout:
    """Where each leaf of a packed pytree lives in the flat buffer."""

    treedef: Any
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[Any, ...]


def pack(tree) -> tuple[jax.Array, Layout]:
    """Ravel every leaf of ``tree`` into one float32 vector (inside jit)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    flat = jnp.concatenate([jnp.ravel(x).astype(jnp.float32) for x in leaves])
    return flat, Layout(treedef, tuple(x.shape for x in leaves), tuple(x.dtype for x in leaves))


def unpack(flat: np.ndarray, layout: Layout):
    """The pytree packed by ``pack``, as NumPy arrays (views where dtypes allow)."""
    out, start = [], 0
    for shape, dtype in zip(layout.shapes, layout.dtypes, strict=True):
        size = int(np.prod(shape))
        part = flat[start:start + size].reshape(shape)
        out.append(part if part.dtype == dtype else part.astype(dtype))
        start += size
    return jax.tree_util.tree_unflatten(layout.treedef, out)


def all_finite(tree) -> jax.Array:
    """True when every element of every leaf is finite (one fused reduction)."""
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.isfinite(jnp.concatenate([x.ravel() for x in leaves])))


def _has_neurons(layer_type: str) -> bool:
    return LAYERS.get(layer_type).has_neurons


COMPILED_CACHE_SIZE = 12
"""Structures whose compiled functions stay in memory (least recently used goes)."""

CLEAR_EVERY = 24
"""Evictions after which JAX's own tracing caches are cleared too (see ``compiled``)."""

_compiled: OrderedDict[Structure, Compiled] = OrderedDict()
_evictions = 0
_lock = threading.Lock()


def compiled(structure: Structure) -> Compiled:
    """The compiled functions of a structure, cached: one per structure per process.

    The cache keeps the ``COMPILED_CACHE_SIZE`` most recently used structures. JAX
    keeps tracing caches of its own (jaxprs, lowerings; some unbounded) that do not
    shrink when our functions go: about 14 MB per structure measured here. Every
    ``CLEAR_EVERY`` evictions they are cleared and freed memory is handed back to
    the system, so a server that sees thousands of structures stays bounded. A
    structure still cached then compiles again once (from JAX's disk cache, when on).
    """
    global _evictions
    with _lock:
        fns = _compiled.get(structure)
        if fns is not None:
            _compiled.move_to_end(structure)
            return fns
        fns = _compiled[structure] = Compiled(structure)
        while len(_compiled) > COMPILED_CACHE_SIZE:
            _compiled.popitem(last=False)
            _evictions += 1
        clear = _evictions >= CLEAR_EVERY
        if clear:
            _evictions = 0
    if clear:
        release_memory()
    return fns


def release_memory() -> None:
    """Clear JAX's tracing caches and return freed heap memory to the system (glibc)."""
    jax.clear_caches()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: reused, not returned
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def init_state(structure: Structure, values: Mapping[str, Any], key: jax.Array) -> TrainState:
    """A fresh ``TrainState``: parameters drawn from ``key``, optimizer state built."""
    k_init, k_train = jax.random.split(key)
    params, mstate = init_network(structure.net, k_init)
    opt_state = make_optimizer(structure.optimizer, values).init(params)
    mon = Monitor(jnp.float32(jnp.inf), jnp.int32(0), jnp.int32(0), jnp.bool_(False),
                  jnp.bool_(False))
    return TrainState(params, opt_state, mstate, k_train, jnp.int32(0), jnp.int32(0), mon,
                      params, jnp.int32(0))


def to_numpy(tree):
    """Copy a pytree of device arrays to host NumPy arrays (one transfer per leaf)."""
    return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))
