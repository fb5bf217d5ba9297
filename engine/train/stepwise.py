"""Training from the host, one compiled call per optimizer step: for convolutions.

XLA's CPU backend runs a convolution inside a loop or a conditional 20 to 25 times
slower than the same convolution at the top of a compiled function (measured here: the
gradient of a 3 x 3, 8-channel convolution on 32 images takes 1.4 ms alone, 27 ms in a
``fori_loop`` and 35 ms in a ``cond``). So networks with ``conv2d`` layers train with
one call per step, the host looping (its dispatch, about 0.1 ms, is little next to a
convolution), and evaluate in chunks called from the host. The batches, the updates
and the epoch's end are those of ``loop`` (``epoch_order``, ``close_epoch``), so both
ways train alike (a test checks it).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from engine.model import apply_network, featurize
from engine.probes import ProbeOptions
from engine.train import loop, metrics
from engine.train.pack import all_finite
from engine.train.state import HISTORY, TrainState


def _untrained() -> list[float]:
    """A history row for an epoch that did not train (``trained`` 0)."""
    return [*(float("nan") for _ in HISTORY[:-1]), 0.0]


def _copy(tree: Any) -> Any:
    """A copy of every array of ``tree`` in new buffers (eagerly: inside ``jit`` a copy
    is the identity, and JAX would hand back the very buffers)."""
    return jax.tree_util.tree_map(jnp.copy, tree)


class Stepper:
    """The compiled pieces of host-driven training for one ``Compiled`` structure."""

    def __init__(self, fns: Any):
        self.fns = fns
        jit = functools.partial(jax.jit, compiler_options=fns.xla)
        self.order = jit(loop.epoch_order, static_argnames=("n", "steps", "batch"))
        # The state is donated: XLA updates the weights and the optimizer's moments in
        # place instead of allocating them anew each step (mnist_cnn's 2.8 million
        # weights: 17 ms a step without, 12 ms with, on 2 CPU cores). A step is not
        # undone in the graph (selecting between old and new would need both, 33 MB of
        # temporaries a step for mnist_cnn): on a NaN, ``run`` redoes the call's good
        # steps from the state it was given.
        self.step = jit(self._step, donate_argnums=0)
        self.scores = jit(self._scores)
        self.outputs = jit(self._outputs)
        self.close = jit(self._close, static_argnames=("has_val",))

    def _step(self, st: TrainState, data: Any, values: Any, idx: jax.Array,
              key: jax.Array) -> tuple[TrainState, jax.Array]:
        """One step on the examples ``idx`` with dropout key ``key``: (moved state, all
        finite)."""
        h = featurize(self.fns.s.net, data.x_train[idx], data.mean, data.std)
        params, opt_state, mstate = self.fns.update(
            st.params, st.opt_state, st.model_state, st.step, h, data.y_train[idx], key,
            values)
        moved = st._replace(params=params, opt_state=opt_state, model_state=mstate,
                            step=st.step + 1, cursor=st.cursor + 1)
        return moved, all_finite(params)

    def _scores(self, params, mstate, x, y, mean, std, values):
        """Per-example losses and hits of a chunk of raw inputs ``x`` and labels ``y``."""
        net = self.fns.s.net
        z, o, _, _ = apply_network(net, params, mstate, featurize(net, x, mean, std), values,
                                   key=None, train=False)
        losses = self.fns.example_losses(z, o, y)
        classify = net.head.task == "classification"
        return losses, (metrics.example_hits(net.head, o, y) if classify else losses)

    def _outputs(self, params, mstate, x, mean, std, values):
        net = self.fns.s.net
        return apply_network(net, params, mstate, featurize(net, x, mean, std), values,
                             key=None, train=False)[1]

    def _close(self, st, moved, key, m, values, has_val: bool):
        return loop.close_epoch(self.fns, has_val, values, st, moved.params,
                                moved.opt_state, moved.model_state, moved.step, key, m)

    # -- host side -------------------------------------------------------------------------
    def chunks(self, fn, x: jax.Array, *rest: jax.Array) -> Any:
        """``fn(chunk of x, chunk of rest...)`` over the leading axis, each call one
        compiled call at the top level; the last chunk is padded (one compilation)."""
        n, size = x.shape[0], self.fns.eval_chunk
        parts = []
        for start in range(0, n, size):
            pieces = [a[start:start + size] for a in (x, *rest)]
            short = size - pieces[0].shape[0]
            if short and n > size:
                pieces = [jnp.concatenate([a, jnp.zeros((short, *a.shape[1:]), a.dtype)])
                          for a in pieces]
            parts.append(fn(*pieces))
        out = jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs)[:n], *parts)
        return out

    def metrics(self, state: TrainState, data: Any, values: Any) -> dict:
        """Every split's loss and accuracy (see ``Compiled.metrics``)."""
        xs, ys = metrics.eval_split(data)
        score = functools.partial(self._score_chunk, state, data, values)
        losses, hits = self.chunks(score, jnp.concatenate(xs), jnp.concatenate(ys))
        classify = self.fns.s.net.head.task == "classification"
        return metrics.split_means(losses, hits, tuple(x.shape[0] for x in xs), classify)

    def _score_chunk(self, state, data, values, x, y):
        return self.scores(state.params, state.model_state, x, y, data.mean, data.std, values)

    def predict(self, state: TrainState, x: jax.Array, data: Any, values: Any) -> jax.Array:
        """Outputs after the output activation for raw inputs ``x``, in chunks."""
        return self.chunks(lambda xc: self.outputs(state.params, state.model_state, xc,
                                                   data.mean, data.std, values), x)

    def run(self, state: TrainState, data: Any, values: Any, count: int, by_steps: bool,
            probes: ProbeOptions | None) -> tuple[TrainState, Any]:
        """Train ``count`` epochs (or steps) step by step; ``Compiled.run``'s result."""
        n = data.x_train.shape[0]
        batch = min(self.fns.s.batch_size, n)
        steps, has_val = n // batch, data.x_val.shape[0] > 0
        if not by_steps:  # a call by epochs starts the epoch over, as the fused loop does
            state = state._replace(cursor=jnp.int32(0))
        todo = count if by_steps else count * steps
        # Steps donate the state they are given: they work on a copy, so the caller's
        # state stays valid (by epochs, it is the first epoch's start, which a diverged
        # epoch falls back to, as in the fused loop).
        given, rows, order = state, [], None
        start, state = state, _copy(state)
        for done in range(todo):
            if bool(state.monitor.stopped) or bool(state.monitor.diverged):
                break
            cursor = int(state.cursor)
            last = cursor + 1 == steps
            if order is None or cursor == 0:  # the epoch's batches: drawn once an epoch
                key, perm, keys = self.order(state.key, n=n, steps=steps, batch=batch)
                # sliced on the host: an eager slice of a device array at a new offset
                # compiles a new slice, 2.5 ms a step
                order = key, np.asarray(perm), np.asarray(keys)
                if not by_steps and rows:  # a later epoch of this call: its own start
                    start = _copy(state)
            if by_steps and last:  # by steps, an epoch's end falls back to its last step's start
                start = _copy(state)
            key, perm, keys = order
            state, ok = self.step(state, data, values, perm[cursor * batch:(cursor + 1) * batch],
                                  keys[cursor])
            if not bool(ok):  # a NaN must not ride along
                if by_steps:  # back to the last finite step: this call's good steps, redone
                    state, (table, _, _) = self.run(given, data, values, done, True, None)
                    state = state._replace(monitor=state.monitor._replace(
                        diverged=jnp.bool_(True)))
                    rows = table.tolist()
                    break
                # By epochs, the fused loop ends the epoch on the NaN and goes back to its
                # start: the same ``close_epoch`` does it here.
                m = self.metrics(state, data, values)
                state, row = self.close(start, state, key, m, values, has_val=has_val)
                rows.append([float(row[k]) for k in HISTORY])
                break
            if not last:
                continue
            m = self.metrics(state, data, values)
            state, row = self.close(start, state, key, m, values, has_val=has_val)
            rows.append([float(row[k]) for k in HISTORY])
        if not by_steps:  # epochs after stopping or diverging come back untrained
            rows += [_untrained() for _ in range(count - len(rows))]
        table = np.asarray(rows, np.float32).reshape(len(rows), len(HISTORY))
        pr = self.fns.probe(state, data, values, options=probes) if probes else None
        return state, (table, jax.tree_util.tree_map(np.asarray, pr), len(rows))
