"""The engine's front door: build an experiment from a spec and train it.

``build(spec)`` makes the data, resolves the network and fetches the compiled
functions (cached by structure). An ``Experiment`` is immutable; training
state lives in ``TrainState`` values you pass in and get back::

    exp = engine.build(engine.Spec.from_dict({"data": {"name": "xor"}}))
    state = exp.init()
    state, chunk = exp.train(state, epochs=100)
    print(exp.metrics(state))

``run(spec, epochs)`` does the whole loop headless and returns a ``Result``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from engine.cost import Cost, estimate, evaluated
from engine.data import DATASETS, Dataset, RawData, build_dataset, load_csv
from engine.errors import DataError
from engine.model import Network, apply_network, build_network, featurize, output_layer
from engine.probes import ProbeOptions, Probes, TestReport
from engine.probes.images import MAP_KINDS
from engine.spec import Spec
from engine.teach.conv import Computation, explain
from engine.train import (
    CAPACITIES,
    HISTORY,
    METRICS,
    Chunk,
    Compiled,
    Structure,
    TrainState,
    compiled,
    init_state,
    to_numpy,
)
from engine.train.landscape import Landscape, loss_landscape
from engine.train.padded import Padder, padding, variants, warm_inits
from engine.values import Values, values_of, view_values


@dataclass(frozen=True)
class Experiment:
    """A spec made concrete: its data, its network structure and its compiled functions.

    Attributes:
        spec: the validated spec.
        dataset: the generated (or loaded) data, split and on the device.
        structure: the hashable structure (cache key of compiled functions).
        values: the traced values (``engine.values.Values``): every number a user can
            change without changing shapes.
    """

    spec: Spec
    dataset: Dataset
    structure: Structure
    values: Values = dataclasses.field(compare=False)
    padded: bool | str = dataclasses.field(default=False, compare=False)

    @property
    def fns(self) -> Compiled | Padder:
        """The compiled functions (shared by every experiment of this structure); with
        ``padded``, a small MLP's are the padded network's (``engine.train.padded``)."""
        return self._padder or compiled(self.structure)

    @functools.cached_property
    def _padder(self) -> Padder | None:
        # Only the padder is kept here: compiled functions stay in compile's LRU cache,
        # so a session holding an experiment does not pin them in memory.
        if self.padded:
            pad = padding(self.structure, self.dataset.input_dim, self.dataset.arrays.rows,
                          self.padded)
            if pad is not None:
                return Padder(self.structure, pad, self.spec.data.standardize)
        return None

    @property
    def padded_structure(self) -> Structure | None:
        """The structure of the padded network this experiment trains in (its compiled
        functions' key), or None when it trains its own."""
        return None if self._padder is None else self._padder.s

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch: floor(n_train / batch size), at least 1."""
        n = self.dataset.arrays.x_train.shape[0]
        return max(1, n // min(self.spec.batch_size, n))

    @functools.cached_property
    def cost(self) -> Cost:
        """Parameters, arithmetic and memory of training this experiment (``engine.cost``)."""
        net, a = self.structure.net, self.dataset.arrays
        n_eval = evaluated(a.x_train.shape[0], a.x_train.shape[0] + a.x_val.shape[0]
                           + a.x_test.shape[0])
        cost = estimate(net.layers, net.in_shape, output_layer(net), net.init,
                        a.x_train.shape[0], n_eval, self.spec.batch_size)
        if net.sequence is not None and net.sequence.tokens and not net.one_hot:
            # Token ids into an embedding are stored as T ids, not T one-hot rows of the
            # vocabulary (a 5,000-word vocabulary read as one-hot looked like 11 GB).
            cost = dataclasses.replace(cost, input_elements=net.in_shape[0])
        return cost

    def warm_inits(self) -> None:
        """For a padded experiment, draw every small dense layer's shape once, so that a
        later network's first weights compile nothing (``engine.train.padded.warm_inits``);
        nothing for any other."""
        if self._padder is not None:
            warm_inits(self.structure, self.values, self._padder.pad.profile)

    def padded_variants(self) -> list[Spec]:
        """For a padded experiment, a spec per other padded network its user reaches in
        one edit (``engine.train.padded.variants``), for a warm-up to compile; none for
        any other."""
        return [] if self._padder is None else variants(self.spec, self._padder,
                                                        self.dataset.arrays.rows)

    def init(self, seed: int | None = None) -> TrainState:
        """A fresh state; ``seed`` defaults to ``spec.seed`` (same seed, same weights)."""
        key = jax.random.PRNGKey(self.spec.seed if seed is None else seed)
        return init_state(self.structure, self.values, key)

    def train(self, state: TrainState, epochs: int,
              probes: ProbeOptions | bool | None = None) -> tuple[TrainState, Chunk]:
        """Train ``epochs`` epochs; returns (new state, chunk of host arrays).

        Up to 1024 epochs run in one compiled call (K is traced: changing it does
        not recompile); more are split into calls of 1024. Nothing happens to a
        state that has stopped early or diverged: its epochs come back with
        ``trained`` False. ``probes`` (a ``ProbeOptions``, or True for the default
        ones) adds the probes of the final state: the output and neurons over the
        input plane, gradient and weight statistics, per-layer statistics, a
        sequence model's view of one test example.
        """
        return self._train(state, epochs, False, probes)

    def train_steps(self, state: TrainState, steps: int,
                    probes: ProbeOptions | bool | None = None) -> tuple[TrainState, Chunk]:
        """Train ``steps`` optimizer steps, stopping inside an epoch if need be.

        A live view's frame can then cost a few steps rather than a whole epoch.
        The batches are the ones ``train`` would take, in the same order, so
        steps adding up to whole epochs train as ``train`` does. The chunk's history
        has a row for each epoch that ended during the call.
        """
        return self._train(state, steps, True, probes)

    def _train(self, state: TrainState, count: int, by_steps: bool,
               probes: ProbeOptions | bool | None) -> tuple[TrainState, Chunk]:
        if not isinstance(count, int) or count < 0:
            what = "steps" if by_steps else "epochs"
            raise ValueError(f"{what} must be an integer >= 0, got {count!r}")
        options = ProbeOptions() if probes is True else (probes or None)
        values = self._viewing(options)
        tables, pr, left, first = [], None, count, True
        while left > 0 or first:  # a count of 0 still returns probes of the current state
            first = False
            k = min(left, CAPACITIES[-1])
            cap = next(c for c in CAPACITIES if c >= k)
            want = options.static() if options is not None and left == k else None
            state, (table, pr, rows) = self.fns.run(state, self.dataset.arrays, values, k, cap,
                                                    by_steps, want)
            tables.append(table[: int(rows)])
            left -= k
        table = np.concatenate(tables) if len(tables) > 1 else tables[0]
        history = {name: table[:, i] for i, name in enumerate(HISTORY)}
        history["trained"] = history["trained"] > 0.5
        return state, Chunk(history, pr)

    def _viewing(self, options: ProbeOptions | None) -> Values:
        """The values with the options' test example and plane (traced: no recompile)."""
        if options is None:
            return self.values
        ds = self.dataset
        return self.values._replace(view=view_values(ds.centre, ds.extents, options.example,
                                                     options.plane, ds.image, options.image))

    def probe(self, state: TrainState, options: ProbeOptions | None = None) -> Probes:
        """Probes of ``state`` (``ProbeOptions``; default ones when None) as NumPy arrays."""
        options = options or ProbeOptions()
        return to_numpy(self.fns.probe(state, self.dataset.arrays, self._viewing(options),
                                       options=options.static()))

    def _inputs(self, x: Any) -> jax.Array:
        """Inputs as the network takes them: token ids stay int32, the rest float32
        (images ``(n, H, W, C)`` in [0, 1])."""
        tokens = self.dataset.sequence is not None and self.dataset.sequence.tokens
        return jnp.asarray(x, jnp.int32 if tokens else jnp.float32)

    def step(self, state: TrainState, x: Any, y: Any) -> TrainState:
        """One optimizer step on a given batch: inputs x, labels y.

        x is raw points (batch, d), or sequences (batch, T) of token ids or
        (batch, T, d); y is (batch,) or, per token, (batch, T): class ids (int,
        -1 = no target) for classification, targets for regression. Useful to
        check an update rule by hand; training uses ``train``.
        """
        dtype = jnp.int32 if self.dataset.task == "classification" else jnp.float32
        return self.fns.step(state, self._inputs(x), jnp.asarray(y, dtype),
                             self.dataset.arrays, self.values)

    def metrics(self, state: TrainState) -> dict[str, float | None]:
        """Loss and accuracy on each split as Python floats (None when not defined)."""
        m = to_numpy(self.fns.evaluate(state, self.dataset.arrays, self.values))
        return {k: (None if math.isnan(float(v)) else float(v)) for k, v in m.items()}

    def confusion_matrix(self, state: TrainState, split: str = "test") -> np.ndarray | None:
        """Counts (n_classes, n_classes): row = true class, column = predicted class.

        Per-token tasks count every step that has a target. None for regression or
        an empty split.
        """
        if self.dataset.task != "classification" or split not in ("train", "val", "test"):
            return None
        x = getattr(self.dataset.arrays, f"x_{split}")
        if x.shape[0] == 0:
            return None
        out = np.asarray(self.fns.predict(state, x, self.dataset.arrays, self.values))
        pred = self.structure.net.head.predict(out).ravel()  # on the host
        true = np.asarray(getattr(self.dataset.arrays, f"y_{split}")).ravel()
        keep = true >= 0  # per-token tasks: steps without a target (-1) do not count
        k = self.dataset.n_classes
        return np.bincount(true[keep] * k + pred[keep], minlength=k * k).reshape(k, k)

    def test_report(self, state: TrainState) -> TestReport | None:
        """The test set's confusion matrix, accuracy per class and most confidently wrong
        examples (``engine.probes.TestReport``, NumPy); None for regression or no test set."""
        if self.dataset.task != "classification" or not self.dataset.arrays.x_test.shape[0]:
            return None
        return to_numpy(self.fns.report(state, self.dataset.arrays, self.values))

    def explain_conv(self, state: TrainState, image: Any, layer: int, row: int, col: int,
                     channel: int) -> Computation:
        """How output (row, col, channel) of hidden layer ``layer`` (a conv2d or a pool)
        is computed for ``image`` (H, W, C) in [0, 1], number by number
        (``engine.teach.conv``).

        Raises:
            DataError: ``layer`` is not a conv2d or pool layer, or the place is outside
                its output.
        """
        net = self.structure.net
        if not 0 <= layer < len(net.layers) or net.layers[layer].type not in MAP_KINDS:
            raise DataError(f"layer {layer + 1} is not a conv2d or pool layer")
        h = featurize(net, self._inputs(np.asarray(image)[None]), self.dataset.arrays.mean,
                      self.dataset.arrays.std)
        outs = apply_network(net, state.params, state.model_state, h, self.values, key=None,
                             train=False, collect=True)[3]
        x = h[0] if layer == 0 else outs[layer - 1][0]
        params, mstate = jax.device_get((state.params[layer], state.model_state[layer]))
        try:
            return explain(net.layers[layer].type, net.layers[layer].opts(), params, mstate,
                           np.asarray(x), row, col, channel)
        except ValueError as err:
            raise DataError(str(err)) from None

    def predict(self, state: TrainState, x: Any) -> np.ndarray:
        """Network outputs (after the output activation) for inputs x.

        x is raw points (n, d), or sequences (n, T) of token ids or (n, T, d); the
        result is (n, out), or (n, T, out) for per-token tasks.
        """
        return np.asarray(self.fns.predict(state, self._inputs(x), self.dataset.arrays,
                                           self.values))

    def landscape(self, state: TrainState, trajectory: list[Any] | None = None, *,
                  resolution: int = 21, span: float = 1.0, seed: int = 0,
                  split: str = "train", directions: str = "random") -> Landscape:
        """The loss around ``state``'s weights on a plane of two filter-normalised
        random directions (or the trajectory's top two principal ones), with
        ``trajectory`` (parameter trees, oldest first) projected on it: Li et al.,
        "Visualizing the Loss Landscape of Neural Nets", 2018. See
        ``engine.train.landscape.loss_landscape`` for the arguments and errors."""
        return loss_landscape(self.structure, self.dataset.arrays, self.values, state.params,
                              state.model_state, trajectory=trajectory,
                              resolution=resolution, span=span, seed=seed, split=split,
                              directions=directions)

    def with_spec(self, spec: Spec, raw: RawData | None = None) -> Experiment:
        """The experiment for a changed spec, reusing what did not change.

        The same data is kept when ``spec.data`` is unchanged; the same network when
        its structure is (a new dropout rate changes values, not the network); a
        change of values alone (learning rate, rates) is a new ``Values`` and nothing
        else, so it never recompiles.
        """
        if spec.data != self.spec.data or raw is not None:
            return build(spec, raw, padded=self.padded)
        return _make(spec, self.dataset, self.structure.net, self.padded)


def _structure(spec: Spec, dataset: Dataset, net: Network) -> Structure:
    return Structure(net=net, input_dim=dataset.input_dim, optimizer=spec.optimizer.name,
                     schedule=spec.optimizer.schedule.name,
                     regularization=spec.regularization.kind,
                     clip=spec.optimizer.clip_norm > 0, batch_size=spec.batch_size)


def _make(spec: Spec, dataset: Dataset, net: Network | None = None,
          padded: bool | str = False) -> Experiment:
    """An experiment on ``dataset``; ``net`` is reused when the spec's network is it."""
    if net is None or not net.fits(spec):
        net = build_network(spec, dataset.features, dataset.task, dataset.n_classes,
                            dataset.sequence, dataset.image)
    values = values_of(spec, view_values(dataset.centre, dataset.extents,
                                         image_shape=dataset.image))
    return Experiment(spec, dataset, _structure(spec, dataset, net), values, padded)


def build(spec: Spec, raw: RawData | None = None, *, padded: bool | str = False
          ) -> Experiment:
    """Make an ``Experiment``: generate or load the data, resolve the network.

    Args:
        spec: a validated spec.
        raw: the table of the ``csv`` dataset; when None, the table in ``data.csv`` is
            parsed. A spec never names a file: only the caller (the command line, a
            script) reads files, e.g. with ``engine.read_csv(path)``.
        padded: train an MLP on 2-D points inside one padded network
            (``engine.train.padded``), so that changing its neurons, layers,
            activations or features compiles nothing; the results are the unpadded
            network's to float32 rounding. True: the Playground's (up to 6 dense layers
            of up to 8 units); ``"deep"``: up to 30 of up to 64, residual or not
            (``engine.train.padding.PROFILES``). For live pages; a headless run is
            faster unpadded.

    Raises:
        SpecError: the spec does not fit the data (e.g. softmax on regression).
        DataError: the data cannot be made or read.
    """
    if DATASETS.get(spec.data.name).family == "table" and raw is None:
        if spec.data.csv is None:
            raise DataError("dataset 'csv' needs its table: upload a CSV file in the app, put "
                            "its text in data.csv, or give it to the command line (--csv FILE)")
        raw = load_csv(spec.data.csv, label_column=spec.data.label_column)
    return _make(spec, build_dataset(spec.data, raw), padded=padded)


@dataclass
class Result:
    """The outcome of ``run``.

    Attributes:
        experiment: the experiment trained.
        state: the final state.
        history: per-epoch metrics as NumPy arrays (only epochs actually trained).
        metrics: final metrics (see ``Experiment.metrics``) plus epochs, steps,
            stopped_early, best_epoch and diverged.
        seconds: wall time of training (compile included).
    """

    experiment: Experiment
    state: TrainState
    history: dict[str, np.ndarray]
    metrics: dict[str, Any]
    seconds: float


def run(spec: Spec, epochs: int, *, raw: RawData | None = None, chunk: int = 1024) -> Result:
    """Train ``spec`` headless for up to ``epochs`` epochs (fewer if it stops or diverges)."""
    exp = build(spec, raw)
    state = exp.init()
    t0 = time.perf_counter()
    parts: list[dict[str, np.ndarray]] = []
    done = 0
    while done < epochs:
        k = min(chunk, epochs - done)
        state, out = exp.train(state, k)
        parts.append(out.history)
        done += k
        if bool(state.monitor.stopped) or bool(state.monitor.diverged):
            break
    seconds = time.perf_counter() - t0
    history = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    trained = history.pop("trained")
    history = {key: v[trained] for key, v in history.items()}
    metrics: dict[str, Any] = exp.metrics(state)
    metrics.update(epochs=int(state.epoch), steps=int(state.step),
                   stopped_early=bool(state.monitor.stopped),
                   best_epoch=int(state.monitor.best_epoch),
                   diverged=bool(state.monitor.diverged))
    return Result(exp, state, history, metrics, seconds)


__all__ = ["METRICS", "Experiment", "Result", "build", "run"]
