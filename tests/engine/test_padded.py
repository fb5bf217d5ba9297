"""Padded networks (engine.train.padded): the same results as the unpadded network, and
no compilation when a small MLP's neurons, layers, activations or features change."""

from __future__ import annotations

import copy

import jax
import numpy as np
import pytest

import engine
from engine import LAYERS, ProbeOptions, Spec, SpecError
from engine.blocks.masked import MASKED
from engine.presets import preset
from engine.train import count_compiles
from engine.train.compile import NETWORK_FUNCTIONS, Compiled
from engine.train.padded import MAX_DEPTH, Padder

FRAME = ProbeOptions(resolution=30, neuron_resolution=12)


def _spec(layers: list[tuple[int, str]], features=("x1", "x2"), **top) -> Spec:
    d = preset("tf_playground").to_dict()
    d["model"]["layers"] = [{"type": "dense", "units": u, "activation": a}
                            for u, a in layers]
    d["data"]["features"] = list(features)
    for key, value in top.items():
        if isinstance(value, dict):
            d[key].update(value)
        else:
            d[key] = value
    return Spec.from_dict(d)


def _leaves(tree) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


CASES = {
    "default 4-2 tanh": _spec([(4, "tanh"), (2, "tanh")]),
    "no hidden layer, five features": _spec(
        [], features=("x1", "x2", "x1^2", "x1*x2", "sin(x2)")),
    "six layers, every width": _spec(
        [(8, "relu"), (1, "sigmoid"), (5, "elu"), (3, "linear"), (7, "swish"), (2, "gelu")],
        features=("x2", "x1", "x2^2")),
    "adam, L1, standardised xor": _spec(
        [(6, "leaky_relu"), (3, "softplus")],
        data={"name": "xor", "standardize": True, "noise": 0.2},
        optimizer={"name": "adam", "learning_rate": 0.01},
        regularization={"kind": "l1", "rate": 0.001}),
    "momentum, L2, regression, a decay after a warm-up": _spec(
        [(5, "tanh"), (4, "selu")],
        data={"name": "reg_plane", "noise": 0.1},
        optimizer={"name": "momentum", "learning_rate": 0.01, "momentum": 0.9,
                   "schedule": {"name": "exponential", "warmup_steps": 40,
                                "decay_steps": 30, "decay_rate": 0.7}},
        regularization={"kind": "l2", "rate": 0.003}),
    "nesterov momentum, step decay": _spec(
        [(3, "relu"), (6, "tanh")], batch_size=5,
        optimizer={"name": "nesterov", "learning_rate": 0.02, "momentum": 0.8,
                   "schedule": {"name": "step", "decay_steps": 40, "decay_rate": 0.5}}),
    "adamw, a validation split": _spec(
        [(4, "swish")], data={"name": "spiral", "val_fraction": 0.2},
        optimizer={"name": "adamw", "learning_rate": 0.02, "weight_decay": 0.05}),
    "rmsprop, a low decay": _spec(
        [(5, "tanh"), (3, "relu")], data={"name": "xor", "noise": 0.1},
        optimizer={"name": "rmsprop", "learning_rate": 0.01, "decay": 0.5}),
    "adagrad, L2": _spec(
        [(4, "sigmoid")], optimizer={"name": "adagrad", "learning_rate": 0.1},
        regularization={"kind": "l2", "rate": 0.01}),
    "batch 1, training share 0.3": _spec(
        [(3, "tanh")], batch_size=1, data={"name": "gauss", "train_fraction": 0.3}),
    "batch 30 of 40 points, a validation split, early stopping": _spec(
        [(4, "relu")], batch_size=30,
        data={"name": "xor", "n": 40, "train_fraction": 0.5, "val_fraction": 0.3},
        optimizer={"name": "adam", "learning_rate": 0.05},
        early_stopping={"patience": 3}),
    "a batch bigger than the training set (full-batch gradient descent)": _spec(
        [(2, "sigmoid")], batch_size=25, data={"name": "circle", "n": 30}),
    "1,200 regression points, batch 7, training share 0.9": _spec(
        [(4, "tanh")], batch_size=7,
        data={"name": "reg_gauss", "n": 1200, "train_fraction": 0.9}),
}


# About a minute each on 2 cores (two networks compiled and trained): the default run
# keeps the five that cover a layer kind, an optimizer or a split the others do not.
LONG_CASES = {"no hidden layer, five features", "batch 1, training share 0.3",
              "a batch bigger than the training set (full-batch gradient descent)",
              "1,200 regression points, batch 7, training share 0.9"}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.long) if n in LONG_CASES else n for n in CASES])
def test_the_padded_network_trains_exactly_like_the_real_one(name):
    spec = CASES[name]
    real, padded = engine.build(spec), engine.build(spec, padded=True)
    assert isinstance(real.fns, Compiled) and isinstance(padded.fns, Padder)
    runs = []
    for exp in (real, padded):
        state, chunk = exp.train(exp.init(), 15, probes=FRAME)
        state, steps = exp.train_steps(state, 7, probes=FRAME)  # stops inside an epoch
        runs.append((state, chunk, steps, exp.metrics(state), exp.predict(state, [[0.3, -1.2]]),
                     exp.test_report(state)))
    (s1, c1, t1, m1, p1, r1), (s2, c2, t2, m2, p2, r2) = runs
    if r1 is not None:  # the confusion matrix and the worst mistakes of the test split
        np.testing.assert_array_equal(r1.confusion, r2.confusion)
        np.testing.assert_allclose(r1.wrong_confidence, r2.wrong_confidence, rtol=1e-4)
        if (r1.wrong < 0).any():  # all mistakes listed (rounding may swap near-ties)
            assert set(r1.wrong) == set(r2.wrong)
    # The same weights, optimizer state, curves and pictures, to float32 rounding.
    assert jax.tree_util.tree_structure(s1.params) == jax.tree_util.tree_structure(s2.params)
    for a, b in zip(_leaves(s1), _leaves(s2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for key in ("train_loss", "test_loss", "train_accuracy", "learning_rate"):
        np.testing.assert_allclose(c1.history[key], c2.history[key], rtol=1e-4, atol=1e-6)
    assert m1.keys() == m2.keys()
    for key, v in m1.items():
        assert (v is None) == (m2[key] is None)
        if v is not None:
            assert m2[key] == pytest.approx(v, rel=1e-4, abs=1e-6)
    np.testing.assert_allclose(p1, p2, rtol=1e-4, atol=1e-6)
    for probes in ((c1.probes, c2.probes), (t1.probes, t2.probes)):
        a, b = probes
        np.testing.assert_allclose(a.output, b.output, rtol=1e-4, atol=1e-5)
        assert [n.shape for n in a.neurons] == [n.shape for n in b.neurons]
        for x, y in zip(a.neurons, b.neurons, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
        for field in ("grad_norm", "weight_norm", "weight_range", "grad_range"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field),
                                       rtol=1e-4, atol=1e-6)
        # Histograms count the real weights only: the same totals, the same bins (a
        # value on a bin's edge may fall either side after rounding).
        for field in ("weight_hist", "grad_hist"):
            x, y = getattr(a, field), getattr(b, field)
            assert x.shape == y.shape
            np.testing.assert_array_equal(x.sum(axis=1), y.sum(axis=1))
            assert np.abs(x.astype(int) - y.astype(int)).max() <= 1


def test_edits_of_a_small_mlp_compile_nothing():
    """Neurons, layers, activations, features, batch size, splits, the number of points,
    the weight penalty and the learning-rate schedule: a change of values for the padded
    network (the first frame of every edit, its metrics and its confusion matrix)."""
    exp = engine.build(CASES["default 4-2 tanh"], padded=True)
    state, _ = exp.train(exp.init(), 1, probes=FRAME)
    exp.metrics(state)
    exp.confusion_matrix(state)
    base = exp.spec.to_dict()
    edits = {
        "a neuron more": lambda d: d["model"]["layers"][0].update(units=5),
        "a layer more": lambda d: d["model"]["layers"].append(
            {"type": "dense", "units": 3, "activation": "relu"}),
        "a layer fewer": lambda d: d["model"]["layers"].pop(),
        "no layers": lambda d: d["model"].update(layers=[]),
        "six layers of 8": lambda d: d["model"].update(layers=[
            {"type": "dense", "units": 8, "activation": "sigmoid"}] * MAX_DEPTH),
        "another activation": lambda d: d["model"]["layers"][1].update(activation="relu"),
        "features": lambda d: d["data"].update(features=["x1", "x2", "x1*x2", "sin(x1)"]),
        "batch size": lambda d: d.update(batch_size=3),
        "training share": lambda d: d["data"].update(train_fraction=0.8),
        "a validation split": lambda d: d["data"].update(train_fraction=0.6,
                                                          val_fraction=0.2),
        "fewer points": lambda d: d["data"].update(n=333),
        "L1": lambda d: d.update(regularization={"kind": "l1", "rate": 0.01}),
        "L2": lambda d: d.update(regularization={"kind": "l2", "rate": 0.01}),
        "a schedule and a warm-up": lambda d: d["optimizer"].update(schedule={
            "name": "cosine", "warmup_steps": 10, "decay_steps": 100, "alpha": 0.1}),
    }
    for what, edit in edits.items():
        d = copy.deepcopy(base)
        edit(d)
        with count_compiles() as box:
            new = exp.with_spec(Spec.from_dict(d))
            assert new.spec != exp.spec  # a new network or data for the user...
            st, chunk = new.train(new.init(), 1, probes=FRAME)
            new.metrics(st)
            new.confusion_matrix(st)
        compiled = [n for n in box["names"] if n.removeprefix("jit(").rstrip(")")
                    in NETWORK_FUNCTIONS]
        assert compiled == [], f"{what} compiled {compiled}"  # ...and nothing compiled
        assert len(chunk.probes.neurons) == len(new.structure.net.layers) + 2
        assert chunk.history["trained"].all()
    cosine = exp.with_spec(Spec.from_dict({**base, "optimizer": {
        **base["optimizer"], "schedule": {"name": "cosine", "warmup_steps": 10}}}))
    assert cosine.structure.schedule == "cosine"  # the real network names it...
    assert cosine.padded_structure == exp.padded_structure  # ...the padded one traces it


def test_an_optimizer_of_the_same_family_compiles_nothing():
    """Momentum and Nesterov share a padded network, Adam and AdamW, Adagrad and
    RMSprop (``FAMILIES``): each trains as itself (see the cases above) and a pick
    within the family is a change of values; SGD and another family are networks of
    their own."""
    for first, second in (("momentum", "nesterov"), ("adam", "adamw"),
                          ("rmsprop", "adagrad")):
        exp = engine.build(CASES["default 4-2 tanh"].updated(optimizer={"name": first}),
                           padded=True)
        exp.train(exp.init(), 1, probes=FRAME)
        with count_compiles() as box:
            new = exp.with_spec(exp.spec.updated(optimizer={"name": second}))
            _, chunk = new.train(new.init(), 2, probes=FRAME)
        compiled = [n for n in box["names"] if n.removeprefix("jit(").rstrip(")")
                    in NETWORK_FUNCTIONS]
        assert compiled == [], f"{first} -> {second} compiled {compiled}"
        assert new.structure.optimizer == second and chunk.history["trained"].all()
        assert new.padded_structure == exp.padded_structure
    keys = {engine.build(CASES["default 4-2 tanh"].updated(optimizer={"name": name}),
                         padded=True).padded_structure.optimizer
            for name in ("sgd", "momentum", "adam", "rmsprop")}
    assert len(keys) == 4


@pytest.mark.parametrize("layers", [
    [{"type": "dense", "units": 9, "activation": "tanh"}],  # wider than the padding
    [{"type": "dense", "units": 4, "activation": "prelu"}],  # a learned slope
    [{"type": "dense", "units": 4, "activation": "tanh", "norm": "batch_norm"}],
    [{"type": "dense", "units": 4, "activation": "tanh"}, {"type": "dropout", "rate": 0.1}],
])
def test_networks_beyond_the_padding_compile_their_own(layers):
    d = CASES["default 4-2 tanh"].to_dict()
    d["model"]["layers"] = layers
    exp = engine.build(Spec.from_dict(d), padded=True)
    assert isinstance(exp.fns, Compiled)
    _, chunk = exp.train(exp.init(), 2)
    assert chunk.history["trained"].all()


def test_the_masked_layer_is_internal():
    assert MASKED not in LAYERS and MASKED not in LAYERS.names()
    assert LAYERS.get(MASKED).values == ("in_mask", "out_mask", "act", "on", "res")
    d = CASES["default 4-2 tanh"].to_dict()
    d["model"]["layers"] = [{"type": MASKED, "units": 4}]
    with pytest.raises(SpecError, match="unknown layer type"):
        Spec.from_dict(d)


@pytest.mark.compile_count
def test_a_hand_placed_point_compiles_nothing(attempt):
    """Each click on the plane adds a point: a new example count, not a new network
    (a rerun adds points to counts not tried before: ``compile_count``)."""
    from engine.data.hand import HAND, encode_points

    rng = np.random.default_rng(0)
    x = rng.uniform(-5, 5, (30 + 11 * attempt, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)

    def spec(n: int) -> Spec:
        return _spec([(4, "tanh")], data={"name": HAND, "standardize": True,
                                          "points": encode_points(x[:n], y[:n],
                                                                  "classification")})

    exp = engine.build(spec(30), padded=True)
    state, _ = exp.train(exp.init(), 1, probes=FRAME)
    exp.metrics(state)
    exp.confusion_matrix(state)
    sizes = set()
    for n in range(31 + 11 * (attempt - 1), 31 + 11 * attempt):
        with count_compiles() as box:
            new = exp.with_spec(spec(n))
            st, chunk = new.train(new.init(), 2, probes=FRAME)
            new.metrics(st)
            new.confusion_matrix(st)
        # Not even a small eager kernel (the features' statistics of a new count):
        # each would cost a click a few hundredths of a second.
        assert box["compiles"] == 0, f"{n} points compiled {box['names']}"
        assert chunk.history["trained"].all()
        sizes.add(new.dataset.arrays.x_train.shape[0])
    assert len(sizes) > 1  # the training split did grow


def test_batch_sizes_share_two_compilations():
    """Batch sizes 1-10 share the default's network, 11-32 one more."""
    from engine.train.padded import BATCH_CAPACITIES

    assert BATCH_CAPACITIES == (10, 32)
    base = CASES["default 4-2 tanh"]
    for first, others in ((10, (1, 2, 9)), (32, (11, 20, 30, 32))):
        exp = engine.build(base.updated(batch_size=first), padded=True)
        exp.train(exp.init(), 1, probes=FRAME)
        for batch in others:
            with count_compiles() as box:
                new = exp.with_spec(base.updated(batch_size=batch))
                _, chunk = new.train(new.init(), 1, probes=FRAME)
            compiled = [c for c in box["names"] if c.removeprefix("jit(").rstrip(")")
                        in NETWORK_FUNCTIONS]
            assert compiled == [], f"batch {batch} compiled {compiled}"
            assert chunk.history["trained"].all()
    assert isinstance(engine.build(base.updated(batch_size=33), padded=True).fns, Compiled)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 100, 255, 256, 257, 500, 512])
def test_the_padded_epoch_order_is_the_unpadded_one(n):
    """``shuffle_first`` over 512 rows begins with ``shuffle``'s permutation of n: JAX's
    counter-based random bits (``jax_threefry_partitionable``, the default since JAX
    0.5, which the package requires) make a longer draw begin with a shorter one."""
    from engine.train.loop import shuffle, shuffle_first

    key = jax.random.PRNGKey(n)
    first = np.asarray(jax.jit(shuffle_first, static_argnums=1)(key, 512, n))
    np.testing.assert_array_equal(first[:n], np.asarray(shuffle(key, n)))
    assert sorted(first[:n]) == list(range(n))


@pytest.mark.parametrize("padded", [False, True])
def test_an_epoch_ends_when_removed_points_leave_the_cursor_past_it(padded):
    """Hand-placed points removed mid-epoch (the network keeps training) can leave the
    epoch's cursor past the shorter epoch's last step: that epoch ends at the next step
    instead of never."""
    from engine.data.hand import HAND, encode_points

    rng = np.random.default_rng(1)
    x = rng.uniform(-5, 5, (80, 2))
    y = (x[:, 0] > 0).astype(np.int32)

    def spec(n: int) -> Spec:
        return _spec([(3, "tanh")], batch_size=1, data={"name": HAND, "points": encode_points(
            x[:n], y[:n], "classification")})

    many = engine.build(spec(80), padded=padded)
    state, _ = many.train_steps(many.init(), many.steps_per_epoch - 2)
    few = many.with_spec(spec(20))
    assert int(state.cursor) > few.steps_per_epoch
    state, chunk = few.train_steps(state, 3 * few.steps_per_epoch)
    assert chunk.history["trained"].sum() >= 2
    assert int(state.epoch) >= 2


@pytest.mark.parametrize("name", ["rmsprop", "adam"])
def test_the_least_eps_a_spec_takes_trains_finite_padded(name):
    """A review: eps 1e-40 (below float32's normals, flushed to 0 on a CPU) made a padded
    network's unused weights step by 0 / 0 = NaN. The spec refuses it; its least eps
    trains as the real network does."""
    with pytest.raises(engine.SpecError, match="eps"):
        _spec([(3, "tanh")], optimizer={"name": name, "eps": 1e-40})
    spec = _spec([(3, "tanh")], optimizer={"name": name, "learning_rate": 0.01, "eps": 1e-30})
    losses = []
    for padded in (False, True):
        exp = engine.build(spec, padded=padded)
        _, chunk = exp.train(exp.init(), 3, probes=None)
        losses.append(np.asarray(chunk.history["train_loss"]))
    assert np.isfinite(losses[1]).all(), losses
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
