"""Probes: what the pictures show, computed inside the same jitted call as training.

``probe`` returns a ``Probes`` of a state: the output and neurons over the input
plane (``plane.py``), per-layer gradient and weight norms and histograms, per-layer
statistics of dense layers (``stats.py``) and one test example's view of a sequence
model (``sequences.py``). ``ProbeOptions`` is the one value that says which.

May import: the ground floor, ``engine.blocks``, ``engine.data``, ``engine.model``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from engine.blocks.masked import weight_masks
from engine.model import Network, apply_network, featurize
from engine.probes.batched import map_layers, one_by_one
from engine.probes.images import ImageProbes, TestReport, image_probes, test_report
from engine.probes.plane import grid_points, grid_shape, plane_probes
from engine.probes.sequences import SequenceProbes, sequence_probes
from engine.probes.stats import (
    HIST_BINS,
    STATS,
    LayerStats,
    histogram,
    layer_stats,
    tree_norm,
)

PROBE_EXAMPLES = 512  # gradient and layer probes read at most this many training examples


@dataclass(frozen=True)
class ProbeOptions:
    """Which probes a training call returns, and of what.

    Attributes:
        resolution: side of the output grid over the input plane (0: none).
        neuron_resolution: side of the per-neuron grids (0: none).
        layers: add per-layer statistics of dense layers (``LayerStats``).
        sequence: add one test example's view of a sequence model.
        gradients: add the gradient norms and histograms (the costliest part).
        images: add one picture's view of a CNN (``ImageProbes``).
        example: the test example the sequence and image probes read (traced: no
            recompile).
        plane: the two raw columns the grids span when the data has more than two
            (traced: no recompile).
        image: a picture ``(H, W, C)`` in [0, 1] the image probes read instead of the
            example (traced: no recompile), e.g. a digit the user drew.
    """

    resolution: int = 100
    neuron_resolution: int = 24
    layers: bool = False
    sequence: bool = False
    gradients: bool = True
    images: bool = False
    example: int = 0
    plane: tuple[int, int] = (0, 1)
    image: Any = field(default=None, compare=False, repr=False)

    def static(self) -> ProbeOptions:
        """The part that shapes the compiled call (example, plane and image are traced)."""
        return dataclasses.replace(self, example=0, plane=(0, 1), image=None)


class Probes(NamedTuple):
    """Arrays for the app's pictures (shapes for 2-D data, R = resolution).

    Attributes:
        output: network output on the grid, (R, R, out) (1-D data: (R, out)).
        neurons: per-neuron outputs on a coarser grid: one array per drawn layer,
            the input features first, each (r, r, units) (1-D data: (r, units)).
        grad_norm: gradient norm of each layer's parameters on the training set (its
            first ``PROBE_EXAMPLES`` examples: all of a playground's), (L,).
        weight_norm: norm of each layer's parameters, (L,).
        weight_hist: histogram counts of each dense layer's weights, (Ld, HIST_BINS).
        weight_range: the symmetric half-width of those histograms, (Ld,).
        grad_hist: histogram counts of each dense layer's weight gradients, (Ld, HIST_BINS).
        grad_range: their half-widths, (Ld,). The three gradient fields are None
            when the gradients were not asked for.
        layers: per hidden dense layer statistics (``LayerStats``) when asked for.
        sequence: one example's attention maps, states and gradient through time
            (``SequenceProbes``) when asked for.
        images: one picture's feature maps, kernels, probabilities and saliency
            (``ImageProbes``) when asked for.
    """

    output: jax.Array | None
    neurons: list[jax.Array]
    grad_norm: jax.Array
    weight_norm: jax.Array
    weight_hist: jax.Array
    weight_range: jax.Array
    grad_hist: jax.Array
    grad_range: jax.Array
    layers: LayerStats | None = None
    sequence: SequenceProbes | None = None
    images: ImageProbes | None = None



def _histogram(values: jax.Array, mask: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    return histogram(values, HIST_BINS, mask)


def probe(net: Network, input_dim: int, params: list[dict], mstate: list[dict], data: Any,
          values: Any, options: ProbeOptions, objective: Callable, example_losses: Callable,
          probe_examples: int = PROBE_EXAMPLES, batched: bool = True) -> Probes:
    """The probes of a state, inside jit.

    Args:
        net, input_dim: the network and the raw input's width.
        params, mstate: the state's parameters and batch-norm statistics.
        data: the ``DataArrays``; values: the traced ``Values``.
        options: which probes (its static part; example and plane come from
            ``values.view``).
        objective: ``(params, mstate, h, y, values, key, train, weights) -> (loss,
            aux)``, the training objective the gradient probes differentiate.
        example_losses: the loss per example, for the sequence probes.
        probe_examples: at most this many training examples feed the gradient and
            layer probes.
        batched: each per-layer statistic of a run of same-shaped layers as one
            batched computation (``batched.map_layers``: the same numbers to float32
            rounding, compiled once per run); False: layer by layer (for tests).
    """
    output, neurons = plane_probes(net, input_dim, params, mstate, data, values,
                                   options.resolution, options.neuron_resolution)
    each = map_layers if batched else one_by_one
    # The gradient training would follow on the first training examples: batch norm
    # with batch statistics (train=True), but no dropout (no key).
    h_probe = featurize(net, data.x_train[:probe_examples], data.mean, data.std)
    y_probe = data.y_train[:probe_examples]
    # A padded network's rows past its training examples are other splits or padding.
    weights = (None if data.sizes is None else
               (jnp.arange(y_probe.shape[0]) < data.sizes[0]).astype(jnp.float32))
    dense = [i for i, p in enumerate(params) if "w" in p]
    # A padded network's histograms count its real weights only (engine.train.padded).
    masks = weight_masks(net.layers, values.layers, net.head.out_dim) or [None] * len(params)
    w_hist = each(_histogram, [(params[i]["w"], masks[i]) for i in dense])
    grad_norm = g_counts = g_ranges = None
    if options.gradients:
        grads, _ = jax.grad(objective, has_aux=True)(params, mstate, h_probe, y_probe, values,
                                                     None, True, weights)
        grad_norm = jnp.stack(each(tree_norm, [(g,) for g in grads]))
        g_hist = each(_histogram, [(grads[i]["w"], masks[i]) for i in dense])
        g_counts = jnp.stack([c for c, _ in g_hist])
        g_ranges = jnp.stack([m for _, m in g_hist])
    stats = None
    if options.layers:
        outs = apply_network(net, params, mstate, h_probe, values, key=None, train=False,
                             collect=True)[3]
        padded = masks[0] is not None
        stats = layer_stats(net.layers, params, mstate, [h_probe, *outs[:-1]],
                            values.layers if padded else None, weights,
                            masks if padded else None, each=each)
    seq = None
    if options.sequence:
        i = jnp.clip(values.view.example, 0, data.x_test.shape[0] - 1)
        seq = sequence_probes(net, example_losses, params, mstate, data.x_test[i],
                              data.y_test[i], data, values)
    pictures = (image_probes(net, params, mstate, data, values) if options.images
                else None)
    norms = jnp.stack(each(tree_norm, [(p,) for p in params]))
    return Probes(output, neurons, grad_norm, norms, jnp.stack([c for c, _ in w_hist]),
                  jnp.stack([m for _, m in w_hist]), g_counts, g_ranges, stats, seq, pictures)


__all__ = ["HIST_BINS", "PROBE_EXAMPLES", "STATS", "ImageProbes", "LayerStats", "ProbeOptions",
           "Probes", "SequenceProbes", "TestReport", "grid_points", "grid_shape", "probe",
           "test_report"]
