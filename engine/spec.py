"""The spec: a frozen, JSON-serialisable description of one experiment.

A spec is what a URL, a preset, a lesson, an export and a test all carry.
Every field has a default, so ``Spec.from_dict({})`` is valid. ``from_dict``
validates everything and raises one ``SpecError`` naming the field, the bad
value and what is allowed. Checks live in each field's metadata, so the
validator below is one loop for every section.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from engine.blocks import ACTIVATIONS, INITIALIZERS, LAYERS, LOSSES, OPTIMIZERS, SCHEDULES
from engine.data import DATASETS, MAX_CSV_CHARS, MAX_POINTS_CHARS, check_features
from engine.errors import SpecError
from engine.schema import Choice, Flag, Names, Num, OneOf, Text, check_object
from engine.untrusted import parse_json

MAX_LAYERS = 32
MAX_JSON_CHARS = MAX_CSV_CHARS + 100_000  # a spec may carry its CSV table (and points)


def _f(default: Any, check: Any) -> Any:
    """A dataclass field with a default and the check that validates it."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: default, metadata={"check": check})
    return field(default=default, metadata={"check": check})


@dataclass(frozen=True)
class DataSpec:
    """Which data, how much, how noisy, how split, and which input features."""

    name: str = _f("spiral", OneOf(DATASETS))
    n: int = _f(500, Num(4, 25_000, integer=True))
    noise: float = _f(0.1, Num(0.0, 5.0))
    train_fraction: float = _f(0.5, Num(0.01, 0.99))
    val_fraction: float = _f(0.0, Num(0.0, 0.9))
    features: tuple[str, ...] = _f(("x1", "x2"), Names(16))
    seed: int = _f(0, Num(0, 2**31 - 1, integer=True))
    standardize: bool = _f(False, Flag())
    classes: int = _f(3, Num(2, 10, integer=True))
    csv: str | None = _f(None, Text(MAX_CSV_CHARS))  # the table itself, never a file name
    label_column: str | None = _f(None, Text(200))
    length: int = _f(0, Num(0, 1000, integer=True))  # sequence tasks; 0 = the task's default
    symbols: int = _f(0, Num(0, 20_000, integer=True))  # sequence tasks' alphabet; 0 = default
    size: int = _f(0, Num(0, 64, integer=True))  # images' side in pixels; 0 = native
    channels: int = _f(1, Choice((1, 3)))  # uploaded images: grey (1) or colour (3)
    # Points placed by hand (datasets hand, hand_regression), encoded by
    # engine.data.encode_points: 16/3 characters a point, so a few hundred fit a link.
    # null = the hand sets' starter points; other datasets ignore it, as they ignore csv.
    points: str | None = _f(None, Text(MAX_POINTS_CHARS))


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its type and its options (every option present, defaults filled).

    ``options`` is a sorted tuple of (name, value) pairs so the spec stays
    hashable; use ``opts()`` for a dict.
    """

    type: str
    options: tuple[tuple[str, Any], ...] = ()

    def opts(self) -> dict[str, Any]:
        """The options as a dict."""
        return dict(self.options)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"type": ..., **options}``."""
        return {"type": self.type, **self.opts()}

    @staticmethod
    def from_dict(d: Any, path: str) -> LayerSpec:
        """Validate one layer object; ``path`` names it in errors."""
        if not isinstance(d, dict):
            raise SpecError(path, f"got {d!r:.40}; expected an object like "
                                  '{"type": "dense", "units": 8, "activation": "tanh"}')
        kind_name = OneOf(LAYERS)(d.get("type", "dense"), f"{path}.type")
        kind = LAYERS.get(kind_name)
        check_object(d, path, ["type", *kind.options])
        opts = {name: check(d.get(name, default), f"{path}.{name}")
                for name, (check, default) in kind.options.items()}
        return LayerSpec(kind_name, tuple(sorted(opts.items())))


def dense(units: int, activation: str = "relu", **options: Any) -> LayerSpec:
    """Shorthand for a validated dense ``LayerSpec``."""
    d = {"type": "dense", "units": units, "activation": activation, **options}
    return LayerSpec.from_dict(d, "layer")


@dataclass(frozen=True)
class ModelSpec:
    """Hidden layers (the output layer is added to fit the task), output, init."""

    layers: tuple[LayerSpec, ...] = (
        LayerSpec("dense", (("activation", "tanh"), ("init", "default"), ("norm", "none"),
                            ("residual", False), ("units", 8))),
    ) * 2
    output_activation: str = _f("auto", OneOf(ACTIVATIONS, ("auto",)))
    init: str = _f("glorot_uniform", OneOf(INITIALIZERS))


@dataclass(frozen=True)
class ScheduleSpec:
    """Learning-rate schedule, in optimizer steps, after an optional linear warm-up."""

    name: str = _f("constant", OneOf(SCHEDULES))
    warmup_steps: int = _f(0, Num(0, 10_000_000, integer=True))
    decay_steps: int = _f(1000, Num(1, 10_000_000, integer=True))
    decay_rate: float = _f(0.5, Num(0.0, 1.0, lo_open=True))
    alpha: float = _f(0.0, Num(0.0, 1.0))


@dataclass(frozen=True)
class OptimizerSpec:
    """Optimizer, learning rate and the hyperparameters each optimizer reads."""

    name: str = _f("sgd", OneOf(OPTIMIZERS))
    learning_rate: float = _f(0.03, Num(0.0, 100.0, lo_open=True))
    momentum: float = _f(0.9, Num(0.0, 0.999))
    b1: float = _f(0.9, Num(0.0, 0.9999))
    b2: float = _f(0.999, Num(0.0, 0.99999))
    # At least 1e-30: below float32's smallest normal (1.2e-38) a CPU flushes eps to 0,
    # and a padded network's unused weights (gradient 0, average 0) step by 0 / 0 = NaN.
    eps: float = _f(1e-8, Num(1e-30, 1.0))
    decay: float = _f(0.9, Num(0.0, 0.9999))
    weight_decay: float = _f(1e-4, Num(0.0, 1.0))
    clip_norm: float = _f(0.0, Num(0.0, 1e6))
    schedule: ScheduleSpec = ScheduleSpec()


@dataclass(frozen=True)
class RegularizationSpec:
    """L1 or L2 penalty on the weights (not the biases), with its rate."""

    kind: str = _f("none", Choice(("none", "l1", "l2")))
    rate: float = _f(0.0, Num(0.0, 10.0))


@dataclass(frozen=True)
class EarlyStoppingSpec:
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs.

    ``patience`` 0 turns early stopping off. The best weights are kept.
    """

    patience: int = _f(0, Num(0, 100_000, integer=True))
    min_delta: float = _f(0.0, Num(0.0, 1000.0))


@dataclass(frozen=True)
class Spec:
    """A whole experiment. ``Spec()`` is the default; ``from_dict({})`` equals it."""

    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    loss: str = _f("auto", OneOf(LOSSES, ("auto",)))
    optimizer: OptimizerSpec = OptimizerSpec()
    regularization: RegularizationSpec = RegularizationSpec()
    early_stopping: EarlyStoppingSpec = EarlyStoppingSpec()
    batch_size: int = _f(10, Num(1, 10_000, integer=True))
    seed: int = _f(0, Num(0, 2**31 - 1, integer=True))

    # -- (de)serialisation ---------------------------------------------------------------
    @staticmethod
    def from_dict(d: Any) -> Spec:
        """Validate a JSON-like dict into a ``Spec``; raises ``SpecError``.

        When ``data.features`` is not given, 1-D datasets (line, sine) get
        ``["x1"]`` instead of the 2-D default.
        """
        check_object(d, "", [f.name for f in dataclasses.fields(Spec)])
        spec = _build(Spec, d, "")
        data = d.get("data") if isinstance(d, dict) else None
        if (not isinstance(data, dict) or "features" not in data) and \
                _point_dim(spec.data.name) == 1:
            spec = dataclasses.replace(spec, data=dataclasses.replace(spec.data,
                                                                      features=("x1",)))
        _check_cross_fields(spec)
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The complete spec as plain JSON types (every field, defaults included)."""
        return _to_plain(self)

    def updated(self, **sections: Any) -> Spec:
        """A validated copy with some fields changed, section by section::

            spec.updated(optimizer={"name": "adam", "learning_rate": 0.01}, seed=3)

        A dict merges into its section (one level); any other value replaces the
        field. Raises ``SpecError`` as ``from_dict`` does.
        """
        d = self.to_dict()
        for section, changes in sections.items():
            d[section] = ({**d[section], **changes}
                          if isinstance(changes, dict) and isinstance(d.get(section), dict)
                          else changes)
        return Spec.from_dict(d)

    @staticmethod
    def from_json(text: str) -> Spec:
        """Parse and validate JSON text; raises ``SpecError`` for bad JSON too."""
        return Spec.from_dict(parse_json(text, what="the spec", max_chars=MAX_JSON_CHARS))

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of ``to_dict()``."""
        return json.dumps(self.to_dict(), indent=indent)


def _build(cls: type, d: Any, path: str) -> Any:
    """Build dataclass ``cls`` from dict ``d``, checking every field (recursively)."""
    fields = dataclasses.fields(cls)
    if cls is DataSpec and isinstance(d, dict) and "path" in d:
        # Specs travel in links and uploads: none may make the server read a file.
        raise SpecError(f"{path}.path", "a spec cannot name a file; put the table in "
                                        "data.csv, upload it in the app, or give the command "
                                        "line --csv FILE")
    d = check_object(d if d is not None else {}, path, [f.name for f in fields])
    kwargs: dict[str, Any] = {}
    for f in fields:
        sub = f"{path}.{f.name}" if path else f.name
        if f.name not in d:
            continue
        value = d[f.name]
        if f.name == "layers" and cls is ModelSpec:
            if not isinstance(value, list):
                raise SpecError(sub, f"got {value!r:.40}; expected a list of at most "
                                     f"{MAX_LAYERS} layers")
            if len(value) > MAX_LAYERS:
                raise SpecError(sub, f"got {len(value)} layers; expected at most "
                                     f"{MAX_LAYERS} layers")
            kwargs[f.name] = tuple(LayerSpec.from_dict(v, f"{sub}[{i}]")
                                   for i, v in enumerate(value))
        elif isinstance(f.default, _SECTIONS):
            kwargs[f.name] = _build(type(f.default), value, sub)
        else:
            kwargs[f.name] = f.metadata["check"](value, sub)
    return cls(**kwargs)


_SECTIONS = (DataSpec, ModelSpec, ScheduleSpec, OptimizerSpec, RegularizationSpec,
             EarlyStoppingSpec)


def _to_plain(obj: Any) -> Any:
    if isinstance(obj, LayerSpec):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [_to_plain(v) for v in obj]
    return obj


def _point_dim(name: str) -> int:
    """Raw columns of a generated point set (0 for tables and sequence tasks)."""
    kind = DATASETS.get(name)
    return kind.input_dim if kind.family == "points" else 0


def _check_cross_fields(spec: Spec) -> None:
    """Checks that involve more than one field."""
    data = spec.data
    own_test = getattr(DATASETS.get(data.name), "own_test_set", False)
    if data.train_fraction + data.val_fraction > 0.99 and not own_test:
        total = data.train_fraction + data.val_fraction
        raise SpecError("data.val_fraction", f"train_fraction + val_fraction = {total:g} leaves "
                                             "no test set; keep the sum below 0.99")
    if _point_dim(data.name):  # features are for points; tables and sequences differ
        check_features(data.features, _point_dim(data.name))
    if spec.early_stopping.patience > 0 and data.val_fraction <= 0:
        raise SpecError("early_stopping.patience",
                        "early stopping watches the validation loss: set data.val_fraction > 0 "
                        "(e.g. 0.2) or patience to 0")
