"""Networks: resolve a spec against its data, build parameters, run forward.

A ``Network`` is the static, hashable description the compiled functions are
keyed by: the hidden layers, the input features, and the output ``Head``.
Parameters are a list of dicts (one per layer, the output layer last); state
(batch-norm running statistics) is a list of the same length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from engine.blocks import ACTIVATIONS, LAYERS, LOSSES
from engine.blocks.dense import matmul
from engine.blocks.losses import Head
from engine.data import SequenceInfo, apply_features
from engine.errors import SpecError
from engine.spec import LayerSpec, Spec

Params = list[dict[str, jax.Array]]


@dataclass(frozen=True)
class Network:
    """The static structure of a network.

    Attributes:
        layers: hidden layers, validated (options filled in).
        features: input feature names (``engine.data.features``), F of them.
        head: the output layer's facts (task, classes, units, activation).
        loss: the resolved loss name.
        init: the default weight initialiser name.
        sequence: what sequence data look like (None for points and images).
        image: ``(H, W, C)`` of image data (None for points and sequences).
    """

    layers: tuple[LayerSpec, ...]
    features: tuple[str, ...]
    head: Head
    loss: str
    init: str
    sequence: SequenceInfo | None = None
    image: tuple[int, int, int] | None = None

    @property
    def in_dim(self) -> int:
        """Number of input features F."""
        return len(self.features)

    @property
    def in_shape(self) -> tuple[int, ...]:
        """The input's shape as the first layer sees it: ``(F,)``, ``(T, V|d)`` or
        ``(H, W, C)``."""
        if self.image is not None:
            return self.image
        return self.sequence.in_shape if self.sequence else (self.in_dim,)

    def fits(self, spec: Spec) -> bool:
        """Whether ``spec`` describes this very network (only values may differ), so an
        experiment can keep it instead of resolving the spec again."""
        if spec.model.init != self.init or tuple(
                structural(layer) for layer in spec.model.layers) != self.layers:
            return False
        try:
            head, loss = resolve_head(spec, self.head.task, self.head.n_classes)
        except SpecError:
            return False
        return head == self.head and loss == self.loss

    @property
    def one_hot(self) -> bool:
        """Token ids enter as one-hot vectors (no embedding layer first)."""
        return bool(self.sequence and self.sequence.tokens and (
            not self.layers or self.layers[0].type != "embedding"))


def resolve_head(spec: Spec, task: str, n_classes: int) -> tuple[Head, str]:
    """Resolve ``"auto"`` output activation and loss for a task; check they fit.

    ``auto`` gives sigmoid + binary cross-entropy for two classes, softmax +
    categorical cross-entropy for more, linear + MSE for regression. Raises
    ``SpecError`` for combinations that make no sense (softmax on regression,
    binary cross-entropy after tanh, ...), saying what to pick instead.
    """
    act, loss = spec.model.output_activation, spec.loss
    binary = task == "classification" and n_classes == 2
    if act == "auto":
        if loss != "auto" and LOSSES.get(loss).needs_activation:
            act = LOSSES.get(loss).needs_activation
        elif loss == "hinge" or task == "regression":
            act = "linear"
        else:
            act = "sigmoid" if binary else "softmax"
    if loss == "auto":
        if task == "regression":
            loss = "mse"
        elif act == "sigmoid" and binary:
            loss = "binary_crossentropy"
        elif act == "softmax":
            loss = "categorical_crossentropy"
        else:
            loss = "mse"
    entry = LOSSES.get(loss, "loss")
    if task not in entry.tasks:
        raise SpecError("loss", f"{loss} is for classification; this data is a regression task "
                                "(use mse, half_mse, mae or huber)")
    if entry.needs_activation and act != entry.needs_activation:
        raise SpecError("model.output_activation",
                        f"{loss} needs output_activation {entry.needs_activation!r} "
                        f"(got {act!r}); set it to {entry.needs_activation!r} or 'auto'")
    if loss == "binary_crossentropy" and not binary:
        raise SpecError("loss", f"binary_crossentropy is for two classes; this data has "
                                f"{n_classes}: use categorical_crossentropy")
    if act == "softmax" and task == "regression":
        raise SpecError("model.output_activation",
                        "softmax outputs class probabilities; a regression task needs "
                        "'linear' (or 'auto')")
    if task == "regression":
        out_dim = 1
    else:
        out_dim = n_classes if (n_classes > 2 or act == "softmax") else 1
    return Head(task, n_classes if task == "classification" else 0, out_dim, act), loss


def structural(layer: LayerSpec) -> LayerSpec:
    """``layer`` without its traced options (dropout rate, epsilon, ...).

    Those travel as values; keeping them out of the structure is what lets a
    dropout slider move without recompiling.
    """
    values = LAYERS.get(layer.type).values
    return LayerSpec(layer.type, tuple((k, v) for k, v in layer.options if k not in values))


def build_network(spec: Spec, features: Sequence[str], task: str, n_classes: int,
                  sequence: SequenceInfo | None = None,
                  image: tuple[int, int, int] | None = None) -> Network:
    """The ``Network`` for ``spec`` on data with this task and class count.

    ``sequence`` describes sequence data, ``image`` the shape of images (None for
    points). Raises ``SpecError`` when the stack cannot take the data or cannot end
    in the task's output.
    """
    head, loss = resolve_head(spec, task, n_classes)
    layers = tuple(structural(layer) for layer in spec.model.layers)
    net = Network(layers, tuple(features), head, loss, spec.model.init, sequence, image)
    if layers and layers[0].type == "embedding" and not (sequence and sequence.tokens):
        raise SpecError("model.layers[0].type", "an embedding turns token ids into vectors; "
                                                "this data has no tokens: remove it")
    out = check_shapes(layers, net.in_shape)
    want = 2 if sequence and sequence.per_token else 1
    if len(out) != want:
        last = f"model.layers[{len(layers) - 1}]" if layers else "model.layers"
        if want == 2:
            raise SpecError(last, f"this task predicts one output per time step, but the "
                                  f"network ends with shape {out}: keep the time axis (no "
                                  "pool layer; recurrent layers with sequences on)")
        if image is not None:
            raise SpecError(last, f"this task predicts one class per image, but the network "
                                  f"ends with shape {out}: end with a flatten or "
                                  "global_avg_pool layer (then dense layers if you like)")
        raise SpecError(last, f"this task predicts one output per "
                              f"{'sequence' if sequence else 'point'}, but the network ends "
                              f"with shape {out}: end with a pool layer or a recurrent layer "
                              "with sequences off")
    return net


def check_shapes(layers: Sequence[LayerSpec], in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Walk the stack's shapes (batch axis excluded); return the last layer's shape.

    Raises ``SpecError`` naming the layer and option when a layer cannot take its
    input, before any parameter is drawn.
    """
    shape = in_shape
    for i, layer in enumerate(layers):
        try:
            shape = LAYERS.get(layer.type).out_shape(shape, layer.opts())
        except SpecError as err:
            raise SpecError(f"model.layers[{i}].{err.field}".rstrip("."),
                            str(err).removeprefix(f"{err.field}: ")) from None
    return shape


def output_layer(net: Network) -> LayerSpec:
    """The output layer the task adds: a linear dense layer of the head's width."""
    opts = {"units": net.head.out_dim, "activation": "linear", "init": "default"}
    return LayerSpec("dense", tuple(sorted(opts.items())))


def init_network(net: Network, key: jax.Array) -> tuple[Params, list[dict]]:
    """Draw parameters and initial state from ``key``: (params, model_state).

    Each layer gets its own key (``fold_in(key, i)``) so adding a layer at the
    end leaves the earlier layers' draws unchanged. The output layer is a
    linear dense layer; its activation is applied by ``apply_network``.
    """
    params, states = [], []
    shape: tuple[int, ...] = net.in_shape
    for i, layer in enumerate((*net.layers, output_layer(net))):
        p, s, shape = LAYERS.get(layer.type).init(
            jax.random.fold_in(key, i), shape, layer.opts(), net.init)
        params.append(p)
        states.append(s)
    if ACTIVATIONS.get(net.head.activation).param_init is not None:
        params[-1]["alpha"] = jnp.full((net.head.out_dim,),
                                       ACTIVATIONS.get(net.head.activation).param_init)
    return params, states


def featurize(net: Network, x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """Raw inputs -> what the first layer reads.

    Points (..., d) become standardised features (..., F); images (n, H, W, C) are
    standardised with the training set's mean pixel and spread (``standardize``), else
    stay in [0, 1]; sequences pass through, except token ids (n, T) that go straight
    into a non-embedding layer: those become one-hot vectors (n, T, V).
    """
    if net.image is not None:
        return (x - mean[0]) / std[0]
    if net.sequence is not None:
        return jax.nn.one_hot(x, net.in_shape[1]) if net.one_hot else x
    return (apply_features(x, net.features) - mean) / std


def apply_network(net: Network, params: Params, state: list[dict], h: jax.Array,
                  values: Any, *, key: jax.Array | None, train: bool,
                  collect: bool = False, start: int = 0):
    """Run the network on input features.

    Args:
        net: the structure.
        params, state: from ``init_network`` (or training).
        h: input features, (batch, F), or sequences (batch, T, ...) from ``featurize``.
        values: the traced ``engine.values.Values``; ``values.layers[i]`` holds layer
            i's numeric options.
        key: PRNG key for dropout (only read when ``train``).
        train: training mode (dropout on, batch statistics in batch norm).
        collect: also return every layer's output.
        start: run hidden layers ``start`` and up only (``h`` is then layer
            ``start``'s input, e.g. a sequence's embedding, for its gradient).

    Returns:
        ``(z, o, new_state, outputs)``: output pre-activation z (batch, out),
        output o = activation(z) (batch, out), the new state list, and the list
        of hidden layers' outputs from ``start`` on (empty unless ``collect``).
        Sequences keep their time axis: z and o are (batch, T, out) per token.
    """
    outputs, new_state = [], list(state[:start])
    for i, layer in enumerate(net.layers[start:], start):
        k = jax.random.fold_in(key, i) if key is not None else None
        h, s = LAYERS.get(layer.type).apply(params[i], state[i], h, values.layers[i],
                                            layer.opts(), key=k, train=train)
        new_state.append(s)
        if collect:
            outputs.append(h)
    z = matmul(h, params[-1]["w"]) + params[-1]["b"]  # (batch, out)
    act = ACTIVATIONS.get(net.head.activation)
    o = act(z, params[-1].get("alpha"))
    new_state.append(state[-1])
    return z, o, new_state, outputs
