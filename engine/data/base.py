"""What every dataset is made of: containers, the one registry, splitting and packing.

Each family (``points``, ``table``, ``sequences``, ``images``) registers its entries in
``DATASETS`` (see ``engine.data``); ``build_dataset`` asks the entry named by the
spec to build itself. Points and tables share ``split_points``: one seeded shuffle,
train/validation/test splits and the training set's feature statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from engine.data.features import apply_features, check_features, raw_column_index
from engine.errors import DataError
from engine.registry import Registry

MAX_CLASSES = 10
"""Most classes a classification dataset may have."""

FAMILIES = ("points", "table", "sequence", "images")
"""Generated points (TF Playground's and more), an uploaded table, sequence tasks,
images."""


class DataArrays(NamedTuple):
    """The device arrays of a dataset (a pytree; every leaf a jax array).

    ``x_*`` are raw points ``(n_split, d)`` float32; ``y_*`` are ``(n_split,)``, int32 class
    ids for classification and float32 targets for regression. ``mean`` and ``std`` are
    ``(F,)`` float32 statistics of the training set's *features* (zeros and ones when
    standardisation is off). An empty validation split has ``x_val`` of shape ``(0, d)``.
    Sequence tasks (``Dataset.sequence``) have ``x_*`` (n, T) int32 token ids or
    (n, T, d) float32, ``y_*`` (n, T) per token (class -1 = no target at that step) or
    (n,), and unused ``mean``/``std`` of shape (1,).

    ``sizes`` is None except in a padded network's data (``engine.train.padded``):
    then it is (4,) int32, the examples of train, validation and test and the batch
    size, all traced; ``x_train``/``y_train`` hold every split's rows in that order,
    then zero rows up to a fixed capacity, and ``x_val``..``y_test`` are empty. A new
    example count or batch size is then a change of values, not of shapes.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_val: jax.Array
    y_val: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    mean: jax.Array
    std: jax.Array
    sizes: jax.Array | None = None

    @property
    def rows(self) -> int:
        """Rows of every split together (of padded data: its capacity)."""
        return self.x_train.shape[0] + self.x_val.shape[0] + self.x_test.shape[0]


@dataclass(frozen=True)
class Dataset:
    """A built dataset: arrays plus what the app needs to draw and label it.

    Attributes:
        arrays: the split arrays and feature statistics.
        task: ``"classification"`` or ``"regression"``.
        n_classes: number of classes (0 for regression).
        input_dim: number of raw input columns ``d``.
        features: feature names the model computes from the raw points (``F`` of them).
        extent: the app draws the input plane on ``[-extent, extent]`` per raw column
            (data with one or two columns).
        feature_names: names of the raw columns (``("x1", "x2")`` for generated sets).
        class_names: one name per class (``("0", "1", ...)`` for generated sets; the
            original label text for CSVs; empty for regression).
        sequence: what sequence data look like (``SequenceInfo``); None for points.
            Sequence tasks have no features, ``input_dim`` 0 and ``extent`` 0, and
            ``feature_names`` holds the token vocabulary.
        image: ``(H, W, C)`` of image data (``x_*`` are ``(n, H, W, C)`` in [0, 1]);
            None for other data.
    """

    arrays: DataArrays
    task: str
    n_classes: int
    input_dim: int
    features: tuple[str, ...]
    extent: float
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    sequence: SequenceInfo | None = None
    image: tuple[int, int, int] | None = None
    centre: tuple[float, ...] = ()
    extents: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        # The plane through the data, per raw column: 0 +- extent for one or two
        # columns (TF Playground's square); each column's mean +- its spread for more,
        # so a picture over any two columns holds the points.
        if not self.centre:
            d = max(self.input_dim, 1)
            object.__setattr__(self, "centre", (0.0,) * d)
            object.__setattr__(self, "extents", (float(self.extent),) * d)


@dataclass(frozen=True)
class SequenceInfo:
    """What a sequence task's data look like (hashable: part of the network's key).

    Attributes:
        tokens: inputs are token ids ``(n, T)`` int32 (else vectors ``(n, T, d)`` float32).
        per_token: targets ``(n, T)`` at every step (class -1 = no target at that step)
            rather than one per sequence ``(n,)``.
        in_shape: the input's shape without the batch axis as the layers see it:
            ``(T, V)`` for tokens (V = vocabulary size, as one-hot), ``(T, d)`` else.
        vocab: display name of each token id (empty for vectors).
    """

    tokens: bool
    per_token: bool
    in_shape: tuple[int, int]
    vocab: tuple[str, ...]


@dataclass(frozen=True)
class RawData:
    """An uploaded table, parsed and checked (what ``load_csv`` returns).

    Attributes:
        x: feature columns, float64 ``(n, d)``.
        y: labels ``(n,)``: int64 class ids ``0..K-1`` or float64 regression targets.
        task: ``"classification"`` or ``"regression"``.
        n_classes: number of classes (0 for regression).
        column_names: names of the ``d`` feature columns, in file order.
        class_names: the original label of each class id (empty for regression).
        label_name: name of the column used as the label.
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    n_classes: int
    column_names: tuple[str, ...]
    class_names: tuple[str, ...]
    label_name: str = "label"



class DataKind(Protocol):
    """What an entry of ``DATASETS`` offers (``PointSet``, ``Table``, ``SequenceTask``)."""

    family: str
    task: str

    def build(self, spec: Any, raw: RawData | None) -> Dataset:
        """The dataset a data spec describes (``raw``: the uploaded table, if any)."""
        ...


DATASETS: Registry[Any] = Registry("dataset")
"""Every dataset a spec may name, in menu order (filled by ``engine.data``)."""


def datasets_of(family: str) -> tuple[str, ...]:
    """The dataset names of one family (``FAMILIES``), in menu order."""
    return tuple(name for name in DATASETS if DATASETS.get(name).family == family)


def split_sizes(n: int, train_fraction: float, val_fraction: float) -> tuple[int, int, int]:
    n_train = round(n * train_fraction)
    n_val = round(n * val_fraction)
    n_test = n - n_train - n_val
    if n_train < 1:
        raise DataError(
            f"train_fraction {train_fraction} of {n} points leaves no training points; "
            "raise train_fraction (or use more points)"
        )
    if n_test < 1:
        raise DataError(
            f"train_fraction {train_fraction} and val_fraction {val_fraction} of {n} points "
            "leave no test points; lower train_fraction or val_fraction"
        )
    return n_train, n_val, n_test



def split_points(x: np.ndarray, y: np.ndarray, spec: Any, rng: np.random.Generator,
                 features: tuple[str, ...], task: str,
                 order: np.ndarray | None = None) -> DataArrays:
    """Shuffle (continuing ``rng``), split and pack points with their feature statistics.

    ``x`` is ``(n, d)`` raw points and ``y`` ``(n,)`` labels; ``spec`` gives the
    fractions and ``standardize``. With ``standardize`` the mean and standard deviation
    are the training split's, of exactly what the model sees (float32 features).
    ``order``: the shuffle to use, a permutation of ``n`` (default: drawn from ``rng``).
    """
    n = x.shape[0]
    n_train, n_val, _ = split_sizes(n, spec.train_fraction, spec.val_fraction)
    # The shuffle continues the generator's stream, so the whole dataset hangs on one seed.
    perm = rng.permutation(n) if order is None else np.asarray(order)
    x = np.asarray(x, np.float32)[perm]
    y = np.asarray(y)[perm].astype(np.int32 if task == "classification" else np.float32)
    cut = (n_train, n_train + n_val)
    x_train, x_val, x_test = np.split(x, cut)
    y_train, y_val, y_test = np.split(y, cut)
    if spec.standardize:
        mean, std = feature_stats(x_train, features)
    else:
        mean = np.zeros(len(features))
        std = np.ones(len(features))
    return DataArrays(
        # device_put copies; jnp.asarray would compile a kernel per new split size
        *(jax.device_put(a) for a in (x_train, y_train, x_val, y_val, x_test, y_test)),
        mean=jnp.asarray(mean, jnp.float32),
        std=jnp.asarray(std, jnp.float32),
    )


STATS_ROWS = 512
"""``feature_stats`` computes features on at least this many rows (a power of two)."""


def feature_stats(x: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (F,) float64 of the features ``names`` of raw points
    ``x`` (n, d), on the host; a constant feature gets 1 (it stays as it is).

    The rows are padded with zeros to a power of two (``STATS_ROWS`` at least) before
    the features are computed: each JAX operation on a new shape compiles a small
    kernel (a quarter second for all of them), and a training share or a hand-placed
    point would otherwise pay that on every new count.
    """
    x = np.asarray(x, np.float32)
    n = x.shape[0]
    if n == 0:
        return np.zeros(len(names)), np.ones(len(names))
    rows = max(STATS_ROWS, 1 << (n - 1).bit_length())
    padded = np.pad(x, [(0, rows - n), (0, 0)])
    f = np.asarray(apply_features(padded, names), np.float64)[:n]
    std = f.std(axis=0)
    return f.mean(axis=0), np.where(std < 1e-6, 1.0, std)


def check_point_features(features: tuple[str, ...], input_dim: int) -> tuple[str, ...]:
    """The features a model computes from ``input_dim`` raw columns (see ``raw_features``)."""
    if input_dim > 2:
        features = raw_features(features, input_dim)
    check_features(features, input_dim)
    return features


def raw_features(spec_features: tuple[str, ...], d: int) -> tuple[str, ...]:
    """For data with more than 2 columns: every raw column, once the spec allows it."""
    for name in spec_features:
        index = raw_column_index(name)
        if index is None or index >= d:
            raise DataError(
                f"features like {name!r} are only for 1- or 2-column data; this CSV has "
                f"{d} feature columns, which the model uses as they are (x1 to x{d})"
            )
    return tuple(f"x{i + 1}" for i in range(d))
