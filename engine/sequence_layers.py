"""Sequence layers: embeddings, positions, recurrent cells, attention, transformer, pooling.

Importing this module registers the kinds into ``engine.layers.LAYERS``. A sequence has
shape ``(T, d)`` (time, features) without the batch axis, ``(batch, T, d)`` with it.
Token data is described as ``(T, V)`` (V = vocabulary size, conceptually one-hot) while
the arrays hold int32 ids ``(batch, T)``: an ``embedding`` layer turns them into vectors,
and recurrent and attention layers one-hot them when they read tokens directly.

The cells (``rnn_cell``, ``lstm_cell``, ``gru_cell``) and ``attention`` are short pure
functions on purpose: the app shows their source. Parameters are flat dicts of arrays
(the saver writes ``layer{i}/{name}``); a bidirectional layer holds the backward
direction's under the same names with the suffix ``_rev``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp

from engine.errors import SpecError
from engine.initializers import INITIALIZERS
from engine.layers import LAYERS, LayerKind, Params, Shape
from engine.schema import Choice, Flag, Num

SEQUENCE_KINDS = ("embedding", "positional", "rnn", "lstm", "gru", "attention", "transformer",
                  "pool")
"""Every kind this module registers: they read (T, d) sequences, not points."""

RECURRENT_KINDS = ("rnn", "lstm", "gru")
"""Layer kinds whose hidden states ``recurrent_states`` returns."""

ATTENTION_KINDS = ("attention", "transformer")
"""Layer kinds whose attention weights ``attention_weights`` returns."""

LN_EPS = 1e-5
"""Layer-norm epsilon inside a transformer block (a constant, not an option)."""

_MASKED = -1e9  # a score no real one reaches: exp(_MASKED - max) is exactly 0 in float32


# --- shape checks --------------------------------------------------------------------------

def _need_sequence(in_shape: Shape, what: str, where: str) -> None:
    """Raise unless ``in_shape`` is ``(T, d)``; ``what`` names the layer in the message."""
    if len(in_shape) != 2:
        raise SpecError("type", f"{what} reads a sequence (time, features); this layer gets "
                                f"shape {tuple(in_shape)}: {where}")


_AFTER_SEQUENCE = "put it before any pooling or last-state layer, on sequence data"


# --- embedding and positions ---------------------------------------------------------------

def _embedding_shape(in_shape: Shape, opts: Mapping) -> Shape:
    if len(in_shape) != 2:
        raise SpecError("type", f"an embedding reads token ids, a sequence of shape (time, "
                                f"vocabulary); this layer gets shape {tuple(in_shape)}: put "
                                "it first, on token data")
    return (in_shape[0], opts["dim"])


def _embedding_init(key, in_shape, opts, init_name):
    vocab, dim = in_shape[1], opts["dim"]
    table = jax.random.normal(key, (vocab, dim), jnp.float32) / jnp.sqrt(dim)  # (V, dim)
    return {"table": table}, {}, _embedding_shape(in_shape, opts)


def _embedding_apply(params, state, x, values, opts, *, key, train):
    if jnp.issubdtype(x.dtype, jnp.integer):
        return params["table"][x], state  # ids (batch, T) -> (batch, T, dim)
    return x @ params["table"], state  # one-hot (batch, T, V) -> (batch, T, dim)


def sinusoidal_table(length: int, dim: int) -> jax.Array:
    """Vaswani et al.'s positions, (length, dim).

    ``P[t, 2i] = sin(t / 10000^(2i/dim))`` and ``P[t, 2i+1] = cos(t / 10000^(2i/dim))``:
    every pair of columns is a clock of its own frequency, so a fixed offset between two
    positions is a rotation the attention can learn.
    """
    t = jnp.arange(length, dtype=jnp.float32)[:, None]  # (T, 1)
    pair = jnp.arange(dim) // 2 * 2  # 0, 0, 2, 2, 4, ... : column j belongs to pair j // 2
    angle = t / 10000.0 ** (pair / dim)  # (T, dim)
    return jnp.where(jnp.arange(dim) % 2 == 0, jnp.sin(angle), jnp.cos(angle))


def _positional_shape(in_shape: Shape, opts: Mapping) -> Shape:
    _need_sequence(in_shape, "a positional encoding", "put it right after the embedding")
    return tuple(in_shape)


def _positional_init(key, in_shape, opts, init_name):
    shape = _positional_shape(in_shape, opts)
    if opts["kind"] == "sinusoidal":
        return {}, {}, shape
    # Small, as GPT-2 does: positions start as a gentle nudge to the token vectors.
    return {"pos": 0.02 * jax.random.normal(key, shape, jnp.float32)}, {}, shape  # (T, d)


def _positional_apply(params, state, x, values, opts, *, key, train):
    if opts["kind"] == "sinusoidal":
        return x + sinusoidal_table(x.shape[1], x.shape[2]), state
    return x + params["pos"], state  # (batch, T, d) + (T, d)


# --- recurrent cells -----------------------------------------------------------------------

def rnn_cell(p: Params, h: jax.Array, x: jax.Array) -> jax.Array:
    """One step of a simple (Elman) RNN: ``h' = tanh(x Wx + h Wh + b)``.

    h: (batch, H), x: (batch, d) -> h': (batch, H).
    """
    return jnp.tanh(x @ p["wx"] + h @ p["wh"] + p["b"])


def lstm_cell(p: Params, carry: tuple[jax.Array, jax.Array],
              x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One LSTM step (Hochreiter & Schmidhuber, 1997), PyTorch's gate order i, f, g, o.

    carry = (h, c), each (batch, H); x: (batch, d) -> (h', c'). The cell c is a
    conveyor belt: the forget gate f scales it, the input gate i adds new content g,
    and the output gate o decides how much of it shows as h.
    """
    h, c = carry
    gates = x @ p["wx"] + h @ p["wh"] + p["b"]  # (batch, 4H)
    i, f, g, o = jnp.split(gates, 4, axis=-1)  # each (batch, H)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return h, c


def gru_cell(p: Params, h: jax.Array, x: jax.Array) -> jax.Array:
    """One GRU step (Cho et al., 2014), PyTorch's convention and gate order r, z, n.

    h: (batch, H), x: (batch, d) -> h': (batch, H). The update gate z keeps the old
    state; the reset gate r decides how much of it the candidate n may read.
    """
    xr, xz, xn = jnp.split(x @ p["wx"] + p["bx"], 3, axis=-1)  # each (batch, H)
    hr, hz, hn = jnp.split(h @ p["wh"] + p["bh"], 3, axis=-1)
    r = jax.nn.sigmoid(xr + hr)
    z = jax.nn.sigmoid(xz + hz)
    n = jnp.tanh(xn + r * hn)
    return (1 - z) * n + z * h


_CELLS: dict[str, Callable] = {"rnn": rnn_cell, "lstm": lstm_cell, "gru": gru_cell}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_NAMES = {"rnn": "a simple RNN", "lstm": "an LSTM", "gru": "a GRU"}


def _one_hot_tokens(x: jax.Array, dim: int) -> jax.Array:
    """Token ids (batch, T) -> one-hot (batch, T, dim); real inputs pass unchanged."""
    return jax.nn.one_hot(x, dim) if jnp.issubdtype(x.dtype, jnp.integer) else x


def _direction(params: Params, backward: bool) -> Params:
    """One direction's parameters under the names the cells read (``_rev`` removed)."""
    return {k.removesuffix("_rev"): v for k, v in params.items()
            if k.endswith("_rev") == backward}


def _scan(kind: str, p: Params, x: jax.Array) -> dict[str, jax.Array]:
    """Run one direction's cell over time from a zero state.

    x: (batch, T, d) -> {"h": (batch, T, H)} plus {"c": (batch, T, H)} for an LSTM.
    """
    zeros = jnp.zeros((x.shape[0], p["wh"].shape[0]), x.dtype)  # (batch, H)
    carry = (zeros, zeros) if kind == "lstm" else zeros
    cell = _CELLS[kind]

    def step(carry, x_t):  # x_t: (batch, d)
        carry = cell(p, carry, x_t)
        return carry, carry

    # scan walks the leading axis, so go time-major and back.
    _, states = jax.lax.scan(step, carry, jnp.swapaxes(x, 0, 1))  # (T, batch, H)
    states = states if kind == "lstm" else (states,)
    return {name: jnp.swapaxes(s, 0, 1) for name, s in zip("hc", states, strict=False)}


def recurrent_states(kind: str, params: Params, x: jax.Array,
                     opts: Mapping) -> dict[str, jax.Array]:
    """A recurrent layer's states at every step, for the probes and the layer itself.

    Args:
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        params: the layer's flat parameters.
        x: its input, (batch, T, d), or token ids (batch, T).
        opts: its options (``bidirectional`` is read).

    Returns:
        ``{"h": (batch, T, H')}``, plus ``"c"`` of the same shape for an LSTM, where
        H' = units * (2 if bidirectional). Bidirectional states are [forward, backward]
        along the last axis; the backward run reads the sequence reversed and its states
        are reversed back, so step t of both halves sits at position t.
    """
    x = _one_hot_tokens(x, params["wx"].shape[0])
    states = _scan(kind, _direction(params, False), x)
    if not opts["bidirectional"]:
        return states
    back = _scan(kind, _direction(params, True), x[:, ::-1])
    return {k: jnp.concatenate([states[k], back[k][:, ::-1]], axis=-1) for k in states}


def _recurrent_shape(kind: str) -> Callable[[Shape, Mapping], Shape]:
    def out_shape(in_shape: Shape, opts: Mapping) -> Shape:
        _need_sequence(in_shape, _NAMES[kind], _AFTER_SEQUENCE)
        width = opts["units"] * (2 if opts["bidirectional"] else 1)
        return (in_shape[0], width) if opts["sequences"] else (width,)

    return out_shape


def _cell_params(kind: str, key: jax.Array, d: int, units: int, init_name: str) -> Params:
    """One direction: wx (d, gH), wh (H, gH) and zero biases, g = the number of gates."""
    gates = _GATES[kind]
    kx, kh = jax.random.split(key)
    # Each gate's recurrent matrix is orthogonal, so h Wh neither grows nor shrinks h
    # at the start: the gradient through time neither explodes nor vanishes by itself.
    orth = jax.nn.initializers.orthogonal()
    wh = jnp.concatenate([orth(k, (units, units), jnp.float32)
                          for k in jax.random.split(kh, gates)], axis=1)  # (H, gH)
    p = {"wx": INITIALIZERS.get(init_name).weights(kx, (d, gates * units), jnp.float32),
         "wh": wh}
    if kind == "gru":
        p["bx"] = jnp.zeros((3 * units,), jnp.float32)
        p["bh"] = jnp.zeros((3 * units,), jnp.float32)
    else:
        p["b"] = jnp.zeros((gates * units,), jnp.float32)
    if kind == "lstm":  # forget gate open at the start: remember by default (Jozefowicz 2015)
        p["b"] = p["b"].at[units:2 * units].set(1.0)
    return p


def _recurrent_init(kind: str):
    def init(key, in_shape, opts, init_name):
        out = _recurrent_shape(kind)(in_shape, opts)
        kf, kb = jax.random.split(key)
        params = _cell_params(kind, kf, in_shape[1], opts["units"], init_name)
        if opts["bidirectional"]:
            back = _cell_params(kind, kb, in_shape[1], opts["units"], init_name)
            params.update({f"{k}_rev": v for k, v in back.items()})
        return params, {}, out

    return init


def _recurrent_apply(kind: str):
    def apply(params, state, x, values, opts, *, key, train):
        h = recurrent_states(kind, params, x, opts)["h"]  # (batch, T, H')
        if opts["sequences"]:
            return h, state
        if not opts["bidirectional"]:
            return h[:, -1], state
        # Each direction's final state: forward after the last step, backward after the
        # first (it read the sequence the other way), as PyTorch's h_n and Keras do.
        units = opts["units"]
        return jnp.concatenate([h[:, -1, :units], h[:, 0, units:]], axis=-1), state

    return apply


# --- attention and the transformer block ---------------------------------------------------

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
    x = _one_hot_tokens(x, params["wq"].shape[0])
    if kind == "transformer":
        x = layer_norm(x, params["ln1_scale"], params["ln1_offset"])
    return attention(params, x, opts["heads"], opts["causal"])[1]


def _attention_shape(what: str):
    def out_shape(in_shape: Shape, opts: Mapping) -> Shape:
        _need_sequence(in_shape, what, _AFTER_SEQUENCE)
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
    x = _one_hot_tokens(x, params["wq"].shape[0])
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
    x = _one_hot_tokens(x, params["wq"].shape[0])
    return transformer_block(params, x, opts["heads"], opts["causal"])[0], state


# --- pooling -------------------------------------------------------------------------------

POOL_MODES = ("mean", "last", "max")


def _pool_shape(in_shape: Shape, opts: Mapping) -> Shape:
    _need_sequence(in_shape, "a pooling layer", "it must come after a layer that returns "
                                                 "sequences, and only once")
    return (in_shape[1],)


def _pool_init(key, in_shape, opts, init_name):
    return {}, {}, _pool_shape(in_shape, opts)


def _pool_apply(params, state, x, values, opts, *, key, train):
    mode = opts["mode"]  # x: (batch, T, d) -> (batch, d)
    if mode == "mean":
        return jnp.mean(x, axis=1), state
    if mode == "last":
        return x[:, -1], state
    return jnp.max(x, axis=1), state


# --- registration --------------------------------------------------------------------------

_HEADS = (Num(1, 8, integer=True), 2)
_CAUSAL = (Flag(), False)


def _embedding_flops(in_shape: Shape, out_shape: Shape, params: int, opts: Mapping) -> float:
    return float(out_shape[0] * out_shape[-1])  # a lookup per step, no arithmetic


def _attention_flops(in_shape: Shape, out_shape: Shape, params: int, opts: Mapping) -> float:
    t, d = in_shape[0], in_shape[-1]
    # Projections use each weight once per step; scores and the weighted sum are T x T x d.
    return 2.0 * params * t + 4.0 * t * t * d


def _recurrent_kind(kind: str) -> LayerKind:
    options = {"units": (Num(1, 256, integer=True), 32), "bidirectional": (Flag(), False),
               "sequences": (Flag(), True)}
    return LayerKind(options, _recurrent_init(kind), _recurrent_apply(kind),
                     has_neurons=False, out_shape=_recurrent_shape(kind))


LAYERS.register(
    "embedding",
    LayerKind({"dim": (Num(1, 256, integer=True), 16)}, _embedding_init, _embedding_apply,
              has_neurons=False, out_shape=_embedding_shape, flops=_embedding_flops),
    "Looks up a learned vector of `dim` numbers for each token id: (T, V) -> (T, dim).",
)
LAYERS.register(
    "positional",
    LayerKind({"kind": (Choice(("sinusoidal", "learned")), "sinusoidal")},
              _positional_init, _positional_apply, has_neurons=False,
              out_shape=_positional_shape),
    "Adds each step's position to its vector (fixed sine waves, or learned), so attention "
    "can tell the order.",
)
LAYERS.register(
    "rnn", _recurrent_kind("rnn"),
    "A simple recurrent layer: h_t = tanh(x_t Wx + h_{t-1} Wh + b), step by step in time.",
)
LAYERS.register(
    "lstm", _recurrent_kind("lstm"),
    "Long short-term memory: gates decide what a cell state forgets, stores and shows.",
)
LAYERS.register(
    "gru", _recurrent_kind("gru"),
    "Gated recurrent unit: an update gate blends the old state with a reset-gated new one.",
)
LAYERS.register(
    "attention",
    LayerKind({"heads": _HEADS, "causal": _CAUSAL}, _attention_init, _attention_apply,
              has_neurons=False, out_shape=_attention_shape("self-attention"),
              flops=_attention_flops),
    "Multi-head self-attention: each step reads a softmax-weighted mix of all steps "
    "(only earlier ones when causal).",
)
LAYERS.register(
    "transformer",
    LayerKind({"heads": _HEADS, "mlp": (Num(1, 1024, integer=True), 64), "causal": _CAUSAL},
              _transformer_init, _transformer_apply, has_neurons=False,
              out_shape=_attention_shape("a transformer block"), flops=_attention_flops),
    "A pre-norm transformer block: self-attention then a GELU MLP, each added to its input.",
)
LAYERS.register(
    "pool",
    LayerKind({"mode": (Choice(POOL_MODES), "mean")}, _pool_init, _pool_apply,
              has_neurons=False, out_shape=_pool_shape),
    "Summarises a sequence as one vector: the mean, the last step, or the maximum over time.",
)
