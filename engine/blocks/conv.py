"""Convolutions: ``conv2d`` and the 2-D poolings, and ``flatten``.

An image is ``(H, W, C)`` without the batch axis (channels last, as Keras and
TensorFlow lay it out), ``(batch, H, W, C)`` with it. ``conv2d`` slides ``filters``
kernels of ``kernel x kernel x C`` over the image with ``jax.lax.conv_general_dilated``;
``max_pool`` and ``avg_pool`` summarise windows with ``jax.lax.reduce_window``;
``global_avg_pool`` averages each channel over the whole image, and ``flatten`` lays
any shape out as one vector, so dense layers can follow.

The output side of a convolution or a pool is ``floor((n + 2p - k) / s) + 1`` with
``p = 0`` for ``valid`` padding; ``same`` pads so that it is ``ceil(n / s)`` (the
TensorFlow and Keras convention; CS231n's notes derive the first formula).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from engine.blocks.activations import ACTIVATIONS
from engine.blocks.dense import batch_norm_params, batch_norm_state, normalize
from engine.blocks.initializers import INITIALIZERS
from engine.blocks.layer import LayerKind, Params, Shape
from engine.errors import SpecError
from engine.registry import Registry
from engine.schema import Choice, Num, OneOf

PADDINGS = ("same", "valid")
CONV_NORMS = ("none", "batch_norm")


def need_image(in_shape: Shape, what: str) -> None:
    """Raise unless ``in_shape`` is an image ``(H, W, C)``."""
    if len(in_shape) != 3:
        raise SpecError("type", f"{what} reads an image (height, width, channels); this layer "
                                f"gets shape {tuple(in_shape)}: use it on image data, before "
                                "any flatten or global pooling")


def output_side(n: int, kernel: int, stride: int, padding: str) -> int:
    """The side of a convolution's or a pool's output for an input side ``n``."""
    if padding == "same":
        return math.ceil(n / stride)
    return (n - kernel) // stride + 1


def _window_shape(in_shape: Shape, kernel: int, stride: int, padding: str, channels: int,
                  what: str) -> Shape:
    need_image(in_shape, what)
    h, w = in_shape[0], in_shape[1]
    if padding == "valid" and (kernel > h or kernel > w):
        raise SpecError("kernel" if what == "conv2d" else "size",
                        f"a {kernel} x {kernel} window does not fit in its {h} x {w} input: "
                        "make it smaller, use padding 'same', or pool less before it")
    return (output_side(h, kernel, stride, padding), output_side(w, kernel, stride, padding),
            channels)


# --- conv2d ------------------------------------------------------------------------------------

def _conv_shape(in_shape: Shape, opts: Mapping) -> Shape:
    return _window_shape(in_shape, opts["kernel"], opts["stride"], opts["padding"],
                         opts["filters"], "conv2d")


def _conv_init(key: jax.Array, in_shape: Shape, opts: Mapping, init_name: str):
    out = _conv_shape(in_shape, opts)
    k, cin, cout = opts["kernel"], in_shape[2], opts["filters"]
    ini = INITIALIZERS.get(init_name if opts["init"] == "default" else opts["init"])
    # Drawn as a (k*k*cin, cout) matrix, so fan-in is what one output pixel reads.
    w = ini.weights(key, (k * k * cin, cout), jnp.float32).reshape(k, k, cin, cout)
    params: Params = {"w": w, "b": jnp.full((cout,), ini.bias, jnp.float32)}
    act = ACTIVATIONS.get(opts["activation"])
    if act.param_init is not None:  # PReLU: one learned slope per filter
        params["alpha"] = jnp.full((cout,), act.param_init, jnp.float32)
    state: Params = {}
    if opts["norm"] == "batch_norm":
        params.update(batch_norm_params((cout,)))
        state = batch_norm_state((cout,))
    return params, state, out


def conv2d(x: jax.Array, w: jax.Array, b: jax.Array, stride: int, padding: str) -> jax.Array:
    """``x`` (batch, H, W, Cin) convolved with kernels ``w`` (k, k, Cin, Cout), plus ``b``.

    Strictly a cross-correlation (no kernel flip), as in every deep-learning library.
    Returns (batch, H', W', Cout).
    """
    y = jax.lax.conv_general_dilated(x, w, (stride, stride), padding.upper(),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + b


def conv_preactivation(params: Params, state: Params, x: jax.Array, opts: Mapping, *,
                       train: bool) -> tuple[jax.Array, Params]:
    """What a conv2d layer's activation receives, and the new batch-norm state."""
    z = conv2d(x, params["w"], params["b"], opts["stride"], opts["padding"])
    if opts["norm"] == "batch_norm":
        z, state = normalize(params, state, z, train=train)
    return z, state


def _conv_apply(params, state, x, values, opts, *, key, train):
    z, state = conv_preactivation(params, state, x, opts, train=train)
    return ACTIVATIONS.get(opts["activation"])(z, params.get("alpha")), state


# --- pools -------------------------------------------------------------------------------------

def _pool_kind(op: str):
    what = "max_pool" if op == "max" else "avg_pool"

    def out_shape(in_shape: Shape, opts: Mapping) -> Shape:
        need_image(in_shape, what)
        return _window_shape(in_shape, opts["size"], opts["stride"], opts["padding"],
                             in_shape[2], what)

    def init(key, in_shape, opts, init_name):
        return {}, {}, out_shape(in_shape, opts)

    def apply(params, state, x, values, opts, *, key, train):
        return pool2d(x, op, opts["size"], opts["stride"], opts["padding"]), state

    return out_shape, init, apply


def pool2d(x: jax.Array, op: str, size: int, stride: int, padding: str) -> jax.Array:
    """Max or average over ``size x size`` windows of (batch, H, W, C) images.

    Average pooling with ``same`` padding divides by the window's real pixels only.
    """
    window, strides = (1, size, size, 1), (1, stride, stride, 1)
    pad = padding.upper()
    n, h, w, c = x.shape
    if op == "max" and size == stride and h % size == 0 and w % size == 0:
        # Windows that tile the image (no padding either way): a reshape and a max.
        # Its gradient costs XLA:CPU less than reduce_window's select-and-scatter (a
        # 12% faster training step for the Tiny VGG); the values are the same.
        return x.reshape(n, h // size, size, w // size, size, c).max(axis=(2, 4))
    if op == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, strides, pad)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, pad)
    count = jax.lax.reduce_window(jnp.ones_like(x[:1, ..., :1]), 0.0, jax.lax.add, window,
                                  strides, pad)
    return total / count


def _global_shape(in_shape: Shape, opts: Mapping) -> Shape:
    need_image(in_shape, "global_avg_pool")
    return (in_shape[2],)


def _global_apply(params, state, x, values, opts, *, key, train):
    return jnp.mean(x, axis=(1, 2)), state  # (batch, H, W, C) -> (batch, C)


def _flatten_shape(in_shape: Shape, opts: Mapping) -> Shape:
    return (math.prod(in_shape),)


def _flatten_apply(params, state, x, values, opts, *, key, train):
    return x.reshape(x.shape[0], -1), state


def _no_params(out_shape):
    def init(key, in_shape, opts, init_name):
        return {}, {}, out_shape(in_shape, opts)

    return init


def register(layers: Registry[LayerKind]) -> None:
    """Add the convolution family: conv2d, max_pool, avg_pool, global_avg_pool, flatten."""
    layers.register(
        "conv2d",
        LayerKind({"filters": (Num(1, 256, integer=True), 8),
                   "kernel": (Num(1, 11, integer=True), 3),
                   "stride": (Num(1, 4, integer=True), 1),
                   "padding": (Choice(PADDINGS), "same"),
                   "activation": (OneOf(ACTIVATIONS), "relu"),
                   "init": (OneOf(INITIALIZERS, ("default",)), "default"),
                   "norm": (Choice(CONV_NORMS), "none")},
                  _conv_init, _conv_apply, has_neurons=False, out_shape=_conv_shape,
                  family="image"),
        "A 2-D convolution: `filters` kernels of kernel x kernel slide over the image; each "
        "makes one feature map, f(sum of patch x kernel + b).",
    )
    for op, doc in (("max", "Keeps the largest value of each size x size window: a small "
                            "shift of the input changes little."),
                    ("avg", "Averages each size x size window: a smoother way to shrink the "
                            "feature maps.")):
        out_shape, init, apply = _pool_kind(op)
        layers.register(
            f"{op}_pool",
            LayerKind({"size": (Num(1, 8, integer=True), 2),
                       "stride": (Num(1, 8, integer=True), 2),
                       "padding": (Choice(PADDINGS), "valid")},
                      init, apply, has_neurons=False, out_shape=out_shape, family="image"),
            doc)
    layers.register(
        "global_avg_pool",
        LayerKind({}, _no_params(_global_shape), _global_apply, has_neurons=False,
                  out_shape=_global_shape, family="image"),
        "Averages each channel over the whole image: (H, W, C) -> (C,).",
    )
    layers.register(
        "flatten",
        LayerKind({}, _no_params(_flatten_shape), _flatten_apply, has_neurons=False,
                  out_shape=_flatten_shape),
        "Lays its input out as one vector, e.g. (H, W, C) -> (H x W x C,), for dense layers.",
    )
