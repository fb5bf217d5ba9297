"""The compiled functions of one network structure, and their cache.

``compiled(structure)`` returns a ``Compiled``: jitted training, probing,
evaluation, one step and prediction, keyed by the structure alone (shapes, layer
kinds, batch size), never by values. ``count_compiles`` counts XLA compilations, to
prove that changing a value never recompiles.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import jax
import jax.monitoring
import jax.numpy as jnp
import numpy as np

from engine.blocks import LOSSES
from engine.cost import EVAL_ELEMENTS, estimate
from engine.data import DataArrays
from engine.model import apply_network, featurize, output_layer
from engine.probes import PROBE_EXAMPLES, ProbeOptions, Probes, TestReport, probe, test_report
from engine.train import loop, metrics, step
from engine.train.pack import Layout, layout_of, pack, unpack
from engine.train.state import HISTORY, Structure, TrainState
from engine.train.stepwise import Stepper
from engine.train.xla import compiler_options


class Compiled:
    """The jitted functions of one ``Structure``; build through ``compiled()``.

    Attributes:
        train_chunk, probe, step: jitted functions; ``run``, ``evaluate``,
            ``predict`` and ``report`` call them (or, for networks with convolutions,
            the ``stepper``'s).
        eval_chunk: passes over whole splits run in chunks of this many examples, so
            evaluation's memory stays bounded whatever the data's size.
    """

    def __init__(self, s: Structure):
        self.s = s
        self.loss_fn = LOSSES.get(s.net.loss).fn
        self.eval_chunk = estimate(s.net.layers, s.net.in_shape, output_layer(s.net),
                                   s.net.init, 1, EVAL_ELEMENTS, 1).eval_chunk
        self.objective = functools.partial(step.objective, s, self.loss_fn)
        self.xla = compiler_options((*s.net.layers, output_layer(s.net)))
        jit = functools.partial(jax.jit, compiler_options=self.xla)
        self.train_chunk = jit(self._train_chunk,
                               static_argnames=("capacity", "by_steps", "probes"))
        self.probe = jit(self._probe, static_argnames=("options",))
        # The same, nested in ``train_chunk`` (a nested jit takes no compiler options):
        # its trace is cached, so ``layout`` reads the probes' shapes without tracing
        # them again (1.5 s of the deep padded network's first call). Not for code
        # traced under ``unrolled_matmuls`` (a sweep's): the cache would ignore it.
        self._nested_probe = jax.jit(self._probe, static_argnames=("options",))
        self._evaluate_jit = jit(self._evaluate)
        self.step = jit(self._step)
        self._predict_jit = jit(self._predict)
        self._report_jit = jit(self._report)
        self._layouts: dict[tuple, Layout] = {}
        # Convolutions run 20x slower inside XLA:CPU loops: train those step by step.
        self.stepper = (Stepper(self) if any(layer.type == "conv2d" for layer in s.net.layers)
                        else None)

    # -- pieces the loop and the probes use ---------------------------------------------
    def example_losses(self, z: jax.Array, o: jax.Array, y: jax.Array) -> jax.Array:
        """Loss per example, (batch,) (see ``metrics.example_losses``)."""
        return metrics.example_losses(self.s.net.head, self.loss_fn, z, o, y)

    def update(self, params, opt_state, mstate, t, h, y, key, values, weights=None):
        """One optimizer step (see ``step.update``)."""
        return step.update(self.s, self.loss_fn, params, opt_state, mstate, t, h, y, key,
                           values, weights=weights)

    def learning_rate(self, t: jax.Array, values: Any) -> jax.Array:
        """The scheduled learning rate at step ``t``."""
        return step.scheduled_rate(self.s, t, values)

    def eval_inputs(self, data: DataArrays) -> tuple[jax.Array, Any]:
        """The raw inputs an epoch's end evaluates (``metrics.eval_split``),
        concatenated, and the split sizes (traced ``data.sizes`` for counted data)."""
        xs, _ = metrics.eval_split(data)
        if data.sizes is not None:
            return xs[0], data.sizes
        return jnp.concatenate(xs), tuple(x.shape[0] for x in xs)

    def metrics(self, params, mstate, evals, data: DataArrays, values) -> dict:
        """Loss and accuracy on every split, in evaluation mode, from ONE forward pass.

        ``evals`` is ``eval_inputs(data)`` (loop-invariant, built once per call). One
        pass over all points costs a third of three passes on CPU, where per-kernel
        overhead dominates; large sets go in chunks, each featurized on its own (no
        buffer of every split's features).
        """
        x_all, sizes = evals
        y_all = jnp.concatenate(metrics.eval_split(data)[1])
        classify = self.s.net.head.task == "classification"

        def scores(x, y):
            h = featurize(self.s.net, x, data.mean, data.std)
            z, o, _, _ = apply_network(self.s.net, params, mstate, h, values, key=None,
                                       train=False)
            losses = self.example_losses(z, o, y)  # (n,)
            return losses, (metrics.example_hits(self.s.net.head, o, y) if classify
                            else losses)

        losses, hits = metrics.chunked(scores, self.eval_chunk, x_all, y_all)
        return metrics.split_means(losses, hits, sizes, classify)

    # -- the jitted functions -----------------------------------------------------------
    def _probe(self, state: TrainState, data: DataArrays, values, options: ProbeOptions
               ) -> Probes:
        return probe(self.s.net, self.s.input_dim, state.params, state.model_state, data,
                     values, options, self.objective, self.example_losses,
                     min(PROBE_EXAMPLES, self.eval_chunk))  # bounded like evaluation

    def _train_chunk(self, state: TrainState, data: DataArrays, values, count: jax.Array,
                     capacity: int, by_steps: bool, probes: ProbeOptions | None):
        """``loop.fit`` then the probes of the final state, packed in one buffer."""
        evals = self.eval_inputs(data)  # loop-invariant: built once per call
        if data.sizes is not None:  # counted data: every count traced
            n, bs, has_val = data.sizes[0], data.sizes[3], data.sizes[1] > 0
        else:
            n, has_val = data.x_train.shape[0], data.x_val.shape[0] > 0
            bs = min(self.s.batch_size, n)  # a batch bigger than the data is full-batch GD
        lp = loop.Loop(self, evals, data.x_train, data.y_train, bs, n // bs, has_val, data,
                       values)
        state, table, rows = loop.fit(lp, state, count, capacity, by_steps)
        pr = self._nested_probe(state, data, values, options=probes) if probes else None
        return state, pack((table, pr, rows))

    def _evaluate(self, state: TrainState, data: DataArrays, values) -> dict:
        return self.metrics(state.params, state.model_state, self.eval_inputs(data), data,
                            values)

    def _step(self, state: TrainState, x: jax.Array, y: jax.Array, data: DataArrays,
              values) -> TrainState:
        """One optimizer step on a given batch of raw inputs x (batch, ...): for tests."""
        key, k = jax.random.split(state.key)
        h = featurize(self.s.net, x, data.mean, data.std)
        params, opt_state, mstate = self.update(state.params, state.opt_state,
                                                state.model_state, state.step, h, y, k, values)
        return state._replace(params=params, opt_state=opt_state, model_state=mstate,
                              key=key, step=state.step + 1)

    def _predict(self, state: TrainState, x: jax.Array, data: DataArrays, values):
        h = featurize(self.s.net, x, data.mean, data.std)
        return metrics.chunked(lambda hc: apply_network(
            self.s.net, state.params, state.model_state, hc, values, key=None,
            train=False)[1], self.eval_chunk, h)

    def _report(self, state: TrainState, data: DataArrays, values) -> TestReport:
        k = max(self.s.net.head.n_classes, 2)
        if data.sizes is not None:  # counted data: the test rows follow train and val
            probs = self._predict(state, data.x_train, data, values)
            start = data.sizes[0] + data.sizes[1]
            rows = jnp.arange(data.x_train.shape[0])
            test = (rows >= start) & (rows < start + data.sizes[2])
            return test_report(probs, data.y_train, k, mask=test, offset=start)
        probs = self._predict(state, data.x_test, data, values)
        return test_report(probs, data.y_test, k)

    # -- the host side -------------------------------------------------------------------
    def evaluate(self, state: TrainState, data: DataArrays, values) -> dict:
        """Loss and accuracy on every split (see ``metrics``)."""
        if self.stepper is not None:
            return self.stepper.metrics(state, data, values)
        return self._evaluate_jit(state, data, values)

    def predict(self, state: TrainState, x: jax.Array, data: DataArrays, values) -> jax.Array:
        """Outputs after the output activation for raw inputs ``x``, in bounded chunks."""
        if self.stepper is not None:
            return self.stepper.predict(state, x, data, values)
        return self._predict_jit(state, x, data, values)

    def report(self, state: TrainState, data: DataArrays, values) -> TestReport:
        """The test set's report (``engine.probes.TestReport``)."""
        if self.stepper is not None:
            probs = self.stepper.predict(state, data.x_test, data, values)
            return test_report(probs, data.y_test, max(self.s.net.head.n_classes, 2))
        return self._report_jit(state, data, values)

    def layout(self, state: TrainState, data: DataArrays, values, capacity: int,
               probes: ProbeOptions | None) -> Layout:
        """How ``train_chunk``'s buffer unpacks: worked out once on the host from the
        probes' shapes (the table and the row count are fixed)."""
        key = (capacity, probes)
        if key not in self._layouts:
            pr = (self._nested_probe.eval_shape(state, data, values, options=probes)
                  if probes else None)
            self._layouts[key] = layout_of((
                jax.ShapeDtypeStruct((capacity, len(HISTORY)), jnp.float32), pr,
                jax.ShapeDtypeStruct((), jnp.int32)))
        return self._layouts[key]

    def run(self, state: TrainState, data: DataArrays, values, count: int, capacity: int,
            by_steps: bool, probes: ProbeOptions | None) -> tuple[TrainState, Any]:
        """``train_chunk`` and its buffer unpacked: ``(state, (table, probes, rows))``
        (networks with convolutions: ``Stepper.run``)."""
        if self.stepper is not None:
            return self.stepper.run(state, data, values, count, by_steps, probes)
        state, flat = self.train_chunk(state, data, values, np.int32(count),
                                       capacity=capacity, by_steps=by_steps, probes=probes)
        return state, unpack(np.asarray(flat), self.layout(state, data, values, capacity,
                                                           probes))


COMPILED_CACHE_SIZE = 16
"""Structures whose compiled functions stay in memory (least recently used goes). The
app's warm-up alone holds about 11 (each live page's default, the padded networks one
edit away, two optimizer families); the rest is room for visitors' own."""

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
    # A server's warm-up freezes what it holds (gc.freeze); networks evicted since sit
    # in cycles the collector no longer walks: give them back to it first.
    gc.unfreeze()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: reused, not returned
        ctypes.CDLL("libc.so.6").malloc_trim(0)


_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compile_counter: dict[str, Any] = {"n": 0, "listening": False, "log": []}
NETWORK_FUNCTIONS = frozenset({"_train_chunk", "_probe", "_evaluate", "_step", "_predict",
                               "_report", "epoch_order", "_scores", "_outputs", "_close"})
"""The jitted functions of a ``Compiled`` (the stepper's included), by name."""


def _listen(event: str, duration: float, **kwargs: object) -> None:
    if event == _COMPILE_EVENT:
        # JAX compiles in the thread that calls the function, so the thread says whose it is.
        log = _compile_counter["log"]
        log.append((threading.get_ident(), str(kwargs.get("fun_name", ""))))
        _compile_counter["n"] += 1
        del log[:-1000]  # only the recent ones matter


@contextlib.contextmanager
def count_compiles(all_threads: bool = False) -> Iterator[dict[str, Any]]:
    """Count backend compilations inside the ``with`` block: ``box["compiles"]``, and
    ``box["names"]`` the compiled functions' names (``jit(name)``: a network's are
    ``NETWORK_FUNCTIONS``; the rest are small eager operations).

    Only this thread's compilations count, unless ``all_threads`` (for code that runs
    in another thread, as Streamlit's ``AppTest`` runs a page): a background thread of
    the process (a page's warm-up) must not make a value change look like a recompile."""
    if not _compile_counter["listening"]:
        jax.monitoring.register_event_duration_secs_listener(_listen)
        _compile_counter["listening"] = True
    box: dict[str, Any] = {"compiles": 0, "names": []}
    start = _compile_counter["n"]
    me = threading.get_ident()
    try:
        yield box
    finally:
        n = _compile_counter["n"] - start
        mine = [name for ident, name in (_compile_counter["log"][-n:] if n else [])
                if all_threads or ident == me]
        box["compiles"], box["names"] = len(mine), mine
