"""The dense family: fully connected layers, activations, dropout, batch and layer norm.

``dense`` is ``y = f(norm(x W + b))`` (plus ``x`` when residual); the others act on
whatever trailing feature axis they get, so they work per unit on points and per
feature on sequences.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from engine.blocks.activations import ACTIVATIONS
from engine.blocks.initializers import INITIALIZERS, dense_weights
from engine.blocks.layer import LayerKind, Params, Shape
from engine.errors import SpecError
from engine.registry import Registry
from engine.schema import Choice, Flag, Num, OneOf

NORMS = ("none", "batch_norm", "layer_norm")
"""What a dense layer may normalise its pre-activations with."""

# The batch norm inside a dense layer uses fixed statistics settings; the separate
# batch_norm layer exposes them as options.
_DENSE_NORM_VALUES = {"momentum": 0.9, "eps": 1e-5}


def _dense_shape(in_shape: Shape, opts: Mapping) -> Shape:
    if len(in_shape) == 3:
        raise SpecError("type", f"a dense layer reads a vector, and this one gets an image of "
                                f"shape {tuple(in_shape)}: put a flatten or global_avg_pool "
                                "layer before it")
    if opts.get("residual") and in_shape[-1] != opts["units"]:
        raise SpecError("residual", f"a residual connection adds the layer's input to its "
                                    f"output, so it needs as many units as its input "
                                    f"({in_shape[-1]}), not {opts['units']}; change the "
                                    "units or turn residual off")
    return (*in_shape[:-1], opts["units"])


def _dense_init(key: jax.Array, in_shape: Shape, opts: Mapping, init_name: str):
    units = opts["units"]
    name = init_name if opts["init"] == "default" else opts["init"]
    bias = np.full((units,), INITIALIZERS.get(name).bias, np.float32)
    params = {
        "w": dense_weights(name, key, in_shape[-1], units),  # (fan_in, units)
        # a host constant: jnp.full would compile a kernel for every new width
        "b": jnp.asarray(bias) if isinstance(key, jax.core.Tracer) else jax.device_put(bias),
    }
    act = ACTIVATIONS.get(opts["activation"])
    if act.param_init is not None:
        params["alpha"] = jnp.full((units,), act.param_init, jnp.float32)
    state: Params = {}
    norm = opts.get("norm", "none")
    if norm != "none":
        params.update(batch_norm_params((units,)))
    if norm == "batch_norm":
        state = batch_norm_state((units,))
    return params, state, _dense_shape(in_shape, opts)


# A small matmul is written as broadcast-multiply-sum: XLA fuses that with the bias
# and activation into one kernel, where a dot is a separate call whose fixed cost
# dominates playground-sized layers (about 3x faster training on CPU). Large inputs
# (a 100x100 probe grid) go to a real dot, which is faster there.
SMALL_MATMUL = 256  # weights
SMALL_BATCH = 8192  # input elements


UNROLL_FAN_IN = 16
"""Under ``unrolled_matmuls``, small matmuls of at most this fan-in are unrolled."""

_UNROLL: contextvars.ContextVar[bool] = contextvars.ContextVar("unroll", default=False)


@contextlib.contextmanager
def unrolled_matmuls() -> Iterator[None]:
    """While tracing inside this block, small matmuls are a sum over their fan-in of
    scaled rows. Under ``jax.vmap`` over many configurations (a sweep) that stays
    elementwise and fuses, where the broadcast-multiply-sum becomes a batched
    reduction XLA:CPU runs 3-4x slower at 64 configurations (measured on 2 cores;
    for one network the broadcast form is 25% faster, so it stays the default)."""
    token = _UNROLL.set(True)
    try:
        yield
    finally:
        _UNROLL.reset(token)


def nested_jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``jax.jit`` for a piece nested in a network's jitted functions, so that its copies
    (a deep padded network's 30 layers of one shape) are traced once per shape, not
    once each. The trace is also keyed by ``unrolled_matmuls``, which a cached trace
    would otherwise ignore. The result has ``eval_shape`` and ``clear_cache``."""
    def traced(*args: Any, unroll: bool) -> Any:
        with unrolled_matmuls() if unroll else contextlib.nullcontext():
            return fn(*args)

    traced.__name__ = traced.__qualname__ = fn.__name__  # its name in jaxprs
    jitted = jax.jit(traced, static_argnames=("unroll",))

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        return jitted(*args, unroll=_UNROLL.get())

    call.eval_shape = lambda *args: jitted.eval_shape(*args, unroll=_UNROLL.get())
    call.clear_cache = jitted.clear_cache
    return call


def matmul(x: jax.Array, w: jax.Array) -> jax.Array:
    """``x @ w`` for x (..., fan_in) and w (fan_in, units), fused when both are small."""
    if w.size <= SMALL_MATMUL and x.size <= SMALL_BATCH:
        if _UNROLL.get() and w.shape[0] <= UNROLL_FAN_IN:
            out = x[..., 0:1] * w[0]
            for i in range(1, w.shape[0]):
                out = out + x[..., i:i + 1] * w[i]
            return out
        return jnp.sum(x[..., :, None] * w, axis=-2)
    return x @ w


def dense_preactivation(params: Params, state: Params, x: jax.Array, opts: Mapping, *,
                        train: bool) -> tuple[jax.Array, Params]:
    """What a dense layer's activation receives: ``z = norm(x W + b)``, and the new state.

    ``x`` is (..., fan_in); ``z`` is (..., units). The probes call this too, to show
    the distribution of pre-activations against the activation's curve.
    """
    z = matmul(x, params["w"]) + params["b"]  # (..., units)
    norm = opts.get("norm", "none")
    if norm == "batch_norm":
        z, state = normalize(params, state, z, train=train)
    elif norm == "layer_norm":
        z, state = _layer_norm_apply(params, state, z, _DENSE_NORM_VALUES, opts, key=None,
                                     train=train)
    return z, state


def _dense_apply(params, state, x, values, opts, *, key, train):
    z, state = dense_preactivation(params, state, x, opts, train=train)
    y = ACTIVATIONS.get(opts["activation"])(z, params.get("alpha"))
    # A residual layer learns a correction to its input; the identity path carries
    # the gradient back unchanged, however deep the stack (He et al., 2016).
    return (x + y if opts.get("residual") else y), state


def _activation_init(key, in_shape, opts, init_name):
    act = ACTIVATIONS.get(opts["activation"])
    params = {}
    if act.param_init is not None:
        params["alpha"] = jnp.full((in_shape[-1],), act.param_init, jnp.float32)
    return params, {}, in_shape


def _activation_apply(params, state, x, values, opts, *, key, train):
    act = ACTIVATIONS.get(opts["activation"])
    return act(x, params.get("alpha")), state


def _dropout_init(key, in_shape, opts, init_name):
    return {}, {}, in_shape


def _dropout_apply(params, state, x, values, opts, *, key, train):
    if not train or key is None:  # no key: training statistics without dropout (probes)
        return x, state
    keep = 1.0 - values["rate"]
    mask = jax.random.uniform(key, x.shape) < keep
    # Inverted dropout: scale at train time so evaluation needs no change.
    return jnp.where(mask, x / keep, 0.0), state


def batch_norm_params(in_shape: Shape) -> Params:
    """A norm's learned scale (ones) and offset (zeros), one per feature or channel."""
    return {"scale": jnp.ones(in_shape[-1:], jnp.float32),
            "offset": jnp.zeros(in_shape[-1:], jnp.float32)}


def batch_norm_state(in_shape: Shape) -> Params:
    """Batch norm's running mean (zeros) and variance (ones), one per feature or channel."""
    return {"mean": jnp.zeros(in_shape[-1:], jnp.float32),
            "var": jnp.ones(in_shape[-1:], jnp.float32)}


def normalize(params: Params, state: Params, z: jax.Array, *, train: bool
              ) -> tuple[jax.Array, Params]:
    """Batch norm inside a dense or conv2d layer, with fixed momentum and epsilon: over
    every axis but the last, so per unit on vectors and per channel on images."""
    return _batch_norm_apply(params, state, z, _DENSE_NORM_VALUES, {}, key=None, train=train)


def _batch_norm_init(key, in_shape, opts, init_name):
    return batch_norm_params(in_shape), batch_norm_state(in_shape), in_shape


def _batch_norm_apply(params, state, x, values, opts, *, key, train):
    axes = tuple(range(x.ndim - 1))  # normalise every axis but the features
    if train:
        mean, var = jnp.mean(x, axes), jnp.var(x, axes)
        m = values["momentum"]
        state = {"mean": m * state["mean"] + (1 - m) * mean,
                 "var": m * state["var"] + (1 - m) * var}
    else:
        mean, var = state["mean"], state["var"]
    y = (x - mean) * jax.lax.rsqrt(var + values["eps"])
    return y * params["scale"] + params["offset"], state


def _layer_norm_init(key, in_shape, opts, init_name):
    return batch_norm_params(in_shape), {}, in_shape


def _layer_norm_apply(params, state, x, values, opts, *, key, train):
    mean = jnp.mean(x, -1, keepdims=True)
    var = jnp.var(x, -1, keepdims=True)
    y = (x - mean) * jax.lax.rsqrt(var + values["eps"])
    return y * params["scale"] + params["offset"], state


_ACT = (OneOf(ACTIVATIONS), "relu")
_EPS = (Num(0.0, 1.0, lo_open=True), 1e-5)


def register(layers: Registry[LayerKind]) -> None:
    """Add the dense family: dense, activation, dropout, batch_norm, layer_norm."""
    layers.register(
        "dense",
        LayerKind({"units": (Num(1, 512, integer=True), 8), "activation": _ACT,
                   "init": (OneOf(INITIALIZERS, ("default",)), "default"),
                   "norm": (Choice(NORMS), "none"), "residual": (Flag(), False)},
                  _dense_init, _dense_apply, out_shape=_dense_shape),
        "Fully connected: every output unit sees every input, y = f(norm(x W + b)), "
        "plus x itself when residual.",
    )
    layers.register(
        "activation",
        LayerKind({"activation": _ACT}, _activation_init, _activation_apply),
        "Applies an activation function on its own, e.g. after batch norm.",
    )
    layers.register(
        "dropout",
        LayerKind({"rate": (Num(0.0, 0.95), 0.2)}, _dropout_init, _dropout_apply,
                  values=("rate",), has_neurons=False),
        "Zeroes each input with probability `rate` while training (a regulariser).",
    )
    layers.register(
        "batch_norm",
        LayerKind({"momentum": (Num(0.0, 0.999), 0.9), "eps": _EPS},
                  _batch_norm_init, _batch_norm_apply, values=("momentum", "eps")),
        "Normalises each unit over the batch, then scales and shifts it (learned).",
    )
    layers.register(
        "layer_norm",
        LayerKind({"eps": _EPS}, _layer_norm_init, _layer_norm_apply, values=("eps",)),
        "Normalises each example over its units, then scales and shifts it (learned).",
    )
