"""Probes of sequence models on one example: attention maps, states, gradient through time.

What the sequence page draws, computed inside jit like every other probe: for the
chosen example, every attention (or transformer) layer's weights per head, every
recurrent layer's hidden (and LSTM cell) states over time, the size of the loss's
gradient with respect to each time step's input, and the model's output per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from engine.blocks import LAYERS
from engine.blocks.attention import ATTENTION_KINDS, attention_weights
from engine.blocks.recurrent import RECURRENT_KINDS, recurrent_states
from engine.model import Network, apply_network, featurize


class SequenceProbes(NamedTuple):
    """One example's view of a sequence model (T = time steps).

    Attributes:
        attention: per attention/transformer layer, in order, weights (heads, T, T):
            row t is how much step t attends to each step (rows sum to one).
        hidden: per recurrent layer, hidden states (T, H) (both directions when
            bidirectional, concatenated).
        cell: per LSTM layer, cell states (T, H); empty for other cells.
        input_grad: |d loss / d input at step t|, (T,): the input is the embedding's
            output when the model starts with one, else the (one-hot) input itself.
        output: the model's output for the example after its output activation:
            (T, out) per token, else (out,).
        loss: the example's loss (scalar).
    """

    attention: list[jax.Array]
    hidden: list[jax.Array]
    cell: list[jax.Array]
    input_grad: jax.Array
    output: jax.Array
    loss: jax.Array


def sequence_probes(net: Network, example_losses: Callable, params, mstate, x: jax.Array,
                    y: jax.Array, data, values) -> SequenceProbes:
    """Probe one example ``x`` (T,) or (T, d) with target ``y``.

    ``example_losses(z, o, y)`` is the training loss per example (``train.metrics``).
    """
    h = featurize(net, x[None], data.mean, data.std)  # (1, T, ...)
    start = 1 if net.layers and net.layers[0].type == "embedding" else 0
    if start:  # the gradient is taken at the embedding's output, one vector per step
        h, _ = LAYERS.get("embedding").apply(params[0], mstate[0], h, values.layers[0],
                                             net.layers[0].opts(), key=None, train=False)

    def loss_at(e):
        z, o, _, outs = apply_network(net, params, mstate, e, values, key=None, train=False,
                                      collect=True, start=start)
        return jnp.sum(example_losses(z, o, y[None])), (o[0], [e, *outs])

    (loss, (output, inputs)), grad = jax.value_and_grad(loss_at, has_aux=True)(h)
    attention, hidden, cell = [], [], []
    for i, layer in enumerate(net.layers[start:], start):
        opts, inp = layer.opts(), inputs[i - start]
        if layer.type in ATTENTION_KINDS:
            attention.append(attention_weights(params[i], inp, opts, layer.type)[0])
        elif layer.type in RECURRENT_KINDS:
            states = recurrent_states(layer.type, params[i], inp, opts)
            hidden.append(states["h"][0])
            if "c" in states:
                cell.append(states["c"][0])
    input_grad = jnp.sqrt(jnp.sum(jnp.square(grad[0].reshape(grad.shape[1], -1)), -1))
    return SequenceProbes(attention, hidden, cell, input_grad, output, loss)
