"""Sequence layers against independent NumPy implementations, shapes, errors, jit and grad."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine import SpecError
from engine.blocks import LAYERS, SEQUENCE_KINDS
from engine.blocks.attention import attention_weights, transformer_block
from engine.blocks.embeddings import sinusoidal_table
from engine.blocks.recurrent import (
    RECURRENT_KINDS,
    gru_cell,
    lstm_cell,
    recurrent_states,
    rnn_cell,
)

RTOL, ATOL = 1e-5, 1e-5


def _opts(kind: str, /, **opts) -> dict:
    """Every option of ``kind`` (defaults), with ``opts`` on top, checked."""
    full = {name: check(opts.get(name, default), name)
            for name, (check, default) in LAYERS.get(kind).options.items()}
    assert set(opts) <= set(full)
    return full


def _init(kind: str, in_shape, /, seed: int = 0, init_name: str = "glorot_uniform", **opts):
    """Build a layer: (params, state, out_shape, full options)."""
    full = _opts(kind, **opts)
    params, state, shape = LAYERS.get(kind).init(jax.random.PRNGKey(seed), in_shape, full,
                                                 init_name)
    return params, state, shape, full


# Eager on purpose: JAX caches each small op's compilation across tests, which here is
# faster than compiling a fresh jit per call; test_params_are_flat_and_jit_and_grad_work
# checks the jitted layers against these.
def _apply(kind: str, params, x, opts, train: bool = False):
    y, _ = LAYERS.get(kind).apply(params, {}, x, {}, opts, key=None, train=train)
    return y


def _np(params) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, np.float64) for k, v in params.items()}


def _x(*shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# --- independent NumPy references ----------------------------------------------------------

def np_rnn_step(p, h, x):
    return np.tanh(x @ p["wx"] + h @ p["wh"] + p["b"])


def np_lstm_step(p, h, c, x):
    n = h.shape[-1]
    z = x @ p["wx"] + h @ p["wh"] + p["b"]
    i, f = _sigmoid(z[:, :n]), _sigmoid(z[:, n:2 * n])
    g, o = np.tanh(z[:, 2 * n:3 * n]), _sigmoid(z[:, 3 * n:])
    c = f * c + i * g
    return o * np.tanh(c), c


def np_gru_step(p, h, x):
    n = h.shape[-1]
    wx, wh, bx, bh = p["wx"], p["wh"], p["bx"], p["bh"]
    r = _sigmoid(x @ wx[:, :n] + bx[:n] + h @ wh[:, :n] + bh[:n])
    z = _sigmoid(x @ wx[:, n:2 * n] + bx[n:2 * n] + h @ wh[:, n:2 * n] + bh[n:2 * n])
    cand = np.tanh(x @ wx[:, 2 * n:] + bx[2 * n:] + r * (h @ wh[:, 2 * n:] + bh[2 * n:]))
    return (1 - z) * cand + z * h


def np_run(kind, p, x):
    """Loop over time in plain Python: x (batch, T, d) -> h (batch, T, H), c or None."""
    batch, steps, _ = x.shape
    h = np.zeros((batch, p["wh"].shape[0]))
    c = np.zeros_like(h)
    hs, cs = [], []
    for t in range(steps):
        if kind == "rnn":
            h = np_rnn_step(p, h, x[:, t])
        elif kind == "gru":
            h = np_gru_step(p, h, x[:, t])
        else:
            h, c = np_lstm_step(p, h, c, x[:, t])
        hs.append(h)
        cs.append(c)
    return np.stack(hs, 1), (np.stack(cs, 1) if kind == "lstm" else None)


def np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_attention(p, x, heads, causal):
    """Head by head, with explicit loops: returns y (batch, T, d), w (batch, heads, T, T)."""
    batch, steps, d = x.shape
    dh = d // heads
    y = np.zeros((batch, steps, d))
    w = np.zeros((batch, heads, steps, steps))
    for b in range(batch):
        outs = []
        for j in range(heads):
            cols = slice(j * dh, (j + 1) * dh)
            q = x[b] @ p["wq"][:, cols]
            k = x[b] @ p["wk"][:, cols]
            v = x[b] @ p["wv"][:, cols]
            s = q @ k.T / math.sqrt(dh)
            if causal:
                s = np.where(np.tril(np.ones((steps, steps))) > 0, s, -np.inf)
            w[b, j] = np_softmax(s)
            outs.append(w[b, j] @ v)
        y[b] = np.concatenate(outs, -1) @ p["wo"] + p["bo"]
    return y, w


def np_layer_norm(x, scale, offset):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * scale + offset


_erf = np.vectorize(math.erf)


def np_gelu(z):
    return 0.5 * z * (1 + _erf(z / math.sqrt(2)))


def np_transformer(p, x, heads, causal):
    a, _ = np_attention(p, np_layer_norm(x, p["ln1_scale"], p["ln1_offset"]), heads, causal)
    x = x + a
    hidden = np_gelu(np_layer_norm(x, p["ln2_scale"], p["ln2_offset"]) @ p["w1"] + p["b1"])
    return x + hidden @ p["w2"] + p["b2"]


def _perturb(params, seed=1, scale=0.3):
    """Non-trivial values for every parameter (biases and layer-norm gains included)."""
    rng = np.random.default_rng(seed)
    return {k: jnp.asarray(np.asarray(v) + scale * rng.normal(size=v.shape), jnp.float32)
            for k, v in params.items()}


# --- recurrent cells -----------------------------------------------------------------------

def test_lstm_cell_one_step_matches_numpy():
    params, _, _, _ = _init("lstm", (5, 3), units=4)
    p = _perturb(params)
    h, c, x = _x(2, 4, seed=1), _x(2, 4, seed=2), _x(2, 3, seed=3)
    h2, c2 = lstm_cell(p, (jnp.asarray(h), jnp.asarray(c)), jnp.asarray(x))
    eh, ec = np_lstm_step(_np(p), h, c, x)
    np.testing.assert_allclose(h2, eh, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(c2, ec, rtol=RTOL, atol=ATOL)


def test_gru_and_rnn_cells_one_step_match_numpy():
    for kind, cell, ref in (("gru", gru_cell, np_gru_step), ("rnn", rnn_cell, np_rnn_step)):
        p = _perturb(_init(kind, (5, 3), units=4)[0])
        h, x = _x(2, 4, seed=1), _x(2, 3, seed=3)
        np.testing.assert_allclose(cell(p, jnp.asarray(h), jnp.asarray(x)),
                                   ref(_np(p), h, x), rtol=RTOL, atol=ATOL, err_msg=kind)


@pytest.mark.parametrize("kind", RECURRENT_KINDS)
def test_recurrent_sequence_matches_numpy_loop(kind):
    params, _, shape, opts = _init(kind, (6, 3), units=4)
    p = _perturb(params)
    x = _x(2, 6, 3)
    y = _apply(kind, p, jnp.asarray(x), opts)
    eh, ec = np_run(kind, _np(p), x.astype(np.float64))
    assert y.shape == (2, *shape) == (2, 6, 4)
    np.testing.assert_allclose(y, eh, rtol=RTOL, atol=ATOL)
    states = recurrent_states(kind, p, jnp.asarray(x), opts)
    assert set(states) == ({"h", "c"} if kind == "lstm" else {"h"})
    np.testing.assert_allclose(states["h"], eh, rtol=RTOL, atol=ATOL)
    if kind == "lstm":
        np.testing.assert_allclose(states["c"], ec, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", RECURRENT_KINDS)
def test_bidirectional_is_forward_then_realigned_backward(kind):
    params, _, shape, opts = _init(kind, (5, 3), units=4, bidirectional=True)
    assert shape == (5, 8)
    p = _perturb(params)
    fwd = {k: v for k, v in _np(p).items() if not k.endswith("_rev")}
    bwd = {k.removesuffix("_rev"): v for k, v in _np(p).items() if k.endswith("_rev")}
    assert set(fwd) == set(bwd)
    assert not np.allclose(fwd["wx"], bwd["wx"])  # two independent directions
    x = _x(2, 5, 3)
    y = np.asarray(_apply(kind, p, jnp.asarray(x), opts))
    ef, _ = np_run(kind, fwd, x.astype(np.float64))
    eb, _ = np_run(kind, bwd, x[:, ::-1].astype(np.float64))
    np.testing.assert_allclose(y, np.concatenate([ef, eb[:, ::-1]], -1), rtol=RTOL, atol=ATOL)
    # the last state of each direction: forward after step T-1, backward after step 0
    last_opts = {**opts, "sequences": False}
    assert LAYERS.get(kind).out_shape((5, 3), last_opts) == (8,)
    last = _apply(kind, p, jnp.asarray(x), last_opts)
    np.testing.assert_allclose(last, np.concatenate([ef[:, -1], eb[:, -1]], -1),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", RECURRENT_KINDS)
def test_sequences_false_returns_the_last_step(kind):
    params, _, shape, opts = _init(kind, (7, 3), units=5, sequences=False)
    assert shape == (5,)
    x = jnp.asarray(_x(4, 7, 3))
    last = _apply(kind, params, x, opts)
    every = _apply(kind, params, x, {**opts, "sequences": True})
    assert last.shape == (4, 5)
    np.testing.assert_allclose(last, every[:, -1], rtol=1e-6, atol=1e-6)


def test_recurrent_initialisation():
    params, _, _, _ = _init("lstm", (5, 3), units=4, init_name="he_normal")
    np.testing.assert_array_equal(params["b"], [0] * 4 + [1] * 4 + [0] * 8)  # forget = 1
    wh = np.asarray(params["wh"])  # (H, 4H): each gate's block is orthogonal
    for g in range(4):
        block = wh[:, 4 * g:4 * g + 4]
        np.testing.assert_allclose(block.T @ block, np.eye(4), atol=1e-5)
    gru = _init("gru", (5, 3), units=4)[0]
    assert not np.any(gru["bx"]) and not np.any(gru["bh"])
    zeros = _init("rnn", (5, 3), units=4, init_name="zeros")[0]
    assert not np.any(zeros["wx"]) and np.any(zeros["wh"])  # input init is the model's


def test_recurrent_reads_token_ids_as_one_hot():
    params, _, _, opts = _init("gru", (6, 5), units=3)
    ids = np.random.default_rng(0).integers(0, 5, (2, 6)).astype(np.int32)
    one_hot = np.eye(5, dtype=np.float32)[ids]
    np.testing.assert_allclose(_apply("gru", params, jnp.asarray(ids), opts),
                               _apply("gru", params, jnp.asarray(one_hot), opts), atol=1e-6)


# --- attention and transformer -------------------------------------------------------------

@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_numpy_and_rows_sum_to_one(causal):
    params, _, shape, opts = _init("attention", (5, 6), heads=3, causal=causal)
    assert shape == (5, 6)
    p = _perturb(params)
    x = _x(2, 5, 6)
    y = _apply("attention", p, jnp.asarray(x), opts)
    w = attention_weights(p, jnp.asarray(x), opts)
    ey, ew = np_attention(_np(p), x.astype(np.float64), 3, causal)
    assert w.shape == (2, 3, 5, 5)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(w, ew, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(y, ey, rtol=1e-4, atol=1e-5)


def test_causal_attention_hides_the_future():
    x = _x(2, 5, 4)
    x2 = x.copy()
    # change step 3 (not by a constant, which the transformer's layer norm would remove):
    # steps 0..2 must not move
    x2[:, 3] += 3 * _x(2, 4, seed=5)
    for kind in ("attention", "transformer"):
        p, _, _, o = _init(kind, (5, 4), heads=2, causal=True)
        w = np.asarray(attention_weights(p, jnp.asarray(x), o, kind))
        above = np.triu_indices(5, 1)
        assert np.all(w[..., above[0], above[1]] == 0), kind
        assert np.all(np.diagonal(w, axis1=-2, axis2=-1) > 0), kind
        a = np.asarray(_apply(kind, p, jnp.asarray(x), o))
        b = np.asarray(_apply(kind, p, jnp.asarray(x2), o))
        np.testing.assert_allclose(a[:, :3], b[:, :3], rtol=1e-6, atol=1e-6, err_msg=kind)
        assert not np.allclose(a[:, 3:], b[:, 3:]), kind
        # without the mask the change reaches back
        o = {**o, "causal": False}
        assert not np.allclose(_apply(kind, p, jnp.asarray(x), o)[:, :3],
                               _apply(kind, p, jnp.asarray(x2), o)[:, :3]), kind


def test_transformer_block_matches_numpy_composition():
    params, _, shape, opts = _init("transformer", (5, 4), heads=2, mlp=7)
    assert shape == (5, 4)
    assert {k: v.shape for k, v in params.items()} == {
        "ln1_scale": (4,), "ln1_offset": (4,), "wq": (4, 4), "wk": (4, 4), "wv": (4, 4),
        "wo": (4, 4), "bo": (4,), "ln2_scale": (4,), "ln2_offset": (4,), "w1": (4, 7),
        "b1": (7,), "w2": (7, 4), "b2": (4,)}
    p = _perturb(params)
    x = _x(3, 5, 4)
    for causal in (False, True):
        o = {**opts, "causal": causal}
        y = _apply("transformer", p, jnp.asarray(x), o)
        np.testing.assert_allclose(y, np_transformer(_np(p), x.astype(np.float64), 2, causal),
                                   rtol=1e-4, atol=1e-5)


def test_transformer_attention_weights_are_taken_after_layer_norm():
    params, _, _, opts = _init("transformer", (5, 4), heads=2)
    p = _perturb(params)
    x = _x(2, 5, 4)
    w = attention_weights(p, jnp.asarray(x), opts, kind="transformer")
    ln = np_layer_norm(x.astype(np.float64), *(_np(p)[k] for k in ("ln1_scale", "ln1_offset")))
    np.testing.assert_allclose(w, np_attention(_np(p), ln, 2, False)[1], rtol=1e-4, atol=1e-6)
    # the block itself uses these very weights (one code path)
    _, block_w = transformer_block(p, jnp.asarray(x), 2, False)
    np.testing.assert_allclose(w, block_w, rtol=1e-6)
    with pytest.raises(ValueError):
        attention_weights(p, jnp.asarray(x), opts, kind="lstm")


# --- embedding, positions, pooling ---------------------------------------------------------

def test_embedding_of_ids_equals_one_hot_times_table():
    params, _, shape, opts = _init("embedding", (6, 10), dim=8)
    assert shape == (6, 8) and params["table"].shape == (10, 8)
    ids = np.random.default_rng(0).integers(0, 10, (3, 6)).astype(np.int32)
    by_id = _apply("embedding", params, jnp.asarray(ids), opts)
    one_hot = np.eye(10, dtype=np.float32)[ids]
    np.testing.assert_allclose(by_id, one_hot @ np.asarray(params["table"]), atol=1e-6)
    np.testing.assert_allclose(_apply("embedding", params, jnp.asarray(one_hot), opts), by_id,
                               atol=1e-6)
    assert 0.5 / math.sqrt(8) < float(jnp.std(params["table"])) < 2 / math.sqrt(8)


@pytest.mark.parametrize("dim", [6, 7])
def test_sinusoidal_table_matches_the_formula(dim):
    table = np.asarray(sinusoidal_table(9, dim))
    expected = np.zeros((9, dim))
    for pos in range(9):
        for i in range(0, dim, 2):
            expected[pos, i] = math.sin(pos / 10000 ** (i / dim))
            if i + 1 < dim:
                expected[pos, i + 1] = math.cos(pos / 10000 ** (i / dim))
    np.testing.assert_allclose(table, expected, atol=1e-5)


def test_positional_adds_the_table_or_learned_positions():
    x = _x(2, 9, 6)
    params, _, shape, opts = _init("positional", (9, 6))
    assert params == {} and shape == (9, 6)
    np.testing.assert_allclose(_apply("positional", params, jnp.asarray(x), opts),
                               x + np.asarray(sinusoidal_table(9, 6)), atol=1e-6)
    params, _, _, opts = _init("positional", (9, 6), kind="learned")
    assert params["pos"].shape == (9, 6) and float(jnp.abs(params["pos"]).max()) < 0.2
    np.testing.assert_allclose(_apply("positional", params, jnp.asarray(x), opts),
                               x + np.asarray(params["pos"]), atol=1e-6)


def test_pool_modes():
    x = _x(3, 5, 4)
    expected = {"mean": x.mean(1), "last": x[:, -1], "max": x.max(1)}
    for mode, want in expected.items():
        params, _, shape, opts = _init("pool", (5, 4), mode=mode)
        assert params == {} and shape == (4,)
        np.testing.assert_allclose(_apply("pool", params, jnp.asarray(x), opts), want,
                                   rtol=1e-6, err_msg=mode)


# --- shapes and errors ---------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "opts", "in_shape", "out"), [
    ("embedding", {"dim": 12}, (7, 20), (7, 12)),
    ("positional", {"kind": "learned"}, (7, 12), (7, 12)),
    ("rnn", {"units": 5}, (7, 3), (7, 5)),
    ("lstm", {"units": 5, "bidirectional": True}, (7, 3), (7, 10)),
    ("gru", {"units": 5, "bidirectional": True, "sequences": False}, (7, 3), (10,)),
    ("lstm", {"units": 5, "sequences": False}, (7, 3), (5,)),
    ("attention", {"heads": 4}, (7, 12), (7, 12)),
    ("transformer", {"heads": 3, "mlp": 9}, (7, 12), (7, 12)),
    ("pool", {"mode": "max"}, (7, 12), (12,)),
])
def test_out_shape_agrees_with_init_and_apply(kind, opts, in_shape, out):
    full = _opts(kind, **opts)
    assert LAYERS.get(kind).out_shape(in_shape, full) == out
    params, state, shape, _ = _init(kind, in_shape, **opts)
    assert shape == out and state == {}
    x = (jnp.zeros((2, in_shape[0]), jnp.int32) if kind == "embedding"
         else jnp.asarray(_x(2, *in_shape)))
    assert _apply(kind, params, x, full).shape == (2, *out)
    assert not LAYERS.get(kind).has_neurons


def test_lstm_without_time_axis_says_where_to_put_it():
    with pytest.raises(SpecError) as info:
        LAYERS.get("lstm").out_shape((8,), _opts("lstm"))
    assert info.value.field == "type"
    assert "an LSTM reads a sequence (time, features)" in str(info.value)
    assert "(8,)" in str(info.value) and "before any pooling" in str(info.value)


@pytest.mark.parametrize("kind", ["attention", "transformer"])
def test_heads_must_divide_the_width(kind):
    with pytest.raises(SpecError) as info:
        LAYERS.get(kind).out_shape((5, 6), _opts(kind, heads=4))
    assert info.value.field == "heads"
    assert "(5, 6)" in str(info.value) and "4 does not divide 6" in str(info.value)


def test_pool_and_other_kinds_without_time_axis():
    with pytest.raises(SpecError) as info:
        LAYERS.get("pool").out_shape((8,), _opts("pool"))
    assert info.value.field == "type" and "(8,)" in str(info.value)
    for kind in ("embedding", "positional", "rnn", "gru", "attention", "transformer"):
        with pytest.raises(SpecError, match=r"\(8,\)"):
            LAYERS.get(kind).out_shape((8,), _opts(kind))


def test_errors_name_the_layer_in_a_spec():
    """The model prefixes the field with the layer's place in the stack."""
    from engine.model import check_shapes
    from engine.spec import LayerSpec

    layers = [LayerSpec.from_dict({"type": "lstm", "sequences": False}, "l0"),
              LayerSpec.from_dict({"type": "lstm"}, "l1")]
    with pytest.raises(SpecError) as info:
        check_shapes(layers, (5, 3))
    assert info.value.field == "model.layers[1].type"
    ok = [LayerSpec.from_dict({"type": "embedding"}, "l0"),
          LayerSpec.from_dict({"type": "transformer", "heads": 4}, "l1"),
          LayerSpec.from_dict({"type": "pool"}, "l2")]
    assert check_shapes(ok, (5, 10)) == (16,)


def test_kinds_are_registered_once_with_defaults():
    import importlib

    assert [k for k in engine.LAYERS if k in SEQUENCE_KINDS] == list(SEQUENCE_KINDS)
    assert [kind for kind, _ in _EVERY] == list(SEQUENCE_KINDS)
    for kind in SEQUENCE_KINDS:
        for name, (check, default) in LAYERS.get(kind).options.items():
            assert check(default, name) == default
    for module in ("engine.blocks", "engine.blocks.embeddings", "engine.blocks.recurrent",
                   "engine.blocks.attention", "engine.blocks.pooling"):
        importlib.import_module(module)  # a second import is a no-op


# --- flat params, jit and grad -------------------------------------------------------------

_EVERY = [("embedding", {}), ("positional", {"kind": "learned"}),
          ("rnn", {"units": 3, "bidirectional": True}),
          ("lstm", {"units": 3, "bidirectional": True}),
          ("gru", {"units": 3, "bidirectional": True, "sequences": False}),
          ("attention", {"causal": True}), ("transformer", {"causal": True}), ("pool", {})]


@pytest.mark.parametrize(("kind", "opts"), _EVERY)
def test_params_are_flat_and_jit_and_grad_work(kind, opts):
    in_shape = (5, 7) if kind == "embedding" else (5, 4)
    params, _, _, full = _init(kind, in_shape, **opts)
    assert isinstance(params, dict)
    assert all(isinstance(k, str) and isinstance(v, jax.Array) for k, v in params.items())
    if kind in RECURRENT_KINDS:
        assert {k.removesuffix("_rev") for k in params} <= {"wx", "wh", "b", "bx", "bh"}
        assert any(k.endswith("_rev") for k in params)
    x = (jnp.asarray(np.random.default_rng(0).integers(0, 7, (3, 5)), jnp.int32)
         if kind == "embedding" else jnp.asarray(_x(3, *in_shape)))

    def loss(p, x):
        return jnp.sum(_apply(kind, p, x, full) ** 2)

    jitted = jax.jit(lambda p, x: _apply(kind, p, x, full))(params, x)
    np.testing.assert_allclose(jitted, _apply(kind, params, x, full), rtol=1e-5, atol=1e-6)
    if kind == "embedding":
        grads = jax.jit(jax.grad(loss))(params, x)
    else:
        grads, gx = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, x)
        assert bool(jnp.all(jnp.isfinite(gx))) and float(jnp.abs(gx).sum()) > 0
    assert set(grads) == set(params)
    for name, g in grads.items():
        assert bool(jnp.all(jnp.isfinite(g))), name
        # every parameter reaches the output (an embedding only through the rows it looked up)
        assert float(jnp.abs(g).sum()) > 0, name


def test_probe_functions_jit():
    params, _, _, opts = _init("lstm", (5, 3), units=4)
    x = jnp.asarray(_x(2, 5, 3))
    states = jax.jit(lambda p, x: recurrent_states("lstm", p, x, opts))(params, x)
    assert states["h"].shape == states["c"].shape == (2, 5, 4)
    params, _, _, opts = _init("transformer", (5, 4), heads=2, causal=True)
    w = jax.jit(lambda p, x: attention_weights(p, x, opts, "transformer"))(
        params, jnp.asarray(_x(2, 5, 4)))
    assert w.shape == (2, 2, 5, 5)
