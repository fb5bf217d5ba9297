"""Padded networks: every small MLP of a page trained by ONE compiled network.

TensorFlow Playground answers a click on "+ neuron" at once; a compiler needs a
second or two per new shape. So a page that opts in (``engine.build(...,
padded=True)``, or the name of a ``engine.train.padding.Profile``) trains each
qualifying MLP as a padded one: the profile's hidden layers, each as wide as a unit
capacity (``engine.blocks.masked``), reading every input feature, with the real
network's neurons, depth, activations, residual connections and features as traced
masks and indices. A structural edit within those bounds is then a change of
values: nothing compiles. The Playground's profile holds 6 layers of 8 units; the
Gradient flow page's holds 30 layers of 32 or 64.

``Padder`` does the bookkeeping at the boundary, on the host: a real ``TrainState``
(parameters, optimizer moments, best weights) is scattered into the padded shapes
before a call and gathered back after it, and the probes are cut back to the real
network, so callers see exactly the unpadded network's shapes. The padding is exact:
padded units output 0 and their weights get zero gradients (so Adam's moments and
L1/L2 leave them at 0), a layer not in use passes its input through, and the real
weights see the same sums (plus zeros), so the results equal the unpadded network's
to float32 rounding (tested). The schedule, the weight penalty and the optimizer
within its family are traced too (``padding.padded_structure``).

What qualifies: ``engine.train.padding.padding``. Anything else compiles its own
network as before.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np

from engine.blocks import LAYERS
from engine.blocks.initializers import warm_draws
from engine.blocks.optimizers import Family, family_of, make_optimizer
from engine.blocks.schedules import SCHEDULES
from engine.data import FEATURES, DataArrays
from engine.data.base import feature_stats
from engine.probes import ProbeOptions, Probes
from engine.spec import Spec
from engine.train.compile import Compiled, compiled
from engine.train.padding import (
    BATCH_CAPACITIES,
    EXAMPLE_CAPACITIES,
    MAX_DEPTH,
    PROFILES,
    Padding,
    Profile,
    batch_capacity,
    example_capacity,
    padded_structure,
    padding,
    profile,
)
from engine.train.state import Structure, TrainState
from engine.values import Choices


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
        self.s = padded_structure(real, pad)
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
        """The padded network's traced values: the real ones, its layers' masks and the
        real network's schedule and optimizer (``Choices``) added."""
        return values._replace(layers=self._layer_values, choices=self._choices)

    @functools.cached_property
    def _layer_values(self) -> tuple[dict[str, np.ndarray], ...]:
        return self.pad.layer_values()  # the same every frame: built once

    @functools.cached_property
    def _choices(self) -> Choices:
        family = self._family
        return Choices(np.int32(SCHEDULES.names().index(self.real.schedule)),
                       np.int32(0 if family is None else family.names.index(
                           self.real.optimizer)))

    @functools.cached_property
    def _family(self) -> Family | None:
        return family_of(self.s.optimizer)  # the optimizers this network picks among

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
        cap = example_capacity(sum(counts), self.pad.profile)
        if cap is None:
            raise ValueError(f"{sum(counts)} examples do not fit a padded network's data "
                             f"(at most {self.pad.profile.examples[-1]})")
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
        width = p.slots
        for i in range(p.profile.depth):
            fan_in = len(FEATURES) if i == 0 else width
            w = np.zeros((fan_in, width), np.float32)
            b = np.zeros(width, np.float32)
            if i < p.depth:
                w[np.ix_(p.rows(i), p.cols(i))] = params[i]["w"]
                b[p.cols(i)] = params[i]["b"]
            out.append({"b": b, "w": w})
        head = params[p.depth]
        w = np.zeros((width, head["w"].shape[1]), np.float32)
        w[p.rows(p.depth)] = head["w"]
        out.append({"b": np.asarray(head["b"], np.float32), "w": w})
        return out

    def unpad_params(self, params: list[dict]) -> list[dict]:
        """Padded parameters (NumPy) cut back to the real network's."""
        p, out = self.pad, []
        for i in range(p.depth):
            out.append({"b": params[i]["b"][p.cols(i)],
                        "w": params[i]["w"][np.ix_(p.rows(i), p.cols(i))]})
        head = params[p.profile.depth]
        out.append({"b": head["b"], "w": head["w"][p.rows(p.depth)]})
        return out

    def pad_state(self, state: TrainState) -> TrainState:
        """A real state in the padded network's shapes, on the device."""
        if self._last is not None and state is self._last[0]:
            return self._last[1]
        st = jax.device_get(state)
        params = self.pad_params(st.params)
        opt_state = _map_params(st.opt_state, st.params, self.pad_params)
        family = self._family
        if family is not None:  # the real optimizer's state inside its family's
            opt_state = family.widen(self.real.optimizer, opt_state)
        padded = st._replace(
            params=params, opt_state=opt_state,
            model_state=[{} for _ in range(self.pad.profile.depth + 1)],
            best_params=self.pad_params(st.best_params))
        return jax.device_put(padded)

    def unpad_state(self, state: TrainState) -> TrainState:
        """A padded state cut back to the real network's shapes (NumPy arrays, on the
        host: the next call pads it again, or finds it is the last one returned)."""
        st = jax.device_get(state)
        opt_state = st.opt_state
        family = self._family
        if family is not None:
            opt_state = family.narrow(self.real.optimizer, opt_state)
        real = st._replace(
            params=self.unpad_params(st.params),
            opt_state=_map_params(opt_state, st.params, self.unpad_params),
            model_state=[{} for _ in range(self.pad.depth + 1)],
            best_params=self.unpad_params(st.best_params))
        self._last = (real, state)
        return real

    def unpad_probes(self, pr: Probes | None) -> Probes | None:
        """The padded network's probes (NumPy) as the real network's."""
        if pr is None:
            return None
        p = self.pad
        layers = [*range(p.depth), p.profile.depth]  # the real layers' rows in per-layer arrays
        neurons = pr.neurons
        if neurons:
            neurons = ([neurons[0][..., list(p.features)]]
                       + [neurons[1 + i][..., : p.widths[i]] for i in range(p.depth)]
                       + [neurons[-1]])
        pick = (lambda a: None if a is None else a[layers])  # noqa: E731
        stats = pr.layers
        if stats is not None:  # one row per hidden layer; the weights' per dense layer
            hidden = slice(0, p.depth)
            stats = stats._replace(
                pre_hist=stats.pre_hist[hidden], pre_range=stats.pre_range[hidden],
                act_stats=stats.act_stats[hidden], weight_stats=stats.weight_stats[layers],
                dead=stats.dead[hidden], saturated=stats.saturated[hidden])
        return pr._replace(neurons=neurons, layers=stats, grad_norm=pick(pr.grad_norm),
                           weight_norm=pick(pr.weight_norm), weight_hist=pick(pr.weight_hist),
                           weight_range=pick(pr.weight_range), grad_hist=pick(pr.grad_hist),
                           grad_range=pick(pr.grad_range))

    # -- the Compiled interface ------------------------------------------------------------
    def run(self, state: TrainState, data: DataArrays, values: Any, count: int,
            capacity: int, by_steps: bool, probes: ProbeOptions | None
            ) -> tuple[TrainState, Any]:
        """``Compiled.run`` on the padded network; probes of sequences or images are
        not padded: those calls use the real network."""
        if probes is not None and (probes.sequence or probes.images):
            return compiled(self.real).run(state, data, values, count, capacity, by_steps,
                                           probes)
        st, (table, pr, rows) = self.fns.run(self.pad_state(state), self.data(data),
                                             self.values(values), count, capacity, by_steps,
                                             probes)
        return self.unpad_state(st), (table, self.unpad_probes(pr), rows)

    def probe(self, state: TrainState, data: DataArrays, values: Any,
              options: ProbeOptions) -> Probes:
        """``Compiled.probe`` on the padded network (NumPy arrays)."""
        if options.sequence or options.images:
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


def variants(spec: Spec, pad: Padder, rows: int) -> list[Spec]:
    """A spec per other padded network a user of ``spec`` reaches in one edit: by the
    batch size (``BATCH_CAPACITIES``), by going past 512 points (``EXAMPLE_CAPACITIES``;
    the Points box's first "+" does) and, in a profile of several unit capacities, by
    the width of every dense layer. ``rows``: the data's, every split's."""
    prof = pad.pad.profile
    specs = [spec.updated(batch_size=cap) for cap in prof.batches if cap != pad.s.batch_size]
    if rows <= prof.examples[0] < prof.examples[-1]:
        specs.append(spec.updated(data={"n": prof.examples[0] + 1}))
    for units in pad.pad.profile.units:
        if units != pad.pad.units:
            d = spec.to_dict()
            for layer in d["model"]["layers"]:
                layer["units"] = units
            specs.append(Spec.from_dict(d))
    return specs


def warm_inits(real: Structure, values: Any, prof: Profile) -> None:
    """Draw, once, every initialiser's distribution (``dense_weights``: one draw serves
    every shape) and a dense layer of every shape the ``prof`` pages make, with
    ``real``'s initialiser and optimizer, so that initialising any of those networks
    later compiles none of JAX's small eager kernels (a quarter second per new shape,
    measured, on a 2-core CPU; a stateful optimizer's zeros are drawn per shape). The
    Playground's shapes: fan-in and units 1 to 8, and the output layer's; a page of
    uniform stacks (``Profile.stacks``): for each width w, the first layer's, w x w and
    the output's."""
    warm_draws()  # every initialiser's weights: one draw per distribution, any shape
    dense = LAYERS.get("dense")
    key = jax.random.PRNGKey(0)
    opt = make_optimizer(real.optimizer, values.optimizer, values.optimizer.learning_rate)
    out, most = real.net.head.out_dim, prof.units[-1]
    if prof.stacks:
        first = len(real.net.features)
        shapes = {s for w in range(1, most + 1) for s in ((first, w), (w, w), (w, out))}
    else:
        slots = max(most, len(FEATURES))
        shapes = {(f, u) for f in range(1, slots + 1) for u in {*range(1, most + 1), out}}
    for fan_in, units in sorted(shapes):
        opts = {"units": units, "activation": "linear", "init": "default",
                "norm": "none", "residual": False}
        params, _, _ = dense.init(key, (fan_in,), opts, real.net.init)
        opt.init([params])


__all__ = ["BATCH_CAPACITIES", "EXAMPLE_CAPACITIES", "MAX_DEPTH", "PROFILES",
           "Padder", "Padding", "Profile", "batch_capacity", "example_capacity",
           "padded_structure", "padding", "profile", "variants", "warm_inits"]
