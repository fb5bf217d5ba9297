"""Attention: multi-head self-attention and the pre-norm transformer block.

``attention`` and ``transformer_block`` are short pure functions on purpose: the app
shows their source. A sequence is ``(batch, T, d)``; the weights are
``(batch, heads, T, T)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from engine.blocks.initializers import INITIALIZERS
from engine.blocks.layer import (
    AFTER_SEQUENCE,
    LayerKind,
    Params,
    Shape,
    need_sequence,
    one_hot_tokens,
)
from engine.errors import SpecError
from engine.registry import Registry
from engine.schema import Flag, Num

ATTENTION_KINDS = ("attention", "transformer")
"""Layer kinds whose attention weights ``attention_weights`` returns."""

LN_EPS = 1e-5
"""Layer-norm epsilon inside a transformer block (a constant, not an option)."""

_MASKED = -1e9  # a score no real one reaches: exp(_MASKED - max) is exactly 0 in float32


def attention(p: Params, x: jax.Array, heads: int,
              causal: bool) -> tuple[jax.Array, jax.Array]:
    """Multi-head scaled dot-product self-attention (Vaswani et al., 2017).

    x: (batch, T, d) -> (y (batch, T, d), weights (batch, heads, T, T)). Head j uses
    columns ``j*dh:(j+1)*dh`` of wq, wk and wv, dh = d / heads. Each query row of the
    weights is a softmax over the keys, so it sums to one; with ``causal`` a step sees
    only itself and the past.
    """
    batch, t, d = x.shape
    dh = d // heads

    def split_heads(w):  # (batch, T, d) -> (batch, heads, T, dh)
        return (x @ w).reshape(batch, t, heads, dh).transpose(0, 2, 1, 3)

    q, k, v = split_heads(p["wq"]), split_heads(p["wk"]), split_heads(p["wv"])
    scores = q @ k.transpose(0, 1, 3, 2) / jnp.sqrt(dh)  # (batch, heads, q, k)
    if causal:
        future = jnp.triu(jnp.ones((t, t), bool), k=1)  # key after query
        scores = jnp.where(future, _MASKED, scores)
    weights = jax.nn.softmax(scores, axis=-1)  # (batch, heads, q, k)
    y = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, t, d)  # heads side by side
    return y @ p["wo"] + p["bo"], weights


def layer_norm(x: jax.Array, scale: jax.Array, offset: jax.Array) -> jax.Array:
    """Normalise each position over its features, then scale and shift: (..., d)."""
    mean = jnp.mean(x, -1, keepdims=True)
    var = jnp.var(x, -1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + LN_EPS) * scale + offset


def transformer_block(p: Params, x: jax.Array, heads: int,
                      causal: bool) -> tuple[jax.Array, jax.Array]:
    """A pre-layer-norm transformer block (GPT-2's arrangement).

    x: (batch, T, d) -> (y (batch, T, d), attention weights (batch, heads, T, T)).
    Each half adds a correction to x, so the residual stream carries the signal and its
    gradient through unchanged: x += MHA(LN1(x)); x += W2 gelu(W1 LN2(x) + b1) + b2.
    """
    a, weights = attention(p, layer_norm(x, p["ln1_scale"], p["ln1_offset"]), heads, causal)
    x = x + a
    hidden = jax.nn.gelu(layer_norm(x, p["ln2_scale"], p["ln2_offset"]) @ p["w1"] + p["b1"],
                         approximate=False)  # (batch, T, mlp)
    return x + hidden @ p["w2"] + p["b2"], weights


def attention_weights(params: Params, x: jax.Array, opts: Mapping,
                      kind: str = "attention") -> jax.Array:
    """The attention weights of an ``attention`` or ``transformer`` layer, for the probes.

    Args:
        params: the layer's flat parameters.
        x: the layer's input, (batch, T, d), or token ids (batch, T).
        opts: its options (``heads``, ``causal``).
        kind: ``"attention"``, or ``"transformer"``: its block attends to LN1(x), so
            that is applied first, exactly as the block does.

    Returns:
        (batch, heads, T, T): ``[b, j, q, k]`` is how much query step q of head j reads
        key step k; every row sums to one.
    """
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"attention_weights takes one of {ATTENTION_KINDS}, not {kind!r}")
    x = one_hot_tokens(x, params["wq"].shape[0])
    if kind == "transformer":
        x = layer_norm(x, params["ln1_scale"], params["ln1_offset"])
    return attention(params, x, opts["heads"], opts["causal"])[1]


def _attention_shape(what: str):
    def out_shape(in_shape: Shape, opts: Mapping) -> Shape:
        need_sequence(in_shape, what, AFTER_SEQUENCE)
        d = in_shape[1]
        if d % opts["heads"]:
            raise SpecError("heads", f"the heads split the {d} features of its input shape "
                                     f"{tuple(in_shape)} evenly, and {opts['heads']} does "
                                     f"not divide {d}: pick heads dividing {d}, or change "
                                     "the width before it")
        return tuple(in_shape)

    return out_shape


def _attention_params(key: jax.Array, d: int, init_name: str) -> Params:
    ini = INITIALIZERS.get(init_name)
    kq, kk, kv, ko = jax.random.split(key, 4)
    return {"wq": ini.weights(kq, (d, d), jnp.float32),
            "wk": ini.weights(kk, (d, d), jnp.float32),
            "wv": ini.weights(kv, (d, d), jnp.float32),
            "wo": ini.weights(ko, (d, d), jnp.float32),
            "bo": jnp.zeros((d,), jnp.float32)}


def _attention_init(key, in_shape, opts, init_name):
    out = _attention_shape("self-attention")(in_shape, opts)
    return _attention_params(key, in_shape[1], init_name), {}, out


def _attention_apply(params, state, x, values, opts, *, key, train):
    x = one_hot_tokens(x, params["wq"].shape[0])
    return attention(params, x, opts["heads"], opts["causal"])[0], state


def _transformer_init(key, in_shape, opts, init_name):
    out = _attention_shape("a transformer block")(in_shape, opts)
    d, mlp = in_shape[1], opts["mlp"]
    ka, k1, k2 = jax.random.split(key, 3)
    ini = INITIALIZERS.get(init_name)
    params = {"ln1_scale": jnp.ones((d,), jnp.float32),
              "ln1_offset": jnp.zeros((d,), jnp.float32),
              **_attention_params(ka, d, init_name),
              "ln2_scale": jnp.ones((d,), jnp.float32),
              "ln2_offset": jnp.zeros((d,), jnp.float32),
              "w1": ini.weights(k1, (d, mlp), jnp.float32),
              "b1": jnp.zeros((mlp,), jnp.float32),
              "w2": ini.weights(k2, (mlp, d), jnp.float32),
              "b2": jnp.zeros((d,), jnp.float32)}
    return params, {}, out


def _transformer_apply(params, state, x, values, opts, *, key, train):
    x = one_hot_tokens(x, params["wq"].shape[0])
    return transformer_block(params, x, opts["heads"], opts["causal"])[0], state



def _attention_flops(in_shape: Shape, out_shape: Shape, params: int, opts: Mapping) -> float:
    t, d = in_shape[0], in_shape[-1]
    # Projections use each weight once per step; scores and the weighted sum are T x T x d.
    return 2.0 * params * t + 4.0 * t * t * d


_HEADS = (Num(1, 8, integer=True), 2)
_CAUSAL = (Flag(), False)


def register(layers: Registry[LayerKind]) -> None:
    """Add the attention family: attention, transformer."""
    layers.register(
        "attention",
        LayerKind({"heads": _HEADS, "causal": _CAUSAL}, _attention_init, _attention_apply,
                  has_neurons=False, out_shape=_attention_shape("self-attention"),
                  flops=_attention_flops, family="sequence"),
        "Multi-head self-attention: each step reads a softmax-weighted mix of all steps "
        "(only earlier ones when causal).",
    )
    layers.register(
        "transformer",
        LayerKind({"heads": _HEADS, "mlp": (Num(1, 1024, integer=True), 64), "causal": _CAUSAL},
                  _transformer_init, _transformer_apply, has_neurons=False,
                  out_shape=_attention_shape("a transformer block"), flops=_attention_flops,
                  family="sequence"),
        "A pre-norm transformer block: self-attention then a GELU MLP, each added to its input.",
    )
