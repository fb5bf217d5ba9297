"""The traced values: every number a user can change without changing shapes.

They enter the compiled functions as arguments (a pytree of float32 and int32
scalars and small arrays), so moving a slider never recompiles. Each number has one
home here, named like its spec field (``values.optimizer.learning_rate`` is
``spec.optimizer.learning_rate``); nothing else keeps a copy (the optimizer is
built from these at every step, so its state holds no hyperparameters).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from engine.blocks import LAYERS
from engine.blocks.optimizers import OptimizerValues
from engine.errors import DataError
from engine.spec import LayerSpec, Spec


class ScheduleValues(NamedTuple):
    """``spec.optimizer.schedule``'s numbers (scalars; steps as float32)."""

    warmup_steps: jax.Array
    decay_steps: jax.Array
    decay_rate: jax.Array
    alpha: jax.Array


class RegularizationValues(NamedTuple):
    """The L1 and L2 rates (one of them 0, or both)."""

    l1: jax.Array
    l2: jax.Array


class StoppingValues(NamedTuple):
    """``spec.early_stopping``'s numbers; patience 0 is off."""

    patience: jax.Array
    min_delta: jax.Array


class ViewValues(NamedTuple):
    """What the probes look at: the input plane and one test example.

    Attributes:
        centre, extent: ``(d,)``: the plane spans ``centre +- extent`` per raw column.
        axes: ``(2,)`` int32: the raw columns drawn across and up.
        example: int32: the test example the sequence and image probes read.
        image: a picture of the data's shape ``(H, W, C)`` in [0, 1] (``(1, 1, 1)`` for
            other data): the image probes read it instead of the example when ``drawn``.
        drawn: bool.
    """

    centre: jax.Array
    extent: jax.Array
    axes: jax.Array
    example: jax.Array
    image: jax.Array
    drawn: jax.Array


class Choices(NamedTuple):
    """A padded network's menu picks as traced indices (``engine.train.state.CHOSEN``),
    int32 scalars: the learning-rate schedule's position in ``SCHEDULES.names()``, and
    the optimizer's in its family (``engine.blocks.optimizers.FAMILIES``)."""

    schedule: jax.Array
    optimizer: jax.Array


class Values(NamedTuple):
    """All traced values of an experiment (a pytree).

    Attributes:
        layers: per hidden layer, its numeric options (``LayerKind.values``: a dropout
            rate, a norm's epsilon) by name.
        choices: a padded network's schedule and optimizer (``Choices``); None for
            any other network, whose structure names them.
    """

    optimizer: OptimizerValues
    schedule: ScheduleValues
    regularization: RegularizationValues
    early_stopping: StoppingValues
    layers: tuple[dict[str, Any], ...]
    view: ViewValues
    choices: Choices | None = None


def layer_values(layers: tuple[LayerSpec, ...]) -> tuple[dict[str, Any], ...]:
    """Each hidden layer's traced numeric options (from the spec's layers), float32."""
    out = []
    for layer in layers:
        opts = layer.opts()
        out.append({name: np.float32(opts[name]) for name in LAYERS.get(layer.type).values})
    return tuple(out)


def view_values(centre: tuple[float, ...], extent: tuple[float, ...], example: int = 0,
                plane: tuple[int, int] = (0, 1), image_shape: tuple[int, ...] | None = None,
                image: Any = None) -> ViewValues:
    """The view of a dataset's plane (``Dataset.centre``/``extents``), an example and,
    for image data of ``image_shape``, a drawn picture (``image``; None: the example's).

    Raises:
        DataError: a picture that is not of ``image_shape``.
    """
    d = max(len(centre), 1)
    axes = np.clip(np.asarray(plane, np.int32)[:2], 0, d - 1)
    shape = tuple(image_shape or (1, 1, 1))
    pixels = np.zeros(shape, np.float32)
    if image is not None:
        pixels = np.asarray(image, np.float32)
        if pixels.shape != shape:
            raise DataError(f"a picture of shape {pixels.shape} cannot be shown to a network "
                            f"that reads {shape}")
        pixels = np.clip(np.nan_to_num(pixels), 0.0, 1.0)
    return ViewValues(np.asarray(centre, np.float32), np.asarray(extent, np.float32), axes,
                      np.int32(example), pixels, np.bool_(image is not None))


def values_of(spec: Spec, view: ViewValues) -> Values:
    """The traced values of ``spec`` (``view``: see ``view_values``)."""
    f = np.float32
    opt, sched, reg, es = (spec.optimizer, spec.optimizer.schedule, spec.regularization,
                           spec.early_stopping)
    return Values(
        OptimizerValues(*(f(getattr(opt, name)) for name in OptimizerValues._fields)),
        ScheduleValues(*(f(getattr(sched, name)) for name in ScheduleValues._fields)),
        RegularizationValues(f(reg.rate if reg.kind == "l1" else 0.0),
                             f(reg.rate if reg.kind == "l2" else 0.0)),
        StoppingValues(f(es.patience), f(es.min_delta)),
        layer_values(spec.model.layers),
        view,
    )
