"""Points placed by hand: the link codec (engine.data.hand) and the hand datasets."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

import engine
from engine import Spec
from engine.data import (
    DATASETS,
    MAX_CLASSES,
    MAX_HAND_POINTS,
    MAX_POINTS_CHARS,
    build_dataset,
    datasets_of,
    decode_points,
    encode_points,
    points_of,
    snap,
    snap_value,
)
from engine.data.hand import points_needed
from engine.errors import DataError, SpecError
from playground.core.url import MAX_URL_CHARS, spec_from_query, spec_to_query

STEP = 12 / 4095  # the grid's spacing over [-6, 6]
TASKS = ("classification", "regression")


def _points(n: int, task: str, seed: int = 0, spread: float = 6.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-spread, spread, (n, 2))
    y = rng.integers(0, MAX_CLASSES, n) if task == "classification" else rng.uniform(-1, 1, n)
    return x, y


def _hand_spec(x, y, task: str = "classification", **data) -> Spec:
    name = "hand" if task == "classification" else "hand_regression"
    text = encode_points(x, y, task)
    return Spec.from_dict({"data": {"name": name, "points": text, **data}})


# --- the codec -----------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 100, 500, MAX_HAND_POINTS])
def test_round_trip_is_exact_on_the_grid(task, n):
    x, y = _points(n, task, seed=n)
    text = encode_points(x, y, task)
    assert len(text) == math.ceil(16 * n / 3)  # 4 bytes a point, base64 without padding
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    x2, y2 = decode_points(text, task)
    assert x2.shape == (n, 2) and x2.dtype == np.float64 and y2.shape == (n,)
    np.testing.assert_array_equal(x2, snap(x))
    assert np.max(np.abs(x2 - x), initial=0) <= STEP / 2 + 1e-12
    if task == "classification":
        assert y2.dtype == np.int64
        np.testing.assert_array_equal(y2, y)
    else:
        assert y2.dtype == np.float64
        np.testing.assert_array_equal(y2, snap_value(y))
        assert np.max(np.abs(y2 - y), initial=0) <= 1 / 254 + 1e-12
    assert encode_points(x2, y2, task) == text  # decoding is exact for points on the grid
    np.testing.assert_array_equal(snap(x2), x2)


def test_edges_clipping_and_regression_extremes():
    x = np.array([[-6.0, 6.0], [6.0, -6.0], [0.0, 0.0], [-9.5, 40.0], [7.0, -1e9]])
    text = encode_points(x, np.array([-1.0, 1.0, 0.0, -3.0, 2.5]), "regression")
    x2, y2 = decode_points(text, "regression")
    np.testing.assert_array_equal(x2[:2], x[:2])  # the plane's corners are on the grid
    assert abs(x2[2]).max() < STEP  # 0 is between two grid points
    np.testing.assert_array_equal(x2[3:], [[-6.0, 6.0], [6.0, -6.0]])  # outside: clipped
    np.testing.assert_array_equal(y2, [-1.0, 1.0, 0.0, -1.0, 1.0])  # +-1 and 0 are exact
    assert encode_points(np.array([[-6.0, -6.0]]), [0], "classification") == "AAAAAA"
    assert encode_points(np.array([[6.0, 6.0]]), [9], "classification") == "____CQ"


def test_snap_shows_what_the_link_holds():
    x = np.array([[0.001, -0.001], [5.9999, 123.0]])
    s = snap(x)
    assert s.shape == (2, 2) and s[1, 1] == 6.0
    np.testing.assert_array_equal(decode_points(encode_points(x, [1, 2], "classification"),
                                                "classification")[0], s)
    np.testing.assert_array_equal(snap(s), s)
    assert snap_value(np.array([0.5]))[0] == pytest.approx(0.5, abs=1 / 254)


def test_link_budget_figures():
    for n, chars in ((100, 534), (300, 1600), (500, 2667), (MAX_HAND_POINTS, MAX_POINTS_CHARS)):
        assert len(encode_points(*_points(n, "classification"), "classification")) == chars
    # A generated 500-point set, started from in the app, fits a link with room to spare.
    ds = build_dataset(Spec.from_dict({"data": {"name": "spiral", "n": 500}}).data)
    assert len(encode_points(*points_of(ds), "classification")) == 2667 < MAX_URL_CHARS / 2


@pytest.mark.parametrize(
    ("x", "y", "task"),
    [
        (np.zeros((3, 3)), np.zeros(3), "classification"),  # not (n, 2)
        (np.zeros((3, 2)), np.zeros(2), "classification"),  # y does not match
        (np.zeros((MAX_HAND_POINTS + 1, 2)), np.zeros(MAX_HAND_POINTS + 1), "classification"),
        (np.array([[np.nan, 0.0]]), np.zeros(1), "classification"),
        (np.zeros((1, 2)), np.array([10]), "classification"),
        (np.zeros((1, 2)), np.array([-1]), "classification"),
        (np.zeros((1, 2)), np.array([1.5]), "classification"),
        (np.zeros((1, 2)), np.array([np.nan]), "classification"),
        (np.zeros((1, 2)), np.array([np.inf]), "regression"),
        (np.zeros((1, 2)), np.array(["a"]), "classification"),
        (np.zeros((1, 2)), np.zeros(1), "clustering"),
    ],
)
def test_encode_refuses_what_it_cannot_hold(x, y, task):
    with pytest.raises(DataError, match="hand"):
        encode_points(x, y, task)


@pytest.mark.parametrize(
    ("text", "task", "why"),
    [
        ("AAAA+A", "classification", "not one of"),  # standard base64, not URL-safe
        ("AAAA/A", "classification", "not one of"),
        ("AAAAAA==", "classification", "not one of"),  # padding
        ("AAAA A", "classification", "not one of"),
        ("AAAAA", "classification", "whole number of points"),
        ("A", "classification", "whole number of points"),
        ("AAAAAAAA", "classification", "whole number of points"),  # 6 bytes
        ("AAAACg", "classification", "class id 10"),
        ("AAAA_w", "regression", "label byte 255"),
        ("AAAAAB", "classification", "last character"),  # unused bits set
        ("A" * (MAX_POINTS_CHARS + 1), "classification", "at most"),
        (None, "classification", "expected text"),
        (b"AAAAAA", "classification", "expected text"),
    ],
)
def test_decode_refuses_damaged_text_with_one_message(text, task, why):
    with pytest.raises(DataError, match=why) as info:
        decode_points(text, task)
    assert str(info.value).startswith("the hand-placed points (data.points) are damaged")


def test_decode_fuzz_raises_only_data_errors():
    rng = np.random.default_rng(0)
    alphabet = list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= !é%")
    good = encode_points(*_points(40, "classification"), "classification")
    accepted = 0
    for i in range(3000):
        if i % 3 == 0:  # random text
            text = "".join(rng.choice(alphabet, rng.integers(0, 40)))
        elif i % 3 == 1:  # a good text with a few characters changed, dropped or added
            chars = list(good)
            for _ in range(rng.integers(1, 4)):
                j = int(rng.integers(0, len(chars)))
                op = rng.integers(0, 3)
                if op == 0:
                    chars[j] = str(rng.choice(alphabet))
                elif op == 1:
                    del chars[j]
                else:
                    chars.insert(j, str(rng.choice(alphabet)))
            text = "".join(chars)
        else:  # random bytes, encoded properly: only the label bytes can be wrong
            raw = rng.integers(0, 256, 4 * int(rng.integers(0, 12)), dtype=np.uint8)
            text = base64.urlsafe_b64encode(raw.tobytes()).decode().rstrip("=")
        for task in TASKS:
            try:
                x, y = decode_points(text, task)
            except DataError as err:
                assert "data.points" in str(err)
                continue
            accepted += 1
            assert encode_points(x, y, task) == text
    assert accepted > 100


# --- the datasets --------------------------------------------------------------------------


def test_registered_as_point_sets_after_the_generated_ones():
    names = list(datasets_of("points"))
    assert names[-2:] == ["hand", "hand_regression"]
    for name, task in (("hand", "classification"), ("hand_regression", "regression")):
        kind = DATASETS.get(name)
        assert kind.task == task and kind.input_dim == 2 and kind.extent == 6.0
        assert "Noise and the point count do not apply" in DATASETS.describe(name)
    assert DATASETS.get("hand").multiclass and not DATASETS.get("hand_regression").multiclass


def _separable(n: int = 40):
    x1 = np.linspace(-5, 5, n)
    x = np.stack([np.where(x1 < 0, x1 - 0.5, x1 + 0.5), np.cos(np.arange(n)) * 4], axis=1)
    return x, (x1 > 0).astype(np.int64)


def test_separable_hand_points_train_a_logistic_model_to_accuracy_one():
    x, y = _separable()
    spec = _hand_spec(x, y, classes=2, train_fraction=0.75).updated(
        model={"layers": []}, optimizer={"name": "adam", "learning_rate": 0.1})
    exp = engine.build(spec)
    assert exp.dataset.n_classes == 2 and exp.dataset.task == "classification"
    state, chunk = exp.train(exp.init(), 20)
    assert np.all(np.isfinite(chunk.history["train_loss"]))
    state, _ = exp.train(state, 300)
    m = exp.metrics(state)
    assert m["train_accuracy"] == 1.0 and m["test_accuracy"] == 1.0


@pytest.mark.parametrize("task", TASKS)
def test_hand_sets_build_and_train_with_features(task):
    x, y = _points(60, task, seed=3)
    if task == "classification":
        y = y % 4
    spec = _hand_spec(x, y, task, classes=4, features=["x1", "x2", "x1^2", "sin(x2)"],
                      standardize=True, val_fraction=0.2)
    exp = engine.build(spec)
    assert exp.dataset.features == ("x1", "x2", "x1^2", "sin(x2)")
    assert exp.dataset.n_classes == (4 if task == "classification" else 0)
    _, chunk = exp.train(exp.init(), 20)
    assert np.all(np.isfinite(chunk.history["train_loss"]))
    assert np.all(np.isfinite(chunk.history["test_loss"]))


@pytest.mark.parametrize("name", ["hand", "hand_regression"])
def test_no_points_yet_gives_the_starter_set(name):
    exp = engine.build(Spec.from_dict({"data": {"name": name}}))
    x, y = points_of(exp.dataset)
    assert len(x) >= 20
    np.testing.assert_allclose(snap(x), x, atol=1e-5)  # on the grid (as float32)
    assert len(encode_points(x, y, DATASETS.get(name).task)) == math.ceil(len(x) * 16 / 3)
    if name == "hand":
        assert set(y.tolist()) == {0, 1}
    _, chunk = exp.train(exp.init(), 20)
    assert np.all(np.isfinite(chunk.history["train_loss"]))


def test_same_spec_same_arrays_and_noise_and_n_are_ignored():
    x, y = _points(50, "classification", seed=5)
    spec = _hand_spec(x, y, classes=10)
    a = build_dataset(spec.data).arrays
    for other in (spec, spec.updated(data={"noise": 0.4, "n": 1000})):
        b = build_dataset(other.data).arrays
        for one, two in zip(a, b, strict=True):
            assert np.asarray(one).dtype == np.asarray(two).dtype
            np.testing.assert_array_equal(np.asarray(one), np.asarray(two))
    c = build_dataset(spec.updated(data={"seed": 1}).data).arrays
    assert not np.array_equal(np.asarray(a.x_train), np.asarray(c.x_train))  # a new shuffle


@pytest.mark.parametrize(("train", "val", "sizes"),
                         [(0.5, 0.0, (25, 0, 25)), (0.8, 0.0, (40, 0, 10)),
                          (0.6, 0.2, (30, 10, 10))])
def test_split_follows_the_fractions_and_points_of_gives_every_point(train, val, sizes):
    x, y = _points(50, "regression", seed=2)
    spec = _hand_spec(x, y, "regression", train_fraction=train, val_fraction=val)
    ds = build_dataset(spec.data)
    a = ds.arrays
    assert (len(a.x_train), len(a.x_val), len(a.x_test)) == sizes
    px, py = points_of(ds)
    order = np.lexsort(px.T)
    want = np.lexsort(snap(x).T)
    np.testing.assert_allclose(px[order], snap(x)[want], atol=1e-5)  # float32 arrays
    np.testing.assert_allclose(py[order], snap_value(y)[want], atol=1e-6)
    assert encode_points(px, py, "regression") != ""


def test_points_of_a_generated_set_is_raw_even_when_standardised():
    spec = Spec.from_dict({"data": {"name": "gauss", "n": 100, "standardize": True}})
    ds = build_dataset(spec.data)
    x, y = points_of(ds)
    assert x.shape == (100, 2) and y.dtype == np.int64
    np.testing.assert_array_equal(x[:50], np.asarray(ds.arrays.x_train, np.float64))
    assert abs(x.mean()) > 0.01 or x.std() != pytest.approx(1.0)  # not standardised
    with pytest.raises(DataError, match="2-column"):
        points_of(build_dataset(Spec.from_dict({"data": {"name": "line"}}).data))


@pytest.mark.parametrize(("n", "train", "val", "more"),
                         [(0, 0.5, 0.0, 4), (1, 0.5, 0.0, 3), (3, 0.5, 0.0, 1),
                          (4, 0.9, 0.0, 1), (3, 0.5, 0.4, 2),
                          (7, 0.5, 0.4, 1)])  # 7 leaves no test point, 8 does
def test_too_few_points_says_how_many_to_add(n, train, val, more):
    x, y = _points(n, "classification")
    y = y % 2
    assert points_needed(n, train, val) == n + more
    with pytest.raises(DataError, match=f"add at least {more} more point"):
        engine.build(_hand_spec(x, y, classes=2, train_fraction=train, val_fraction=val))
    engine.build(_hand_spec(*_points(n + more, "classification"), classes=10,
                            train_fraction=train, val_fraction=val))


def test_class_ids_beyond_the_classes_are_refused_clearly():
    x = np.zeros((6, 2))
    spec = _hand_spec(x, np.array([0, 1, 2, 0, 1, 4]), classes=3)
    with pytest.raises(SpecError, match=r"use class 4 but there are 3 classes.*set "
                                        r"classes to 5") as info:
        engine.build(spec)
    assert info.value.field == "data.classes"
    assert engine.build(spec.updated(data={"classes": 5})).dataset.n_classes == 5


def test_a_link_carries_a_300_point_hand_set_unchanged():
    x, y = _points(300, "classification", seed=9)
    spec = _hand_spec(x, y % 3, classes=3).updated(seed=4)
    query = spec_to_query(spec)
    assert len(query) < MAX_URL_CHARS and len(query) < 1800
    assert spec_from_query(query) == spec
    assert Spec.from_json(spec.to_json()) == spec
    assert json.loads(query)["data"]["points"] == spec.data.points


def test_points_on_other_datasets_are_ignored_like_csv():
    # Decision: a spec keeps its points when the user switches to another dataset (so
    # switching back restores them), and other datasets ignore them, as they ignore csv.
    text = encode_points(*_points(10, "classification"), "classification")
    with_points = Spec.from_dict({"data": {"name": "circle", "n": 40, "points": text}})
    plain = Spec.from_dict({"data": {"name": "circle", "n": 40}})
    assert with_points.data.points == text
    for one, two in zip(build_dataset(with_points.data).arrays, build_dataset(plain.data).arrays,
                        strict=True):
        np.testing.assert_array_equal(np.asarray(one), np.asarray(two))


def test_the_spec_field_bounds_and_damaged_points_in_a_spec():
    with pytest.raises(SpecError, match=r"data\.points"):
        Spec.from_dict({"data": {"name": "hand", "points": 12}})
    with pytest.raises(SpecError, match=r"data\.points"):
        Spec.from_dict({"data": {"name": "hand", "points": "A" * (MAX_POINTS_CHARS + 1)}})
    spec = Spec.from_dict({"data": {"name": "hand", "points": "AAAA!A"}})
    with pytest.raises(DataError, match="damaged"):
        engine.build(spec)


def test_adding_or_removing_a_point_leaves_the_other_points_in_their_splits() -> None:
    """A click must not reshuffle the set: the points a student sees as training points
    stay training points (at most one crosses the cut as the sizes change)."""
    rng = np.random.default_rng(1)
    x = engine.data.snap(rng.uniform(-6, 6, (60, 2)))
    y = (x[:, 0] > 0).astype(np.int64)

    def test_points(x: np.ndarray, y: np.ndarray) -> set[tuple[float, float]]:
        spec = engine.Spec.from_dict({"data": {"name": "hand", "classes": 2, "points":
                                               encode_points(x, y, "classification")}})
        return {tuple(p) for p in np.round(np.asarray(engine.build(spec).dataset.arrays
                                                        .x_test), 3).tolist()}

    base = test_points(x, y)
    assert len(base) == 30
    added = test_points(np.vstack([x, [[1.0, 1.0]]]), np.append(y, 1))
    removed = test_points(x[1:], y[1:])
    assert len(base ^ added) <= 2 and len(base ^ removed) <= 2


def test_a_set_too_large_for_a_link_travels_in_the_spec_not_the_link() -> None:
    from playground.core.url import too_long_for_a_link

    rng = np.random.default_rng(3)
    x = engine.data.snap(rng.uniform(-6, 6, (1800, 2)))
    y = (x[:, 1] > 0).astype(np.int64)
    spec = Spec.from_dict({"data": {"name": "hand", "classes": 2,
                                    "points": encode_points(x, y, "classification")}})
    assert too_long_for_a_link(spec)
    q = spec_to_query(spec)
    assert len(q) <= MAX_URL_CHARS and spec_from_query(q).data.points is None
    assert Spec.from_json(spec.to_json()) == spec  # the exported spec keeps them
