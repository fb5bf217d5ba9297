"""What an experiment costs: parameters, arithmetic and memory, from shapes alone.

Nothing is compiled or run: the layer stack's shapes are walked and each layer's
parameters are counted with ``jax.eval_shape``. The estimate is what lets an app
refuse a setup that would take its server's memory or minutes of its CPU
before anything is built on the device, and pace training to a time budget.

A layer's arithmetic is ``2 x parameters x positions`` (each weight is used once
per position: a time step, a pixel) plus a few operations per output value;
attention adds its ``T x T`` scores (``4 T^2 d``) and an embedding is a lookup.
XLA's own cost analysis would count a ``lax.scan`` body once whatever the
sequence length, so it cannot serve for recurrent layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from engine.blocks import LAYERS
from engine.data import DATASETS
from engine.spec import LayerSpec, Spec

BYTES = 4  # float32
EVAL_ELEMENTS = 1 << 23
"""Activation values one evaluation chunk may hold (32 MB of float32): larger sets are
evaluated in chunks of ``eval_chunk`` examples."""


EVAL_TRAIN = 2048
"""Training examples whose loss and accuracy an epoch's end reports: the first ones
(the data are shuffled: a fair sample). Twenty thousand pictures would otherwise cost
an evaluation of every one of them after every epoch, for a curve that a sample draws
as well. Validation and test sets are evaluated whole."""


def evaluated(train_examples: int, examples: int) -> int:
    """How many of ``examples`` (every split) an epoch's end evaluates, of which
    ``train_examples`` are the training split's (at most ``EVAL_TRAIN`` of them)."""
    return min(train_examples, EVAL_TRAIN) + examples - train_examples


@dataclass(frozen=True)
class LayerCost:
    """One layer's share (per example)."""

    name: str
    params: int
    flops: float
    out_elements: int


@dataclass(frozen=True)
class Cost:
    """Size and arithmetic of one experiment.

    Attributes:
        layers: per layer (hidden layers, then the output layer), per example.
        input_elements: values of one example's input as the first layer sees it.
        train_examples: examples in the training split.
        eval_examples: examples in all splits (evaluated after every epoch).
        batch: examples per optimizer step.
        steps_per_epoch: optimizer steps per epoch.
    """

    layers: tuple[LayerCost, ...]
    input_elements: int
    train_examples: int
    eval_examples: int
    batch: int
    steps_per_epoch: int

    @property
    def params(self) -> int:
        """Trainable parameters."""
        return sum(layer.params for layer in self.layers)

    @property
    def forward_flops(self) -> float:
        """Floating-point operations of one example's forward pass."""
        return sum(layer.flops for layer in self.layers)

    @property
    def activation_elements(self) -> int:
        """Values every layer outputs for one example (what backprop keeps)."""
        return self.input_elements + sum(layer.out_elements for layer in self.layers)

    @property
    def step_flops(self) -> float:
        """One optimizer step: forward and backward (about 3 forwards) on a batch."""
        return 3.0 * self.forward_flops * self.batch

    @property
    def epoch_flops(self) -> float:
        """One epoch: its steps plus the evaluation of every split at its end."""
        return self.steps_per_epoch * self.step_flops + self.eval_examples * self.forward_flops

    @property
    def eval_chunk(self) -> int:
        """Examples evaluated at once (see ``EVAL_ELEMENTS``)."""
        return max(1, min(self.eval_examples, EVAL_ELEMENTS // max(1, self.activation_elements)))

    @property
    def memory_bytes(self) -> int:
        """A bound on the device memory training needs, in bytes.

        Parameters five times (weights, gradients, two optimizer moments, the best
        weights kept for early stopping); the data twice (stored and featurised)
        plus an epoch's shuffled copy; a batch's activations three times (forward
        values kept for backward, and their gradients); an evaluation chunk's.
        """
        step = 3 * self.batch * self.activation_elements
        chunk = 2 * self.eval_chunk * self.activation_elements
        return BYTES * (5 * self.params + step + chunk) + data_bytes(
            self.train_examples, self.eval_examples, self.input_elements)


def data_bytes(train_examples: int, eval_examples: int, input_elements: int) -> int:
    """The data's share of ``Cost.memory_bytes``: stored and featurised for every
    example evaluated, plus an epoch's shuffled copy of the training examples."""
    return BYTES * (2 * eval_examples + train_examples) * input_elements


def planned_data_bytes(spec: Spec, raw: Any = None) -> int | None:
    """``data_bytes`` of ``spec``'s pictures, counted before any is drawn
    (``ImageSet.planned``), so that an app can refuse a setup too large for its memory
    before making its data; None for the other kinds of data (small, or bounded where
    they are read). ``raw``: an upload's pictures (``RawImages``).

    Raises ``SpecError`` for a picture size out of range."""
    kind = DATASETS.get(spec.data.name)
    if kind.family != "images":
        return None
    train, total, values = kind.planned(spec.data, raw)
    return data_bytes(train, evaluated(train, total), values)


def _positions(shape: tuple[int, ...]) -> int:
    """Places a layer's weights are applied at: time steps, pixels (1 for points)."""
    return math.prod(shape[:-1]) if len(shape) > 1 else 1


def layer_cost(layer: LayerSpec, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
               init: str, name: str) -> LayerCost:
    """The per-example cost of ``layer`` taking ``in_shape`` to ``out_shape``."""
    kind = LAYERS.get(layer.type)
    shapes = jax.eval_shape(lambda k: kind.init(k, in_shape, layer.opts(), init)[0],
                            jax.ShapeDtypeStruct((2,), np.uint32))
    params = sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(shapes))
    out = math.prod(out_shape)
    if kind.flops is not None:
        flops = kind.flops(in_shape, out_shape, params, layer.opts())
    else:
        flops = 2.0 * params * max(_positions(in_shape), _positions(out_shape))
    return LayerCost(name, params, float(flops) + 4.0 * out, out)


def estimate(layers: tuple[LayerSpec, ...], in_shape: tuple[int, ...], out_layer: LayerSpec,
             init: str, train_examples: int, eval_examples: int, batch: int) -> Cost:
    """The ``Cost`` of a hidden stack plus its output layer on inputs of ``in_shape``.

    Raises ``SpecError`` where the stack cannot take its input (as building would).
    """
    costs, shape = [], tuple(in_shape)
    for i, layer in enumerate((*layers, out_layer)):
        out = LAYERS.get(layer.type).out_shape(shape, layer.opts())
        name = f"layer {i + 1}: {layer.type}" if i < len(layers) else "output"
        costs.append(layer_cost(layer, shape, out, init, name))
        shape = out
    bs = max(1, min(batch, train_examples))
    return Cost(tuple(costs), math.prod(in_shape), train_examples, eval_examples, bs,
                max(1, train_examples // bs))
