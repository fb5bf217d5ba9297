"""Tests for engine.tfp: TensorFlow Playground links read as our specs, and written back.

The expected values are written by hand from TF Playground's source (``state.ts``,
``playground.ts``, ``nn.ts``), not computed by the code under test. The update rule is
checked against a NumPy transcription of TF's per-example ``forwardProp``, ``backProp``
and ``updateWeights``.
"""

from __future__ import annotations

import random
import zlib

import numpy as np
import pytest

import engine
from engine.errors import SpecError
from engine.presets import preset
from engine.spec import Spec
from engine.tfp import TfpLink, parse_link, summary, to_link

DEFAULT = ("activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&learningRate=0.03"
           "&regularizationRate=0&noise=0&networkShape=4,2&seed=0.80277&showTestData=false"
           "&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false"
           "&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false"
           "&problem=classification&initZero=false&hideText=false")
SITE = "https://playground.tensorflow.org/#"


def tf(**changes: str) -> str:
    """TF's default fragment with some parameters changed (``None`` drops one)."""
    pairs = dict(p.split("=") for p in DEFAULT.split("&"))
    pairs.update(changes)
    return "&".join(f"{k}={v}" for k, v in pairs.items() if v is not None)


# What TF Playground's default link is, field by field (hand-written).
BASE = {
    "data.name": "circle", "data.n": 500, "data.noise": 0.0, "data.train_fraction": 0.5,
    "data.val_fraction": 0.0, "data.features": ("x1", "x2"), "data.seed": 80277,
    "seed": 80277, "units": (4, 2), "activations": ("tanh", "tanh"),
    "model.output_activation": "tanh", "model.init": "tf_playground", "loss": "half_mse",
    "optimizer.name": "sgd", "optimizer.learning_rate": 0.03, "regularization.kind": "none",
    "regularization.rate": 0.0, "batch_size": 10, "hidden": (), "show_test_data": False,
    "discretize": False, "hide_text": False,
}
SPIRAL_ALL = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
REGRESSION = {"data.n": 1200, "model.output_activation": "linear"}

# (link, expected changes from BASE, fragments expected in the notes, one per note)
CASES = {
    "default, full URL": (SITE + DEFAULT, {}, []),
    "default, fragment": (DEFAULT, {}, []),
    "default, with #": ("#" + DEFAULT, {}, []),
    "default, with ?": ("?" + DEFAULT, {}, []),
    "default, other host": ("http://localhost:5000/index.html#" + DEFAULT, {}, []),
    "percent-encoded values": (
        tf(networkShape="4%2C2", seed="0%2E80277", dataset="%63ircle"), {}, []),
    "all of it encoded": (DEFAULT.replace("=", "%3D").replace("&", "%26"), {}, []),
    "xor, x1x2 only, no hidden layer": (
        tf(dataset="xor", networkShape="", x="false", y="false", xTimesY="true"),
        {"data.name": "xor", "data.features": ("x1*x2",), "units": (), "activations": ()},
        []),
    "spiral, all features, 6 x 8": (
        tf(dataset="spiral", networkShape="8,8,8,8,8,8", xTimesY="true", xSquared="true",
           ySquared="true", sinX="true", sinY="true", seed="0.30000"),
        {"data.name": "spiral", "data.features": SPIRAL_ALL, "units": (8,) * 6,
         "activations": ("tanh",) * 6, "data.seed": 30000, "seed": 30000}, []),
    "gauss, linear, no hidden layer": (
        tf(dataset="gauss", activation="linear", networkShape=""),
        {"data.name": "gauss", "units": (), "activations": ()}, []),
    "regression, reg-plane": (
        tf(problem="regression", regDataset="reg-plane", dataset="spiral"),
        {**REGRESSION, "data.name": "reg_plane"}, []),
    "regression, reg-gauss, relu, noise 20": (
        tf(problem="regression", regDataset="reg-gauss", activation="relu", noise="20",
           networkShape="8,8"),
        {**REGRESSION, "data.name": "reg_gauss", "data.noise": 0.2, "units": (8, 8),
         "activations": ("relu", "relu")}, []),
    "L1 0.003": (tf(regularization="L1", regularizationRate="0.003"),
                 {"regularization.kind": "l1", "regularization.rate": 0.003}, ["L1"]),
    "L2 0.1": (tf(regularization="L2", regularizationRate="0.1"),
               {"regularization.kind": "l2", "regularization.rate": 0.1}, []),
    "noise 50": (tf(noise="50", dataset="xor"), {"data.noise": 0.5, "data.name": "xor"}, []),
    "train 10%": (tf(percTrainData="10"), {"data.train_fraction": 0.1}, []),
    "train 90%": (tf(percTrainData="90"), {"data.train_fraction": 0.9}, []),
    "batch 1": (tf(batchSize="1"), {"batch_size": 1}, []),
    "batch 30": (tf(batchSize="30"), {"batch_size": 30}, ["leaves 10 of 250"]),
    "learning rate 0.00001": (tf(learningRate="0.00001"), {"optimizer.learning_rate": 1e-5}, []),
    "learning rate 10": (tf(learningRate="10"), {"optimizer.learning_rate": 10.0}, []),
    "initZero": (tf(initZero="true"), {"model.init": "zeros"}, []),
    "relu": (tf(activation="relu"), {"activations": ("relu", "relu")}, []),
    "sigmoid": (tf(activation="sigmoid"), {"activations": ("sigmoid", "sigmoid")}, []),
    "linear 3 layers": (tf(activation="linear", networkShape="5,3,1"),
                        {"activations": ("linear",) * 3, "units": (5, 3, 1)}, []),
    "hide flags": (
        tf(playButton_hide="true", noise_hide="true", numHiddenLayers_hide="true",
           dataset_hide="true", x_hide="true", cosY_hide="true", stepButton_hide="false",
           learningRate_hide="yes", percTrainData_hide="true", showTestData_hide="true"),
        {"hidden": ("show_test_data", "play", "dataset", "train_share", "noise",
                    "hidden_layers", "x1", "cos(x2)"), "data.features": ("x2",)}, []),
    "every control hidden": (
        tf(**{f"{k}_hide": "true" for k in (
            "showTestData", "discretize", "playButton", "stepButton", "resetButton",
            "learningRate", "activation", "regularization", "regularizationRate", "problem",
            "dataset", "percTrainData", "noise", "batchSize", "numHiddenLayers")}),
        {"hidden": ("show_test_data", "discretize", "play", "step", "reset", "learning_rate",
                    "activation", "regularization", "regularization_rate", "problem",
                    "dataset", "train_share", "noise", "batch_size", "hidden_layers")}, []),
    "discretize, show test data": (tf(discretize="true", showTestData="true"),
                                   {"discretize": True, "show_test_data": True}, []),
    "TF booleans: anything but false is true": (
        tf(discretize="1", showTestData="no", xSquared="yes"),
        {"discretize": True, "show_test_data": True, "data.features": ("x1", "x2", "x1^2")},
        []),
    "cosX, cosY": (tf(cosX="true", cosY="true"),
                   {"data.features": ("x1", "x2", "cos(x1)", "cos(x2)")}, ["cosX", "cosY"]),
    "hideText": (tf(hideText="true"), {"hide_text": True}, []),
    "collectStats": (tf(collectStats="true"), {}, ["collectStats"]),
    "tutorial": (tf(tutorial="dataset"), {}, ["tutorial"]),
    "a few parameters": ("#dataset=xor&noise=25",
                         {"data.name": "xor", "data.noise": 0.25, "data.seed": 0, "seed": 0},
                         []),
    "every feature off": (tf(x="false", y="false"), {}, ["Every input feature"]),
    "seed 0.5": (tf(seed="0.5"), {"data.seed": 50000, "seed": 50000}, []),
    "seed 0": (tf(seed="0"), {"data.seed": 0, "seed": 0}, []),
    "seed integer": (tf(seed="123456"), {"data.seed": 123456, "seed": 123456}, []),
    "seed word": (tf(seed="lesson-3"), {"data.seed": zlib.crc32(b"lesson-3") % 2**31,
                                        "seed": zlib.crc32(b"lesson-3") % 2**31}, []),
    "seed, six decimals": (tf(seed="0.123456"), {"data.seed": zlib.crc32(b"0.123456") % 2**31,
                                                 "seed": zlib.crc32(b"0.123456") % 2**31}, []),
}


def fields(link: TfpLink) -> dict:
    s = link.spec
    return {
        "data.name": s.data.name, "data.n": s.data.n, "data.noise": s.data.noise,
        "data.train_fraction": s.data.train_fraction, "data.val_fraction": s.data.val_fraction,
        "data.features": s.data.features, "data.seed": s.data.seed, "seed": s.seed,
        "units": tuple(la.opts()["units"] for la in s.model.layers),
        "activations": tuple(la.opts()["activation"] for la in s.model.layers),
        "model.output_activation": s.model.output_activation, "model.init": s.model.init,
        "loss": s.loss, "optimizer.name": s.optimizer.name,
        "optimizer.learning_rate": s.optimizer.learning_rate,
        "regularization.kind": s.regularization.kind, "regularization.rate":
        s.regularization.rate, "batch_size": s.batch_size, "hidden": link.hidden,
        "show_test_data": link.show_test_data, "discretize": link.discretize,
        "hide_text": link.hide_text,
    }


def check_notes(notes: tuple[str, ...], fragments: list[str]) -> None:
    assert len(notes) == len(fragments), notes
    for note, fragment in zip(notes, fragments, strict=True):
        assert fragment in note, (fragment, notes)
        assert note.endswith(".") and len(note) < 130


@pytest.mark.parametrize("name", list(CASES))
def test_real_links_field_by_field(name: str) -> None:
    text, changes, notes = CASES[name]
    link = parse_link(text)
    assert fields(link) == {**BASE, **changes}
    check_notes(link.notes, notes)
    assert Spec.from_dict(link.spec.to_dict()) == link.spec  # a valid spec


def test_the_default_link_is_our_tf_preset() -> None:
    link = parse_link(SITE + DEFAULT)
    assert link.spec == preset("tf_playground").updated(seed=80277, data={"seed": 80277})
    assert summary(link) is None


# (link, fragments of its notes): each bad value keeps its default.
MALFORMED = {
    "learningRate=abc": (["learningRate=abc", "0.03"], {}),
    "batchSize=0": (["batchSize=0", "kept 10"], {}),
    "batchSize=2.5": (["batchSize=2.5"], {}),
    "batchSize=100000": (["batchSize=100000", "10000"], {}),
    "dataset=moons": (["dataset=moons", "circle"], {}),
    "regDataset=moons&problem=regression": (["regDataset=moons", "reg-plane"],
                                            {**REGRESSION, "data.name": "reg_plane"}),
    "regDataset=moons": ([], {}),  # unused by a classification link, as in TF
    "networkShape=4,x": (["networkShape=4,x", "4,2"], {}),
    "networkShape=0": (["networkShape=0"], {}),
    "networkShape=4,-2": (["networkShape=4,-2"], {}),
    "networkShape": (["networkShape=", "4,2"], {}),
    "noise=-5": (["noise=-5", "uses 0"], {}),
    "noise=90": (["noise=90", "uses 50"], {"data.noise": 0.5}),
    "noise=lots": (["noise=lots"], {}),
    "percTrainData=0": (["percTrainData=0", "kept 50"], {}),
    "percTrainData=100": (["percTrainData=100"], {}),
    "learningRate=0": (["learningRate=0"], {}),
    "learningRate=1e999": (["learningRate=1e999"], {}),
    "learningRate=0x10": (["learningRate=0x10"], {}),
    "learningRate=": (["learningRate has no value"], {}),
    "regularizationRate=-1": (["regularizationRate=-1"], {}),
    "regularization=l1": (["regularization=l1", "none"], {}),
    "activation=softmax": (["activation=softmax", "tanh"], {}),
    "problem=ranking": (["problem=ranking", "classification"], {}),
    "foo=1&bar": (["Unknown parameters foo, bar"], {}),
    "foo_hide=true": (["Unknown parameter foo_hide"], {}),
    "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8": (["a, b, c, d, e, f and 2 more"], {}),
}


@pytest.mark.parametrize("bad", list(MALFORMED))
def test_malformed_and_unknown_values_become_notes(bad: str) -> None:
    notes, changes = MALFORMED[bad]
    link = parse_link(tf(seed=None, dataset=None, regDataset=None, problem=None) + "&" + bad)
    expected = {**BASE, "data.seed": 0, "seed": 0, **changes}
    assert fields(link) == expected
    if notes:
        assert len(link.notes) == 1, link.notes
        assert all(fragment in link.notes[0] for fragment in notes), link.notes
        assert summary(link) == "Not honoured: " + link.notes[0]
    else:
        assert link.notes == ()


@pytest.mark.parametrize("text", ["", "   ", SITE, "https://playground.tensorflow.org/",
                                  "just some words", "#&&&", "a" * 4001, None, 42])
def test_text_that_is_no_link_is_refused(text) -> None:
    with pytest.raises(SpecError):
        parse_link(text)


def test_too_long_says_so() -> None:
    with pytest.raises(SpecError, match="too long"):
        parse_link(DEFAULT + "&" + "x" * 4000)
    assert parse_link(DEFAULT + "&tutorial=" + "x" * (3990 - len(DEFAULT))).spec


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(chars) + 1)
        op = rng.choice("insert delete replace dup")
        c = rng.choice("&=#?%,.-+e0123456789xyzé\x00 truefals")
        if op == "insert":
            chars.insert(i, c)
        elif op == "delete" and chars:
            del chars[min(i, len(chars) - 1)]
        elif op == "replace" and chars:
            chars[min(i, len(chars) - 1)] = c
        else:
            chars[i:i] = chars[max(0, i - 12):i]
    return "".join(chars)


def test_fuzz_never_raises_anything_but_spec_error() -> None:
    rng = random.Random(7)
    links = [text for text, _, _ in CASES.values()]
    alphabet = "&=#?%,.-+eE0123456789abcxyzXYZ_ \t\n\x00é🙂"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
             for _ in range(300)]
    texts += [_mutate(rng, rng.choice(links)) for _ in range(300)]
    names = [p.split("=")[0] for p in DEFAULT.split("&")]
    texts += ["&".join(f"{rng.choice(names)}={_mutate(rng, 'x')}" for _ in range(6))
              for _ in range(100)]
    parsed = 0
    for text in texts:
        try:
            link = parse_link(text)
        except SpecError:
            continue
        parsed += 1
        assert Spec.from_dict(link.spec.to_dict()) == link.spec
        assert all(isinstance(n, str) and n for n in link.notes)
    assert parsed > 300


# -- writing links ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES))
def test_to_link_gives_the_same_link_back(name: str) -> None:
    link = parse_link(CASES[name][0])
    hidden = tuple(h for h in link.hidden if h not in link.spec.data.features)
    text = to_link(link.spec, hidden=hidden, show_test_data=link.show_test_data,
                   discretize=link.discretize, hide_text=link.hide_text)
    back = parse_link(text)
    assert (back.spec, back.hidden, back.show_test_data, back.discretize, back.hide_text) == \
        (link.spec, hidden, link.show_test_data, link.discretize, link.hide_text)


def test_to_link_writes_tf_order_and_tf_values() -> None:
    assert to_link(parse_link(DEFAULT).spec) == DEFAULT.replace(
        "activation=tanh&", "activation=tanh&regularization=none&")
    spec = preset("tf_playground").updated(
        seed=7, data={"seed": 7, "noise": 0.35, "features": ["x2", "cos(x1)"]},
        optimizer={"learning_rate": 1e-5, "momentum": 0.5})  # sgd reads no momentum
    text = to_link(spec, hidden=["noise", "x1"], hide_text=True)
    assert "learningRate=0.00001&" in text and "&noise=35&" in text
    assert "&seed=0.00007&" in text and "&x=false&y=true&" in text and "&cosX=true&" in text
    assert text.endswith("&hideText=true&noise_hide=true&x_hide=true")
    assert parse_link(text).spec == spec.updated(optimizer={"momentum": 0.9})


@pytest.mark.parametrize(("changes", "field"), [
    ({"data": {"name": "moons"}}, "data.name"),
    ({"data": {"n": 300}}, "data.n"),
    ({"data": {"standardize": True}}, "data.standardize"),
    ({"data": {"noise": 0.9}}, "data.noise"),
    ({"data": {"seed": 3}}, "data.seed"),
    ({"model": {"init": "he_normal"}}, "model.init"),
    ({"model": {"output_activation": "auto"}}, "model.output_activation"),
    ({"model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"},
                           {"type": "dense", "units": 2, "activation": "relu"}]}},
     "model.layers[1].activation"),
    ({"model": {"layers": [{"type": "dense", "units": 4, "activation": "elu"}]}},
     "model.layers[0].activation"),
    ({"model": {"layers": [{"type": "dense", "units": 4, "activation": "relu",
                            "norm": "layer_norm"}]}}, "model.layers[0].norm"),
    ({"model": {"layers": [{"type": "dropout"}]}}, "model.layers[0].type"),
    ({"loss": "mse"}, "loss"),
    ({"optimizer": {"name": "adam"}}, "optimizer.name"),
    ({"optimizer": {"clip_norm": 1.0}}, "optimizer.clip_norm"),
    ({"early_stopping": {"patience": 5}, "data": {"val_fraction": 0.2}}, "data.val_fraction"),
])
def test_to_link_names_the_first_part_tf_cannot_express(changes: dict, field: str) -> None:
    spec = preset("tf_playground").updated(**changes)
    with pytest.raises(SpecError) as info:
        to_link(spec)
    assert info.value.field == field


def test_to_link_refuses_unknown_or_in_use_hidden_controls() -> None:
    spec = preset("tf_playground")
    with pytest.raises(SpecError, match="unknown control"):
        to_link(spec, hidden=["volume"])
    with pytest.raises(SpecError, match="x1 is an input in use"):
        to_link(spec, hidden=["x1"])


# -- training: what TF Playground reaches -----------------------------------------------

def _train(text: str, epochs: int) -> dict:
    exp = engine.build(parse_link(text).spec)
    state, _ = exp.train(exp.init(), epochs)
    return exp.metrics(state)


def test_the_default_link_learns_the_circle() -> None:
    m = _train(DEFAULT, 200)
    assert m["test_loss"] < 0.05 and m["test_accuracy"] > 0.97  # half_mse, targets -1/+1


def test_x1x2_alone_solves_xor_without_hidden_layers() -> None:
    m = _train(tf(dataset="xor", networkShape="", x="false", y="false", xTimesY="true"), 100)
    assert m["test_accuracy"] == 1.0 and m["test_loss"] < 0.02


def test_spiral_needs_more_than_x_y_and_four_two() -> None:
    plain = _train(tf(dataset="spiral"), 300)
    rich = _train(CASES["spiral, all features, 6 x 8"][0], 300)
    assert plain["test_accuracy"] < 0.7 and plain["test_loss"] > 0.3  # not solved, as in TF
    assert rich["test_accuracy"] > 0.85


def test_gauss_with_a_linear_output_and_the_plane_regression() -> None:
    assert _train(CASES["gauss, linear, no hidden layer"][0], 100)["test_accuracy"] == 1.0
    assert _train(CASES["regression, reg-plane"][0], 100)["test_loss"] < 0.005


# -- the update rule, against a NumPy transcription of TF's nn.ts -------------------------

ACT = {"tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
       "relu": (lambda z: np.maximum(0, z), lambda z: (z > 0).astype(float)),
       "sigmoid": (lambda z: 1 / (1 + np.exp(-z)),
                   lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
       "linear": (lambda z: z, lambda z: np.ones_like(z))}
FEATURE_FNS = {"x1": lambda p: p[0], "x2": lambda p: p[1], "x1*x2": lambda p: p[0] * p[1],
               "x1^2": lambda p: p[0] ** 2, "sin(x2)": lambda p: np.sin(p[1])}


def tf_step(ws, bs, acts, points, targets, features, lr, reg, rate):
    """One TF update: per example forwardProp and backProp (summing dE/dw and dE/db),
    then updateWeights: w -= lr * sum / count, then w -= lr * rate * reg'(w_before),
    L1 zeroing a weight that the regularisation step pushed across 0."""
    acc_w, acc_b = [np.zeros_like(w) for w in ws], [np.zeros_like(b) for b in bs]
    for p, t in zip(points, targets, strict=True):
        outs, totals = [np.array([FEATURE_FNS[f](p) for f in features])], []
        for w, b, a in zip(ws, bs, acts, strict=True):
            totals.append(outs[-1] @ w + b)
            outs.append(ACT[a][0](totals[-1]))
        out_der = outs[-1] - t  # SQUARE error's derivative
        for i in reversed(range(len(ws))):
            in_der = out_der * ACT[acts[i]][1](totals[i])
            acc_b[i] += in_der
            acc_w[i] += np.outer(outs[i], in_der)
            out_der = ws[i] @ in_der
    n, new_w, new_b = len(points), [], []
    for w, b, gw, gb in zip(ws, bs, acc_w, acc_b, strict=True):
        new_b.append(b - lr * gb / n)
        stepped = w - lr / n * gw
        der = {"none": 0 * w, "l1": np.sign(w), "l2": w}[reg]
        regged = stepped - lr * rate * der
        if reg == "l1":
            regged = np.where(stepped * regged < 0, 0.0, regged)
        new_w.append(regged)
    return new_w, new_b


UPDATE_CASES = {
    "tanh classification": tf(networkShape="3,2", xTimesY="true", learningRate="0.3"),
    "relu, L2": tf(networkShape="4", activation="relu", regularization="L2",
                   regularizationRate="0.1", learningRate="0.1", sinY="true"),
    "sigmoid, L1 (no weight crosses 0)": tf(
        networkShape="3,3", activation="sigmoid", regularization="L1",
        regularizationRate="0.01", learningRate="0.03", xSquared="true"),
    "regression, linear output": tf(problem="regression", networkShape="3",
                                    learningRate="0.1", regularization="L2",
                                    regularizationRate="0.03"),
}


def _our_step(text: str, seed: int, points=None):
    spec = parse_link(text).spec
    exp = engine.build(spec)
    rng = np.random.default_rng(seed)
    state = exp.init()
    params = [{"w": rng.uniform(-1, 1, p["w"].shape).astype(np.float32),
               "b": rng.uniform(-0.5, 0.5, p["b"].shape).astype(np.float32)}
              for p in state.params]
    for p in params:  # keep weights away from 0, so L1's sign is clear
        p["w"] = np.where(np.abs(p["w"]) < 0.2, 0.2 * np.sign(p["w"] + 1e-9), p["w"])
    points = rng.uniform(-6, 6, (spec.batch_size, 2)) if points is None else points
    regression = spec.model.output_activation == "linear"
    labels = rng.uniform(-1, 1, len(points)) if regression else rng.integers(0, 2, len(points))
    after = exp.step(state._replace(params=params), points.astype(np.float32), labels)
    targets = labels if regression else 2.0 * labels - 1  # TF's -1/+1 classes
    return spec, params, points, targets, [{k: np.asarray(v) for k, v in p.items()}
                                           for p in after.params]


@pytest.mark.parametrize("name", list(UPDATE_CASES))
def test_one_sgd_step_equals_tf_playgrounds_update(name: str) -> None:
    spec, params, points, targets, ours = _our_step(UPDATE_CASES[name], seed=3)
    acts = [la.opts()["activation"] for la in spec.model.layers] + [
        spec.model.output_activation]
    ws = [p["w"].astype(np.float64) for p in params]
    bs = [p["b"].astype(np.float64) for p in params]
    new_w, new_b = tf_step(ws, bs, acts, points.astype(np.float32).astype(np.float64),
                           targets, spec.data.features, spec.optimizer.learning_rate,
                           spec.regularization.kind, spec.regularization.rate)
    assert all(np.all(w != 0) for w in new_w)  # no L1 zeroing here: the rules agree
    for mine, w, b, before in zip(ours, new_w, new_b, ws, strict=True):
        np.testing.assert_allclose(mine["w"], w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(mine["b"], b, rtol=1e-5, atol=1e-6)
        assert np.abs(w - before).max() > 1e-4  # the step moved them


def test_l1_crossing_zero_is_where_we_differ_from_tf() -> None:
    # x2 = 0 on every point: weights from x2 get no gradient, only the L1 step of 0.1.
    text = tf(networkShape="3", regularization="L1", regularizationRate="0.1",
              learningRate="1")
    points = np.stack([np.linspace(-5, 5, 10), np.zeros(10)], axis=1)
    spec, params, points, targets, _ = _our_step(text, seed=5, points=points)
    params[0]["w"][1, 0] = 0.05  # crossed by the L1 step: TF sets it to 0 for good
    exp = engine.build(spec)
    labels = ((targets + 1) / 2).astype(np.int64)
    after = exp.step(exp.init()._replace(params=params), points.astype(np.float32), labels)
    ws = [p["w"].astype(np.float64) for p in params]
    bs = [p["b"].astype(np.float64) for p in params]
    new_w, _ = tf_step(ws, bs, ["tanh", "tanh"], points, targets, ("x1", "x2"), 1.0, "l1",
                       0.1)
    assert new_w[0][1, 0] == 0.0
    assert float(after.params[0]["w"][1, 0]) == pytest.approx(0.05 - 0.1, abs=1e-6)
    note = parse_link(text).notes
    assert len(note) == 1 and "L1" in note[0]
