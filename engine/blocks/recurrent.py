"""Recurrent layers: a simple RNN, an LSTM and a GRU, step by step with ``lax.scan``.

The cells (``rnn_cell``, ``lstm_cell``, ``gru_cell``) are short pure functions on
purpose: the app shows their source. A sequence is ``(batch, T, d)``; parameters are
flat dicts of arrays, and a bidirectional layer holds the backward direction's under
the same names with the suffix ``_rev``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
from engine.registry import Registry
from engine.schema import Flag, Num

RECURRENT_KINDS = ("rnn", "lstm", "gru")
"""Layer kinds whose hidden states ``recurrent_states`` returns."""


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
    x = one_hot_tokens(x, params["wx"].shape[0])
    states = _scan(kind, _direction(params, False), x)
    if not opts["bidirectional"]:
        return states
    back = _scan(kind, _direction(params, True), x[:, ::-1])
    return {k: jnp.concatenate([states[k], back[k][:, ::-1]], axis=-1) for k in states}


def _recurrent_shape(kind: str) -> Callable[[Shape, Mapping], Shape]:
    def out_shape(in_shape: Shape, opts: Mapping) -> Shape:
        need_sequence(in_shape, _NAMES[kind], AFTER_SEQUENCE)
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



def _recurrent_kind(kind: str) -> LayerKind:
    options = {"units": (Num(1, 256, integer=True), 32), "bidirectional": (Flag(), False),
               "sequences": (Flag(), True)}
    return LayerKind(options, _recurrent_init(kind), _recurrent_apply(kind),
                     has_neurons=False, out_shape=_recurrent_shape(kind), family="sequence")


def register(layers: Registry[LayerKind]) -> None:
    """Add the recurrent family: rnn, lstm, gru."""
    layers.register(
        "rnn", _recurrent_kind("rnn"),
        "A simple recurrent layer: h_t = tanh(x_t Wx + h_{t-1} Wh + b), step by step in time.",
    )
    layers.register(
        "lstm", _recurrent_kind("lstm"),
        "Long short-term memory: gates decide what a cell state forgets, stores and shows.",
    )
    layers.register(
        "gru", _recurrent_kind("gru"),
        "Gated recurrent unit: an update gate blends the old state with a reset-gated new one.",
    )
