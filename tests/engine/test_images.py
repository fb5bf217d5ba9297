"""Inside a CNN: the image probes (feature maps, kernels, probabilities, saliency), the
test-set report and ``explain_conv``, each checked against NumPy written here.

One small CNN on the shapes is trained once for the module; its layers cover a conv2d
with batch norm, a max pool and a stride-2 conv2d with ``same`` padding whose odd pixel
falls after the image, and an average pool whose corner windows hold fewer pixels.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine import DataError, ProbeOptions, Spec
from engine.model import apply_network, featurize
from engine.presets import preset as preset_spec
from engine.probes import test_report as report_of
from engine.train import count_compiles
from tests.engine.numpy_conv import np_conv, pads

pytestmark = pytest.mark.xdist_group("images_cnn")  # one worker builds the fixture

LAYERS = [
    {"type": "conv2d", "filters": 4, "kernel": 3, "activation": "relu", "norm": "batch_norm"},
    {"type": "max_pool", "size": 3, "stride": 2, "padding": "same"},   # 16 -> 8, pad 0 / 1
    {"type": "conv2d", "filters": 6, "kernel": 3, "stride": 2, "activation": "tanh"},  # 8 -> 4
    {"type": "avg_pool", "size": 3, "stride": 1, "padding": "same"},   # 4 -> 4, pad 1 / 1
    {"type": "global_avg_pool"},
]
SPEC = Spec.from_dict({
    "data": {"name": "shapes", "n": 400, "noise": 0.1, "train_fraction": 0.6,
             "val_fraction": 0.2, "standardize": True},
    "model": {"layers": LAYERS},
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "batch_size": 32,
})
EXAMPLE = 5
MAP_SHAPES = [(16, 16, 4), (8, 8, 4), (4, 4, 6), (4, 4, 6)]
OPTIONS = ProbeOptions(resolution=0, neuron_resolution=0, images=True, example=EXAMPLE)


# --- NumPy references (one picture, float64) ------------------------------------------------

def one_conv(x, w, b, s, padding):
    """(H, W, C) cross-correlated with (k, k, C, O), stride s, plus b."""
    return np_conv(np.asarray(x)[None], w, b, s, padding)[0]


def np_pool(x, op, k, s, padding):
    """Max or mean of each window's real pixels."""
    x = np.asarray(x, np.float64)
    (t, bo), (lf, r) = pads(x.shape[0], k, s, padding), pads(x.shape[1], k, s, padding)
    xp = np.pad(x, ((t, bo), (lf, r), (0, 0)), constant_values=np.nan)
    ho, wo = (xp.shape[0] - k) // s + 1, (xp.shape[1] - k) // s + 1
    f = np.nanmax if op == "max" else np.nanmean
    return np.array([[f(xp[i * s:i * s + k, j * s:j * s + k], axis=(0, 1)) for j in range(wo)]
                     for i in range(ho)])


def np_forward(exp, state, image):
    """The network on one picture: (maps of conv and pool layers, logits, probabilities)."""
    a = exp.dataset.arrays
    p = [{k: np.asarray(v, np.float64) for k, v in layer.items()} for layer in state.params]
    ms = [{k: np.asarray(v, np.float64) for k, v in layer.items()}
          for layer in state.model_state]
    h = (np.asarray(image, np.float64) - float(a.mean[0])) / float(a.std[0])
    maps = []
    z = one_conv(h, p[0]["w"], p[0]["b"], 1, "same")
    z = (z - ms[0]["mean"]) / np.sqrt(ms[0]["var"] + 1e-5) * p[0]["scale"] + p[0]["offset"]
    h = np.maximum(z, 0)
    maps.append(h)
    h = np_pool(h, "max", 3, 2, "same")
    maps.append(h)
    h = np.tanh(one_conv(h, p[2]["w"], p[2]["b"], 2, "same"))
    maps.append(h)
    h = np_pool(h, "avg", 3, 1, "same")
    maps.append(h)
    h = h.mean(axis=(0, 1))
    logits = h @ p[5]["w"] + p[5]["b"]
    e = np.exp(logits - logits.max())
    return maps, logits, e / e.sum()


@pytest.fixture(scope="module")
def trained():
    """(experiment, state, image probes of test example EXAMPLE)."""
    exp = engine.build(SPEC)
    state, chunk = exp.train(exp.init(), 8, OPTIONS)
    assert chunk.history["trained"].all()
    return exp, state, chunk.probes.images


@pytest.fixture(scope="module")
def drawn_picture():
    """A square outline, not from the data (a picture a user might draw)."""
    img = np.zeros((16, 16, 1), np.float32)
    img[3:13, 3] = img[3:13, 12] = img[3, 3:13] = img[12, 3:13] = 1.0
    return img


def _x_test(exp) -> np.ndarray:
    return np.asarray(exp.dataset.arrays.x_test)


# --- the probes ------------------------------------------------------------------------------

def test_the_network_learned_something(trained):
    exp, state, _ = trained
    assert exp.fns.stepper is not None  # convolutions train from the host
    assert exp.metrics(state)["test_accuracy"] > 0.5  # four classes: chance is 0.25


def test_probe_shapes_kernels_and_picture(trained):
    exp, state, im = trained
    np.testing.assert_array_equal(im.image, _x_test(exp)[EXAMPLE])
    assert [m.shape for m in im.maps] == MAP_SHAPES
    assert len(im.kernels) == 2
    np.testing.assert_array_equal(im.kernels[0], np.asarray(state.params[0]["w"]))
    np.testing.assert_array_equal(im.kernels[1], np.asarray(state.params[2]["w"]))
    assert im.probs.shape == (4,) and im.saliency.shape == (16, 16)
    assert float(im.probs.sum()) == pytest.approx(1.0, abs=1e-6)
    assert np.all(im.probs > 0)
    assert int(im.predicted) == int(np.argmax(im.probs))


def test_maps_and_probabilities_match_numpy(trained):
    exp, state, im = trained
    maps, _, probs = np_forward(exp, state, _x_test(exp)[EXAMPLE])
    for got, want in zip(im.maps, maps, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(im.probs, probs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(im.probs, exp.predict(state, _x_test(exp)[EXAMPLE:EXAMPLE + 1])[0],
                               rtol=1e-5, atol=1e-7)


def _saliency(exp, state, image):
    """max over channels of |d logit_pred / d pixel| of the raw [0, 1] picture."""
    net, a = exp.structure.net, exp.dataset.arrays

    def logits(img):
        h = featurize(net, img[None], a.mean, a.std)
        return apply_network(net, state.params, state.model_state, h, exp.values, key=None,
                             train=False)[0][0]

    img = jnp.asarray(image)
    pred = int(jnp.argmax(logits(img)))
    grad = jax.grad(lambda x: logits(x)[pred])(img)
    return np.max(np.abs(np.asarray(grad)), axis=-1), pred


def test_saliency_is_the_predicted_logits_gradient(trained):
    exp, state, im = trained
    want, pred = _saliency(exp, state, _x_test(exp)[EXAMPLE])
    assert int(im.predicted) == pred
    np.testing.assert_allclose(im.saliency, want, rtol=1e-4, atol=1e-7)
    assert im.saliency.max() > 0


def test_saliency_is_taken_through_the_standardisation(trained):
    # The gradient is w.r.t. the raw pixel: a finite difference on the raw picture agrees.
    exp, state, im = trained
    net, a = exp.structure.net, exp.dataset.arrays
    img = _x_test(exp)[EXAMPLE].astype(np.float32)
    r, c = np.unravel_index(np.argmax(im.saliency), im.saliency.shape)
    eps = 1e-2

    def logit(x):
        h = featurize(net, jnp.asarray(x)[None], a.mean, a.std)
        z = apply_network(net, state.params, state.model_state, h, exp.values, key=None,
                          train=False)[0][0]
        return float(z[int(im.predicted)])

    up, down = img.copy(), img.copy()
    up[r, c, 0] += eps
    down[r, c, 0] -= eps
    numeric = abs(logit(up) - logit(down)) / (2 * eps)
    assert numeric == pytest.approx(float(im.saliency[r, c]), rel=0.1)


def test_probe_of_the_same_state_is_the_same(trained):
    exp, state, im = trained
    again = exp.probe(state, OPTIONS).images
    for a, b in zip(jax.tree_util.tree_leaves(im), jax.tree_util.tree_leaves(again),
                    strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_another_example_is_traced_not_compiled(trained):
    exp, state, _ = trained
    exp.probe(state, OPTIONS)  # compiled (the module may run in any order)
    with count_compiles() as box:
        im = exp.probe(state, dataclasses.replace(OPTIONS, example=9)).images
    assert box["compiles"] == 0
    np.testing.assert_array_equal(im.image, _x_test(exp)[9])
    maps, _, probs = np_forward(exp, state, _x_test(exp)[9])
    np.testing.assert_allclose(im.maps[2], maps[2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(im.probs, probs, rtol=1e-4, atol=1e-6)
    last = exp.probe(state, dataclasses.replace(OPTIONS, example=10**6)).images
    np.testing.assert_array_equal(last.image, _x_test(exp)[-1])  # clipped to the last


def test_a_drawn_picture_is_probed_instead_of_the_example(trained, drawn_picture):
    exp, state, example = trained
    opts = dataclasses.replace(OPTIONS, image=drawn_picture)
    im = exp.probe(state, opts).images
    np.testing.assert_array_equal(im.image, drawn_picture)
    maps, _, probs = np_forward(exp, state, drawn_picture)
    for got, want in zip(im.maps, maps, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(im.probs, probs, rtol=1e-4, atol=1e-6)
    assert not np.allclose(im.maps[0], example.maps[0])
    want, pred = _saliency(exp, state, drawn_picture)
    assert int(im.predicted) == pred
    np.testing.assert_allclose(im.saliency, want, rtol=1e-4, atol=1e-7)


def test_a_drawn_picture_through_train(trained, drawn_picture):
    exp, state, _ = trained
    opts = dataclasses.replace(OPTIONS, example=0, image=drawn_picture)
    same, chunk = exp.train(state, 0, opts)  # no epochs: the probes of this state
    assert int(same.step) == int(state.step)
    np.testing.assert_array_equal(chunk.probes.images.image, drawn_picture)
    np.testing.assert_allclose(chunk.probes.images.probs, np_forward(exp, state,
                                                                     drawn_picture)[2],
                               rtol=1e-4, atol=1e-6)


def test_a_drawn_picture_is_clipped_and_checked(trained):
    exp, state, _ = trained
    wild = np.full((16, 16, 1), 2.0, np.float32)
    wild[0, 0, 0] = -3.0
    wild[1, 1, 0] = np.nan
    im = exp.probe(state, dataclasses.replace(OPTIONS, image=wild)).images
    assert im.image[0, 0, 0] == 0.0 and im.image[1, 1, 0] == 0.0 and im.image[5, 5, 0] == 1.0
    with pytest.raises(DataError, match="cannot be shown"):
        exp.probe(state, dataclasses.replace(OPTIONS, image=np.zeros((28, 28, 1))))


# --- the test report -----------------------------------------------------------------------

def test_report_matches_numpy(trained):
    exp, state, _ = trained
    rep = exp.test_report(state)
    probs = exp.predict(state, _x_test(exp))
    y = np.asarray(exp.dataset.arrays.y_test)
    pred = probs.argmax(axis=1)
    confusion = np.zeros((4, 4), int)
    for t, p in zip(y, pred, strict=True):
        confusion[t, p] += 1
    np.testing.assert_array_equal(rep.confusion, confusion)
    np.testing.assert_array_equal(rep.confusion, exp.confusion_matrix(state))
    np.testing.assert_allclose(rep.class_accuracy, np.diag(confusion) / confusion.sum(axis=1),
                               rtol=1e-6)
    wrong = np.flatnonzero(pred != y)
    conf = probs.max(axis=1)
    shown = rep.wrong[rep.wrong >= 0]
    assert len(shown) == min(12, len(wrong))
    assert set(shown.tolist()) <= set(wrong.tolist())
    # the most confident wrong ones, most confident first
    np.testing.assert_allclose(rep.wrong_confidence[:len(shown)], conf[shown], rtol=1e-6)
    assert np.all(np.diff(rep.wrong_confidence[:len(shown)]) <= 0)
    if len(wrong) > len(shown):
        rest = np.setdiff1d(wrong, shown)
        assert conf[rest].max() <= rep.wrong_confidence[len(shown) - 1] + 1e-7
    np.testing.assert_array_equal(rep.wrong_predicted[:len(shown)], pred[shown])
    assert np.all(rep.wrong[len(shown):] == -1)


RIGHT = [[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.0, 0.0, 1.0]]


def test_report_pads_with_minus_one_and_orders_by_confidence():
    # 3 wrong among 15: the 12 slots hold them, most confident first, then -1.
    probs = jnp.array([[0.6, 0.3, 0.1],     # 0: wrong (true 2, said 0 at 0.6)
                       [0.1, 0.85, 0.05],   # 1: wrong (true 2, said 1 at 0.85)
                       [0.3, 0.3, 0.4]]     # 2: wrong (true 0, said 2 at 0.4)
                      + RIGHT * 3)
    labels = jnp.array([2, 2, 0] + [0, 1, 1, 2] * 3)
    rep = report_of(probs, labels, 4)  # class 3 has no picture
    np.testing.assert_array_equal(rep.confusion, [[3, 0, 1, 0], [0, 6, 0, 0], [1, 1, 3, 0],
                                                  [0, 0, 0, 0]])
    acc = np.asarray(rep.class_accuracy)
    np.testing.assert_allclose(acc[:3], [0.75, 1.0, 0.6], rtol=1e-6)
    assert np.isnan(acc[3])
    assert rep.wrong.shape == rep.wrong_predicted.shape == rep.wrong_confidence.shape == (12,)
    assert rep.wrong[:3].tolist() == [1, 0, 2] and np.all(rep.wrong[3:] == -1)
    assert rep.wrong_predicted[:3].tolist() == [1, 0, 2]
    np.testing.assert_allclose(rep.wrong_confidence[:3], [0.85, 0.6, 0.4], rtol=1e-6)
    assert np.all(np.asarray(rep.wrong_confidence[3:]) == 0)


def test_report_of_fewer_than_12_test_pictures_still_has_12_slots():
    # A small upload (e.g. 20 pictures, half for training) has fewer than 12 test
    # pictures; the report's lists are documented as (WRONG_SHOWN,), -1 padded.
    probs = jnp.array([[0.6, 0.3, 0.1], *RIGHT])
    rep = report_of(probs, jnp.array([2, 0, 1, 1, 2]), 3)
    assert rep.wrong.shape == (12,)
    assert rep.wrong.tolist() == [0] + [-1] * 11
    assert rep.wrong_predicted.shape == rep.wrong_confidence.shape == (12,)


def test_report_of_one_sigmoid_unit():
    probs = jnp.array([[0.9], [0.2], [0.6], [0.45]])  # P(class 1)
    rep = report_of(probs, jnp.array([1, 1, 0, 0]), 2)
    np.testing.assert_array_equal(rep.confusion, [[1, 1], [1, 1]])
    assert rep.wrong[:2].tolist() == [1, 2]  # 0.8 sure of class 0, then 0.6 of class 1
    assert rep.wrong_predicted[:2].tolist() == [0, 1]
    np.testing.assert_allclose(rep.wrong_confidence[:2], [0.8, 0.6], rtol=1e-6)


# --- explain_conv ------------------------------------------------------------------------------

CORNERS = {0: 16, 1: 8, 2: 4, 3: 4}  # output side of each map layer


def _places(side):
    return [(0, 0), (0, side - 1), (side - 1, 0), (side - 1, side - 1), (side // 2, 1)]


@pytest.mark.parametrize("layer", [0, 1, 2, 3])
def test_explained_values_are_the_feature_maps(trained, layer):
    exp, state, im = trained
    image = _x_test(exp)[EXAMPLE]
    channels = im.maps[layer].shape[2]
    for r, c in _places(CORNERS[layer]):
        for ch in range(channels):
            comp = exp.explain_conv(state, image, layer, r, c, ch)
            assert (comp.row, comp.col, comp.channel) == (r, c, ch)
            assert comp.value == pytest.approx(float(im.maps[layer][r, c, ch]), rel=1e-4,
                                               abs=1e-5)


def _layer_input(exp, state, image, layer):
    """What layer ``layer`` reads for one picture, from the NumPy forward pass."""
    if layer == 0:
        a = exp.dataset.arrays
        return (np.asarray(image, np.float64) - float(a.mean[0])) / float(a.std[0])
    return np_forward(exp, state, image)[0][layer - 1]


def test_explained_convolution_with_batch_norm(trained):
    exp, state, _ = trained
    image = _x_test(exp)[EXAMPLE]
    x = _layer_input(exp, state, image, 0)
    p, ms = state.params[0], state.model_state[0]
    comp = exp.explain_conv(state, image, 0, 0, 0, 2)
    assert comp.kind == "conv2d" and comp.activation == "relu"
    assert comp.rows == (-1, 0, 1) and comp.cols == (-1, 0, 1)
    want_patch = np.zeros((3, 3, 1))
    want_patch[1:, 1:] = x[:2, :2]  # the padding reads 0
    np.testing.assert_allclose(comp.patch, want_patch, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(comp.kernel, np.asarray(p["w"])[..., 2], rtol=1e-6)
    np.testing.assert_allclose(comp.products, want_patch * np.asarray(p["w"])[..., 2],
                               rtol=1e-5, atol=1e-6)
    assert comp.total == pytest.approx(float(comp.products.sum()), rel=1e-6)
    assert comp.bias == pytest.approx(float(p["b"][2]))
    pre = comp.total + comp.bias
    normed = ((pre - float(ms["mean"][2])) / np.sqrt(float(ms["var"][2]) + 1e-5)
              * float(p["scale"][2]) + float(p["offset"][2]))
    assert comp.normalized == pytest.approx(normed, rel=1e-5, abs=1e-6)
    assert comp.value == pytest.approx(max(normed, 0.0), rel=1e-5, abs=1e-6)
    assert comp.size.out == 16 and comp.size.pad_before == 1 and comp.size.pad_total == 2
    assert "ceil(16 / 1) = 16" in comp.size.formula


def test_explained_stride_2_convolution_pads_after(trained):
    exp, state, im = trained
    image = _x_test(exp)[EXAMPLE]
    x = _layer_input(exp, state, image, 2)  # (8, 8, 4), the max pool's output
    comp = exp.explain_conv(state, image, 2, 3, 3, 5)
    assert comp.normalized is None and comp.activation == "tanh"
    assert comp.rows == (6, 7, 8) and comp.cols == (6, 7, 8)  # row 8 is the padding after
    assert comp.size.pad_before == 0 and comp.size.pad_total == 1
    want = np.zeros((3, 3, 4))
    want[:2, :2] = x[6:8, 6:8]
    np.testing.assert_allclose(comp.patch, want, rtol=1e-4, atol=1e-5)
    assert comp.value == pytest.approx(np.tanh(comp.total + comp.bias), rel=1e-5, abs=1e-6)
    assert comp.value == pytest.approx(float(im.maps[2][3, 3, 5]), rel=1e-4, abs=1e-5)
    first = exp.explain_conv(state, image, 2, 0, 0, 5)
    assert first.rows == (0, 1, 2)  # no padding before


def test_explained_max_pool_names_its_winner(trained):
    exp, state, im = trained
    image = _x_test(exp)[EXAMPLE]
    before = im.maps[0]  # the max pool's input
    for r, c in _places(8):
        for ch in range(4):
            comp = exp.explain_conv(state, image, 1, r, c, ch)
            assert comp.kind == "max_pool" and comp.kernel is None and comp.products is None
            wr, wc = comp.winner
            assert wr in comp.rows and wc in comp.cols
            assert 0 <= wr < 16 and 0 <= wc < 16
            assert comp.value == pytest.approx(float(before[wr, wc, ch]), rel=1e-4, abs=1e-5)
            assert comp.value == pytest.approx(float(np.nanmax(comp.patch)), rel=1e-6)
    corner = exp.explain_conv(state, image, 1, 7, 7, 0)
    assert corner.rows == (14, 15, 16)
    assert np.all(np.isnan(corner.patch[2, :])) and np.all(np.isnan(corner.patch[:, 2]))
    np.testing.assert_allclose(corner.patch[:2, :2], before[14:16, 14:16, 0], rtol=1e-4,
                               atol=1e-5)


def test_explained_average_pool_divides_by_real_pixels(trained):
    exp, state, im = trained
    image = _x_test(exp)[EXAMPLE]
    before = im.maps[2]  # (4, 4, 6)
    for (r, c), window in [((0, 0), (slice(0, 2), slice(0, 2))),
                           ((3, 3), (slice(2, 4), slice(2, 4))),
                           ((1, 0), (slice(0, 3), slice(0, 2))),
                           ((1, 2), (slice(0, 3), slice(1, 4)))]:
        for ch in range(6):
            comp = exp.explain_conv(state, image, 3, r, c, ch)
            want = float(before[window][..., ch].astype(np.float64).mean())
            assert comp.value == pytest.approx(want, rel=1e-4, abs=1e-6)
            assert comp.winner is None and comp.kind == "avg_pool"


def test_explaining_a_drawn_picture(trained, drawn_picture):
    exp, state, _ = trained
    maps = np_forward(exp, state, drawn_picture)[0]
    for layer, (r, c, ch) in [(0, (3, 3, 1)), (1, (1, 1, 3)), (2, (0, 3, 4)), (3, (2, 1, 0))]:
        comp = exp.explain_conv(state, drawn_picture, layer, r, c, ch)
        assert comp.value == pytest.approx(float(maps[layer][r, c, ch]), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("layer, place, match", [
    (4, (0, 0, 0), "not a conv2d or pool layer"),   # global_avg_pool
    (5, (0, 0, 0), "not a conv2d or pool layer"),   # the output layer is not hidden
    (-1, (0, 0, 0), "not a conv2d or pool layer"),
    (0, (16, 0, 0), "outside this layer's output"),
    (0, (0, -1, 0), "outside this layer's output"),
    (0, (0, 0, 4), "outside this layer's output"),
    (2, (4, 0, 0), "outside this layer's output"),
    (1, (0, 0, 4), "outside this layer's output"),
])
def test_explain_errors(trained, layer, place, match):
    exp, state, _ = trained
    with pytest.raises(DataError, match=match):
        exp.explain_conv(state, _x_test(exp)[0], layer, *place)


# --- a valid-padding network at its initial weights, and a binary one ---------------------

def test_valid_convolution_explained_at_initial_weights():
    spec = Spec.from_dict({
        "data": {"name": "shapes", "n": 40},
        "model": {"layers": [{"type": "conv2d", "filters": 3, "kernel": 5, "stride": 2,
                              "padding": "valid", "activation": "elu"},
                             {"type": "avg_pool", "size": 2, "stride": 2},
                             {"type": "flatten"}]},
        "batch_size": 8})
    exp = engine.build(spec)
    state = exp.init()
    image = _x_test(exp)[0]
    p = state.params[0]
    z = one_conv(image, p["w"], p["b"], 2, "valid")  # (6, 6, 3)
    out = np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    assert out.shape == (6, 6, 3)
    for r, c in [(0, 0), (5, 5), (2, 4)]:
        for ch in range(3):
            comp = exp.explain_conv(state, image, 0, r, c, ch)
            assert comp.rows == tuple(range(2 * r, 2 * r + 5))
            assert comp.size.pad_total == 0 and comp.size.out == 6
            assert comp.size.formula == "valid: floor((16 + 2 x 0 - 5) / 2) + 1 = 6"
            assert comp.value == pytest.approx(out[r, c, ch], rel=1e-4, abs=1e-6)
            pool = exp.explain_conv(state, image, 1, r // 2, c // 2, ch)
            want = out[r // 2 * 2:r // 2 * 2 + 2, c // 2 * 2:c // 2 * 2 + 2, ch].mean()
            assert pool.value == pytest.approx(want, rel=1e-4, abs=1e-6)
    with pytest.raises(DataError, match="outside"):
        exp.explain_conv(state, image, 0, 6, 0, 0)


def _two_class_zip() -> bytes:
    import io
    import zipfile

    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, name in enumerate(("dark", "light")):
            for i in range(6):
                pixels = rng.integers(0, 120, (12, 12)) + 120 * k
                png = io.BytesIO()
                Image.fromarray(pixels.astype(np.uint8)).save(png, "PNG")
                z.writestr(f"{name}/{i}.png", png.getvalue())
    return buf.getvalue()


def test_probes_of_one_sigmoid_unit():
    raw = engine.data.load_image_zip(_two_class_zip(), size=12, channels=1)
    spec = Spec.from_dict({"data": {"name": "my_images", "n": 12, "train_fraction": 0.5},
                           "model": {"layers": [{"type": "conv2d", "filters": 2},
                                                {"type": "flatten"}]},
                           "batch_size": 6})
    exp = engine.build(spec, raw)
    assert exp.structure.net.head.out_dim == 1
    state = exp.init()
    x = _x_test(exp)
    for i in range(len(x)):
        im = exp.probe(state, ProbeOptions(resolution=0, neuron_resolution=0,
                                           gradients=False, images=True, example=i)).images
        net, a = exp.structure.net, exp.dataset.arrays

        def logit(img, net=net, a=a):
            h = featurize(net, img[None], a.mean, a.std)
            return apply_network(net, state.params, state.model_state, h, exp.values,
                                 key=None, train=False)[0][0, 0]

        z = float(logit(jnp.asarray(x[i])))
        assert im.probs.shape == (1,)
        assert float(im.probs[0]) == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-5)
        assert int(im.predicted) == int(z > 0)
        grad = np.asarray(jax.grad(logit)(jnp.asarray(x[i])))
        np.testing.assert_allclose(im.saliency, np.abs(grad).max(axis=-1), rtol=1e-4,
                                   atol=1e-7)
    rep = exp.test_report(state)
    pred = (exp.predict(state, x)[:, 0] > 0.5).astype(int)
    y = np.asarray(exp.dataset.arrays.y_test)
    assert rep.confusion.shape == (2, 2)
    assert int(np.trace(rep.confusion)) == int((pred == y).sum())


def test_chunked_evaluation_of_a_cnn_matches_numpy():
    # mnist_cnn evaluates 2,000 test digits in chunks of a few hundred (the last one
    # padded): predictions, metrics and the report must be those of every digit.
    spec = preset_spec("mnist_cnn")
    spec = dataclasses.replace(spec, data=dataclasses.replace(spec.data, n=64))
    exp = engine.build(spec)
    assert exp.fns.eval_chunk < 2000 and 2000 % exp.fns.eval_chunk
    state = exp.init()
    x, y = _x_test(exp).astype(np.float64), np.asarray(exp.dataset.arrays.y_test)
    p = [{k: np.asarray(v, np.float64) for k, v in layer.items()} for layer in state.params]
    # conv2d 32 3x3 valid relu -> flatten -> dense 128 relu -> dense 10 softmax
    patches = np.stack([x[:, i:i + 26, j:j + 26, 0] for i in range(3) for j in range(3)], -1)
    h = np.maximum(patches @ p[0]["w"].reshape(9, 32) + p[0]["b"], 0).reshape(len(x), -1)
    h = np.maximum(h @ p[2]["w"] + p[2]["b"], 0)
    z = h @ p[3]["w"] + p[3]["b"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    got = exp.predict(state, _x_test(exp))
    np.testing.assert_allclose(got, probs, rtol=1e-3, atol=1e-5)
    m = exp.metrics(state)
    assert m["test_accuracy"] == pytest.approx(float((probs.argmax(1) == y).mean()), abs=1e-6)
    assert m["test_loss"] == pytest.approx(float(-np.log(probs[np.arange(len(y)), y]).mean()),
                                           rel=1e-4)
    rep = exp.test_report(state)
    assert int(rep.confusion.sum()) == 2000
    np.testing.assert_array_equal(np.diag(rep.confusion),
                                  np.bincount(y[probs.argmax(1) == y], minlength=10))
