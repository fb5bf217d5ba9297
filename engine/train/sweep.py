"""Batched training: N configurations of one structure trained in ONE compiled call.

Networks this small are bound by per-step overhead, not arithmetic, so ``jax.vmap``
over configurations trains dozens for about the cost of one. A configuration differs
from the others in values only (learning rate, momentum and betas, L1/L2 rate,
dropout rate, schedule, patience, initial seed) and in its optimizer: the
optimizers of a sweep sit behind one traced index (``choose_optimizer``), so SGD,
momentum and Adam race in the same call. Why not one vmapped group per optimizer:
each group would need its own capacity and a new compile whenever a race changes its
mix; the switch costs every branch's (tiny) update under ``vmap`` and nothing else.

Configurations are padded to a capacity (``CONFIG_CAPACITIES``) with copies of the
first, so any N up to it shares one compilation. With several devices
(``jax.devices()``), the configuration axis is sharded across them with
``jax.sharding`` (a search scales to a multi-GPU or TPU host by itself, and to a CPU's
cores as host devices: ``XLA_FLAGS=--xla_force_host_platform_device_count=N``), at
least ``CONFIGS_PER_DEVICE`` configurations a device; the data is replicated.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from engine.blocks.dense import unrolled_matmuls
from engine.blocks.optimizers import choose_optimizer
from engine.data import DataArrays
from engine.probes import ProbeOptions
from engine.train import loop, step, sweep_minor
from engine.train.compile import Compiled, compiled
from engine.train.pack import Layout, layout_of, pack, unpack
from engine.train.state import HISTORY, Structure, TrainState, init_state
from engine.train.xla import sweep_options

CONFIG_CAPACITIES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
"""How many configurations one compiled sweep holds: any N up to one shares it (the
copies that pad N up to it train too, so the steps are powers of two)."""


CONFIGS_PER_DEVICE = 4
"""The fewest configurations a device gets: a smaller sweep uses fewer devices, so
that a race of 8 on a many-device host is not padded to one copy per device. Measured
with the default network, 100 epochs, one device against two host devices of a 2-core
machine (each device loops over its own configurations): 8 configurations 38 -> 17 ms,
64 configurations 193 -> 102 ms."""


def config_capacity(n: int) -> int:
    """The smallest capacity that holds ``n`` configurations (a power of two, which
    ``sweep_devices`` splits evenly)."""
    for cap in CONFIG_CAPACITIES:
        if cap >= n:
            return cap
    raise ValueError(f"at most {CONFIG_CAPACITIES[-1]} configurations at once, got {n}")


def sweep_devices(capacity: int) -> list:
    """The devices a sweep of ``capacity`` configurations is split across: the largest
    power of two of ``jax.devices()`` that divides ``capacity`` and leaves each device
    at least ``CONFIGS_PER_DEVICE`` (one device: no split)."""
    devices = jax.devices()
    k = 1
    while (2 * k <= len(devices) and 2 * k * CONFIGS_PER_DEVICE <= capacity
           and capacity % (2 * k) == 0):
        k *= 2
    return devices[:k]


class _Choosing:
    """A ``Compiled`` whose update uses configuration's optimizer (a traced index)."""

    def __init__(self, fns: Compiled, names: tuple[str, ...], choice: jax.Array):
        self._fns, self._names, self._choice = fns, names, choice

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fns, name)

    def update(self, params, opt_state, mstate, t, h, y, key, values):
        make = functools.partial(choose_optimizer, self._names, self._choice)
        return step.update(self._fns.s, self._fns.loss_fn, params, opt_state, mstate, t, h,
                           y, key, values, optimizer=make)


def values_axes(values: Any) -> Any:
    """``vmap``'s axes of a sweep's values: every number per configuration, the view
    (plane, example) shared."""
    return values._replace(
        optimizer=0, schedule=0, regularization=0, early_stopping=0,
        layers=tuple({k: 0 for k in layer} for layer in values.layers), view=None,
        choices=None)  # (a sweep's networks are never padded: they have none)


def values_specs(values: Any, split: PartitionSpec, whole: PartitionSpec) -> Any:
    """``shard_map``'s specs of a sweep's values (as ``values_axes``): every number
    ``split`` by configuration, the view ``whole`` on each device."""
    return jax.tree_util.tree_map(lambda _: split, values_axes(values))._replace(view=whole)


class SweepCompiled:
    """The jitted functions of a sweep: a structure, its optimizers and a capacity.

    Build through ``sweep_compiled()`` (cached). Every array argument and result has
    a leading configuration axis of ``capacity`` (values: all but ``view``).
    """

    def __init__(self, s: Structure, optimizers: tuple[str, ...], capacity: int):
        self.s, self.optimizers, self.capacity = s, optimizers, capacity
        self.fns = compiled(s)
        self.xla = sweep_options(self.fns.xla)
        jit = functools.partial(jax.jit, compiler_options=self.xla)
        self.train_chunk = jit(self._train_chunk,
                               static_argnames=("epochs_capacity", "by_steps", "probes",
                                                "shared"))
        self.init = jit(self._init)
        self.evaluate = jit(self._evaluate)
        self._layouts: dict[tuple, Layout] = {}
        devices = sweep_devices(capacity)
        self.sharding = (NamedSharding(Mesh(np.array(devices), ("config",)),
                                       PartitionSpec("config"))
                         if len(devices) > 1 else None)

    def place(self, tree: Any) -> Any:
        """Put a tree with a leading configuration axis on the devices, split by
        configuration (one device: as it is)."""
        if self.sharding is None or all(
                getattr(x, "sharding", None) == self.sharding
                for x in jax.tree_util.tree_leaves(tree)):
            return tree  # split already (training's own results): device_put costs ~1 ms
        return jax.device_put(tree, self.sharding)

    def _init(self, values: Any, keys: jax.Array) -> TrainState:
        return jax.vmap(lambda v, k: init_state(self.s, v, k, self.optimizers),
                        in_axes=(values_axes(values), 0))(values, keys)

    def _evaluate(self, states: TrainState, data: DataArrays, values: Any) -> dict:
        evals = self.fns.eval_inputs(data)
        return jax.vmap(lambda st, v: self.fns.metrics(st.params, st.model_state, evals,
                                                       data, v),
                        in_axes=(0, values_axes(values)))(states, values)

    def _train_chunk(self, states: TrainState, data: DataArrays, values: Any,
                     choice: jax.Array, count: jax.Array, epochs_capacity: int,
                     by_steps: bool, probes: ProbeOptions | None, shared: bool = False):
        n = data.x_train.shape[0]
        bs = min(self.s.batch_size, n)

        def batch(states, values, choice, data, count):
            evals = self.fns.eval_inputs(data)  # loop-invariant, shared by the configurations
            if sweep_minor.fits(self.s, data, by_steps):  # a plain MLP: configurations last
                lp = loop.Loop(self.fns, evals, data.x_train, data.y_train, bs, n // bs,
                               data.x_val.shape[0] > 0, data, values)
                with unrolled_matmuls():
                    states, tables, rows = sweep_minor.fit(
                        lp, self.optimizers, choice, states, values, values_axes(values),
                        count, epochs_capacity, shared)
                    pr = (jax.vmap(lambda st, v: self.fns._probe(st, data, v, probes),
                                   in_axes=(0, values_axes(values)))(states, values)
                          if probes else None)
                return states, (tables, pr, rows)

            def one(st: TrainState, v: Any, c: jax.Array):
                lp = loop.Loop(_Choosing(self.fns, self.optimizers, c), evals, data.x_train,
                               data.y_train, bs, n // bs, data.x_val.shape[0] > 0, data, v)
                st, table, rows = loop.fit(lp, st, count, epochs_capacity, by_steps)
                pr = self.fns._probe(st, data, v, probes) if probes else None
                return st, (table, pr, rows)

            with unrolled_matmuls():  # traced here: the vmapped form of a small matmul
                return jax.vmap(one, in_axes=(0, values_axes(values), 0))(states, values,
                                                                          choice)

        if self.sharding is not None:
            # Each device loops over its own configurations: a vmapped loop's condition
            # ("any still training") would otherwise be an all-reduce every epoch,
            # and a device held up by other work would hold up the rest. (No collective
            # inside: nothing for ``check_vma``'s typing of the loops' carries to check.)
            split, whole = self.sharding.spec, PartitionSpec()
            batch = jax.shard_map(
                batch, mesh=self.sharding.mesh, out_specs=split, check_vma=False,
                in_specs=(split, values_specs(values, split, whole), split, whole, whole))
        states, out = batch(states, values, choice, data, count)
        return states, pack(out)

    def layout(self, states: TrainState, data: DataArrays, values: Any, choice: jax.Array,
               epochs_capacity: int, probes: ProbeOptions | None) -> Layout:
        """How ``train_chunk``'s buffer unpacks (worked out once on the host)."""
        key = (epochs_capacity, probes)
        if key not in self._layouts:
            def shapes(st, v, c):
                return jax.vmap(lambda s1, v1: self.fns._probe(s1, data, v1, probes),
                                in_axes=(0, values_axes(v)))(st, v)
            pr = jax.eval_shape(shapes, states, values, choice) if probes else None
            cap = self.capacity
            self._layouts[key] = layout_of((
                jax.ShapeDtypeStruct((cap, epochs_capacity, len(HISTORY)), jnp.float32), pr,
                jax.ShapeDtypeStruct((cap,), jnp.int32)))
        return self._layouts[key]

    def run(self, states: TrainState, data: DataArrays, values: Any, choice: jax.Array,
            count: int, epochs_capacity: int, by_steps: bool,
            probes: ProbeOptions | None) -> tuple[TrainState, Any]:
        """``train_chunk`` and its buffer unpacked: ``(states, (tables, probes, rows))``,
        tables (capacity, epochs_capacity, len(HISTORY)), rows (capacity,)."""
        # States from anywhere (``init``, a snapshot) split alike: another split of an
        # argument would compile a second variant of the sweep.
        states, choice = self.place((states, choice))
        # Configurations that share their key share each epoch's shuffle: drawn once.
        shared = sweep_minor.fits(self.s, data, by_steps) and sweep_minor.one_order(states)
        states, flat = self.train_chunk(states, data, values, choice, np.int32(count),
                                        epochs_capacity=epochs_capacity, by_steps=by_steps,
                                        probes=probes, shared=shared)
        return states, unpack(np.asarray(flat), self.layout(states, data, values, choice,
                                                           epochs_capacity, probes))


@functools.lru_cache(maxsize=8)
def sweep_compiled(s: Structure, optimizers: tuple[str, ...], capacity: int) -> SweepCompiled:
    """The cached ``SweepCompiled`` of a structure, its optimizers and a capacity."""
    return SweepCompiled(s, optimizers, capacity)


def stack(trees: Sequence[Any], capacity: int) -> Any:
    """Stack trees along a new leading axis, padded to ``capacity`` with copies of the
    first (their results are never read)."""
    trees = list(trees) + [trees[0]] * (capacity - len(trees))
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)
