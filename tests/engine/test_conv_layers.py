"""The image layers against NumPy written here: conv2d, max_pool, avg_pool,
global_avg_pool and flatten, their gradients, the output-side arithmetic and the shape
errors a spec gets for an image network that cannot work.

The references are float64 loops over output pixels (a cross-correlation, TensorFlow's
``same`` padding with the odd pixel after the image); their own backward passes are
checked against central differences first, so a wrong reference cannot pass.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine import LAYERS, Spec, SpecError
from engine.blocks.conv import conv2d, output_side, pool2d
from engine.spec import LayerSpec
from engine.teach.conv import output_size
from tests.engine.numpy_conv import np_conv, pads

# --- NumPy references ---------------------------------------------------------------------


def np_conv_backward(x, w, s, padding, g):
    """Gradients (dx, dw, db) of sum(np_conv(x, w, b) * g)."""
    x, w, g = (np.asarray(a, np.float64) for a in (x, w, g))
    _, h, wd, _ = x.shape
    k = w.shape[0]
    (t, bo), (lf, r) = pads(h, k, s, padding), pads(wd, k, s, padding)
    xp = np.pad(x, ((0, 0), (t, bo), (lf, r), (0, 0)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(g.shape[1]):
        for j in range(g.shape[2]):
            sl = (slice(None), slice(i * s, i * s + k), slice(j * s, j * s + k))
            dxp[sl] += np.einsum("no,abco->nabc", g[:, i, j, :], w)
            dw += np.einsum("nabc,no->abco", xp[sl], g[:, i, j, :])
    return dxp[:, t:t + h, lf:lf + wd], dw, g.sum(axis=(0, 1, 2))


def np_pool(x, op, size, s, padding):
    """Max or mean of each window over the real pixels only (padding left out)."""
    x = np.asarray(x, np.float64)
    _, h, wd, _ = x.shape
    (t, bo), (lf, r) = pads(h, size, s, padding), pads(wd, size, s, padding)
    xp = np.pad(x, ((0, 0), (t, bo), (lf, r), (0, 0)), constant_values=np.nan)
    ho, wo = (xp.shape[1] - size) // s + 1, (xp.shape[2] - size) // s + 1
    out = np.zeros((x.shape[0], ho, wo, x.shape[3]))
    reduce = np.nanmax if op == "max" else np.nanmean
    for i in range(ho):
        for j in range(wo):
            out[:, i, j] = reduce(xp[:, i * s:i * s + size, j * s:j * s + size], axis=(1, 2))
    return out


def np_pool_backward(x, op, size, s, padding, g):
    """d sum(np_pool(x) * g) / dx: to each window's maximum, or spread over its pixels."""
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    _, h, wd, _ = x.shape
    (t, bo), (lf, r) = pads(h, size, s, padding), pads(wd, size, s, padding)
    xp = np.pad(x, ((0, 0), (t, bo), (lf, r), (0, 0)), constant_values=np.nan)
    dxp = np.zeros_like(xp)
    for n in range(x.shape[0]):
        for c in range(x.shape[3]):
            for i in range(g.shape[1]):
                for j in range(g.shape[2]):
                    win = xp[n, i * s:i * s + size, j * s:j * s + size, c]
                    real = ~np.isnan(win)
                    if op == "max":
                        a, b = np.unravel_index(np.nanargmax(win), win.shape)
                        dxp[n, i * s + a, j * s + b, c] += g[n, i, j, c]
                    else:
                        dxp[n, i * s:i * s + size, j * s:j * s + size, c] += (
                            real * g[n, i, j, c] / real.sum())
    return dxp[:, t:t + h, lf:lf + wd]


def _numeric_grad(f, x, eps=1e-6, picks=12, seed=0):
    """Central differences of scalar f at ``picks`` random coordinates of x (float64)."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(x.size, size=min(picks, x.size), replace=False)
    out = {}
    for p in flat:
        idx = np.unravel_index(p, x.shape)
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        out[idx] = (f(xp) - f(xm)) / (2 * eps)
    return out


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


CONV_CASES = [  # (H, W, Cin, Cout, k, stride, padding)
    (7, 7, 1, 2, 3, 1, "same"),
    (7, 7, 1, 2, 3, 1, "valid"),
    (8, 6, 3, 4, 3, 2, "same"),   # even side, stride 2: the odd padding pixel goes after
    (9, 8, 2, 3, 3, 2, "valid"),
    (6, 7, 2, 3, 4, 2, "same"),   # even kernel: one more zero after than before
    (5, 5, 3, 2, 5, 1, "valid"),  # the kernel covers the whole image
    (5, 6, 2, 2, 1, 3, "same"),
    (10, 10, 2, 1, 4, 3, "same"),
]


# --- the references check themselves ----------------------------------------------------

@pytest.mark.parametrize("s, padding", [(1, "same"), (2, "same"), (2, "valid")])
def test_reference_conv_backward_matches_central_differences(s, padding):
    x = _rand((2, 6, 5, 2), 0).astype(np.float64)
    w = _rand((3, 3, 2, 3), 1).astype(np.float64)
    b = _rand((3,), 2).astype(np.float64)
    g = _rand(np_conv(x, w, b, s, padding).shape, 3).astype(np.float64)
    grads = np_conv_backward(x, w, s, padding, g)
    for which, (arg, got) in enumerate(zip((x, w, b), grads, strict=True)):
        def f(a, which=which):
            args = [x, w, b]
            args[which] = a
            return (np_conv(*args, s, padding) * g).sum()

        for idx, v in _numeric_grad(f, arg).items():
            assert got[idx] == pytest.approx(v, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("size, s, padding", [(2, 2, "valid"), (3, 2, "same"), (3, 1, "same")])
def test_reference_pool_backward_matches_central_differences(op, size, s, padding):
    x = _rand((2, 6, 5, 2), 0).astype(np.float64)
    g = _rand(np_pool(x, op, size, s, padding).shape, 4).astype(np.float64)
    dx = np_pool_backward(x, op, size, s, padding, g)
    numeric = _numeric_grad(lambda a: (np_pool(a, op, size, s, padding) * g).sum(), x,
                            picks=30)
    for idx, v in numeric.items():
        assert dx[idx] == pytest.approx(v, rel=1e-6, abs=1e-8)


def test_reference_conv_is_a_cross_correlation_by_hand():
    # One 3 x 3 image, one 2 x 2 kernel, valid: each output written out.
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
    out = np_conv(x, w, [0.5], 1, "valid")[0, :, :, 0]
    assert out.tolist() == [[0 + 2 + 9 + 16 + 0.5, 1 + 4 + 12 + 20 + 0.5],
                            [3 + 8 + 18 + 28 + 0.5, 4 + 10 + 21 + 32 + 0.5]]


# --- conv2d --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CONV_CASES, ids=[str(c) for c in CONV_CASES])
def test_conv2d_forward_matches_numpy(case):
    h, w_, cin, cout, k, s, padding = case
    x, w, b = _rand((2, h, w_, cin), 10), _rand((k, k, cin, cout), 11), _rand((cout,), 12)
    got = np.asarray(conv2d(jnp.asarray(x), jnp.asarray(w), jnp.asarray(b), s, padding))
    want = np_conv(x, w, b, s, padding)
    assert got.shape == want.shape
    assert got.shape[1:3] == (output_side(h, k, s, padding), output_side(w_, k, s, padding))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv2d_does_not_flip_the_kernel():
    # A kernel with a single 1 at its top-left reads the pixel up and to the left.
    x = np.zeros((1, 5, 5, 1), np.float32)
    x[0, 2, 2, 0] = 1.0
    w = np.zeros((3, 3, 1, 1), np.float32)
    w[0, 0, 0, 0] = 1.0
    out = np.asarray(conv2d(jnp.asarray(x), jnp.asarray(w), jnp.zeros(1), 1, "same"))[0, ..., 0]
    assert out[3, 3] == 1.0 and out.sum() == 1.0  # out[i, j] = x[i - 1, j - 1]


def test_conv2d_same_padding_puts_the_odd_pixel_after():
    # Side 4, kernel 2, stride 1: one zero of padding in all, after the image. An all-ones
    # kernel then sums a pixel with its right neighbour; the last column has none.
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    w = np.zeros((2, 2, 1, 1), np.float32)
    w[0, :, 0, 0] = 1.0  # the top row of the kernel: x[i, j] + x[i, j + 1]
    out = np.asarray(conv2d(jnp.asarray(x), jnp.asarray(w), jnp.zeros(1), 1, "same"))[0, ..., 0]
    assert out.shape == (4, 4)
    assert out[0].tolist() == [1.0, 3.0, 5.0, 3.0]


@pytest.mark.parametrize("case", CONV_CASES[:6], ids=[str(c) for c in CONV_CASES[:6]])
def test_conv2d_gradients_match_the_numpy_backward(case):
    h, w_, cin, cout, k, s, padding = case
    x, w, b = _rand((2, h, w_, cin), 20), _rand((k, k, cin, cout), 21), _rand((cout,), 22)
    g = _rand(np_conv(x, w, b, s, padding).shape, 23)

    def f(x, w, b):
        return jnp.sum(conv2d(x, w, b, s, padding) * g)

    dx, dw, db = jax.grad(f, argnums=(0, 1, 2))(jnp.asarray(x), jnp.asarray(w), jnp.asarray(b))
    rx, rw, rb = np_conv_backward(x, w, s, padding, g)
    np.testing.assert_allclose(np.asarray(dx), rx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(dw), rw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(db), rb, rtol=1e-4, atol=1e-4)


def _layer(kind: str, **opts) -> LayerSpec:
    return LayerSpec.from_dict({"type": kind, **opts}, "layer")


def _apply(layer: LayerSpec, params, state, x, train=False):
    return LAYERS.get(layer.type).apply(params, state, jnp.asarray(x), {}, layer.opts(),
                                        key=None, train=train)


NP_ACT = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "softplus": lambda z: np.log1p(np.exp(z)),
}


@pytest.mark.parametrize("activation", sorted(NP_ACT))
def test_conv2d_layer_applies_its_activation(activation):
    layer = _layer("conv2d", filters=3, kernel=3, stride=2, padding="same",
                   activation=activation)
    kind = LAYERS.get("conv2d")
    params, state, out = kind.init(jax.random.PRNGKey(0), (9, 9, 2), layer.opts(),
                                   "glorot_uniform")
    assert params["w"].shape == (3, 3, 2, 3) and params["b"].shape == (3,)
    assert out == (5, 5, 3) == kind.out_shape((9, 9, 2), layer.opts())
    x = _rand((2, 9, 9, 2), 30)
    y, _ = _apply(layer, params, state, x)
    want = NP_ACT[activation](np_conv(x, params["w"], params["b"], 2, "same"))
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)


def test_conv2d_layer_with_prelu_learns_one_slope_per_filter():
    # prelu is an accepted activation for conv2d (the spec validates it), and
    # engine.teach.conv reads params["alpha"][channel]: the layer must create it.
    layer = _layer("conv2d", filters=3, kernel=3, activation="prelu")
    params, state, _ = LAYERS.get("conv2d").init(jax.random.PRNGKey(0), (6, 6, 1),
                                                 layer.opts(), "glorot_uniform")
    assert "alpha" in params and params["alpha"].shape == (3,)
    x = _rand((2, 6, 6, 1), 31)
    y, _ = _apply(layer, params, state, x)
    z = np_conv(x, params["w"], params["b"], 1, "same")
    want = np.where(z >= 0, z, np.asarray(params["alpha"]) * z)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)


def test_conv2d_with_prelu_builds_and_trains():
    spec = Spec.from_dict({"data": {"name": "shapes", "n": 64},
                           "model": {"layers": [{"type": "conv2d", "filters": 2,
                                                 "activation": "prelu"},
                                                {"type": "global_avg_pool"}]},
                           "batch_size": 32})
    exp = engine.build(spec)
    _, chunk = exp.train(exp.init(), 1)
    assert chunk.history["trained"].all()


def test_conv2d_init_draws_with_the_fan_in_of_one_output_pixel():
    # he_uniform: limit sqrt(6 / fan_in) with fan_in = k * k * C_in (what one output reads).
    layer = _layer("conv2d", filters=64, kernel=5, init="he_uniform")
    params, _, _ = LAYERS.get("conv2d").init(jax.random.PRNGKey(1), (12, 12, 3),
                                             layer.opts(), "glorot_uniform")
    w = np.asarray(params["w"])
    limit = math.sqrt(6 / (5 * 5 * 3))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.97 * limit
    assert np.std(w) == pytest.approx(limit / math.sqrt(3), rel=0.05)
    assert np.all(np.asarray(params["b"]) == 0)


def test_conv2d_batch_norm_normalises_each_channel_over_batch_and_pixels():
    layer = _layer("conv2d", filters=3, kernel=3, activation="linear", norm="batch_norm")
    kind = LAYERS.get("conv2d")
    params, state, _ = kind.init(jax.random.PRNGKey(2), (6, 6, 2), layer.opts(),
                                 "glorot_uniform")
    params = {**params, "scale": jnp.array([1.0, 2.0, 0.5]),
              "offset": jnp.array([0.0, -1.0, 3.0])}
    x = _rand((4, 6, 6, 2), 40) * 3 + 1
    z = np_conv(x, params["w"], params["b"], 1, "same")
    mean, var = z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))
    y, new_state = _apply(layer, params, state, x, train=True)
    want = (z - mean) / np.sqrt(var + 1e-5) * np.array([1.0, 2.0, 0.5]) + [0.0, -1.0, 3.0]
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(new_state["mean"]), 0.1 * mean, rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(np.asarray(new_state["var"]), 0.9 + 0.1 * var, rtol=1e-4)
    # Evaluation uses the running statistics, not the batch's.
    y_eval, same = _apply(layer, params, new_state, x, train=False)
    m, v = np.asarray(new_state["mean"]), np.asarray(new_state["var"])
    want = (z - m) / np.sqrt(v + 1e-5) * np.array([1.0, 2.0, 0.5]) + [0.0, -1.0, 3.0]
    np.testing.assert_allclose(np.asarray(y_eval), want, rtol=1e-4, atol=1e-4)
    assert same is new_state


# --- pools -------------------------------------------------------------------------------

POOL_CASES = [  # (H, W, size, stride, padding)
    (6, 6, 2, 2, "valid"),
    (7, 7, 2, 2, "valid"),   # the last row and column are dropped
    (7, 7, 2, 2, "same"),    # ...or padded after (the edge windows hold fewer pixels)
    (5, 6, 3, 1, "same"),    # one pad pixel before and one after
    (8, 8, 3, 2, "same"),    # one pad pixel, after
    (9, 9, 3, 3, "valid"),
    (4, 4, 4, 1, "same"),    # 1 before, 2 after
]


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[str(c) for c in POOL_CASES])
def test_pools_match_numpy(op, case):
    h, w, size, s, padding = case
    x = _rand((2, h, w, 3), 50) - 1.0  # negative values: max pool must not see zeros
    got = np.asarray(pool2d(jnp.asarray(x), op, size, s, padding))
    want = np_pool(x, op, size, s, padding)
    assert got.shape == want.shape
    assert got.shape[1:3] == (output_side(h, size, s, padding),
                              output_side(w, size, s, padding))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_avg_pool_same_divides_by_real_pixels_at_the_corner():
    x = np.ones((1, 3, 3, 1), np.float32)
    out = np.asarray(pool2d(jnp.asarray(x), "avg", 2, 2, "same"))[0, ..., 0]
    assert out.tolist() == [[1.0, 1.0], [1.0, 1.0]]  # not 0.5 or 0.25 at the edges
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    out = np.asarray(pool2d(jnp.asarray(x), "avg", 2, 2, "same"))[0, ..., 0]
    assert out.tolist() == [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8.0]]


def test_max_pool_same_never_picks_the_padding():
    x = -np.ones((1, 3, 3, 1), np.float32) * np.arange(1, 10).reshape(1, 3, 3, 1)
    out = np.asarray(pool2d(jnp.asarray(x), "max", 2, 2, "same"))[0, ..., 0]
    assert out.tolist() == [[-1.0, -3.0], [-7.0, -9.0]]


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[str(c) for c in POOL_CASES])
def test_pool_gradients_match_the_numpy_backward(op, case):
    h, w, size, s, padding = case
    x = _rand((2, h, w, 2), 60)  # distinct values: one maximum per window
    g = _rand(np_pool(x, op, size, s, padding).shape, 61)
    dx = jax.grad(lambda a: jnp.sum(pool2d(a, op, size, s, padding) * g))(jnp.asarray(x))
    want = np_pool_backward(x, op, size, s, padding, g)
    np.testing.assert_allclose(np.asarray(dx), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["max_pool", "avg_pool"])
def test_pool_layers_apply_pool2d_with_their_options(kind):
    layer = _layer(kind, size=3, stride=2, padding="same")
    lk = LAYERS.get(kind)
    params, state, out = lk.init(jax.random.PRNGKey(0), (7, 8, 3), layer.opts(), "he_normal")
    assert params == {} and state == {} and out == (4, 4, 3)
    x = _rand((2, 7, 8, 3), 70)
    y, _ = _apply(layer, params, state, x)
    np.testing.assert_allclose(np.asarray(y), np_pool(x, kind[:3], 3, 2, "same"), rtol=1e-5,
                               atol=1e-6)
    defaults = _layer(kind).opts()
    assert (defaults["size"], defaults["stride"], defaults["padding"]) == (2, 2, "valid")


# --- global_avg_pool and flatten -------------------------------------------------------------

def test_global_avg_pool_averages_each_channel():
    layer = _layer("global_avg_pool")
    lk = LAYERS.get("global_avg_pool")
    params, state, out = lk.init(jax.random.PRNGKey(0), (5, 4, 3), {}, "he_normal")
    assert params == {} and out == (3,)
    x = _rand((2, 5, 4, 3), 80)
    y, _ = _apply(layer, params, state, x)
    np.testing.assert_allclose(np.asarray(y), x.astype(np.float64).mean(axis=(1, 2)),
                               rtol=1e-5, atol=1e-6)
    g = _rand((2, 3), 81)
    dx = jax.grad(lambda a: jnp.sum(_apply(layer, {}, {}, a)[0] * g))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(dx), np.broadcast_to(g[:, None, None, :] / 20,
                                                               x.shape), rtol=1e-5)


def test_flatten_lays_out_rows_then_columns_then_channels():
    layer = _layer("flatten")
    lk = LAYERS.get("flatten")
    _, _, out = lk.init(jax.random.PRNGKey(0), (3, 4, 2), {}, "he_normal")
    assert out == (24,)
    assert lk.out_shape((7,), {}) == (7,)
    x = _rand((2, 3, 4, 2), 90)
    y = np.asarray(_apply(layer, {}, {}, x)[0])
    assert y.shape == (2, 24)
    for i in range(3):
        for j in range(4):
            for c in range(2):
                assert y[1, (i * 4 + j) * 2 + c] == x[1, i, j, c]


def test_families():
    for kind in ("conv2d", "max_pool", "avg_pool", "global_avg_pool"):
        assert LAYERS.get(kind).family == "image"
    assert LAYERS.get("flatten").family != "image"


# --- output sides ----------------------------------------------------------------------------

def test_output_side_follows_the_formulas():
    for n in range(1, 21):
        for k in range(1, 6):
            for s in range(1, 5):
                assert output_side(n, k, s, "same") == math.ceil(n / s)
                size = output_size(n, k, s, "same")
                total = max((size.out - 1) * s + k - n, 0)
                assert (size.out, size.pad_total, size.pad_before) == (math.ceil(n / s), total,
                                                                       total // 2)
                assert f"ceil({n} / {s}) = {size.out}" in size.formula
                if k <= n:
                    want = math.floor((n + 2 * 0 - k) / s) + 1
                    assert output_side(n, k, s, "valid") == want
                    size = output_size(n, k, s, "valid")
                    assert (size.out, size.pad_total, size.pad_before) == (want, 0, 0)
                    assert size.formula.endswith(f"= {want}")


def test_output_side_is_what_the_layers_produce():
    x = jnp.zeros((1, 11, 9, 1))
    for k in (1, 2, 3, 5):
        for s in (1, 2, 3):
            for padding in ("same", "valid"):
                y = conv2d(x, jnp.zeros((k, k, 1, 1)), jnp.zeros(1), s, padding)
                assert y.shape[1:3] == (output_side(11, k, s, padding),
                                        output_side(9, k, s, padding))
                p = pool2d(x, "max", k, s, padding)
                assert p.shape[1:3] == y.shape[1:3]


# --- shape errors --------------------------------------------------------------------------

def _build_error(data: dict, layers: list[dict]) -> SpecError:
    spec = Spec.from_dict({"data": data, "model": {"layers": layers}})
    with pytest.raises(SpecError) as info:
        engine.build(spec)
    return info.value


SHAPES = {"name": "shapes", "n": 40}


@pytest.mark.parametrize("kind", ["conv2d", "max_pool", "avg_pool", "global_avg_pool"])
def test_image_layers_on_points_name_the_layer_type(kind):
    err = _build_error({"name": "circle", "n": 40},
                       [{"type": "dense", "units": 4}, {"type": kind}])
    assert err.field == "model.layers[1].type"
    assert "image" in str(err)


def test_a_kernel_larger_than_its_input_with_valid_padding():
    err = _build_error(SHAPES, [{"type": "max_pool", "size": 8, "stride": 8},
                                {"type": "conv2d", "kernel": 3, "padding": "valid"},
                                {"type": "flatten"}])
    assert err.field == "model.layers[1].kernel"
    assert "3 x 3 window does not fit in its 2 x 2 input" in str(err)
    # the same kernel with same padding fits
    ok = Spec.from_dict({"data": SHAPES, "model": {"layers": [
        {"type": "max_pool", "size": 8, "stride": 8},
        {"type": "conv2d", "kernel": 3, "padding": "same"}, {"type": "flatten"}]}})
    assert engine.build(ok).structure.net.image == (16, 16, 1)


@pytest.mark.parametrize("kind", ["max_pool", "avg_pool"])
def test_a_pool_window_larger_than_its_input(kind):
    err = _build_error(SHAPES, [{"type": "conv2d", "kernel": 3, "stride": 4},
                                {"type": kind, "size": 5, "stride": 1},
                                {"type": "flatten"}])
    assert err.field == "model.layers[1].size"
    assert "5 x 5 window does not fit in its 4 x 4 input" in str(err)


def test_dense_on_an_image_asks_for_flatten():
    err = _build_error(SHAPES, [{"type": "conv2d"}, {"type": "dense", "units": 4}])
    assert err.field == "model.layers[1].type"
    assert "flatten or global_avg_pool" in str(err)
    err = _build_error(SHAPES, [{"type": "dense", "units": 4}])
    assert err.field == "model.layers[0].type"


@pytest.mark.parametrize("layers, field", [
    ([{"type": "conv2d"}], "model.layers[0]"),
    ([{"type": "conv2d"}, {"type": "max_pool"}], "model.layers[1]"),
    ([], "model.layers"),
])
def test_an_image_network_must_end_in_a_vector(layers, field):
    err = _build_error(SHAPES, layers)
    assert err.field == field
    assert "end with a flatten or global_avg_pool layer" in str(err)


def test_image_layers_after_flatten_are_refused():
    err = _build_error(SHAPES, [{"type": "flatten"}, {"type": "conv2d"}])
    assert err.field == "model.layers[1].type"


@pytest.mark.parametrize("opts, field", [
    ({"type": "conv2d", "filters": 0}, "model.layers[0].filters"),
    ({"type": "conv2d", "kernel": 12}, "model.layers[0].kernel"),
    ({"type": "conv2d", "padding": "full"}, "model.layers[0].padding"),
    ({"type": "conv2d", "norm": "layer_norm"}, "model.layers[0].norm"),
    ({"type": "max_pool", "size": 9}, "model.layers[0].size"),
    ({"type": "avg_pool", "stride": 0}, "model.layers[0].stride"),
])
def test_image_layer_options_are_bounded(opts, field):
    with pytest.raises(SpecError) as info:
        Spec.from_dict({"data": SHAPES, "model": {"layers": [opts, {"type": "flatten"}]}})
    assert info.value.field == field
