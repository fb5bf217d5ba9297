"""A sweep's epochs with the configuration axis last: many small MLPs at CPU speed.

``jax.vmap`` over configurations puts their axis first (major) in every array, and
XLA:CPU keeps it there whatever ``vmap``'s axes or a layout constraint say. For the
Playground's networks that is slow: an array of 64 configurations x 10 examples x 4
units runs loops whose innermost dimension is 4. With the configurations last
(minor), every elementwise kernel runs over 64 contiguous lanes. Measured on this
project's 2-core CPU machine, one SGD step of the default 2-4-2-1 tanh network, batch
10, 64 configurations: 122-210 us vmapped (63-74 with unrolled matmuls), 10-12 us
configuration-minor, against 6-13 us for ONE network alone.

So a sweep of a plain MLP (dense layers without norms, dropout, activation layers, on
points) runs each epoch's mini-batch steps here, hand-batched: parameters
``(fan_in, units, C)``, every per-configuration number ``(C,)`` (numpy broadcasting
puts it on the last axis, so optax's elementwise rules work unchanged; what reduces
over a layer's units, softmax, gets them as its last axis: ``activate``), a batch
``(batch, F, C)`` (``(batch, F, 1)`` when shared)
gathered by each configuration's own shuffle (or, for configurations of one key, the
shuffle they share, drawn once). Each epoch's evaluation runs the same way. Divergence,
early stopping and the probes stay ``vmap``-ped over the very functions a single run
uses; the tests hold each configuration equal to it trained alone.
Everything else (norms, images, sequences, training by steps, padded networks) takes
the general ``vmap`` path (``engine.train.sweep``).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from engine.blocks import ACTIVATIONS
from engine.blocks.dense import UNROLL_FAN_IN
from engine.blocks.optimizers import make_optimizer
from engine.data import DataArrays
from engine.model import featurize
from engine.train import loop
from engine.train.metrics import (
    chunked,
    eval_split,
    example_hits,
    example_losses,
    named_means,
    split_rows,
)
from engine.train.state import HISTORY, Structure, TrainState
from engine.train.step import is_weight
from engine.train.xla import widest

UNIT_AXIS = ("softmax",)
"""Activations that are not elementwise: they normalise over a layer's units
(``engine.blocks.activations``)."""

LAYER_TYPES = ("dense", "dropout", "activation")
"""The hidden layers a configuration-minor sweep runs (dense: without a norm)."""


def fits(s: Structure, data: DataArrays, by_steps: bool) -> bool:
    """Whether a sweep of ``s`` on ``data`` trains configuration-minor: an MLP on points
    (every fan-in at most ``UNROLL_FAN_IN``), labels one per example, by epochs."""
    net = s.net
    if (by_steps or net.image is not None or net.sequence is not None
            or data.sizes is not None or data.y_train.ndim != 1):
        return False
    width = net.in_dim
    for layer in net.layers:
        opts = layer.opts()
        if layer.type not in LAYER_TYPES or opts.get("norm", "none") != "none":
            return False
        if layer.type == "dense":
            if width > UNROLL_FAN_IN:
                return False
            width = opts["units"]
    return width <= UNROLL_FAN_IN


def minor(tree: Any) -> Any:
    """Move every leaf's leading configuration axis last: (C, ...) -> (..., C)."""
    return jax.tree_util.tree_map(lambda x: jnp.moveaxis(x, 0, -1), tree)


def major(tree: Any) -> Any:
    """The inverse of ``minor``: (..., C) -> (C, ...)."""
    return jax.tree_util.tree_map(lambda x: jnp.moveaxis(x, -1, 0), tree)


def _where(on: jax.Array, a: Any, b: Any) -> Any:
    """Per configuration ``on`` (C,), ``a`` else ``b`` (configuration axis first)."""
    return jax.tree_util.tree_map(
        lambda x, y: jnp.where(on.reshape(on.shape + (1,) * (x.ndim - 1)), x, y), a, b)


def _dense(h: jax.Array, w: jax.Array, b: jax.Array, rows: bool = False) -> jax.Array:
    """``h @ w + b`` per configuration: h (batch, fan_in, C) (or C = 1, shared),
    w (fan_in, units, C), b (units, C) -> (batch, units, C), in elementwise kernels
    that run along C (a dot would batch over C, the axis this module keeps minor).

    A training step's broadcast product summed over fan_in has the simplest gradient;
    ``rows`` (evaluation: hundreds of examples, no gradient) sums scaled rows instead,
    so that XLA does not recompute the input's activation per unit (2.5x faster on
    500 points)."""
    if not rows:
        return jnp.sum(h[:, :, None, :] * w, axis=1) + b
    out = h[:, 0:1, :] * w[0] + b
    for i in range(1, w.shape[0]):
        out = out + h[:, i:i + 1, :] * w[i]
    return out


def activate(name: str, z: jax.Array, alpha: jax.Array | None) -> jax.Array:
    """Activation ``name`` of z (..., units, C). Activations are elementwise (alpha,
    PReLU's slope (units, C), broadcasts), except softmax, which normalises over the
    units: it gets them as its last axis, where a single network has them."""
    act = ACTIVATIONS.get(name)
    if name in UNIT_AXIS:
        return jnp.moveaxis(act(jnp.moveaxis(z, -2, -1), alpha), -1, -2)
    return act(z, alpha)


def forward(s: Structure, params: list[dict], h: jax.Array, values: Any,
            keys: jax.Array | None, shared: bool = False) -> tuple[jax.Array, jax.Array]:
    """The network, configurations last: h (batch, F, C), or (batch, F, 1) for a batch
    every configuration shares, -> output pre-activation and activation, each
    (batch, out, C). ``keys``: each configuration's step key (C, 2),
    or (``shared``) the one they share (2,); a dropout layer draws what
    ``apply_network`` would. ``keys`` None: evaluation mode (dropout off)."""
    for i, layer in enumerate(s.net.layers):
        opts, p = layer.opts(), params[i]
        if layer.type == "dense":
            z = _dense(h, p["w"], p["b"], rows=keys is None)
            y = activate(opts["activation"], z, p.get("alpha"))
            h = h + y if opts.get("residual") else y
        elif layer.type == "activation":
            h = activate(opts["activation"], h, p.get("alpha"))
        elif keys is not None:  # dropout: the mask a single run draws from its key
            keep = 1.0 - values.layers[i]["rate"]  # (C,)
            shape = h.shape[:-1]

            def draw(k, i=i, shape=shape):
                return jax.random.uniform(jax.random.fold_in(k, i), shape)

            u = draw(keys)[..., None] if shared else jnp.moveaxis(
                jax.vmap(draw)(keys), 0, -1)
            h = jnp.where(u < keep, h / keep, 0.0)
    z = _dense(h, params[-1]["w"], params[-1]["b"], rows=keys is None)
    return z, activate(s.net.head.activation, z, params[-1].get("alpha"))


def objective(s: Structure, loss_fn: Any, params: list[dict], h: jax.Array, y: jax.Array,
              values: Any, keys: jax.Array, shared: bool) -> jax.Array:
    """The sum over configurations of each one's ``step.objective`` (mean data loss
    plus its L1/L2 penalty): configurations share no parameter, so its gradient is
    each configuration's own. y (batch, C), or (``shared``: one batch) (batch,)."""
    z, o = forward(s, params, h, values, keys, shared)
    losses = jax.vmap(lambda z1, o1, y1: example_losses(s.net.head, loss_fn, z1, o1, y1),
                      in_axes=(2, 2, None if shared else 1), out_axes=1)(z, o, y)
    total = jnp.sum(jnp.mean(losses, axis=0))
    if s.regularization in ("l1", "l2"):
        ws = [v for p in params for name, v in p.items() if is_weight(name)]
        if s.regularization == "l1":
            per = sum(jnp.sum(jnp.abs(w), axis=tuple(range(w.ndim - 1))) for w in ws)
            total = total + jnp.sum(values.regularization.l1 * per)
        else:
            per = sum(jnp.sum(w * w, axis=tuple(range(w.ndim - 1))) for w in ws)
            total = total + jnp.sum(values.regularization.l2 * 0.5 * per)
    return total


def update(fns: Any, names: tuple[str, ...], choice: jax.Array, params: list[dict],
           opt_state: Any, lr: jax.Array, h: jax.Array, y: jax.Array, keys: jax.Array,
           values: Any, shared: bool) -> tuple[list[dict], Any]:
    """One optimizer step of every configuration (``step.update``, configurations
    last), at the scheduled learning rates ``lr`` (C,), on a batch of each its own or
    (``shared``) one for all. ``choice`` (C,) indexes ``names``: every named rule runs
    and each configuration keeps its own's update and state (``choose_optimizer``'s
    tuple)."""
    s = fns.s
    grads = jax.grad(objective, argnums=2)(s, fns.loss_fn, params, h, y, values, keys,
                                           shared)
    opt = values.optimizer
    if s.clip:  # clip each configuration by its own global norm
        sq = sum(jnp.sum(g * g, axis=tuple(range(g.ndim - 1)))
                 for g in jax.tree_util.tree_leaves(grads))
        scale = jnp.minimum(1.0, opt.clip_norm / jnp.maximum(jnp.sqrt(sq), 1e-12))
        grads = jax.tree_util.tree_map(lambda g: g * scale, grads)
    updates, new_state = None, list(opt_state)
    for i, name in enumerate(names):
        u, st = make_optimizer(name, opt, lr).update(grads, opt_state[i], params)
        if len(names) == 1:
            updates, new_state[i] = u, st
            break
        mine = functools.partial(jnp.where, choice == i)
        updates = u if updates is None else jax.tree_util.tree_map(mine, u, updates)
        new_state[i] = jax.tree_util.tree_map(mine, st, opt_state[i])
    params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
    return params, tuple(new_state)


def run_epoch(lp: loop.Loop, names: tuple[str, ...], choice: jax.Array, feats: jax.Array,
              evals: tuple[jax.Array, jax.Array], states: TrainState, values: Any,
              values_axes: Any, lead: jax.Array | None) -> tuple[TrainState, dict]:
    """One epoch of every configuration: ``loop.run_epoch``'s shuffles and batches,
    its steps and evaluation configuration-minor, then ``loop.close_epoch`` vmapped.

    ``feats`` (n, F): the training set featurized once (a batch's features are its
    rows). ``evals``: ``evaluate``'s. ``lead``: when the configurations share their
    key (``one_order``), the index of one that trains, whose shuffle every one draws
    (computed once); None: each its own. ``states`` and the results have the
    configuration axis first.
    """
    n, steps, bs = feats.shape[0], lp.steps, lp.batch
    c = states.key.shape[0]
    if lead is None:
        key, perm, keys = jax.vmap(lambda k: loop.epoch_order(k, n, steps, bs))(states.key)
        order = jnp.transpose(perm.reshape(c, steps, bs), (1, 2, 0))  # (steps, batch, C)
        step_keys = jnp.swapaxes(keys, 0, 1)  # (steps, C, 2)
    else:
        key, perm, step_keys = loop.epoch_order(states.key[lead], n, steps, bs)
        order, key = perm.reshape(steps, bs), jnp.broadcast_to(key, states.key.shape)

    # A shared epoch's batches are gathered once (a step's kernels are then the
    # network's own; each costs about a microsecond on CPU, whatever its size); each
    # configuration's own batches a step at a time, as ``loop.run_epoch`` does (all of
    # them at once would hold the training set C times over).
    shared = lead is not None
    xs = (feats[order][..., None], lp.y_train[order]) if shared else (order,)
    t0 = states.step
    ts = t0[None, :] + jnp.arange(steps, dtype=t0.dtype)[:, None]  # (steps, C)
    lrs = jax.vmap(jax.vmap(lp.fns.learning_rate, in_axes=(0, values_axes)),
                   in_axes=(0, None))(ts, values)

    def one(carry, batch):
        params, opt_state = carry
        *data, lr, k = batch
        if shared:  # (batch, F, 1) and (batch,)
            h, y = data
        else:  # (batch, F, C) and (batch, C)
            h, y = jnp.transpose(feats[data[0]], (0, 2, 1)), lp.y_train[data[0]]
        return update(lp.fns, names, choice, params, opt_state, lr, h, y, k, values,
                      shared), None

    (params, opt_state), _ = jax.lax.scan(
        one, (minor(states.params), minor(states.opt_state)), (*xs, lrs, step_keys))
    t = t0 + steps
    m = evaluate(lp, evals, params, values)
    params, opt_state = major(params), major(opt_state)

    def close(st, p, o, t1, k1, v, m1):
        return loop.close_epoch(lp.fns, lp.has_val, v, st, p, o, st.model_state, t1, k1, m1)

    return jax.vmap(close, in_axes=(0, 0, 0, 0, 0, values_axes, 0))(
        states, params, opt_state, t, key, values, m)


EVAL_BLOCK = 1 << 15
"""Activation values (128 KB) of one block of an epoch's evaluation: each layer's
output for a block of examples stays in the core's cache. Measured on this project's
2-core machine, 500 points x 64 configurations of the default network: 358 us of CPU
in one block (XLA spreads it over both cores, 251 us wall), 268 us in blocks of 100."""


def evaluate(lp: loop.Loop, evals: tuple[jax.Array, jax.Array], params: list[dict],
             values: Any) -> dict[str, jax.Array]:
    """``Compiled.metrics`` of every configuration at once (``split_means``' sums,
    then divisions, in another order of rounding), configurations last: each
    split's loss and accuracy, each (C,). ``evals``: every split's features (N, F),
    featurized once, and labels (N,)."""
    head, c = lp.fns.s.net.head, params[-1]["b"].shape[-1]

    def scores(x, y):  # (rows, F), (rows,) -> losses and hits, each (rows, C)
        z, o = forward(lp.fns.s, params, x[..., None], values, None)  # (rows, out, C)
        losses = jax.vmap(lambda z1, o1: example_losses(head, lp.fns.loss_fn, z1, o1, y),
                          in_axes=2, out_axes=1)(z, o)
        return losses, jax.vmap(lambda o1: example_hits(head, o1, y), in_axes=2,
                                out_axes=1)(o)

    rows = max(8, EVAL_BLOCK // (c * max(widest(lp.fns.s.net.layers), 1)))
    losses, hits = chunked(scores, rows, *evals)
    sizes = lp.evals[1]
    seg, counts = split_rows(sizes)
    # Sums, then division, as split_means: a sum past float32's range is inf there too
    # (divergence), and counts of hits stay exact. HIGHEST: float32 sums on an
    # accelerator too (a GPU's default would round to TF32).
    means = jnp.dot(seg, jnp.concatenate([losses, hits], axis=1),
                    precision=jax.lax.Precision.HIGHEST) / counts[:, None]  # (splits, 2C)
    return named_means(means[:, :c], means[:, c:], sizes, head.task == "classification")


def one_order(states: TrainState) -> bool:
    """Whether every configuration still training holds the same key (host arrays
    read back): then they draw the same shuffles and dropout keys every epoch, as
    configurations of one seed trained together do (a race; a search of rates), and
    an epoch's order is computed once for all. (Sorting is most of a shuffle's cost,
    per configuration, on CPU.)"""
    mon = states.monitor
    live = ~(np.asarray(mon.stopped) | np.asarray(mon.diverged))
    keys = np.asarray(jax.random.key_data(states.key) if jnp.issubdtype(
        states.key.dtype, jax.dtypes.prng_key) else states.key)[live]
    return bool(len(keys) and (keys == keys[0]).all())


def fit(lp: loop.Loop, names: tuple[str, ...], choice: jax.Array, states: TrainState,
        values: Any, values_axes: Any, count: jax.Array, capacity: int, shared: bool
        ) -> tuple[TrainState, jax.Array, jax.Array]:
    """``loop.fit`` by epochs of every configuration at once, as ``jax.vmap`` of it
    would run: a configuration that stopped or diverged keeps its state and its rows
    stay NaN; the loop ends when every one has. ``shared``: ``one_order`` held at
    the start (it holds to the end: stopping leaves no one a key of its own).
    Returns ``(states, tables, rows)``: tables (C, capacity, len(HISTORY)), rows (C,)."""
    net, data = lp.fns.s.net, lp.data
    feats = featurize(net, lp.x_train, data.mean, data.std)
    n = jnp.minimum(count, capacity)
    c = choice.shape[0]
    evals = (featurize(net, lp.evals[0], data.mean, data.std),
             jnp.concatenate(eval_split(data)[1]))

    def live(st: TrainState) -> jax.Array:
        return ~(st.monitor.stopped | st.monitor.diverged)

    def going(carry):
        i, st, _ = carry
        return (i < n) & jnp.any(live(st))

    def body(carry):
        i, st, table = carry
        on = live(st)
        lead = jnp.argmax(on) if shared else None
        new, m = run_epoch(lp, names, choice, feats, evals, st, values, values_axes, lead)
        row = jnp.stack([m[k].astype(jnp.float32) for k in HISTORY], axis=-1)  # (C, H)
        table = table.at[:, i].set(jnp.where(on[:, None], row, table[:, i]))
        return i + 1, _where(on, new, st), table

    table = jnp.full((c, capacity, len(HISTORY)), jnp.nan, jnp.float32)
    _, states, table = jax.lax.while_loop(going, body, (jnp.int32(0), states, table))
    return states, table, jnp.full((c,), n, jnp.int32)
