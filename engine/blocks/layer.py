"""Layers as pairs of pure functions, in one registry: what a layer kind is.

Every layer kind offers

* ``init(key, in_shape, opts, init_name) -> (params, state, out_shape)``
* ``apply(params, state, x, values, opts, *, key, train) -> (y, state)``

in the spirit of ``jax.example_libraries.stax``, plus ``state`` for layers that
keep running statistics (batch norm). ``opts`` holds the layer's structural
options (units, activation); ``values`` its numeric options (dropout rate,
epsilon), which are traced so that changing them never recompiles.
Shapes exclude the batch axis: a dense layer maps ``(..., fan_in)`` to
``(..., units)``. The families (``dense``, ``embeddings``, ``recurrent``,
``attention``, ``pooling``) register their kinds in ``engine.blocks``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from engine.errors import SpecError
from engine.registry import Registry

Params = dict[str, jax.Array]
Shape = tuple[int, ...]

FAMILIES = ("points", "sequence", "image")
"""What a kind reads: ``points`` kinds work on any trailing feature axis, ``sequence``
kinds need a time axis ``(T, d)``, ``image`` kinds an image ``(H, W, C)``."""


@dataclass(frozen=True)
class LayerKind:
    """A kind of layer: its options (check and default), and its two functions.

    Attributes:
        options: option name -> (check, default).
        values: names of the options passed as traced values at apply time.
        init: builds parameters and state for an input shape.
        apply: runs the layer.
        has_neurons: whether the layer's outputs are "neurons" the app draws.
        out_shape: ``(in_shape, opts) -> out_shape`` without building anything;
            raises ``SpecError`` (field = the option at fault) for an impossible
            input, so a bad stack is reported before any array exists.
        flops: ``(in_shape, out_shape, params, opts) -> operations`` of one example's
            forward pass, for kinds the rule of ``engine.cost`` misjudges (None: it
            does not).
        family: ``"points"``, ``"sequence"`` or ``"image"`` (see ``FAMILIES``).
    """

    options: Mapping[str, tuple[Callable[[Any, str], Any], Any]]
    init: Callable[..., tuple[Params, Params, Shape]]
    apply: Callable[..., tuple[jax.Array, Params]]
    values: tuple[str, ...] = field(default=())
    has_neurons: bool = True
    out_shape: Callable[[Shape, Mapping], Shape] = lambda in_shape, opts: in_shape
    flops: Callable[[Shape, Shape, int, Mapping], float] | None = None
    family: str = "points"



LAYERS: Registry[LayerKind] = Registry("layer type")
"""Every layer kind, in menu order (filled by ``engine.blocks``)."""

OPTION_LABELS = {
    "units": "Units", "activation": "Activation", "init": "Initializer",
    "norm": "Normalisation", "residual": "Residual connection", "rate": "Dropout rate",
    "momentum": "Momentum", "eps": "Epsilon (added to the variance)", "filters": "Filters",
    "kernel": "Kernel size", "stride": "Stride", "padding": "Padding", "size": "Pool size",
    "dim": "Embedding size", "kind": "Encoding", "bidirectional": "Bidirectional",
    "sequences": "Return sequences", "heads": "Attention heads", "causal": "Causal mask",
    "mlp": "MLP width", "mode": "Pooling"}
"""What a menu calls each layer option (the spec's names are short: ``dim``, ``mlp``)."""


def option_label(name: str) -> str:
    """The label of layer option ``name`` (``OPTION_LABELS``; else the name, capitalised)."""
    return OPTION_LABELS.get(name, name.replace("_", " ").capitalize())


def kinds_of(family: str) -> tuple[str, ...]:
    """The registered layer kinds of a family, in menu order."""
    return tuple(name for name in LAYERS if LAYERS.get(name).family == family)


def need_sequence(in_shape: Shape, what: str, where: str) -> None:
    """Raise unless ``in_shape`` is ``(T, d)``; ``what`` names the layer in the message."""
    if len(in_shape) != 2:
        raise SpecError("type", f"{what} reads a sequence (time, features); this layer gets "
                                f"shape {tuple(in_shape)}: {where}")



AFTER_SEQUENCE = "put it before any pooling or last-state layer, on sequence data"


def one_hot_tokens(x: jax.Array, dim: int) -> jax.Array:
    """Token ids (batch, T) -> one-hot (batch, T, dim); real inputs pass unchanged."""
    return jax.nn.one_hot(x, dim) if jnp.issubdtype(x.dtype, jnp.integer) else x
