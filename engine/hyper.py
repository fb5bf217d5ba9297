"""Hyperparameter search: rounds of candidates, each round trained at once.

::

    search = engine.hyper.Search.start(spec, axes=[Axis("learning_rate", 1e-4, 1, log=True)],
                                       method="bayesian", budget=32, round_size=8, epochs=200)
    while not search.done:
        search = search.next_round()
    best = search.best()            # the trial with the lowest validation loss
    search.test_metrics()           # the test split, read once, for that trial alone

A round's candidates come from ``engine.search.propose`` (grid, random or Bayesian)
and train together in one ``engine.sweep`` call; candidates that change the network
itself (``units``, ``batch_size``) train in one sweep per network. The validation
loss decides (the best epoch's, as early stopping keeps it); the test split is not
looked at until ``test_metrics``. ``HYPERPARAMETERS`` lists what can be searched.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data import RawData
from engine.errors import SpecError
from engine.experiment import build
from engine.model import structural
from engine.registry import Registry
from engine.search import STRATEGIES, Axis, at_edge, check_space, propose, surrogate_picture
from engine.spec import Spec
from engine.sweep import sweep
from engine.train import TrainState
from engine.train.sweep import config_capacity

MAX_BUDGET = 256
MAX_EPOCHS = 5000
# Methods that lay out a fixed design and skip the points of it already tried: they are
# given back the points they proposed, not the values tried (an integer axis rounds
# 3.30 to 3, and a grid would propose 3.30 again, and never reach its last points).
DESIGNS = frozenset({"grid"})


@dataclass(frozen=True)
class Hyperparameter:
    """A searchable number and where it goes in a spec.

    Attributes:
        low, high, log: the default range.
        integer: rounded to a whole number before use.
        structural: changes the network (one sweep per distinct value).
        apply: ``(spec dict, value) -> None``, writes the value into ``Spec.to_dict()``.
        floor: the least value a spec takes, if a range can reach it (momentum 0,
            one unit): a best there has nothing beyond it (``engine.search.at_edge``).
    """

    low: float
    high: float
    log: bool
    integer: bool
    structural: bool
    apply: Callable[[dict, float], None]
    floor: float | None = None


def _set(section: str, name: str) -> Callable[[dict, float], None]:
    def apply(d: dict, v: float) -> None:
        d[section][name] = v
    return apply


def _reg(kind: str) -> Callable[[dict, float], None]:
    def apply(d: dict, v: float) -> None:
        d["regularization"] = {"kind": kind, "rate": v}
    return apply


def _layers(kind: str, option: str) -> Callable[[dict, float], None]:
    def apply(d: dict, v: float) -> None:
        hits = [layer for layer in d["model"]["layers"] if layer["type"] == kind]
        if not hits:
            raise SpecError("search.axes", f"the network has no {kind} layer to set the "
                                           f"{option} of: add one, or search something else")
        for layer in hits:
            layer[option] = v
    return apply


def _batch(d: dict, v: float) -> None:
    d["batch_size"] = v


HYPERPARAMETERS: Registry[Hyperparameter] = Registry("hyperparameter")
HYPERPARAMETERS.register("learning_rate", Hyperparameter(
    1e-4, 1.0, True, False, False, _set("optimizer", "learning_rate")),
    "The optimizer's step size (log scale).")
HYPERPARAMETERS.register("l2_rate", Hyperparameter(1e-6, 0.1, True, False, False, _reg("l2")),
                         "The L2 penalty's rate: weight decay (log scale).")
HYPERPARAMETERS.register("l1_rate", Hyperparameter(1e-6, 0.1, True, False, False, _reg("l1")),
                         "The L1 penalty's rate: pushes weights to exactly 0 (log scale).")
HYPERPARAMETERS.register("momentum", Hyperparameter(
    0.0, 0.99, False, False, False, _set("optimizer", "momentum"), 0.0),
    "Momentum (for the momentum and Nesterov optimizers).")
HYPERPARAMETERS.register("dropout_rate", Hyperparameter(
    0.0, 0.8, False, False, False, _layers("dropout", "rate"), 0.0),
    "The rate of every dropout layer.")
HYPERPARAMETERS.register("units", Hyperparameter(
    1.0, 64.0, True, True, True, _layers("dense", "units"), 1.0),
    "The units of every hidden dense layer: width (a new network for each value).")
HYPERPARAMETERS.register("batch_size", Hyperparameter(1.0, 256.0, True, True, True, _batch, 1.0),
                         "Examples per optimizer step (a new compiled loop for each value).")
HYPERPARAMETERS.retitle({"learning_rate": "Learning rate", "l2_rate": "L2 rate",
                         "l1_rate": "L1 rate", "momentum": "Momentum",
                         "dropout_rate": "Dropout rate", "units": "Units per layer",
                         "batch_size": "Batch size"})


def axis(name: str, low: float | None = None, high: float | None = None,
         log: bool | None = None) -> Axis:
    """An ``Axis`` for hyperparameter ``name`` with its default range where not given."""
    h = HYPERPARAMETERS.get(name, "search.axes")
    return Axis(name, h.low if low is None else low, h.high if high is None else high,
                h.log if log is None else log)


@dataclass(frozen=True)
class Trial:
    """One configuration tried.

    Attributes:
        values: hyperparameter name -> value used (after rounding).
        spec: the configuration.
        val_loss: the best validation loss over its epochs (inf if it diverged at once).
        val_accuracy: the validation accuracy of the same epoch's weights (None for
            regression).
        best_epoch: the epoch of ``val_loss``.
        diverged: training hit a NaN or inf (the last finite weights were kept).
        curve: validation loss per epoch, (epochs,).
        round: the round it was proposed in (0-based).
        point: the point proposed, in real units (d,), before integer rounding: what
            a grid search counts as tried.
    """

    values: dict[str, float]
    spec: Spec
    val_loss: float
    val_accuracy: float | None
    best_epoch: int
    diverged: bool
    curve: np.ndarray = dataclasses.field(repr=False)
    round: int = 0
    point: tuple[float, ...] = ()


def _candidate(base: dict, space: Sequence[Axis], point: np.ndarray) -> tuple[dict, Spec]:
    d = copy.deepcopy(base)
    values = {}
    for ax, v in zip(space, point, strict=True):
        h = HYPERPARAMETERS.get(ax.name, "search.axes")
        v = float(v)
        if h.integer:
            v = float(round(v))
        values[ax.name] = v
        h.apply(d, int(v) if h.integer else v)
    return values, Spec.from_dict(d)


@dataclass(frozen=True)
class Search:
    """A hyperparameter search in progress (immutable: ``next_round`` returns the next).

    Attributes:
        base: the spec every candidate starts from (with early stopping's best weights).
        space: one or two ``Axis``.
        method: ``engine.search.STRATEGIES`` (grid, random, bayesian).
        budget: candidates in all; round_size: per round; epochs: per candidate.
        trials: every trial so far, in order.
        best_state: the best trial's trained state (for ``test_metrics``).
    """

    base: Spec
    space: tuple[Axis, ...]
    method: str
    budget: int
    round_size: int
    epochs: int
    seed: int = 0
    trials: tuple[Trial, ...] = ()
    rounds: int = 0
    finished: bool = False
    best_state: TrainState | None = dataclasses.field(default=None, repr=False, compare=False)
    raw: RawData | None = dataclasses.field(default=None, repr=False, compare=False)

    @staticmethod
    def start(base: Spec, axes: Sequence[Axis], method: str = "random", budget: int = 16,
              round_size: int = 8, epochs: int = 100, seed: int = 0,
              raw: RawData | None = None) -> Search:
        """A search with no trial yet; checks everything it can before any training.

        Raises:
            SpecError: an unknown method or hyperparameter, a bad range, a budget,
                round size or epoch count out of range, or a base spec without a
                validation split (the validation loss decides).
        """
        STRATEGIES.get(method, "search.method")
        space = check_space(tuple(axes))
        for ax in space:
            HYPERPARAMETERS.get(ax.name, "search.axes")
        if {ax.name for ax in space} == {"l1_rate", "l2_rate"}:
            raise SpecError("search.axes", "a network has one regularisation penalty, L1 or "
                                           "L2: search l1_rate or l2_rate, not both")
        for name, v, hi in (("budget", budget, MAX_BUDGET), ("round_size", round_size,
                                                             MAX_BUDGET),
                            ("epochs", epochs, MAX_EPOCHS)):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                raise SpecError(f"search.{name}", f"must be a whole number from 1 to {hi}, "
                                                  f"got {v!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
            raise SpecError("search.seed", f"must be a whole number from 0 to 2**31 - 1, "
                                           f"got {seed!r}")
        if base.data.val_fraction <= 0:
            raise SpecError("data.val_fraction", "a search is decided on the validation "
                                                 "split: give it a share above 0 (e.g. 0.2)")
        # Every axis must land in the spec: try both ends of each range once.
        d = base.to_dict()
        for ax in space:
            for end in (ax.low, ax.high):
                _candidate(d, (ax,), np.array([end]))
        return Search(base, space, method, budget, round_size, epochs, seed, raw=raw)

    @property
    def done(self) -> bool:
        """The budget is spent (or the method has nothing left to propose)."""
        return self.finished or len(self.trials) >= self.budget

    def observed(self) -> tuple[np.ndarray, np.ndarray]:
        """The points tried (n, d) and their objective (n,): log10 of the validation loss
        (losses span decades; diverged runs are inf)."""
        x = np.array([[t.values[a.name] for a in self.space] for t in self.trials],
                     np.float64).reshape(-1, len(self.space))
        y = np.array([math.log10(t.val_loss) if 0 < t.val_loss < math.inf else math.inf
                      for t in self.trials], np.float64)
        return x, y

    def next_round(self, progress: Callable[[float], None] | None = None) -> Search:
        """Propose and train the next round; returns the search with its trials.

        ``progress``, when given, is called with the share of the round trained (0 to
        1) every ``engine.sweep.PROGRESS_EPOCHS`` epochs; raising from it abandons the
        round, and this search stays as it was (an app's Stop)."""
        if self.done:
            return self
        x, y = self.observed()
        if self.method in DESIGNS:
            x = np.array([t.point for t in self.trials], np.float64).reshape(x.shape)
        k = min(self.round_size, self.budget - len(self.trials))
        points = propose(self.method, self.space, x, y, k, self.seed, self.rounds,
                         budget=self.budget)
        if not len(points):
            return dataclasses.replace(self, finished=True)
        d = self.base.to_dict()
        # Whole-number axes (width, batch size) round several points to one value:
        # train each value once (a search that has tried them all is finished).
        seen = {tuple(t.values[a.name] for a in self.space) for t in self.trials}
        kept, candidates = [], []
        for p in points:
            values, spec = _candidate(d, self.space, p)
            key = tuple(values[a.name] for a in self.space)
            if key not in seen:
                seen.add(key)
                kept.append(p)
                candidates.append((values, spec))
        if not candidates:
            return dataclasses.replace(self, finished=True)
        points = np.asarray(kept)
        trials, best = list(self.trials), (self.best(), self.best_state)
        groups: dict[tuple, list[int]] = {}
        for i, (_, spec) in enumerate(candidates):
            # one sweep per network: layers' values (a dropout rate) do not count
            key = (spec.batch_size, tuple(structural(layer) for layer in spec.model.layers))
            groups.setdefault(key, []).append(i)
        new: dict[int, Trial] = {}
        for g, members in enumerate(groups.values()):
            sw = sweep([candidates[i][1] for i in members], self.raw)
            tell = None if progress is None else (
                lambda done, g=g: progress((g * self.epochs + done)
                                           / (len(groups) * self.epochs)))
            states, chunk = sw.train(sw.init(), self.epochs, progress=tell)
            # Judged by the best epoch's weights, as early stopping would keep them.
            states = states._replace(params=states.best_params)
            metrics = sw.metrics(states)
            for j, i in enumerate(members):
                st = sw.state(states, j)
                mon = st.monitor
                val = float(mon.best_val)
                trial = Trial(candidates[i][0], candidates[i][1],
                              val if math.isfinite(val) else math.inf,
                              metrics[j]["val_accuracy"], int(mon.best_epoch),
                              bool(mon.diverged), chunk.history["val_loss"][j], self.rounds,
                              tuple(float(v) for v in points[i]))
                new[i] = trial
                if best[0] is None or trial.val_loss < best[0].val_loss:
                    best = (trial, st)
        trials.extend(new[i] for i in range(len(candidates)))
        return dataclasses.replace(self, trials=tuple(trials), rounds=self.rounds + 1,
                                   best_state=best[1])

    def round_flops(self) -> float:
        """A bound on the next round's arithmetic (floating-point operations): every
        configuration it trains, padding copies included, for ``epochs`` epochs, with
        the width and the batch size at their most expensive end of the ranges. A page
        refuses a round above its budget before any training."""
        if self.done:
            return 0.0
        k = min(self.round_size, self.budget - len(self.trials))
        worst = np.array([[ax.high if ax.name == "units" else ax.low for ax in self.space]])
        _, spec = _candidate(self.base.to_dict(), self.space, worst[0])
        cost = build(spec, self.raw).cost
        return float(config_capacity(k) * self.epochs * cost.epoch_flops)

    def best(self) -> Trial | None:
        """The trial with the lowest validation loss so far (None before any)."""
        finite = [t for t in self.trials if math.isfinite(t.val_loss)]
        return min(finite, key=lambda t: t.val_loss) if finite else None

    def at_edge(self, values: dict[str, float] | None = None) -> list[tuple[Axis, str]]:
        """``engine.search.at_edge`` of ``values`` (default: the best trial's), each
        hyperparameter's floor known: the axes where a wider range may find better."""
        if values is None:
            best = self.best()
            if best is None:
                return []
            values = best.values
        floors = {ax.name: HYPERPARAMETERS.get(ax.name).floor for ax in self.space}
        return at_edge(self.space, values, floors=floors)

    def test_metrics(self) -> dict[str, float | None] | None:
        """The best trial's metrics on every split, the test split included: read once,
        at the end, so that the test split never chose anything (None before any)."""
        best = self.best()
        if best is None or self.best_state is None:
            return None
        return build(best.spec, self.raw).metrics(self.best_state)

    def picture(self, resolution: int | None = None) -> dict[str, Any]:
        """The surrogate's view of the results (``engine.search.surrogate_picture``):
        the GP's mean and uncertainty of log10 validation loss, and the expected
        improvement, on a dense grid."""
        x, y = self.observed()
        return surrogate_picture(self.space, x, y, resolution)
