"""Numerical checks of the engine against independent references.

The engine (float32, JAX) is compared with the hand-written NumPy MLP in
``benchmarks.numpy_mlp`` (float64), with TensorFlow Playground's per-example
update rule re-written here in NumPy, with plain formulas for activations,
losses, schedules and layers, and with optax applied directly.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import engine
from benchmarks.numpy_mlp import FEATURES as NP_FEATURES
from benchmarks.numpy_mlp import NumpyMLP
from engine.blocks.activations import ACTIVATIONS
from engine.blocks.layer import LAYERS
from engine.blocks.losses import LOSSES, Head
from engine.blocks.optimizers import OPTIMIZERS
from engine.blocks.schedules import SCHEDULES, learning_rate
from engine.model import featurize
from engine.presets import preset
from engine.spec import Spec
from engine.values import ScheduleValues

ALL_FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]


# ---------------------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------------------


def _dense(units: int, activation: str, **options) -> dict:
    return {"type": "dense", "units": units, "activation": activation, **options}


def _build(d: dict) -> engine.Experiment:
    return engine.build(Spec.from_dict(d))


def _random_state(exp: engine.Experiment, seed: int = 0, gain: float = 1.5):
    """``exp.init()`` with dense weights and biases drawn here in NumPy.

    w ~ N(0, gain^2 / fan_in) leaves the near-linear regime of every activation and
    b ~ N(0, 0.3^2) exercises the bias path; other parameters (PReLU's alpha, norms'
    scales) are kept. Specs using this ask for init "zeros": the engine's random
    initialisers are tested on their own, and skipping them here saves compilations.
    """
    state = exp.init()
    rng = np.random.default_rng(seed)
    params = []
    for p in state.params:
        p = dict(p)
        if "w" in p:
            fan_in, units = p["w"].shape
            p["w"] = jnp.asarray(rng.normal(0.0, gain / math.sqrt(fan_in), (fan_in, units)),
                                 jnp.float32)
            p["b"] = jnp.asarray(rng.normal(0.0, 0.3, units), jnp.float32)
        params.append(p)
    return state._replace(params=params, best_params=params)


def _numpy_net(params, sizes, activation, output_activation, loss="half_mse") -> NumpyMLP:
    """A float64 NumPy MLP holding exactly the engine's (float32) parameters."""
    return NumpyMLP(sizes, activation, output_activation, loss,
                    weights=[np.asarray(p["w"], np.float64) for p in params],
                    biases=[np.asarray(p["b"], np.float64) for p in params])


def _np_features(exp: engine.Experiment, x: np.ndarray) -> np.ndarray:
    """Standardised features computed in NumPy (float64) from the raw points."""
    x = np.asarray(x, np.float64)
    cols = np.stack([NP_FEATURES[f](x) for f in exp.dataset.features], axis=1)
    mean = np.asarray(exp.dataset.arrays.mean, np.float64)
    std = np.asarray(exp.dataset.arrays.std, np.float64)
    return (cols - mean) / std


def _grad_fn(exp: engine.Experiment, *, data_only: bool):
    """A jitted ``(params, mstate, x, y) -> (loss, grads)`` of the engine's objective.

    ``data_only`` differentiates the mean data loss, otherwise the full objective
    (data loss + penalty). Jitted: one compilation costs less than running the
    backward pass op by op.
    """
    arrays = exp.dataset.arrays
    net = exp.structure.net

    @jax.jit
    def fn(params, mstate, x, y):
        h = featurize(net, x, arrays.mean, arrays.std)

        def objective(p):
            total, (data, _) = exp.fns.objective(p, mstate, h, y, exp.values,
                                                 jax.random.PRNGKey(0), True)
            return data if data_only else total

        return jax.value_and_grad(objective)(params)

    def call(params, mstate, x, y):
        dtype = jnp.int32 if exp.dataset.task == "classification" else jnp.float32
        return fn(params, mstate, jnp.asarray(x, jnp.float32), jnp.asarray(y, dtype))

    return call


def _data_loss_and_grads(exp, state, x, y):
    """Engine's mean data loss on a batch and its gradient w.r.t. the parameters."""
    return _grad_fn(exp, data_only=True)(state.params, state.model_state, x, y)


def _objective_grads(exp, params, mstate, x, y):
    """Gradient of the engine's full objective (data loss + penalty) on a batch."""
    return _grad_fn(exp, data_only=False)(params, mstate, x, y)[1]


def _assert_trees_close(got, want, rtol=1e-5, atol=1e-6):
    got_leaves, got_def = jax.tree_util.tree_flatten(got)
    want_leaves, want_def = jax.tree_util.tree_flatten(want)
    assert got_def == want_def
    for g, w in zip(got_leaves, want_leaves, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------
# 1. Forward pass against the NumPy MLP.
# ---------------------------------------------------------------------------------------

# Every hidden activation the NumPy MLP knows, three per network, and every output.
FORWARD_CASES = [
    (["tanh", "sigmoid", "relu"], "tanh"),
    (["leaky_relu", "elu", "softplus"], "sigmoid"),
    (["swish", "linear", "tanh"], "linear"),
]


@pytest.mark.parametrize(("hidden", "output"), FORWARD_CASES,
                         ids=["-".join([*h, o]) for h, o in FORWARD_CASES])
def test_forward_matches_numpy_mlp(hidden, output):
    units = [6, 5, 4]
    exp = _build({
        "data": {"name": "circle", "n": 100, "features": ALL_FEATURES, "standardize": True},
        "model": {"layers": [_dense(u, a) for u, a in zip(units, hidden, strict=True)],
                  "output_activation": output, "init": "zeros"},
        "loss": "mse", "seed": 3,
    })
    state = _random_state(exp)
    x = np.asarray(exp.dataset.arrays.x_test)
    got = exp.predict(state, x)
    net = _numpy_net(state.params, [7, *units, 1], hidden, output)
    want, cache = net.forward(_np_features(exp, x))
    assert got.shape == want.shape == (x.shape[0], 1)
    # The comparison must not be trivial: outputs vary over the points, and every
    # hidden layer's pre-activations leave the near-linear region around 0.
    assert np.std(want) > 1e-2
    for z in cache["z"][:-1]:
        assert np.ptp(z) > 1.0 and np.min(z) < 0 < np.max(z)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_forward_softmax_matches_numpy_mlp():
    exp = _build({
        "data": {"name": "blobs", "classes": 3, "n": 90},
        "model": {"layers": [_dense(6, "tanh")], "output_activation": "softmax",
                  "init": "zeros"},
        "seed": 1,
    })
    state = _random_state(exp)
    x = np.asarray(exp.dataset.arrays.x_test)
    got = exp.predict(state, x)
    net = _numpy_net(state.params, [2, 6, 3], "tanh", "softmax", loss="ce")
    want, _ = net.forward(np.asarray(x, np.float64))
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------
# 2. Gradients against hand-written backprop.
# ---------------------------------------------------------------------------------------

GRADIENT_CASES = {
    # name: (spec, numpy loss, numpy output activation, how NumPy sees the labels)
    "half_mse": ({"data": {"name": "circle", "n": 60},
                  "model": {"layers": [_dense(4, "tanh"), _dense(3, "tanh")],
                            "output_activation": "tanh", "init": "zeros"},
                  "loss": "half_mse"}, "half_mse", "tanh", "pm1"),
    "mse": ({"data": {"name": "reg_plane", "n": 60},
             "model": {"layers": [_dense(5, "relu"), _dense(3, "sigmoid")],
                       "output_activation": "linear", "init": "zeros"},
             "loss": "mse"}, "mse", "linear", "float"),
    "bce": ({"data": {"name": "xor", "n": 60},
             "model": {"layers": [_dense(5, "elu")], "output_activation": "sigmoid",
                       "init": "zeros"},
             "loss": "binary_crossentropy"}, "bce", "sigmoid", "01"),
    "ce": ({"data": {"name": "blobs", "classes": 3, "n": 60},
            "model": {"layers": [_dense(6, "tanh"), _dense(4, "swish")],
                      "output_activation": "softmax", "init": "zeros"},
            "loss": "categorical_crossentropy"}, "ce", "softmax", "int"),
}


@pytest.mark.parametrize("case", list(GRADIENT_CASES))
def test_gradients_match_numpy_backprop(case):
    spec, np_loss, out_act, label_kind = GRADIENT_CASES[case]
    exp = _build({**spec, "seed": 5})
    state = _random_state(exp, seed=2)
    x = np.asarray(exp.dataset.arrays.x_train)[:16]
    y = np.asarray(exp.dataset.arrays.y_train)[:16]
    loss, grads = _data_loss_and_grads(exp, state, x, y)

    if label_kind == "pm1":  # TensorFlow Playground's targets for a tanh output
        t = np.where(y == 1, 1.0, -1.0)[:, None]
    elif label_kind in ("01", "float"):
        t = y.astype(np.float64)[:, None]
    else:
        t = y.astype(np.int64)
    hidden = [layer["activation"] for layer in spec["model"]["layers"]]
    sizes = [2, *(layer["units"] for layer in spec["model"]["layers"]),
             exp.structure.net.head.out_dim]
    net = _numpy_net(state.params, sizes, hidden, out_act, loss=np_loss)
    xs = np.asarray(x, np.float64)
    dws, dbs = net.gradients(xs, t)

    assert float(loss) == pytest.approx(net.loss(xs, t), rel=1e-5)
    assert len(grads) == len(dws)
    for g, dw, db in zip(grads, dws, dbs, strict=True):
        assert set(g) == {"w", "b"}
        scale = max(np.max(np.abs(dw)), np.max(np.abs(db)))
        assert scale > 1e-4  # a real gradient, not zeros on both sides
        np.testing.assert_allclose(np.asarray(g["w"]), dw, rtol=1e-4, atol=1e-5 * scale)
        np.testing.assert_allclose(np.asarray(g["b"]), db, rtol=1e-4, atol=1e-5 * scale)


# ---------------------------------------------------------------------------------------
# 3. TensorFlow Playground's update rule.
# ---------------------------------------------------------------------------------------


def _tf_playground_step(weights, biases, x, targets, lr, reg="none", rate=0.0):
    """TensorFlow Playground's nn.ts, one batch: per-example backprop, accumulate, update.

    Returns the new (weights, biases) and the weights after the data step only
    (TF's ``link.weight`` before regularisation), float64.
    """
    n_layers = len(weights)
    acc_w = [np.zeros_like(w) for w in weights]
    acc_b = [np.zeros_like(b) for b in biases]
    for xi, ti in zip(x, targets, strict=True):
        outs, totals = [xi], []
        for w, b in zip(weights, biases, strict=True):  # forwardProp, tanh everywhere
            total = b + outs[-1] @ w
            totals.append(total)
            outs.append(np.tanh(total))
        output_der = np.array([outs[-1][0] - ti])  # SQUARE error der: output - target
        for layer in range(n_layers - 1, -1, -1):  # backProp
            input_der = output_der * (1.0 - np.tanh(totals[layer]) ** 2)
            acc_b[layer] += input_der
            acc_w[layer] += np.outer(outs[layer], input_der)  # errorDer = inputDer * src
            output_der = weights[layer] @ input_der
    n = len(x)
    new_w, data_w, new_b = [], [], []
    for w, b, aw, ab in zip(weights, biases, acc_w, acc_b, strict=True):  # updateWeights
        new_b.append(b - lr * ab / n)
        if reg == "l2":
            regul_der = w  # L2: 0.5 w^2
        elif reg == "l1":
            regul_der = np.sign(w)
        else:
            regul_der = np.zeros_like(w)
        stepped = w - (lr / n) * aw
        data_w.append(stepped)
        new_w.append(stepped - lr * rate * regul_der)
    return new_w, new_b, data_w


@pytest.mark.parametrize("reg", ["none", "l2", "l1"])
def test_tf_playground_update_rule(reg):
    spec = preset("tf_playground")
    d = spec.to_dict()
    assert d["model"]["init"] == "tf_playground" and d["loss"] == "half_mse"
    assert d["optimizer"]["name"] == "sgd" and d["batch_size"] == 10
    if reg != "none":
        d["regularization"] = {"kind": reg, "rate": 0.01}
    exp = engine.build(Spec.from_dict(d))
    lr = spec.optimizer.learning_rate
    assert lr == pytest.approx(0.03)
    state = exp.init()
    x = np.asarray(exp.dataset.arrays.x_train)[:10]
    y = np.asarray(exp.dataset.arrays.y_train)[:10]
    assert 0 < y.sum() < 10  # both classes in the batch

    weights = [np.asarray(p["w"], np.float64) for p in state.params]
    biases = [np.asarray(p["b"], np.float64) for p in state.params]
    assert [w.shape for w in weights] == [(2, 4), (4, 2), (2, 1)]
    targets = np.where(y == 1, 1.0, -1.0)
    new_w, new_b, data_w = _tf_playground_step(weights, biases, np.asarray(x, np.float64),
                                               targets, lr, reg, 0.01)

    new = exp.step(state, x, y)
    assert int(new.step) == 1
    for i, p in enumerate(new.params):
        moved = np.abs(new_w[i] - weights[i])
        assert moved.max() > 1e-6  # the step did something to check
        np.testing.assert_allclose(np.asarray(p["b"]), new_b[i], rtol=1e-5, atol=1e-7)
        if reg == "l1":
            # TF clamps a weight that the L1 step pushes across 0; compare the others.
            keep = data_w[i] * new_w[i] >= 0
            assert keep.mean() > 0.8
            np.testing.assert_allclose(np.asarray(p["w"])[keep], new_w[i][keep],
                                       rtol=1e-5, atol=1e-7)
        else:
            np.testing.assert_allclose(np.asarray(p["w"]), new_w[i], rtol=1e-5, atol=1e-7)
    if reg != "none":
        # The penalty really entered: the update differs from the unregularised one.
        diff = max(np.max(np.abs(np.asarray(p["w"]) - dw))
                   for p, dw in zip(new.params, data_w, strict=True))
        assert diff > 1e-5


# ---------------------------------------------------------------------------------------
# 4. Initialisers.
# ---------------------------------------------------------------------------------------


def _wide_params(init: str, seed: int = 0):
    exp = _build({"data": {"name": "xor", "n": 20},
                  "model": {"layers": [_dense(256, "relu"), _dense(256, "relu")],
                            "init": init},
                  "seed": seed})
    return [{k: np.asarray(v) for k, v in p.items()} for p in exp.init().params]


def test_tf_playground_init_range_and_bias():
    params = _wide_params("tf_playground")
    for p in params:
        assert p["w"].min() >= -0.5 and p["w"].max() <= 0.5
        np.testing.assert_array_equal(p["b"], np.float32(0.1))
    w = params[1]["w"]
    assert w.min() < -0.49 and w.max() > 0.49  # uniform over the whole interval
    assert abs(w.mean()) < 0.01
    assert w.std() == pytest.approx(1 / math.sqrt(12), rel=0.03)


def test_zeros_init():
    for p in _wide_params("zeros"):
        assert not np.any(p["w"]) and not np.any(p["b"])


@pytest.mark.parametrize(
    ("init", "std"),
    [("he_normal", math.sqrt(2 / 256)), ("he_uniform", math.sqrt(2 / 256)),
     ("lecun_normal", math.sqrt(1 / 256)), ("lecun_uniform", math.sqrt(1 / 256)),
     ("glorot_normal", math.sqrt(2 / 512)), ("glorot_uniform", math.sqrt(2 / 512)),
     ("normal", 1.0)],
)
def test_variance_scaling_inits(init, std):
    params = _wide_params(init)
    w = params[1]["w"]  # (256, 256): fan_in = fan_out = 256
    assert w.shape == (256, 256)
    assert w.std() == pytest.approx(std, rel=0.03)
    assert abs(w.mean()) < 0.05 * std
    np.testing.assert_array_equal(params[1]["b"], 0.0)
    if init.endswith("uniform"):
        bound = std * math.sqrt(3)
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.99 * bound
    if init == "glorot_uniform":
        assert np.abs(w).max() <= math.sqrt(6 / (256 + 256)) * (1 + 1e-6)
    # Layer 0 has fan_in 2: the std follows its own fan_in, not the wide layer's.
    w0 = params[0]["w"]
    assert w0.shape == (2, 256)
    if init.startswith("he"):
        assert w0.std() == pytest.approx(1.0, rel=0.1)  # sqrt(2 / 2)


def test_same_seed_same_weights_different_seed_different_weights():
    a, b = _wide_params("glorot_uniform", 0), _wide_params("glorot_uniform", 0)
    c = _wide_params("glorot_uniform", 1)
    for pa, pb, pc in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(pa["w"], pb["w"])
        assert not np.allclose(pa["w"], pc["w"])


# ---------------------------------------------------------------------------------------
# 5. Activations.
# ---------------------------------------------------------------------------------------

ELEMENTWISE = [n for n in ACTIVATIONS if n != "softmax"]


def _act_fn(name: str, alpha: float = 0.25):
    act = ACTIVATIONS.get(name)
    if act.param_init is None:
        return act.fn
    return lambda z: act.fn(z, jnp.float32(alpha))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_derivative_matches_finite_differences(name):
    fn = _act_fn(name)
    z = np.linspace(-6.0, 6.0, 241, dtype=np.float32)
    z = z[np.abs(z) > 0.05]  # away from the kinks at 0 (relu, leaky, prelu, elu, selu)
    h = 1e-2
    z64 = z.astype(np.float64)

    @jax.jit  # one compilation for the derivative and both shifted evaluations
    def evaluate(z, up, down):
        return jax.vmap(jax.grad(fn))(z), fn(up), fn(down)

    grad, up, down = evaluate(jnp.asarray(z), jnp.asarray(z64 + h, jnp.float32),
                              jnp.asarray(z64 - h, jnp.float32))
    grad = np.asarray(grad)
    numeric = (np.asarray(up, np.float64) - np.asarray(down, np.float64)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-3)


def test_softmax_jacobian_matches_finite_differences():
    fn = ACTIVATIONS.get("softmax").fn
    z = np.array([0.3, -1.2, 2.0, 0.5], np.float32)
    jac = np.asarray(jax.jit(jax.jacfwd(fn))(jnp.asarray(z)))
    h = 1e-2
    numeric = np.zeros((4, 4))
    for j in range(4):
        e = np.zeros(4, np.float32)
        e[j] = h
        numeric[:, j] = (np.asarray(fn(z + e), np.float64)
                         - np.asarray(fn(z - e), np.float64)) / (2 * h)
    np.testing.assert_allclose(jac, numeric, rtol=1e-3, atol=1e-3)
    p = np.asarray(fn(z), np.float64)
    np.testing.assert_allclose(jac, np.diag(p) - np.outer(p, p), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_range(name):
    act = ACTIVATIONS.get(name)
    z = jnp.linspace(-60.0, 60.0, 1_200_001, dtype=jnp.float32)
    if name == "softmax":
        z = jnp.asarray(np.random.default_rng(0).normal(0.0, 20.0, (2000, 5)), jnp.float32)
    out = np.asarray(_act_fn(name)(z), np.float64)
    assert np.all(np.isfinite(out))
    # Respected up to float32 rounding of the output itself.
    assert out.min() >= act.lo - 1e-6 * max(1.0, abs(act.lo)), (name, out.min(), act.lo)
    assert out.max() <= act.hi + 1e-6 * max(1.0, abs(act.hi)), (name, out.max(), act.hi)
    # Finite bounds are tight: the function comes within 1e-3 of them.
    if math.isfinite(act.lo):
        assert out.min() <= act.lo + 1e-3, (name, out.min(), act.lo)
    else:
        assert out.min() < -0.5
    if math.isfinite(act.hi):
        assert out.max() >= act.hi - 1e-3, (name, out.max(), act.hi)
    else:
        assert out.max() > 50.0


def test_activation_binary_targets_follow_the_range():
    for name in ACTIVATIONS:
        act = ACTIVATIONS.get(name)
        want = (0.0, 1.0) if act.lo >= 0 else (-1.0, 1.0)
        assert act.binary_targets == want
        assert act.threshold == pytest.approx(sum(want) / 2)
    assert ACTIVATIONS.get("tanh").threshold == 0.0
    assert ACTIVATIONS.get("sigmoid").threshold == 0.5


def test_prelu_formula_and_alpha_gradient():
    fn = ACTIVATIONS.get("prelu").fn
    z = jnp.array([-2.0, -0.5, 0.5, 3.0])
    alpha = jnp.array([0.1, 0.3, 0.7, 0.9])
    np.testing.assert_allclose(np.asarray(fn(z, alpha)), [-0.2, -0.15, 0.5, 3.0], rtol=1e-6)
    d_alpha = jax.grad(lambda a: jnp.sum(fn(z, a)))(alpha)
    np.testing.assert_allclose(np.asarray(d_alpha), [-2.0, -0.5, 0.0, 0.0])


def test_prelu_alpha_is_learned():
    exp = _build({"data": {"name": "circle", "n": 60},
                  "model": {"layers": [_dense(6, "prelu")], "output_activation": "prelu",
                            "init": "zeros"},
                  "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.1}})
    state = _random_state(exp)
    hidden, out = state.params
    assert set(hidden) == {"w", "b", "alpha"} and set(out) == {"w", "b", "alpha"}
    np.testing.assert_array_equal(np.asarray(hidden["alpha"]), np.full(6, 0.25, np.float32))
    np.testing.assert_array_equal(np.asarray(out["alpha"]), np.full(1, 0.25, np.float32))

    x = np.asarray(exp.dataset.arrays.x_train)[:10]
    y = np.asarray(exp.dataset.arrays.y_train)[:10]
    grads = _objective_grads(exp, state.params, state.model_state, x, y)
    assert np.any(np.abs(np.asarray(grads[0]["alpha"])) > 1e-6)
    assert np.abs(np.asarray(grads[1]["alpha"])).max() > 1e-6
    new = exp.step(state, x, y)
    for i in range(2):
        np.testing.assert_allclose(
            np.asarray(new.params[i]["alpha"]),
            np.asarray(state.params[i]["alpha"]) - 0.1 * np.asarray(grads[i]["alpha"]),
            rtol=1e-5, atol=1e-7)

    # The forward pass uses the (changed) alpha.
    params = [dict(p) for p in state.params]
    params[0]["alpha"] = jnp.full((6,), 0.5, jnp.float32)
    params[1]["alpha"] = jnp.full((1,), 0.2, jnp.float32)
    got = exp.predict(state._replace(params=params), x)
    w0, b0 = np.asarray(params[0]["w"], np.float64), np.asarray(params[0]["b"], np.float64)
    w1, b1 = np.asarray(params[1]["w"], np.float64), np.asarray(params[1]["b"], np.float64)
    z0 = x.astype(np.float64) @ w0 + b0
    a0 = np.where(z0 >= 0, z0, 0.5 * z0)
    z1 = a0 @ w1 + b1
    want = np.where(z1 >= 0, z1, 0.2 * z1)
    assert np.any(z0 < 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------
# 6. Losses and heads.
# ---------------------------------------------------------------------------------------

BINARY_TANH = Head("classification", 2, 1, "tanh")
BINARY_SIGMOID = Head("classification", 2, 1, "sigmoid")
BINARY_LINEAR = Head("classification", 2, 1, "linear")
MULTI_SOFTMAX = Head("classification", 3, 3, "softmax")
MULTI_LINEAR = Head("classification", 3, 3, "linear")
REGRESSION = Head("regression", 0, 1, "linear")


def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _huber(d):
    a = np.abs(d)
    return np.where(a <= 1.0, 0.5 * d * d, a - 0.5)


def _binary_case(activation):
    z = np.array([[-2.0], [-0.3], [0.1], [1.5], [0.7]])
    fn = {"tanh": np.tanh, "sigmoid": _np_sigmoid, "linear": lambda v: v}[activation]
    y = np.array([0, 1, 0, 1, 1])
    return z, fn(z), y


def _multi_case(activation):
    z = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [-1.0, 3.0, -2.5], [0.4, 0.4, -0.4]])
    o = _np_softmax(z) if activation == "softmax" else z
    return z, o, np.array([0, 2, 1, 1])


def _engine_loss(name, z, o, y, head):
    yy = jnp.asarray(y, jnp.int32 if head.task == "classification" else jnp.float32)
    out = LOSSES.get(name).fn(jnp.asarray(z, jnp.float32), jnp.asarray(o, jnp.float32), yy,
                              head)
    assert out.shape == (len(y),)
    return np.asarray(out, np.float64)


@pytest.mark.parametrize("name", ["mse", "half_mse", "mae", "huber"])
@pytest.mark.parametrize("head", [BINARY_TANH, BINARY_SIGMOID, MULTI_SOFTMAX, MULTI_LINEAR,
                                  REGRESSION], ids=lambda h: f"{h.task}-{h.out_dim}-{h.activation}")
def test_value_losses_match_formulas(name, head):
    if head.task == "regression":
        z = np.array([[-2.0], [0.3], [1.7], [4.0]])
        o, y, t = z, np.array([-0.5, 0.3, 3.0, 1.0]), np.array([[-0.5], [0.3], [3.0], [1.0]])
    elif head.out_dim == 1:
        z, o, y = _binary_case(head.activation)
        neg = -1.0 if head.activation == "tanh" else 0.0
        t = np.where(y == 1, 1.0, neg)[:, None]
    else:
        z, o, y = _multi_case(head.activation)
        neg = 0.0 if head.activation == "softmax" else -1.0
        t = np.where(np.eye(3)[y] > 0, 1.0, neg)
    d = o - t
    want = {"mse": np.mean(d ** 2, axis=-1), "half_mse": 0.5 * np.sum(d ** 2, axis=-1),
            "mae": np.mean(np.abs(d), axis=-1), "huber": np.mean(_huber(d), axis=-1)}[name]
    got = _engine_loss(name, z, o, y, head)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_huber_is_quadratic_then_linear():
    d = np.array([-3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0])
    got = _engine_loss("huber", d[:, None], d[:, None], np.zeros(7), REGRESSION)
    np.testing.assert_allclose(got, [2.5, 0.5, 0.125, 0.0, 0.03125, 0.5, 1.5], rtol=1e-6)


def test_binary_crossentropy_matches_formula():
    z, o, y = _binary_case("sigmoid")
    p = _np_sigmoid(z[:, 0])
    want = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    got = _engine_loss("binary_crossentropy", z, o, y, BINARY_SIGMOID)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Stable for large logits, where log(sigmoid(z)) underflows in float32.
    big = _engine_loss("binary_crossentropy", np.array([[-200.0], [200.0]]),
                       np.array([[0.0], [1.0]]), np.array([1, 0]), BINARY_SIGMOID)
    np.testing.assert_allclose(big, [200.0, 200.0], rtol=1e-6)


def test_categorical_crossentropy_matches_formula():
    z, o, y = _multi_case("softmax")
    want = -np.log(_np_softmax(z)[np.arange(4), y])
    got = _engine_loss("categorical_crossentropy", z, o, y, MULTI_SOFTMAX)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_hinge_binary_and_crammer_singer():
    z, o, y = _binary_case("linear")
    t = np.where(y == 1, 1.0, -1.0)
    want = np.maximum(0.0, 1.0 - t * o[:, 0])
    got = _engine_loss("hinge", z, o, y, BINARY_LINEAR)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert got[3] == 0.0 and got[0] == 0.0  # margins of 1.5 and 2 cost nothing

    z, o, y = _multi_case("linear")
    want = []
    for row, label in zip(o, y, strict=True):
        others = np.delete(row, label)
        want.append(max(0.0, 1.0 + others.max() - row[label]))
    got = _engine_loss("hinge", z, o, y, MULTI_LINEAR)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert got[0] == 0.0  # the true score beats the best other one by 1.5


def test_every_loss_is_covered():
    assert set(LOSSES) == {"mse", "half_mse", "mae", "huber", "binary_crossentropy",
                           "categorical_crossentropy", "hinge"}


def test_head_value_targets():
    y2 = jnp.array([0, 1, 1, 0])
    np.testing.assert_array_equal(np.asarray(BINARY_TANH.value_targets(y2))[:, 0],
                                  [-1, 1, 1, -1])
    np.testing.assert_array_equal(np.asarray(BINARY_SIGMOID.value_targets(y2))[:, 0],
                                  [0, 1, 1, 0])
    y3 = jnp.array([2, 0, 1])
    np.testing.assert_array_equal(np.asarray(MULTI_SOFTMAX.value_targets(y3)), np.eye(3)[[2, 0, 1]])
    np.testing.assert_array_equal(np.asarray(MULTI_LINEAR.value_targets(y3)),
                                  2 * np.eye(3)[[2, 0, 1]] - 1)
    reg = REGRESSION.value_targets(jnp.array([0.5, -2.0]))
    assert reg.shape == (2, 1) and reg.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(reg)[:, 0], [0.5, -2.0])


def test_head_predict():
    o = jnp.array([[-0.2], [-0.01], [0.01], [0.45], [0.55], [0.9]])
    pred = BINARY_TANH.predict(o)  # threshold 0 between the targets -1 and +1
    assert pred.shape == (6,) and pred.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(pred), [0, 0, 1, 1, 1, 1])
    # Threshold 0.5 between the targets 0 and 1.
    np.testing.assert_array_equal(np.asarray(BINARY_SIGMOID.predict(o)), [0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(np.asarray(BINARY_LINEAR.predict(o)), [0, 0, 1, 1, 1, 1])
    m = jnp.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [-3.0, -2.0, -1.0]])
    pred = MULTI_SOFTMAX.predict(m)
    assert pred.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(pred), [1, 0, 2])


# ---------------------------------------------------------------------------------------
# 7. Schedules.
# ---------------------------------------------------------------------------------------


def _sched_values(lr=0.1, warmup=0, decay_steps=100, decay_rate=0.5, alpha=0.1):
    """The schedule's traced values and the base learning rate it multiplies."""
    f = np.float32
    return ScheduleValues(f(warmup), f(decay_steps), f(decay_rate), f(alpha)), f(lr)


def _closed_form(name, t, lr=0.1, decay_steps=100, decay_rate=0.5, alpha=0.1):
    if name == "constant":
        return lr
    if name == "step":
        return lr * decay_rate ** math.floor(t / decay_steps)
    if name == "exponential":
        return lr * decay_rate ** (t / decay_steps)
    frac = min(t / decay_steps, 1.0)
    return lr * (alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * frac)))


STEPS = [0, 1, 37, 99, 100, 101, 150, 250, 1000]


def _lr(name, step, v):
    schedule, base = v
    return float(learning_rate(name, jnp.int32(step), schedule, base))


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_closed_form(name):
    v = _sched_values()
    for t in STEPS:
        assert _lr(name, t, v) == pytest.approx(_closed_form(name, t), rel=1e-5, abs=1e-9), t


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_with_warmup(name):
    w = 20
    v = _sched_values(warmup=w)
    for t in range(w):  # linear from lr / w to lr; the decay has not started
        assert _lr(name, t, v) == pytest.approx(0.1 * (t + 1) / w, rel=1e-5), t
    assert _lr(name, w - 1, v) == pytest.approx(0.1, rel=1e-6)
    for t in STEPS:  # then the schedule from the end of the warm-up
        want = _closed_form(name, t)
        assert _lr(name, w + t, v) == pytest.approx(want, rel=1e-5, abs=1e-9), t


def test_schedules_match_optax():
    v = _sched_values(lr=0.05, decay_steps=40, decay_rate=0.3, alpha=0.05)
    expo = optax.exponential_decay(0.05, transition_steps=40, decay_rate=0.3)
    stair = optax.exponential_decay(0.05, transition_steps=40, decay_rate=0.3, staircase=True)
    cos = optax.cosine_decay_schedule(0.05, decay_steps=40, alpha=0.05)
    for t in [0, 1, 5, 20, 39, 40, 41, 79, 80, 100, 500]:
        assert _lr("exponential", t, v) == pytest.approx(float(expo(t)), rel=1e-5), t
        assert _lr("step", t, v) == pytest.approx(float(stair(t)), rel=1e-5), t
        assert _lr("cosine", t, v) == pytest.approx(float(cos(t)), rel=1e-5, abs=1e-9), t


# ---------------------------------------------------------------------------------------
# 8. Optimizers against optax.
# ---------------------------------------------------------------------------------------

OPT_BASE = {"data": {"name": "spiral", "n": 60},
            "model": {"layers": [_dense(5, "tanh")], "init": "zeros"}, "seed": 4}
HP = {"learning_rate": 0.05, "momentum": 0.8, "b1": 0.85, "b2": 0.99, "eps": 1e-7,
      "decay": 0.95, "weight_decay": 0.02}


def _reference_optimizer(name: str) -> optax.GradientTransformation:
    lr = HP["learning_rate"]
    return {
        "sgd": lambda: optax.sgd(lr),
        "momentum": lambda: optax.sgd(lr, momentum=HP["momentum"]),
        "nesterov": lambda: optax.sgd(lr, momentum=HP["momentum"], nesterov=True),
        "adagrad": lambda: optax.adagrad(lr, eps=HP["eps"]),
        "rmsprop": lambda: optax.rmsprop(lr, decay=HP["decay"], eps=HP["eps"]),
        "adam": lambda: optax.adam(lr, b1=HP["b1"], b2=HP["b2"], eps=HP["eps"]),
        "adamw": lambda: optax.adamw(lr, b1=HP["b1"], b2=HP["b2"], eps=HP["eps"],
                                     weight_decay=HP["weight_decay"]),
    }[name]()


def test_every_optimizer_has_a_reference():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                               "adamw"}


@functools.cache
def _opt_grad_fn():
    """The objective's gradient for ``OPT_BASE``: the optimizer does not enter it, so
    every optimizer test shares this one compilation."""
    return _grad_fn(_build(OPT_BASE), data_only=False)


def _opt_case(optimizer: dict):
    exp = _build({**OPT_BASE, "optimizer": optimizer})
    x = np.asarray(exp.dataset.arrays.x_train)[:10]
    y = np.asarray(exp.dataset.arrays.y_train)[:10]
    return exp, _random_state(exp, gain=1.0), x, y


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_match_optax(name):
    exp, state, x, y = _opt_case({"name": name, **HP})
    tx = _reference_optimizer(name)
    grad_fn = _opt_grad_fn()

    @jax.jit
    def reference_step(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    params = state.params
    opt_state = tx.init(params)
    new = state
    for _ in range(3):  # several steps, so momenta and accumulators matter
        grads = grad_fn(params, state.model_state, x, y)[1]
        params, opt_state = reference_step(params, opt_state, grads)
        new = exp.step(new, x, y)
        _assert_trees_close(new.params, params, rtol=1e-5, atol=1e-7)
    moved = max(np.max(np.abs(np.asarray(a) - np.asarray(b)))
                for a, b in zip(jax.tree_util.tree_leaves(new.params),
                                jax.tree_util.tree_leaves(state.params), strict=True))
    assert moved > 1e-4
    assert int(new.step) == 3


def test_optimizers_differ_from_each_other():
    """Guard against every entry silently being plain SGD."""
    finals = {}
    for name in ("sgd", "momentum", "adam"):
        exp, state, x, y = _opt_case({"name": name, **HP})
        for _ in range(2):
            state = exp.step(state, x, y)
        finals[name] = np.asarray(state.params[0]["w"])
    assert not np.allclose(finals["sgd"], finals["momentum"], atol=1e-6)
    assert not np.allclose(finals["sgd"], finals["adam"], atol=1e-6)


def test_gradient_clipping_by_global_norm():
    lr = 0.1
    exp, state, x, y = _opt_case({"name": "sgd", "learning_rate": lr, "clip_norm": 0.01})
    assert exp.structure.clip
    grads = _opt_grad_fn()(state.params, state.model_state, x, y)[1]
    norm = float(optax.tree.norm(grads))
    assert norm > 0.05  # the clip is active
    new = exp.step(state, x, y)
    delta = jax.tree_util.tree_map(lambda a, b: a - b, new.params, state.params)
    assert float(optax.tree.norm(delta)) == pytest.approx(lr * 0.01, rel=1e-4)
    # Same direction as the gradient: delta = -lr * 0.01 * g / |g|.
    want = jax.tree_util.tree_map(lambda g: -lr * 0.01 * g / norm, grads)
    # Parameters are O(1): their float32 rounding bounds the error of the difference.
    _assert_trees_close(delta, want, rtol=1e-3, atol=2e-7)

    # A generous clip changes nothing.
    loose, loose_state, _, _ = _opt_case({"name": "sgd", "learning_rate": lr, "clip_norm": 1e3})
    plain, plain_state, _, _ = _opt_case({"name": "sgd", "learning_rate": lr})
    assert loose.structure.clip and not plain.structure.clip
    _assert_trees_close(loose.step(loose_state, x, y).params,
                        plain.step(plain_state, x, y).params, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------
# 9. Layers: dropout, batch norm, layer norm.
# ---------------------------------------------------------------------------------------


def test_dropout_identity_in_eval_and_inverted_in_training():
    apply = LAYERS.get("dropout").apply
    x = jnp.asarray(np.random.default_rng(0).uniform(0.5, 2.0, (400, 250)), jnp.float32)
    rate = 0.3
    values = {"rate": jnp.float32(rate)}
    opts = {"rate": rate}
    key = jax.random.PRNGKey(7)
    y_eval, _ = apply({}, {}, x, values, opts, key=key, train=False)
    np.testing.assert_array_equal(np.asarray(y_eval), np.asarray(x))

    y, _ = apply({}, {}, x, values, opts, key=key, train=True)
    y, xn = np.asarray(y), np.asarray(x)
    dropped = y == 0
    assert dropped.mean() == pytest.approx(rate, abs=0.01)
    np.testing.assert_allclose(y[~dropped], xn[~dropped] / (1 - rate), rtol=1e-6)
    assert y.mean() == pytest.approx(xn.mean(), rel=0.02)  # expectation preserved
    # A different key drops different units; the same key the same ones.
    y2, _ = apply({}, {}, x, values, opts, key=jax.random.PRNGKey(8), train=True)
    y3, _ = apply({}, {}, x, values, opts, key=key, train=True)
    assert not np.array_equal(np.asarray(y2) == 0, dropped)
    np.testing.assert_array_equal(np.asarray(y3), y)
    # Rate 0 keeps everything.
    y0, _ = apply({}, {}, x, {"rate": jnp.float32(0.0)}, {"rate": 0.0}, key=key, train=True)
    np.testing.assert_array_equal(np.asarray(y0), xn)


def _batch_norm(momentum=0.9, eps=1e-5, features=6):
    kind = LAYERS.get("batch_norm")
    params, state, shape = kind.init(jax.random.PRNGKey(0), (features,),
                                     {"momentum": momentum, "eps": eps}, "glorot_uniform")
    assert shape == (features,)
    values = {"momentum": jnp.float32(momentum), "eps": jnp.float32(eps)}
    return kind, params, state, values


def test_batch_norm_training_normalises_over_the_batch():
    kind, params, state, values = _batch_norm()
    np.testing.assert_array_equal(np.asarray(state["mean"]), 0.0)
    np.testing.assert_array_equal(np.asarray(state["var"]), 1.0)
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, (64, 6)) * np.arange(1, 7)
    xj = jnp.asarray(x, jnp.float32)
    opts = {"momentum": 0.9, "eps": 1e-5}

    y, new_state = kind.apply(params, state, xj, values, opts, key=None, train=True)
    y = np.asarray(y, np.float64)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-4,
                               atol=1e-5)
    # Running statistics: m * old + (1 - m) * batch (biased batch variance).
    np.testing.assert_allclose(np.asarray(new_state["mean"]), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(new_state["var"]), 0.9 + 0.1 * x.var(0), rtol=1e-5)

    # Scale and offset apply after normalising.
    scale = jnp.asarray(np.linspace(0.5, 2.0, 6), jnp.float32)
    offset = jnp.asarray(np.linspace(-1.0, 1.0, 6), jnp.float32)
    ys, _ = kind.apply({"scale": scale, "offset": offset}, state, xj, values, opts, key=None,
                       train=True)
    np.testing.assert_allclose(np.asarray(ys), y * np.asarray(scale) + np.asarray(offset),
                               rtol=1e-5, atol=1e-5)

    # Evaluation uses the running statistics and leaves them alone.
    y_eval, eval_state = kind.apply(params, new_state, xj, values, opts, key=None,
                                    train=False)
    rm, rv = np.asarray(new_state["mean"], np.float64), np.asarray(new_state["var"], np.float64)
    np.testing.assert_allclose(np.asarray(y_eval), (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_array_equal(np.asarray(eval_state["mean"]), rm.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(eval_state["var"]), rv.astype(np.float32))


def test_batch_norm_running_stats_through_training_step():
    exp = _build({"data": {"name": "circle", "n": 60},
                  "model": {"layers": [_dense(4, "tanh"),
                                       {"type": "batch_norm", "momentum": 0.8}],
                            "init": "zeros"},
                  "loss": "mse"})
    state = _random_state(exp)
    x = np.asarray(exp.dataset.arrays.x_train)[:10]
    y = np.asarray(exp.dataset.arrays.y_train)[:10]
    new = exp.step(state, x, y)
    w, b = np.asarray(state.params[0]["w"], np.float64), np.asarray(state.params[0]["b"])
    a = np.tanh(x.astype(np.float64) @ w + b)  # the batch norm's input, before the step
    np.testing.assert_allclose(np.asarray(new.model_state[1]["mean"]), 0.2 * a.mean(0),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(new.model_state[1]["var"]), 0.8 + 0.2 * a.var(0),
                               rtol=1e-4, atol=1e-6)


def test_layer_norm_normalises_each_example():
    kind = LAYERS.get("layer_norm")
    params, state, shape = kind.init(jax.random.PRNGKey(0), (8,), {"eps": 1e-5}, "zeros")
    assert shape == (8,) and state == {}
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 1.0, (20, 8)) * rng.uniform(0.5, 5.0, (20, 1)) + rng.normal(0, 3, (20, 1))
    values = {"eps": jnp.float32(1e-5)}
    for train in (True, False):
        y, _ = kind.apply(params, state, jnp.asarray(x, jnp.float32), values, {"eps": 1e-5},
                          key=None, train=train)
        y = np.asarray(y, np.float64)
        np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-5)
        np.testing.assert_allclose(y.var(axis=1), 1.0, rtol=1e-4)
        want = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    # One example's output does not depend on the others (unlike batch norm).
    single, _ = kind.apply(params, state, jnp.asarray(x[:1], jnp.float32), values,
                           {"eps": 1e-5}, key=None, train=True)
    np.testing.assert_allclose(np.asarray(single)[0], y[0], rtol=1e-5, atol=1e-6)
