"""Padded networks: every small MLP of a page trained by ONE compiled network.

TensorFlow Playground answers a click on "+ neuron" at once; a compiler needs a
second or two per new shape. So a page that opts in (``engine.build(...,
padded=True)``) trains each small MLP as a padded one: ``MAX_DEPTH`` hidden layers of
``MAX_UNITS`` units (``engine.blocks.masked``) reading every input feature, with the
real network's neurons, depth, activations and features as traced masks and indices.
A structural edit within those bounds is then a change of values: nothing compiles.

``Padder`` does the bookkeeping at the boundary, on the host: a real ``TrainState``
(parameters, optimizer moments, best weights) is scattered into the padded shapes
before a call and gathered back after it, and the probes are cut back to the real
network, so callers see exactly the unpadded network's shapes. The padding is exact:
padded units output 0 and their weights get zero gradients (so Adam's moments and
L1/L2 leave them at 0), a layer not in use passes its input through, and the real
weights see the same sums (plus zeros), so the results equal the unpadded network's
to float32 rounding (tested).

What qualifies (``padding``): points with two raw columns, up to ``MAX_DEPTH`` dense
layers of at most ``MAX_UNITS`` units, parameter-free elementwise activations, no
norm or residual, the default initialiser, an output activation without a learned
slope. Anything else compiles its own network as before.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import jax
import numpy as np

from engine.blocks import ACTIVATIONS, LAYERS
from engine.blocks.masked import MASKED, PADDED_ACTIVATIONS
from engine.blocks.optimizers import make_optimizer
from engine.data import FEATURES, DataArrays
from engine.data.base import feature_stats
from engine.model import Network
from engine.probes import ProbeOptions, Probes
from engine.spec import LayerSpec
from engine.train.compile import Compiled, compiled
from engine.train.state import Structure, TrainState

MAX_DEPTH = 6
"""Hidden layers of a padded network (TensorFlow Playground's most)."""

MAX_UNITS = 8
"""Units of each padded hidden layer (TensorFlow Playground's most)."""

WIDTH = max(MAX_UNITS, len(FEATURES))
"""Slots of each padded layer: ``MAX_UNITS`` neurons, or more when there are more input
features (a layer not in use passes all of them through)."""

BATCH_CAPACITIES = (10, 32)
"""Rows each step of a padded network reads: a batch size up to one is a traced count
of its rows. Two, because a step's cost grows with its rows (the default network
trains 4,400 epochs/s at 10 rows, 3,200 at 32, 2 cores): batch sizes 1-10 (the
Playground's default 10 among them) share the first, 11-32 (TensorFlow Playground's
range ends at 30) the second."""


def _smallest(capacities: tuple[int, ...], n: int) -> int | None:
    return next((cap for cap in capacities if n <= cap), None)


def batch_capacity(batch_size: int) -> int | None:
    """The rows a padded step reads for ``batch_size``, or None above them all."""
    return _smallest(BATCH_CAPACITIES, batch_size)


EXAMPLE_CAPACITIES = (512, 2048)
"""Rows of a padded network's data (every split's, ``DataArrays.sizes``): any data
up to one shares its compilation, so a new training share or a hand-placed point
compiles nothing. The first holds the Playground's 500 points, the second a
regression set (1,200) or a hand-drawn one (2,000 at most); more is not padded."""

PADDED_INIT = "glorot_uniform"
"""The padded structure's nominal initialiser: its weights always come from the real
network, so every initialiser shares one compiled network."""


@dataclass(frozen=True)
class Padding:
    """Where a real network sits inside the padded one.

    Attributes:
        widths: the real hidden layers' units (``len`` = depth <= ``MAX_DEPTH``).
        features: the real input features' positions in ``FEATURES`` order.
        activations: each real hidden layer's index into ``PADDED_ACTIVATIONS``.
    """

    widths: tuple[int, ...]
    features: tuple[int, ...]
    activations: tuple[int, ...]

    @property
    def depth(self) -> int:
        """The real network's hidden layers."""
        return len(self.widths)

    def rows(self, i: int) -> np.ndarray:
        """The padded rows of real layer ``i``'s weights (``i == depth``: the output's)."""
        return np.asarray(self.features if i == 0 else range(self.widths[i - 1]))

    def cols(self, i: int) -> np.ndarray:
        """The padded columns of real hidden layer ``i``'s weights."""
        return np.arange(self.widths[i])

    def layer_values(self) -> tuple[dict[str, np.ndarray], ...]:
        """The traced values of the padded hidden layers (``engine.blocks.masked``)."""
        feature_mask = np.zeros(len(FEATURES), np.float32)
        feature_mask[list(self.features)] = 1.0
        out = []
        for i in range(MAX_DEPTH):
            on = i < self.depth
            if i == 0:
                in_mask = feature_mask
            else:
                in_mask = np.zeros(WIDTH, np.float32)
                in_mask[: self.widths[i - 1] if on else WIDTH] = 1.0
            out_mask = np.zeros(WIDTH, np.float32)
            out_mask[: self.widths[i] if on else 0] = 1.0
            out.append({"in_mask": in_mask, "out_mask": out_mask,
                        "act": np.int32(self.activations[i] if on else 0),
                        "on": np.bool_(on)})
        return tuple(out)


def example_capacity(examples: int) -> int | None:
    """The rows of padded data that hold ``examples`` (every split's), or None when
    there are too many (``EXAMPLE_CAPACITIES``)."""
    return _smallest(EXAMPLE_CAPACITIES, examples)


def padding(s: Structure, input_dim: int, examples: int = 0) -> Padding | None:
    """Where ``s``'s network sits in the padded one, or None when it does not qualify
    (``examples``: the data's rows, every split's)."""
    net = s.net
    names = FEATURES.names()
    if (net.sequence is not None or net.image is not None or input_dim != 2
            or batch_capacity(s.batch_size) is None or example_capacity(examples) is None
            or len(net.layers) > MAX_DEPTH
            or not set(net.features) <= set(names)
            or ACTIVATIONS.get(net.head.activation).param_init is not None):
        return None
    widths, acts = [], []
    for layer in net.layers:
        o = layer.opts()
        if (layer.type != "dense" or o["units"] > MAX_UNITS or o.get("norm", "none") != "none"
                or o.get("residual") or o.get("init", "default") != "default"
                or o["activation"] not in PADDED_ACTIVATIONS):
            return None
        widths.append(o["units"])
        acts.append(PADDED_ACTIVATIONS.index(o["activation"]))
    return Padding(tuple(widths), tuple(names.index(f) for f in net.features), tuple(acts))


def padded_structure(s: Structure) -> Structure:
    """The one structure every qualifying network of ``s``'s kind trains in: the same
    head, loss, optimizer, schedule and regularisation; its batch size's capacity
    (``BATCH_CAPACITIES``)."""
    layer = LayerSpec(MASKED, (("units", WIDTH),))
    net = Network((layer,) * MAX_DEPTH, tuple(FEATURES.names()), s.net.head, s.net.loss,
                  PADDED_INIT)
    return replace(s, net=net, batch_size=batch_capacity(s.batch_size))


def _map_params(tree: Any, like: Any, fn) -> Any:
    """Apply ``fn`` to every subtree of ``tree`` shaped like the parameters ``like``
    (the parameters themselves, the optimizer's moments, the best weights)."""
    treedef = jax.tree_util.tree_structure(like)

    def one(node):
        return fn(node) if jax.tree_util.tree_structure(node) == treedef else node

    return jax.tree_util.tree_map(
        one, tree, is_leaf=lambda n: jax.tree_util.tree_structure(n) == treedef)


class Padder:
    """The ``Compiled`` interface of a real network, run by the padded one.

    Built by ``Experiment`` for pages that opt in; ``state`` arguments and results are
    the real network's (see the module's docstring).
    """

    def __init__(self, real: Structure, pad: Padding, standardize: bool):
        self.real = real
        self.pad = pad
        self.s = padded_structure(real)
        self.standardize = standardize
        self._data: tuple[DataArrays, DataArrays] | None = None
        # The last state handed back, and its padded twin on the device: a live page
        # passes that very state in again, and then nothing is padded or copied.
        self._last: tuple[TrainState, TrainState] | None = None

    @property
    def fns(self) -> Compiled:
        """The padded network's compiled functions (shared by every network it holds)."""
        return compiled(self.s)

    # -- values and data ------------------------------------------------------------------
    def values(self, values: Any) -> Any:
        """The padded network's traced values: the real ones, its layers' masks added."""
        return values._replace(layers=self._layer_values)

    @functools.cached_property
    def _layer_values(self) -> tuple[dict[str, np.ndarray], ...]:
        return self.pad.layer_values()  # the same every frame: built once

    def data(self, data: DataArrays) -> DataArrays:
        """``data`` as the padded network reads it: every split's rows in one array of
        ``EXAMPLE_CAPACITIES`` rows, the counts and batch size traced
        (``DataArrays.sizes``), and the statistics of every feature."""
        if self._data is None or self._data[0] is not data:
            self._data = (data, self._pad_data(data))
        return self._data[1]

    def _pad_data(self, data: DataArrays) -> DataArrays:
        names = FEATURES.names()
        host = jax.device_get(data)
        if self.standardize:
            mean, std = feature_stats(host.x_train, names)
        else:
            mean, std = np.zeros(len(names)), np.ones(len(names))
        xs = [np.asarray(host.x_train), np.asarray(host.x_val), np.asarray(host.x_test)]
        ys = [np.asarray(host.y_train), np.asarray(host.y_val), np.asarray(host.y_test)]
        counts = [len(x) for x in xs]
        cap = example_capacity(sum(counts))
        if cap is None:
            raise ValueError(f"{sum(counts)} examples do not fit a padded network's data "
                             f"(at most {EXAMPLE_CAPACITIES[-1]})")
        x = np.zeros((cap, xs[0].shape[1]), np.float32)
        y = np.zeros(cap, ys[0].dtype)
        x[: sum(counts)] = np.concatenate(xs)
        y[: sum(counts)] = np.concatenate(ys)
        batch = max(1, min(self.real.batch_size, counts[0]))  # bigger: full-batch GD
        empty_x, empty_y = x[:0], y[:0]
        put = jax.device_put  # a copy; jnp.asarray may compile a conversion kernel
        return DataArrays(put(x), put(y), empty_x, empty_y, empty_x, empty_y,
                          put(np.asarray(mean, np.float32)), put(np.asarray(std, np.float32)),
                          put(np.asarray([*counts, batch], np.int32)))

    # -- the state at the boundary ---------------------------------------------------------
    def pad_params(self, params: list[dict]) -> list[dict]:
        """Real parameters (NumPy) scattered into the padded shapes."""
        p, out = self.pad, []
        for i in range(MAX_DEPTH):
            fan_in = len(FEATURES) if i == 0 else WIDTH
            w = np.zeros((fan_in, WIDTH), np.float32)
            b = np.zeros(WIDTH, np.float32)
            if i < p.depth:
                w[np.ix_(p.rows(i), p.cols(i))] = params[i]["w"]
                b[p.cols(i)] = params[i]["b"]
            out.append({"b": b, "w": w})
        head = params[p.depth]
        w = np.zeros((WIDTH, head["w"].shape[1]), np.float32)
        w[p.rows(p.depth)] = head["w"]
        out.append({"b": np.asarray(head["b"], np.float32), "w": w})
        return out

    def unpad_params(self, params: list[dict]) -> list[dict]:
        """Padded parameters (NumPy) cut back to the real network's."""
        p, out = self.pad, []
        for i in range(p.depth):
            out.append({"b": params[i]["b"][p.cols(i)],
                        "w": params[i]["w"][np.ix_(p.rows(i), p.cols(i))]})
        head = params[MAX_DEPTH]
        out.append({"b": head["b"], "w": head["w"][p.rows(p.depth)]})
        return out

    def pad_state(self, state: TrainState) -> TrainState:
        """A real state in the padded network's shapes, on the device."""
        if self._last is not None and state is self._last[0]:
            return self._last[1]
        st = jax.device_get(state)
        padded = st._replace(
            params=self.pad_params(st.params),
            opt_state=_map_params(st.opt_state, st.params, self.pad_params),
            model_state=[{} for _ in range(MAX_DEPTH + 1)],
            best_params=self.pad_params(st.best_params))
        return jax.device_put(padded)

    def unpad_state(self, state: TrainState) -> TrainState:
        """A padded state cut back to the real network's shapes (NumPy arrays, on the
        host: the next call pads it again, or finds it is the last one returned)."""
        st = jax.device_get(state)
        real = st._replace(
            params=self.unpad_params(st.params),
            opt_state=_map_params(st.opt_state, st.params, self.unpad_params),
            model_state=[{} for _ in range(self.pad.depth + 1)],
            best_params=self.unpad_params(st.best_params))
        self._last = (real, state)
        return real

    def unpad_probes(self, pr: Probes | None) -> Probes | None:
        """The padded network's probes (NumPy) as the real network's."""
        if pr is None:
            return None
        p = self.pad
        layers = [*range(p.depth), MAX_DEPTH]  # the real layers' rows in per-layer arrays
        neurons = pr.neurons
        if neurons:
            neurons = ([neurons[0][..., list(p.features)]]
                       + [neurons[1 + i][..., : p.widths[i]] for i in range(p.depth)]
                       + [neurons[-1]])
        pick = (lambda a: None if a is None else a[layers])  # noqa: E731
        return pr._replace(neurons=neurons, grad_norm=pick(pr.grad_norm),
                           weight_norm=pick(pr.weight_norm), weight_hist=pick(pr.weight_hist),
                           weight_range=pick(pr.weight_range), grad_hist=pick(pr.grad_hist),
                           grad_range=pick(pr.grad_range))

    # -- the Compiled interface ------------------------------------------------------------
    def run(self, state: TrainState, data: DataArrays, values: Any, count: int,
            capacity: int, by_steps: bool, probes: ProbeOptions | None
            ) -> tuple[TrainState, Any]:
        """``Compiled.run`` on the padded network; probes of dense layers' statistics,
        sequences or images are not padded: those calls use the real network."""
        if probes is not None and (probes.layers or probes.sequence or probes.images):
            return compiled(self.real).run(state, data, values, count, capacity, by_steps,
                                           probes)
        st, (table, pr, rows) = self.fns.run(self.pad_state(state), self.data(data),
                                             self.values(values), count, capacity, by_steps,
                                             probes)
        return self.unpad_state(st), (table, self.unpad_probes(pr), rows)

    def probe(self, state: TrainState, data: DataArrays, values: Any,
              options: ProbeOptions) -> Probes:
        """``Compiled.probe`` on the padded network (NumPy arrays)."""
        if options.layers or options.sequence or options.images:
            return compiled(self.real).probe(state, data, values, options=options)
        pr = self.fns.probe(self.pad_state(state), self.data(data), self.values(values),
                            options=options)
        return self.unpad_probes(jax.tree_util.tree_map(np.asarray, jax.device_get(pr)))

    def step(self, state: TrainState, x: jax.Array, y: jax.Array, data: DataArrays,
             values: Any) -> TrainState:
        """``Compiled.step`` on the padded network."""
        st = self.fns.step(self.pad_state(state), x, y, self.data(data), self.values(values))
        return self.unpad_state(st)

    def evaluate(self, state: TrainState, data: DataArrays, values: Any) -> dict:
        """``Compiled.evaluate`` on the padded network."""
        return self.fns.evaluate(self.pad_state(state), self.data(data), self.values(values))

    def predict(self, state: TrainState, x: jax.Array, data: DataArrays, values: Any
                ) -> jax.Array:
        """``Compiled.predict`` on the padded network. The rows are padded to an
        ``EXAMPLE_CAPACITIES`` (above them, a power of two), so that a split of a new
        size (a new training share, a hand-placed point) compiles nothing new."""
        x = np.asarray(x, np.float32)  # padded and cut on the host: no kernel per size
        n = x.shape[0]
        rows = example_capacity(n) or 1 << (n - 1).bit_length()
        x = np.pad(x, [(0, rows - n)] + [(0, 0)] * (x.ndim - 1))
        return np.asarray(self.fns.predict(self.pad_state(state), x, self.data(data),
                                           self.values(values)))[:n]

    def report(self, state: TrainState, data: DataArrays, values: Any) -> Any:
        """``Compiled.report`` on the padded network."""
        return self.fns.report(self.pad_state(state), self.data(data), self.values(values))


def warm_inits(real: Structure, values: Any) -> None:
    """Draw, once, a dense layer of every shape a padded network holds (fan-in and units
    1 to ``MAX_UNITS``, and the output layer's) with ``real``'s initialiser and
    optimizer, so that initialising any small network later compiles none of JAX's
    small eager kernels (a quarter second per new shape, measured, on a 2-core CPU)."""
    dense = LAYERS.get("dense")
    key = jax.random.PRNGKey(0)
    opt = make_optimizer(real.optimizer, values.optimizer, values.optimizer.learning_rate)
    for fan_in in range(1, WIDTH + 1):
        for units in sorted({*range(1, MAX_UNITS + 1), real.net.head.out_dim}):
            opts = {"units": units, "activation": "linear", "init": "default",
                    "norm": "none", "residual": False}
            params, _, _ = dense.init(key, (fan_in,), opts, real.net.init)
            opt.init([params])
