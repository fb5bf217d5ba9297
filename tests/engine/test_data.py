"""Tests for engine.data: generators, CSV loading and build_dataset."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

from engine.data import (
    DATASETS,
    MAX_CLASSES,
    MAX_CSV_ROWS,
    DataArrays,
    Dataset,
    RawData,
    build_dataset,
    datasets_of,
    load_csv,
)
from engine.data.features import apply_features
from engine.errors import DataError, SpecError

POINTS = list(datasets_of("points"))  # the point sets, in menu order
GENERATED = [n for n in POINTS if n not in ("hand", "hand_regression")]  # the generators


@dataclass(frozen=True)
class Spec:
    """Stands in for the engine's DataSpec: build_dataset only reads these attributes."""

    name: str = "circle"
    n: int = 200
    noise: float = 0.0
    train_fraction: float = 0.5
    val_fraction: float = 0.0
    features: tuple[str, ...] = ("x1", "x2")
    seed: int = 0
    standardize: bool = False
    classes: int = 3


def _spec_for(name: str, **changes) -> Spec:
    dim = DATASETS.get(name).input_dim
    features = ("x1", "x2") if dim == 2 else ("x1",)
    return dataclasses.replace(Spec(name=name, features=features), **changes)


def _generate(name: str, n: int = 400, noise: float = 0.0, classes: int = 3, seed: int = 0):
    kind = DATASETS.get(name)
    return kind.generate(np.random.default_rng(seed), n, noise, classes)


def _all_arrays(ds: Dataset) -> list[np.ndarray]:
    return [np.asarray(a) for a in ds.arrays]


# --- the registry and every generator ------------------------------------------------


def test_registry_order_and_docs():
    assert POINTS == [
        "circle",
        "xor",
        "gauss",
        "spiral",
        "reg_plane",
        "reg_gauss",
        "moons",
        "blobs",
        "spirals",
        "xor_gate",
        "line",
        "sine",
        "hand",
        "hand_regression",
    ]
    for name in POINTS:
        assert len(DATASETS.describe(name)) > 30
    # menus show words, not codes: every point set has a title of its own
    titles = [DATASETS.title(n) for n in POINTS]
    assert len(set(titles)) == len(POINTS) and not set(titles) & set(POINTS)
    assert DATASETS.title("spiral") != DATASETS.title("spirals")
    assert DATASETS.title("mnist") == "mnist"  # no title: the name
    assert "0.5" in DATASETS.describe("line") and "1" in DATASETS.describe("line")
    assert MAX_CSV_ROWS == 10_000 and MAX_CLASSES == 10


@pytest.mark.parametrize("name", GENERATED)
def test_generator_shapes_dtypes_labels_and_determinism(name):
    kind = DATASETS.get(name)
    n = 101  # odd, so the remainders of balanced splits are exercised
    x, y = _generate(name, n=n, noise=0.2, classes=4)
    assert x.shape == (n, kind.input_dim) and x.dtype == np.float64
    assert y.shape == (n,)
    if kind.task == "classification":
        assert y.dtype == np.int64
        k = 4 if kind.multiclass else 2
        assert set(np.unique(y)) == set(range(k))
    else:
        assert kind.task == "regression" and y.dtype == np.float64
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    x2, y2 = _generate(name, n=n, noise=0.2, classes=4)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = _generate(name, n=n, noise=0.2, classes=4, seed=1)
    assert not np.array_equal(x, x3)


@pytest.mark.parametrize("name", GENERATED)
def test_build_dataset_arrays_deterministic_per_seed(name):
    kind = DATASETS.get(name)
    spec = _spec_for(name, n=60, noise=0.1, val_fraction=0.2, standardize=True)
    ds = build_dataset(spec)
    a = ds.arrays
    assert isinstance(a, DataArrays)
    d, f = kind.input_dim, len(spec.features)
    assert a.x_train.shape == (30, d) and a.x_val.shape == (12, d) and a.x_test.shape == (18, d)
    assert a.y_train.shape == (30,) and a.y_val.shape == (12,) and a.y_test.shape == (18,)
    assert a.mean.shape == (f,) and a.std.shape == (f,)
    for arr in (a.x_train, a.x_val, a.x_test, a.mean, a.std):
        assert arr.dtype == np.float32
    y_dtype = np.int32 if kind.task == "classification" else np.float32
    assert a.y_train.dtype == y_dtype and a.y_test.dtype == y_dtype
    assert ds.task == kind.task and ds.input_dim == d and ds.features == spec.features
    assert ds.feature_names == ("x1", "x2")[:d]
    if kind.task == "classification":
        k = 3 if kind.multiclass else 2
        assert ds.n_classes == k and ds.class_names == tuple(str(i) for i in range(k))
    else:
        assert ds.n_classes == 0 and ds.class_names == ()
    again = build_dataset(spec)
    for one, two in zip(_all_arrays(ds), _all_arrays(again), strict=True):
        assert one.dtype == two.dtype
        np.testing.assert_array_equal(one, two)
    other = build_dataset(dataclasses.replace(spec, seed=1))
    assert not np.array_equal(np.asarray(ds.arrays.x_train), np.asarray(other.arrays.x_train))


def test_tf_sets_are_drawn_on_the_tf_plane():
    for name in ("circle", "xor", "gauss", "spiral", "reg_plane", "reg_gauss", "line"):
        assert build_dataset(_spec_for(name, n=20)).extent == 6.0


# --- TF Playground's geometry ----------------------------------------------------------


def test_circle_noise_free_separable_by_radius_and_balanced():
    x, y = _generate("circle", n=1000)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all(r[y == 1] < 2.5)
    assert np.all((r[y == 0] >= 3.5) & (r[y == 0] <= 5.0))
    assert np.sum(y == 1) == 500 and np.sum(y == 0) == 500


def test_circle_noise_flips_labels_but_not_points():
    # TF labels the noisy position but stores the clean point.
    x, y = _generate("circle", n=1000, noise=0.5)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all((r <= 2.5) | ((r >= 3.5) & (r <= 5.0)))
    disagree = np.mean((r < 3.0) != (y == 1))
    assert 0.05 < disagree < 0.5
    # The same seed draws the same points at any noise level.
    x0, _ = _generate("circle", n=1000, noise=0.0)
    np.testing.assert_array_equal(x, x0)


def test_xor_labels_follow_sign_of_product_and_padding():
    x, y = _generate("xor", n=1000)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.int64))
    assert np.all(np.abs(x) >= 0.3) and np.all(np.abs(x) <= 5.3)
    _, y_noisy = _generate("xor", n=1000, noise=0.5)
    assert np.any(y_noisy != y)


def test_gauss_means_and_variance():
    x, y = _generate("gauss", n=4000)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(x[y == 1].std(axis=0), np.sqrt(0.5), rtol=0.1)
    x_wide, _ = _generate("gauss", n=4000, noise=0.5)  # variance 4, std 2
    np.testing.assert_allclose(x_wide[y == 1].std(axis=0), 2.0, rtol=0.1)


def test_spiral_radii_and_arms():
    x, y = _generate("spiral", n=400)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all((r >= 0) & (r <= 5))
    # Noise free, arm i of 200 sits at radius i / 200 * 5; the two arms are point mirrors.
    np.testing.assert_allclose(np.sort(r[y == 1]), np.arange(200) / 200 * 5, atol=1e-12)
    np.testing.assert_allclose(x[y == 1], -x[y == 0], atol=1e-12)


def test_reg_plane_label_is_scaled_sum():
    x, y = _generate("reg_plane", n=500)
    np.testing.assert_allclose(y, (x[:, 0] + x[:, 1]) / 10, atol=1e-12)
    assert np.all(np.abs(x) <= 6)


def test_reg_gauss_labels_in_range_and_peaks():
    x, y = _generate("reg_gauss", n=3000)
    assert np.all((y >= -1) & (y <= 1))
    assert y.max() > 0.8 and y.min() < -0.8
    # Far from every centre (distance >= 2) the target is exactly 0.
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    far = np.min(np.linalg.norm(x[:, None, :] - centres[None], axis=-1), axis=1) >= 2
    assert np.all(y[far] == 0) and far.any()
    near = np.linalg.norm(x - [0, 2.5], axis=1) < 1  # the (0, 2.5) bump is negative
    assert np.all(y[near] < 0)


def test_line_fits_slope_and_intercept():
    x, y = _generate("line", n=100)
    slope, intercept = np.polyfit(x[:, 0], y, 1)
    assert slope == pytest.approx(0.5, abs=1e-9) and intercept == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.abs(x) <= 5)


def test_sine_noise_free():
    x, y = _generate("sine", n=100)
    np.testing.assert_allclose(y, np.sin(x[:, 0]))


def test_moons_fit_the_plane():
    x, y = _generate("moons", n=1000)
    assert np.all(np.abs(x) <= 5)
    assert np.sum(y == 0) == 500
    # Outer moon opens downward above the inner one: its mean is higher.
    assert x[y == 0, 1].mean() > x[y == 1, 1].mean()


def test_blobs_balanced_on_a_circle():
    x, y = _generate("blobs", n=103, classes=4)
    np.testing.assert_array_equal(np.bincount(y), [26, 26, 26, 25])
    x, y = _generate("blobs", n=4000, classes=5)
    for k in range(5):
        centre = x[y == k].mean(axis=0)
        assert np.hypot(*centre) == pytest.approx(3.5, abs=0.1)


def test_spirals_generalise_spiral():
    x, y = _generate("spirals", n=300, classes=3)
    np.testing.assert_array_equal(np.bincount(y), [100, 100, 100])
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all(r <= 5)
    # Arm 1 is arm 0 turned by 2*pi/3 (clockwise: x = r sin t, y = r cos t).
    angle = 2 * np.pi / 3
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    np.testing.assert_allclose(x[y == 0] @ rot, x[y == 1], atol=1e-9)


def test_xor_gate_corners():
    x, y = _generate("xor_gate", n=10)
    assert set(map(tuple, x)) == {(-1, -1), (-1, 1), (1, -1), (1, 1)}
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))
    np.testing.assert_array_equal(np.bincount(y), [5, 5])
    x_noisy, _ = _generate("xor_gate", n=10, noise=0.1)
    assert not np.array_equal(x_noisy, x)


@pytest.mark.parametrize("classes", [1, 11])
def test_multiclass_count_checked(classes):
    with pytest.raises(SpecError) as err:
        build_dataset(Spec(name="blobs", classes=classes))
    assert err.value.field == "data.classes"


def test_non_multiclass_ignores_classes():
    ds = build_dataset(Spec(name="circle", classes=7))
    assert ds.n_classes == 2


# --- splitting, standardising, spec errors ---------------------------------------------


def test_split_sizes():
    ds = build_dataset(Spec(n=200, train_fraction=0.5, val_fraction=0.2))
    assert ds.arrays.x_train.shape[0] == 100
    assert ds.arrays.x_val.shape[0] == 40
    assert ds.arrays.x_test.shape[0] == 60
    empty_val = build_dataset(Spec(n=200, train_fraction=0.7, val_fraction=0.0))
    assert empty_val.arrays.x_val.shape == (0, 2) and empty_val.arrays.y_val.shape == (0,)
    assert empty_val.arrays.x_test.shape[0] == 60


def test_split_is_a_shuffle_of_all_points():
    spec = Spec(n=100, val_fraction=0.2)
    ds = build_dataset(spec)
    x_all = np.concatenate([ds.arrays.x_train, ds.arrays.x_val, ds.arrays.x_test])
    x_gen, y_gen = _generate("circle", n=100, seed=spec.seed)
    label_of = {tuple(p): int(c) for p, c in zip(x_gen.astype(np.float32), y_gen, strict=True)}
    y_all = np.concatenate([ds.arrays.y_train, ds.arrays.y_val, ds.arrays.y_test])
    assert {tuple(p) for p in x_all} == set(label_of)
    # Each point keeps its own label through the shuffle.
    assert [label_of[tuple(p)] for p in x_all] == y_all.tolist()
    # Classes are mixed across the split, not left in generation order.
    assert 0 < np.asarray(ds.arrays.y_train).mean() < 1


@pytest.mark.parametrize(
    ("train", "val", "fragment"),
    [(0.001, 0.0, "raise train_fraction"), (0.8, 0.2, "lower train_fraction or val_fraction")],
)
def test_split_errors(train, val, fragment):
    with pytest.raises(DataError, match=fragment):
        build_dataset(Spec(n=100, train_fraction=train, val_fraction=val))


def test_standardisation_of_train_features():
    features = ("x1", "x2", "x1^2", "x1*x2", "sin(x2)")
    ds = build_dataset(Spec(name="gauss", n=400, features=features, standardize=True))
    a = ds.arrays
    z = (np.asarray(apply_features(a.x_train, features)) - np.asarray(a.mean)) / np.asarray(a.std)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-4)
    plain = build_dataset(Spec(name="gauss", n=400, features=features, standardize=False))
    np.testing.assert_array_equal(np.asarray(plain.arrays.mean), np.zeros(5, np.float32))
    np.testing.assert_array_equal(np.asarray(plain.arrays.std), np.ones(5, np.float32))


def test_constant_feature_keeps_unit_std():
    text = "a,b,label\n" + "".join(f"{i},1,{i % 2}\n" for i in range(8))
    ds = build_dataset(Spec(name="csv", standardize=True), load_csv(text))
    assert float(ds.arrays.std[1]) == 1.0


def test_unknown_dataset_and_bad_features():
    with pytest.raises(SpecError) as err:
        build_dataset(Spec(name="donut"))
    assert err.value.field == "data.name" and "circle" in str(err.value)
    with pytest.raises(SpecError, match="'x2' needs 2-D data"):
        build_dataset(Spec(name="line", features=("x1", "x2")))


def test_csv_without_upload():
    with pytest.raises(DataError, match="needs its table"):
        build_dataset(Spec(name="csv"))


# --- CSV loading -----------------------------------------------------------------------


def _rows(n: int, label=lambda i: i % 2) -> str:
    return "".join(f"{i * 0.5},{-i},{label(i)}\n" for i in range(n))


GOOD_HEADER = "x1,x2,label\n"


@pytest.mark.parametrize(
    ("text", "kwargs", "fragments"),
    [
        pytest.param("", {}, ["empty"], id="empty"),
        pytest.param("  \n\n", {}, ["empty"], id="blank"),
        pytest.param(",,\n , \n", {}, ["empty"], id="separators-only"),
        pytest.param(GOOD_HEADER, {}, ["0 data rows", "at least 4"], id="header-only"),
        pytest.param(
            "a\n1\n2\n3\n4\n", {}, ["one feature column and one label column"], id="one-column"
        ),
        pytest.param("1,2,0\n" + _rows(6), {}, ["header"], id="no-header"),
        pytest.param(
            GOOD_HEADER + _rows(2) + "1,,0\n" + _rows(2),
            {},
            ["row 4", "'x2'", "empty"],
            id="missing-value",
        ),
        pytest.param(
            GOOD_HEADER + _rows(3) + "abc,1,0\n",
            {},
            ["row 5", "'x1'", "'abc'", "not a number"],
            id="text-feature",
        ),
        pytest.param(
            GOOD_HEADER + "1,2,0\n" + "x" * 50 + ",1,0\n" + _rows(3),
            {},
            ["row 3", "'x1'", "'" + "x" * 20 + "...'"],
            id="long-text-truncated",
        ),
        pytest.param(
            GOOD_HEADER + _rows(2) + "1,2\n" + _rows(2),
            {},
            ["row 4", "2 cells", "3 columns"],
            id="ragged-row",
        ),
        pytest.param(
            GOOD_HEADER + _rows(12),
            {"max_rows": 10},
            ["12 rows", "limit is 10"],
            id="too-many-rows",
        ),
        pytest.param(
            GOOD_HEADER + _rows(3) + "nan,1,0\n", {}, ["row 5", "'x1'", "nan"], id="nan-feature"
        ),
        pytest.param(
            GOOD_HEADER + _rows(3) + "1,1,inf\n", {}, ["row 5", "'label'", "inf"], id="inf-label"
        ),
        pytest.param(
            GOOD_HEADER + _rows(6, label=lambda i: 3),
            {},
            ["'label'", "only one value", "'3'"],
            id="single-class",
        ),
        pytest.param(
            GOOD_HEADER + _rows(12, label=lambda i: f"c{i}"),
            {},
            ["12 different values", "at most 10"],
            id="too-many-text-classes",
        ),
        pytest.param(
            GOOD_HEADER + _rows(12, label=lambda i: i),
            {"task": "classification"},
            ["12 different values", "regression"],
            id="too-many-int-classes",
        ),
        pytest.param(
            GOOD_HEADER + _rows(6),
            {"label_column": "z"},
            ["'z'", "x1, x2, label"],
            id="unknown-label-column",
        ),
        pytest.param(
            GOOD_HEADER + "1,2,cat\n" + _rows(5),
            {"task": "regression"},
            ["row 2", "'label'", "'cat'", "regression"],
            id="text-label-regression",
        ),
        pytest.param("x1,x1,label\n" + _rows(6), {}, ["'x1'", "twice"], id="duplicate-column"),
        pytest.param("x1,,label\n" + _rows(6), {}, ["column 2", "no name"], id="unnamed-column"),
        pytest.param(
            ",".join(f"f{i}" for i in range(18)) + "\n" + "1," * 17 + "0\n",
            {},
            ["17 feature columns", "limit is 16"],
            id="too-many-columns",
        ),
        pytest.param(GOOD_HEADER + _rows(6), {"task": "ordinal"}, ["task"], id="bad-task"),
    ],
)
def test_bad_csv_raises_a_specific_message(text, kwargs, fragments):
    with pytest.raises(DataError) as err:
        load_csv(text, **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_csv_plus_minus_one_labels_become_classes():
    raw = load_csv(GOOD_HEADER + _rows(8, label=lambda i: 1 if i % 2 else -1))
    assert isinstance(raw, RawData)
    assert raw.task == "classification" and raw.n_classes == 2
    assert raw.class_names == ("-1", "1")
    np.testing.assert_array_equal(raw.y, np.arange(8) % 2)
    assert raw.y.dtype == np.int64
    assert raw.x.shape == (8, 2) and raw.x.dtype == np.float64
    np.testing.assert_array_equal(raw.x[:, 1], -np.arange(8))
    assert raw.column_names == ("x1", "x2") and raw.label_name == "label"


def test_csv_text_labels():
    raw = load_csv(
        "w,h,animal\n" + "".join(f"{i},{i + 1},{'dog' if i % 3 else 'cat'}\n" for i in range(9))
    )
    assert raw.task == "classification" and raw.class_names == ("cat", "dog")
    np.testing.assert_array_equal(raw.y, [0, 1, 1, 0, 1, 1, 0, 1, 1])


def test_csv_float_labels_become_regression():
    raw = load_csv("a,b\n" + "".join(f"{i},{i * 0.25}\n" for i in range(6)))
    assert raw.task == "regression" and raw.n_classes == 0 and raw.class_names == ()
    assert raw.y.dtype == np.float64
    np.testing.assert_allclose(raw.y, np.arange(6) * 0.25)
    # Many distinct integers are a regression target too.
    many = load_csv("a,b\n" + "".join(f"{i},{i * 3}\n" for i in range(20)))
    assert many.task == "regression"
    # Integer labels can be forced to regression.
    forced = load_csv(GOOD_HEADER + _rows(6), task="regression")
    assert forced.task == "regression"


def test_csv_explicit_label_column_and_named_label_column():
    text = "label_id,price,size\n" + "".join(f"{i},{i * 1.5},{i % 2}\n" for i in range(6))
    raw = load_csv(text, label_column="label_id")
    assert raw.label_name == "label_id" and raw.column_names == ("price", "size")
    assert raw.task == "classification" and raw.n_classes == 6
    named = load_csv("Label,a,b\n" + "".join(f"{i % 2},{i},{i * 2.5}\n" for i in range(6)))
    assert named.label_name == "Label" and named.column_names == ("a", "b")
    np.testing.assert_array_equal(named.y, np.arange(6) % 2)
    # "x,y,label": the 'label' column wins over a coordinate named y.
    xy = load_csv("x,y,label\n" + _rows(6))
    assert xy.label_name == "label" and xy.column_names == ("x", "y")
    # Without a named column the last one is the label.
    last = load_csv("a,b,c\n" + _rows(6))
    assert last.label_name == "c"


def test_csv_tolerates_bom_spaces_blank_lines_and_float_class_names():
    text = "\ufeff x1 , x2 , label \n" + " 1 , 2 , 0.5 \n\n1,3,1.5\n2,2,0.5\n3,1,1.5\n\n"
    raw = load_csv(text, task="classification")
    assert raw.column_names == ("x1", "x2")
    assert raw.class_names == ("0.5", "1.5")
    np.testing.assert_array_equal(raw.y, [0, 1, 0, 1])


def test_csv_round_trip_through_build_dataset():
    raw = load_csv(GOOD_HEADER + _rows(20, label=lambda i: "yes" if i % 2 else "no"))
    spec = Spec(name="csv", n=999, val_fraction=0.25, standardize=True)
    ds = build_dataset(spec, raw)
    a = ds.arrays
    assert a.x_train.shape == (10, 2) and a.x_val.shape == (5, 2) and a.x_test.shape == (5, 2)
    assert ds.task == "classification" and ds.n_classes == 2
    assert ds.class_names == ("no", "yes") and ds.feature_names == ("x1", "x2")
    assert ds.extent == pytest.approx(19 * 1.1)
    x_all = np.concatenate([a.x_train, a.x_val, a.x_test])
    y_all = np.concatenate([a.y_train, a.y_val, a.y_test])
    order = np.argsort(x_all[:, 0])
    np.testing.assert_array_equal(x_all[order], raw.x.astype(np.float32))
    np.testing.assert_array_equal(y_all[order], raw.y)
    again = build_dataset(spec, raw)
    for one, two in zip(_all_arrays(ds), _all_arrays(again), strict=True):
        np.testing.assert_array_equal(one, two)


def test_csv_one_column_features():
    raw = load_csv("t,v\n" + "".join(f"{i},{i * 0.3}\n" for i in range(10)))
    ds = build_dataset(Spec(name="csv", features=("x1", "x1^2")), raw)
    assert ds.input_dim == 1 and ds.task == "regression" and ds.features == ("x1", "x1^2")
    with pytest.raises(SpecError, match="'x2' needs 2-D data"):
        build_dataset(Spec(name="csv"), raw)


def test_csv_zero_data_extent_floor():
    raw = load_csv("a,b\n" + "".join(f"0,{i % 2}\n" for i in range(6)))
    assert build_dataset(Spec(name="csv", features=("x1",)), raw).extent == 1e-3


def test_csv_with_many_feature_columns_uses_all_of_them():
    header = "a,b,c,d,e,label\n"
    rng = np.random.default_rng(0)
    body = "".join(
        ",".join(f"{v:.3f}" for v in rng.normal(size=5)) + f",{i % 3}\n" for i in range(30)
    )
    raw = load_csv(header + body)
    ds = build_dataset(Spec(name="csv", standardize=True), raw)
    assert ds.input_dim == 5 and ds.features == ("x1", "x2", "x3", "x4", "x5")
    assert ds.feature_names == ("a", "b", "c", "d", "e") and ds.n_classes == 3
    assert ds.arrays.x_train.shape == (15, 5) and ds.arrays.mean.shape == (5,)
    with pytest.raises(DataError, match="only for 1- or 2-column data; this CSV has 5"):
        build_dataset(Spec(name="csv", features=("x1", "x1^2")), raw)
