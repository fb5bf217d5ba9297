"""Masked dense layers: one compiled network for every small MLP of a page.

A ``masked_dense`` layer has ``units`` slots, the most a page offers (the
Playground's 8 neurons, Gradient flow's 32 or 64). Which slots are in use, which
activation the layer applies, whether it adds its input (residual) and whether the
layer is in use at all are traced values, so changing a layer's neurons, the number
of layers, an activation or a residual connection changes numbers, not shapes, and
compiles nothing (``engine.train.padded`` pads a real network into this form and
back). Unused units output exactly 0 and their weights get zero gradients, so they
stay 0; an unused layer passes its input through. The form is internal: specs name
``dense``; nothing lists ``masked_dense`` in a menu.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from engine.blocks.activations import ACTIVATIONS
from engine.blocks.dense import matmul, nested_jit
from engine.blocks.layer import LayerKind, Shape
from engine.registry import Registry

MASKED = "masked_dense"

PADDED_ACTIVATIONS: tuple[str, ...] = tuple(
    name for name in ACTIVATIONS
    if ACTIVATIONS.get(name).param_init is None and name != "softmax")
"""Activations a masked layer can switch between by index: the elementwise ones
without a learned parameter (softmax mixes units; PReLU carries a slope per unit)."""


def _masked_shape(in_shape: Shape, opts: Mapping) -> Shape:
    return (*in_shape[:-1], opts["units"])


def _masked_init(key: jax.Array, in_shape: Shape, opts: Mapping, init_name: str):
    # Never drawn from: the padded network's weights are a real network's, padded.
    units = opts["units"]
    params = {"w": jnp.zeros((in_shape[-1], units), jnp.float32),
              "b": jnp.zeros((units,), jnp.float32)}
    return params, {}, _masked_shape(in_shape, opts)


def _branch(name: str):
    act = ACTIVATIONS.get(name)
    return lambda z: act(z)


_BRANCHES = tuple(_branch(name) for name in PADDED_ACTIVATIONS)


def _sloped(branch):
    return lambda z: jax.jvp(branch, (z,), (jnp.ones_like(z),))


_SLOPED = tuple(_sloped(branch) for branch in _BRANCHES)


@jax.custom_jvp
def _switched(act: jax.Array, z: jax.Array) -> jax.Array:
    return jax.lax.switch(act, _BRANCHES, z)


@_switched.defjvp
def _switched_jvp(primals, tangents):
    # The value and the slope f'(z) from ONE switch (the activations are elementwise):
    # differentiated as written, the switch's backward pass is a second switch of ten
    # branches per layer, a fifth of the deep padded network's compiled kernels.
    act, z = primals
    y, slope = jax.lax.switch(act, _SLOPED, z)
    return y, slope * tangents[1]


def masked_preactivation(params, x, values: Mapping[str, Any]) -> jax.Array:
    """What a masked layer's activation receives: ``z = (x m_in) W + b``, (..., units)."""
    return matmul(x * values["in_mask"], params["w"]) + params["b"]


def masked_activation(z: jax.Array, values: Mapping[str, Any]) -> jax.Array:
    """The layer's activation (a traced index) of ``z``, its unused units 0."""
    # lax.switch, not a mix of every activation: an unused branch's infinite slope
    # (exp overflowing) times a zero weight would still give a NaN gradient.
    return _switched(values["act"], z) * values["out_mask"]


def _masked_apply(params, state, x, values: Mapping[str, Any], opts, *, key, train):
    """``y = f_act(x m_in W + b) m_out`` (plus ``x`` when residual) when the layer is
    on, else ``x m_in`` (padded).

    ``values``: ``in_mask`` (fan_in,) and ``out_mask`` (units,) of 0/1, ``act`` (int32,
    an index into ``PADDED_ACTIVATIONS``), ``on`` (bool) and ``res`` (0/1: a residual
    layer; its input is as wide as its output).
    """
    return masked_layer(params, x, values), state


@nested_jit
def masked_layer(params, x: jax.Array, values: Mapping[str, Any]) -> jax.Array:
    """``_masked_apply``'s output: a nested jit, so that a padded network's 30 layers
    of one shape are traced once, not 30 times (with their activation switch and
    on/off branch, tracing and lowering the deep padded network took 5-7 s of its
    first call; now about 2.5)."""
    x = x * values["in_mask"]
    units = params["w"].shape[-1]

    def on(x):  # x is masked already
        y = masked_activation(matmul(x, params["w"]) + params["b"], values)
        if x.shape[-1] == units:  # only such a layer can be residual (padding checks)
            y = y + values["res"] * x
        return y

    def through(x):
        return jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, units - x.shape[-1])])

    # A cond, not a where: a layer not in use costs nothing (nearly half of a padded
    # step's time, measured), forward and backward.
    return jax.lax.cond(values["on"], on, through, x)


def weight_masks(layers: tuple, layer_values: tuple[Mapping[str, Any], ...], out_dim: int
                 ) -> list[jax.Array] | None:
    """Which weights of a network of masked layers are real: one 0/1 array per layer,
    shaped like its ``w`` (the output layer's last); None for any other network.

    Histograms and statistics count only the real weights with these (the padding's
    zeros would pile up in the middle bin).
    """
    if not layers or any(layer.type != MASKED for layer in layers):
        return None
    masks = []
    units = layers[0].opts()["units"]
    first = layer_values[0]["in_mask"]
    reach = jnp.pad(first, (0, units - first.shape[0]))  # what the next layer reads
    for v in layer_values:
        on = v["on"].astype(jnp.float32)
        masks.append(v["in_mask"][:, None] * v["out_mask"][None, :] * on)
        reach = jnp.where(v["on"], v["out_mask"], reach)
    masks.append(jnp.broadcast_to(reach[:, None], (units, out_dim)))
    return masks


def register(layers: Registry[LayerKind]) -> None:
    """Add ``masked_dense`` as an internal kind (no spec names it)."""
    layers.register(MASKED, LayerKind({}, _masked_init, _masked_apply,
                                      values=("in_mask", "out_mask", "act", "on", "res"),
                                      out_shape=_masked_shape), internal=True)
