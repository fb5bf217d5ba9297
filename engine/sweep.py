"""Many configurations of one network trained at once: the front door of sweeps.

::

    base = engine.preset("tf_playground")
    configs = [base.updated(optimizer={"name": name, "learning_rate": lr})
               for name in ("sgd", "momentum", "adam") for lr in (0.003, 0.03, 0.3)]
    sw = engine.sweep(configs)
    states = sw.init()
    states, chunk = sw.train(states, epochs=100)
    chunk.history["train_loss"]    # (9, 100): one curve per configuration

Every configuration must be the same network on the same data (layers, features,
batch size, loss, schedule kind, regularisation kind): they may differ in every
value (learning rate, momentum, betas, rates, dropout rate, patience, seed) and in
the optimizer. All of them train in one compiled call (``engine.train.sweep``);
each one's results equal the same spec trained alone with ``engine.build``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from engine.blocks import OPTIMIZERS
from engine.data import RawData
from engine.errors import SpecError
from engine.experiment import Experiment, build
from engine.probes import ProbeOptions, Probes
from engine.spec import Spec
from engine.train import CAPACITIES, HISTORY, TrainState, to_numpy
from engine.train.sweep import SweepCompiled, config_capacity, stack, sweep_compiled
from engine.values import values_of

PROGRESS_EPOCHS = 50
"""Epochs per call when ``Sweep.train`` reports progress: below the first history
capacity, so every such call shares one compilation."""

MAX_CONFIGS = 256
"""The most configurations one sweep trains at once."""


@dataclass(frozen=True)
class SweepChunk:
    """What one call of ``Sweep.train`` returns besides the states (host NumPy).

    Attributes:
        history: per configuration and epoch, ``HISTORY``'s columns, each (N, K)
            (``trained`` False for epochs skipped after stopping or divergence).
        probes: ``Probes`` whose arrays have a leading axis N, or None.
    """

    history: dict[str, np.ndarray]
    probes: Probes | None


def _differences(exp: Experiment, b: Spec) -> list[str]:
    """The structural fields where ``b`` differs from the sweep's first configuration
    (values, seed and optimizer left out)."""
    a, out = exp.spec, []
    if a.data != b.data:
        out.append("data")
    if not exp.structure.net.fits(b):
        out.append("model")
    if a.batch_size != b.batch_size:
        out.append("batch_size")
    if a.optimizer.schedule.name != b.optimizer.schedule.name:
        out.append("optimizer.schedule.name")
    if a.regularization.kind != b.regularization.kind:
        out.append("regularization.kind")
    if (a.optimizer.clip_norm > 0) != (b.optimizer.clip_norm > 0):
        out.append("optimizer.clip_norm (on or off)")
    return out


@dataclass(frozen=True)
class Sweep:
    """N configurations of one network, trained together.

    Attributes:
        specs: the configurations, in order.
        experiment: the first configuration's ``Experiment`` (data, structure).
        optimizers: the distinct optimizers, in order of first use.
        fns: the compiled sweep (cached by structure, optimizers and capacity).
    """

    specs: tuple[Spec, ...]
    experiment: Experiment
    optimizers: tuple[str, ...]
    fns: SweepCompiled
    values: Any = dataclasses.field(compare=False)
    choice: np.ndarray = dataclasses.field(compare=False)

    @property
    def n(self) -> int:
        """How many configurations."""
        return len(self.specs)

    def init(self) -> TrainState:
        """Fresh states, one per configuration, each from its own ``spec.seed`` (the
        weights ``engine.build(spec).init()`` draws)."""
        keys = stack([jax.random.PRNGKey(s.seed) for s in self.specs], self.fns.capacity)
        return self.fns.init(self.values, self.fns.place(keys))

    def train(self, states: TrainState, epochs: int,
              probes: ProbeOptions | bool | None = None, *,
              by_steps: bool = False,
              progress: Callable[[int], None] | None = None) -> tuple[TrainState, SweepChunk]:
        """Train every configuration ``epochs`` epochs (``by_steps``: that many optimizer
        steps, as ``Experiment.train_steps``) in one compiled call per 1024.

        A configuration that stopped early or diverged stays as it is (its epochs come
        back with ``trained`` False); the others go on. ``probes`` (True: the default
        ``ProbeOptions``) adds the probes of each final state. The history has a column
        per epoch that ended.

        ``progress``, when given, is called with the epochs done so far after each call
        of at most ``PROGRESS_EPOCHS`` (the same results): an app shows it, and may
        stop the training there by raising.
        """
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
        options = ProbeOptions() if probes is True else (probes or None)
        data = self.experiment.dataset.arrays
        most = CAPACITIES[-1] if progress is None else PROGRESS_EPOCHS
        tables, pr, left, first = [], None, epochs, True
        while left > 0 or first:
            first = False
            k = min(left, most)
            cap = next(c for c in CAPACITIES if c >= k)
            want = options.static() if options is not None and left == k else None
            states, (table, pr, rows) = self.fns.run(states, data, self.values, self.choice,
                                                     k, cap, by_steps, want)
            tables.append(table[: self.n, : int(rows.max(initial=0))])
            left -= k
            if progress is not None:
                progress(epochs - left)
        table = np.concatenate(tables, axis=1)
        history = {name: table[:, :, i] for i, name in enumerate(HISTORY)}
        history["trained"] = history["trained"] > 0.5
        if pr is not None:
            pr = jax.tree_util.tree_map(lambda x: x[: self.n], pr)
        return states, SweepChunk(history, pr)

    def metrics(self, states: TrainState) -> list[dict[str, float | None]]:
        """Each configuration's loss and accuracy on every split (as
        ``Experiment.metrics``)."""
        m = to_numpy(self.fns.evaluate(states, self.experiment.dataset.arrays, self.values))
        return [{k: (None if math.isnan(float(v[i])) else float(v[i])) for k, v in m.items()}
                for i in range(self.n)]

    def state(self, states: TrainState, i: int) -> TrainState:
        """Configuration ``i``'s state as ``engine.build(specs[i])`` would hold it (its
        own optimizer's state), e.g. to go on training it alone or to draw it."""
        if not 0 <= i < self.n:
            raise IndexError(f"configuration {i} of {self.n}")
        one = jax.tree_util.tree_map(lambda x: x[i], states)
        return one._replace(opt_state=one.opt_state[int(self.choice[i])])


def sweep(specs: Sequence[Spec], raw: RawData | None = None) -> Sweep:
    """Make a ``Sweep`` of ``specs`` (1 to ``MAX_CONFIGS``), one network on one data.

    Raises:
        SpecError: no spec, too many, or two that differ in more than values and
            the optimizer (the message names the fields).
        DataError: the data cannot be made or read.
    """
    specs = tuple(specs)
    if not 1 <= len(specs) <= MAX_CONFIGS:
        raise SpecError("configurations", f"a sweep trains 1 to {MAX_CONFIGS} configurations"
                                          f" at once, got {len(specs)}")
    exp = build(specs[0], raw)
    for i, s in enumerate(specs[1:], start=2):
        diff = _differences(exp, s)
        if diff:
            raise SpecError("configurations",
                            f"configuration {i} differs from the first in {', '.join(diff)}; "
                            "a sweep's configurations may differ only in values, seeds and "
                            "the optimizer")
    # In registry order: the same mix in another order is the same compiled sweep.
    used = {s.optimizer.name for s in specs}
    optimizers = tuple(n for n in OPTIMIZERS.names() if n in used)
    structure = dataclasses.replace(exp.structure, optimizer=optimizers[0])
    capacity = config_capacity(len(specs))
    fns = sweep_compiled(structure, optimizers, capacity)
    per_config = fns.place(stack([values_of(s, exp.values.view)._replace(view=None)
                                  for s in specs], capacity))
    values = per_config._replace(view=exp.values.view)  # the view is shared, not split
    choice = stack([np.int32(optimizers.index(s.optimizer.name)) for s in specs], capacity)
    return Sweep(specs, exp, optimizers, fns, values, fns.place(choice))
