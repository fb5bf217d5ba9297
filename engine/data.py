"""Datasets: TensorFlow Playground's sets, a few more, and uploaded CSV files.

Every generator is deterministic given a ``np.random.Generator`` and draws the same
random numbers whatever the noise level, so moving the noise slider moves the points
(or flips labels) without reshuffling them. ``build_dataset`` turns a data spec into
shuffled, split, float32 device arrays plus the standardisation statistics of the
chosen features; the model standardises inside jit as ``(features(x) - mean) / std``.

Noise is a fraction, like TF Playground's slider value / 100 (0 to 0.5 in its UI).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from engine.errors import DataError, SpecError
from engine.features import (
    MAX_INPUT_DIM,
    apply_features,
    check_features,
    raw_column_index,
)
from engine.registry import Registry
from engine.sequence_tasks import SEQUENCE_TASKS, generate_task

MAX_CSV_ROWS = 10_000
"""Most data rows an uploaded CSV may have (the app trains in the browser's time budget)."""

MAX_CSV_BYTES = 2_000_000
"""Most characters a CSV may have (10,000 rows of 17 columns fit)."""

MAX_CSV_CHARS = 200_000
"""Most characters of a CSV table carried inside a spec (``data.csv``); larger uploads
stay in the app's session and travel beside the spec."""

MAX_CLASSES = 10
"""Most classes a classification dataset may have."""

MIN_CSV_ROWS = 4
"""Fewest data rows an uploaded CSV may have (enough to split into train and test)."""

TF_EXTENT = 6.0
"""Half-width of the input plane TF Playground draws, [-6, 6]^2."""

Generate = Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DatasetKind:
    """A dataset generator and what it produces.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        input_dim: number of raw input columns ``d``.
        generate: ``(rng, n, noise, classes) -> (X, y)`` with ``X`` float64 ``(n, d)`` and
            ``y`` ``(n,)``: int64 class ids ``0..K-1`` (classification) or float64 targets.
        multiclass: whether ``classes`` (2..10) sets the number of classes; otherwise a
            classification set has 2 classes and ``classes`` is ignored.
        extent: half-width of the square (or segment) the app draws the input plane on.
    """

    task: str
    input_dim: int
    generate: Generate
    multiclass: bool = False
    extent: float = TF_EXTENT


# ---------------------------------------------------------------------------------------
# Generators. TF Playground's four classification and two regression sets follow its
# src/dataset.ts exactly (geometry, noise meaning, labels computed from the *noisy*
# position while the *clean* point is stored); its +1/-1 labels become classes 1/0.
# ---------------------------------------------------------------------------------------


def _counts(n: int, k: int) -> list[int]:
    """Split ``n`` into ``k`` balanced counts; the first ``n % k`` get one extra."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _class_ids(counts: list[int]) -> np.ndarray:
    """``[2, 1] -> [0, 0, 1]``: class ids for points generated class by class."""
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _circle(rng: np.random.Generator, n: int, noise: float, classes: int):
    radius = 5.0
    n_pos, n_neg = _counts(n, 2)
    # Positive points inside r < 2.5, negative points in the ring 3.5 <= r <= 5.
    r = np.concatenate(
        [rng.uniform(0.0, radius * 0.5, n_pos), rng.uniform(radius * 0.7, radius, n_neg)]
    )
    angle = rng.uniform(0.0, 2 * np.pi, n)
    x, y = r * np.sin(angle), r * np.cos(angle)
    noise_x = rng.uniform(-radius, radius, n) * noise
    noise_y = rng.uniform(-radius, radius, n) * noise
    # TF labels the noisy position but stores the clean one: noise flips labels near r = 2.5.
    label = np.hypot(x + noise_x, y + noise_y) < radius * 0.5
    return np.stack([x, y], axis=1), label.astype(np.int64)


def _xor(rng: np.random.Generator, n: int, noise: float, classes: int):
    padding = 0.3
    x = rng.uniform(-5.0, 5.0, n)
    x = x + np.where(x > 0, padding, -padding)  # keep points off the axes
    y = rng.uniform(-5.0, 5.0, n)
    y = y + np.where(y > 0, padding, -padding)
    noise_x = rng.uniform(-5.0, 5.0, n) * noise
    noise_y = rng.uniform(-5.0, 5.0, n) * noise
    label = (x + noise_x) * (y + noise_y) >= 0
    return np.stack([x, y], axis=1), label.astype(np.int64)


def _gauss(rng: np.random.Generator, n: int, noise: float, classes: int):
    # TF maps noise linearly from [0, 0.5] to a variance in [0.5, 4] (no clamp).
    variance = 0.5 + noise / 0.5 * (4.0 - 0.5)
    n_pos, n_neg = _counts(n, 2)
    centres = np.repeat(np.array([[2.0, 2.0], [-2.0, -2.0]]), [n_pos, n_neg], axis=0)
    points = centres + math.sqrt(variance) * rng.standard_normal((n, 2))
    label = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return points, label


def _spiral_arm(rng: np.random.Generator, m: int, delta: float, noise: float) -> np.ndarray:
    """One TF spiral arm of ``m`` points, ``(m, 2)``: 1.75 turns out to radius 5."""
    i = np.arange(m, dtype=np.float64)
    r = i / m * 5.0
    t = 1.75 * i / m * 2 * np.pi + delta
    x = r * np.sin(t) + rng.uniform(-1.0, 1.0, m) * noise
    y = r * np.cos(t) + rng.uniform(-1.0, 1.0, m) * noise
    return np.stack([x, y], axis=1)


def _spiral(rng: np.random.Generator, n: int, noise: float, classes: int):
    n_pos, n_neg = _counts(n, 2)
    points = np.concatenate(
        [_spiral_arm(rng, n_pos, 0.0, noise), _spiral_arm(rng, n_neg, np.pi, noise)]
    )
    label = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return points, label


def _reg_plane(rng: np.random.Generator, n: int, noise: float, classes: int):
    radius = 6.0
    x = rng.uniform(-radius, radius, n)
    y = rng.uniform(-radius, radius, n)
    noise_x = rng.uniform(-radius, radius, n) * noise
    noise_y = rng.uniform(-radius, radius, n) * noise
    # Linear map of x + y from [-10, 10] to [-1, 1], not clamped (corners reach +-1.2).
    label = (x + noise_x + y + noise_y) / 10.0
    return np.stack([x, y], axis=1), label


_REG_GAUSSIANS = (
    (-4, 2.5, 1),
    (0, 2.5, -1),
    (4, 2.5, 1),
    (-4, -2.5, -1),
    (0, -2.5, 1),
    (4, -2.5, -1),
)


def _reg_gauss(rng: np.random.Generator, n: int, noise: float, classes: int):
    radius = 6.0
    x = rng.uniform(-radius, radius, n)
    y = rng.uniform(-radius, radius, n)
    noisy_x = x + rng.uniform(-radius, radius, n) * noise
    noisy_y = y + rng.uniform(-radius, radius, n) * noise
    label = np.zeros(n)
    # Each bump is a cone of height +-1 and radius 2; the strongest bump wins, ties keep
    # the earlier one (TF's strict ">" in the same order).
    for cx, cy, sign in _REG_GAUSSIANS:
        value = sign * np.clip(1.0 - np.hypot(noisy_x - cx, noisy_y - cy) / 2.0, 0.0, 1.0)
        label = np.where(np.abs(value) > np.abs(label), value, label)
    return np.stack([x, y], axis=1), label


def _moons(rng: np.random.Generator, n: int, noise: float, classes: int):
    scale = 3.0
    n_out, n_in = _counts(n, 2)
    t = rng.uniform(0.0, np.pi, n)
    # sklearn's make_moons shapes: outer (cos t, sin t), inner (1 - cos t, 0.5 - sin t).
    outer = np.stack([np.cos(t[:n_out]), np.sin(t[:n_out])], axis=1)
    inner = np.stack([1.0 - np.cos(t[n_out:]), 0.5 - np.sin(t[n_out:])], axis=1)
    points = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    # Centre the pair ([-1, 2] x [-0.5, 1]) on the origin and scale to about [-4.5, 4.5].
    points = (points - np.array([0.5, 0.25])) * scale
    return points, _class_ids([n_out, n_in])


def _blobs(rng: np.random.Generator, n: int, noise: float, classes: int):
    counts = _counts(n, classes)
    angle = 2 * np.pi * np.arange(classes) / classes
    centres = 3.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (K, 2)
    std = 0.5 + 2.0 * noise
    points = np.repeat(centres, counts, axis=0) + std * rng.standard_normal((n, 2))
    return points, _class_ids(counts)


def _spirals(rng: np.random.Generator, n: int, noise: float, classes: int):
    counts = _counts(n, classes)
    arms = [_spiral_arm(rng, m, 2 * np.pi * k / classes, noise) for k, m in enumerate(counts)]
    return np.concatenate(arms), _class_ids(counts)


_XOR_CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])


def _xor_gate(rng: np.random.Generator, n: int, noise: float, classes: int):
    counts = _counts(n, 4)
    points = np.repeat(_XOR_CORNERS, counts, axis=0) + noise * rng.standard_normal((n, 2))
    label = np.repeat(np.array([0, 1, 1, 0], np.int64), counts)
    return points, label


def _line(rng: np.random.Generator, n: int, noise: float, classes: int):
    x = rng.uniform(-5.0, 5.0, n)
    y = 0.5 * x + 1.0 + noise * rng.standard_normal(n)
    return x[:, None], y


def _sine(rng: np.random.Generator, n: int, noise: float, classes: int):
    x = rng.uniform(-5.0, 5.0, n)
    y = np.sin(x) + noise * rng.standard_normal(n)
    return x[:, None], y


DATASETS: Registry[DatasetKind] = Registry("dataset")
DATASETS.register(
    "circle",
    DatasetKind("classification", 2, _circle),
    "TF Playground's circle: class 1 inside radius 2.5, class 0 in a ring from 3.5 to 5. "
    "Noise flips labels of points near the gap.",
)
DATASETS.register(
    "xor",
    DatasetKind("classification", 2, _xor),
    "TF Playground's XOR: class 1 where x1 and x2 have the same sign, class 0 where they "
    "differ. Noise flips labels near the axes.",
)
DATASETS.register(
    "gauss",
    DatasetKind("classification", 2, _gauss),
    "TF Playground's two Gaussians: class 1 around (2, 2), class 0 around (-2, -2). "
    "Noise widens both clouds until they overlap.",
)
DATASETS.register(
    "spiral",
    DatasetKind("classification", 2, _spiral),
    "TF Playground's two interleaved spiral arms (class 1 and class 0), the hardest set. "
    "Noise jitters the points.",
)
DATASETS.register(
    "reg_plane",
    DatasetKind("regression", 2, _reg_plane),
    "TF Playground's plane: the target is (x1 + x2) / 10, a tilted flat surface. "
    "Noise perturbs the target.",
)
DATASETS.register(
    "reg_gauss",
    DatasetKind("regression", 2, _reg_gauss),
    "TF Playground's six bumps: the target is +1 or -1 at six centres, falling to 0 "
    "within distance 2. Noise perturbs the target.",
)
DATASETS.register(
    "moons",
    DatasetKind("classification", 2, _moons),
    "Two interleaving half circles (class 0 outer, class 1 inner), like scikit-learn's "
    "make_moons scaled by 3. Noise is the jitter's standard deviation in moon radii.",
)
DATASETS.register(
    "blobs",
    DatasetKind("classification", 2, _blobs, multiclass=True),
    "K round Gaussian clouds, one per class, evenly spaced on a circle of radius 3.5. "
    "Each cloud's standard deviation is 0.5 + 2 * noise.",
)
DATASETS.register(
    "spirals",
    DatasetKind("classification", 2, _spirals, multiclass=True),
    "K interleaved spiral arms, one per class: TF Playground's spiral with more arms. "
    "Noise jitters the points.",
)
DATASETS.register(
    "xor_gate",
    DatasetKind("classification", 2, _xor_gate, extent=2.5),
    "The XOR truth table on the corners (+-1, +-1): class 1 where exactly one input is +1. "
    "Noise is the standard deviation of a jitter around each corner.",
)
DATASETS.register(
    "line",
    DatasetKind("regression", 1, _line),
    "One input, target y = 0.5 * x + 1 (true slope 0.5, intercept 1) for x in [-5, 5]. "
    "Noise is the standard deviation of Gaussian noise added to y.",
)
DATASETS.register(
    "sine",
    DatasetKind("regression", 1, _sine),
    "One input, target y = sin(x) for x in [-5, 5]. "
    "Noise is the standard deviation of Gaussian noise added to y.",
)


# ---------------------------------------------------------------------------------------
# Containers.
# ---------------------------------------------------------------------------------------


class DataArrays(NamedTuple):
    """The device arrays of a dataset (a pytree; every leaf a jax array).

    ``x_*`` are raw points ``(n_split, d)`` float32; ``y_*`` are ``(n_split,)``, int32 class
    ids for classification and float32 targets for regression. ``mean`` and ``std`` are
    ``(F,)`` float32 statistics of the training set's *features* (zeros and ones when
    standardisation is off). An empty validation split has ``x_val`` of shape ``(0, d)``.
    Sequence tasks (``Dataset.sequence``) have ``x_*`` (n, T) int32 token ids or
    (n, T, d) float32, ``y_*`` (n, T) per token (class -1 = no target at that step) or
    (n,), and unused ``mean``/``std`` of shape (1,).
    """

    x_train: jax.Array
    y_train: jax.Array
    x_val: jax.Array
    y_val: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    mean: jax.Array
    std: jax.Array


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


# ---------------------------------------------------------------------------------------
# CSV upload.
# ---------------------------------------------------------------------------------------

_LABEL_NAMES = ("label", "target", "class", "y")  # priority: "x,y,label" keeps y a feature
_TASKS = ("auto", "classification", "regression")


def _cut(value: str, limit: int = 20) -> str:
    """A cell or name for a message, truncated so a pasted essay stays readable."""
    return value if len(value) <= limit else value[:limit] + "..."


def _short(value: str, limit: int = 20) -> str:
    """Quote a cell for a message, truncated (see ``_cut``)."""
    return repr(_cut(value, limit))


def _parse_number(text: str) -> float | None:
    """``float(text)`` or None; NaN and inf come back as floats (checked by the caller)."""
    try:
        return float(text)
    except ValueError:
        return None


def _class_name(value: float) -> str:
    """Print integral labels without ``.0`` (``-1.0 -> "-1"``), others as Python floats."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _pick_label(header: list[str], label_column: str | None) -> int:
    if label_column is not None:
        if label_column in header:
            return header.index(label_column)
        lowered = [h.lower() for h in header]
        if label_column.strip().lower() in lowered:
            return lowered.index(label_column.strip().lower())
        raise DataError(
            f"label column {_short(label_column)} is not in the file; its columns are: "
            f"{', '.join(_cut(h) for h in header)}"
        )
    lowered = [h.lower() for h in header]
    for name in _LABEL_NAMES:
        if name in lowered:
            return lowered.index(name)
    return len(header) - 1


def _read_rows(text: str, max_rows: int) -> tuple[list[str], list[tuple[int, list[str]]], int]:
    """(header, rows as (1-based line, cells), data row count) of CSV ``text``.

    The header's width is checked as soon as it is read: every later check is per
    column, and a header of 60,000 names must not cost minutes before being refused.
    Raises ``csv.Error`` for text the csv module cannot read (NUL bytes, a field over
    its size limit).
    """
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    n_rows = 0
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (often trailing) carry nothing
        if header is None:
            if len(cells) - 1 > MAX_INPUT_DIM:
                raise DataError(f"the file has {len(cells) - 1} feature columns; the limit "
                                f"is {MAX_INPUT_DIM}")
            header = [cell.strip() for cell in cells]
            continue
        n_rows += 1
        if n_rows <= max_rows:  # keep counting beyond the limit to report the size
            rows.append((reader.line_num, cells))
    if header is None:  # only separators, e.g. ",,\n"
        raise DataError("the file is empty; upload a CSV with a header row and data rows")
    return header, rows, n_rows


def load_csv(
    text: str,
    *,
    label_column: str | None = None,
    task: str = "auto",
    max_rows: int = MAX_CSV_ROWS,
) -> RawData:
    """Parse and check an uploaded CSV table.

    The first row is a header. The label is ``label_column`` if given, else a column named
    ``label``, ``target``, ``class`` or ``y`` (case-insensitive, in that priority), else the
    last column. Every other column is a numeric feature.

    With ``task="auto"``, integer labels with at most ``MAX_CLASSES`` distinct values mean
    classification, other numbers mean regression, and any text label means classification.
    Classes are the sorted distinct labels, numbered ``0..K-1`` (so -1/+1 become 0/1).

    Args:
        text: the file's contents.
        label_column: name of the label column, or None to guess it.
        task: ``"auto"``, ``"classification"`` or ``"regression"``.
        max_rows: most data rows accepted.

    Returns:
        A ``RawData`` with ``x`` float64 ``(n, d)`` and ``y`` ``(n,)``.

    Raises:
        DataError: with a message naming the row, column or value to fix.
    """
    if task not in _TASKS:
        raise DataError(f"task must be one of {', '.join(_TASKS)}, not {task!r}")
    if not isinstance(text, str):
        raise DataError("a CSV table must be text")
    if len(text) > MAX_CSV_BYTES:
        raise DataError(f"the file has {len(text):,} characters; the limit is "
                        f"{MAX_CSV_BYTES:,}")
    text = text.removeprefix("\ufeff")  # Excel writes a byte-order mark
    if not text.strip():
        raise DataError("the file is empty; upload a CSV with a header row and data rows")
    try:
        header, rows, n_rows = _read_rows(text, max_rows)
    except csv.Error as err:
        raise DataError(f"the file is not a readable CSV table ({err}); save it as plain "
                        "comma-separated text") from None

    if len(header) < 2:
        raise DataError(
            "the file needs at least one feature column and one label column, separated by "
            f"commas; its header has {len(header)} column ({_short(header[0])})"
        )
    if all(_parse_number(h) is not None for h in header):
        raise DataError(
            "the first row should be a header with column names, but it holds only numbers "
            f"({', '.join(_cut(h) for h in header[:4])}); add a header row such as x1,x2,label"
        )
    seen: set[str] = set()
    for j, name in enumerate(header):
        if not name:
            raise DataError(f"column {j + 1} has no name in the header row; give it a name")
        if name in seen:
            raise DataError(f"column name {_short(name)} appears twice in the header; "
                            "rename one")
        seen.add(name)
    if n_rows > max_rows:
        raise DataError(f"the file has {n_rows} rows; the limit is {max_rows}")
    if n_rows < MIN_CSV_ROWS:
        raise DataError(
            f"the file has {n_rows} data rows; it needs at least {MIN_CSV_ROWS} "
            "to train and test on"
        )

    label_index = _pick_label(header, label_column)
    label_name = header[label_index]
    feature_index = [j for j in range(len(header)) if j != label_index]

    x = np.empty((n_rows, len(feature_index)), dtype=np.float64)
    labels: list[str] = []
    for i, (line, cells) in enumerate(rows):
        if len(cells) != len(header):
            raise DataError(
                f"row {line} has {len(cells)} cells but the header has {len(header)} "
                "columns; every row needs one value per column"
            )
        cells = [cell.strip() for cell in cells]
        for j, name in enumerate(header):
            if not cells[j]:
                raise DataError(
                    f"row {line}, column {_short(name)} is empty; fill it in or delete the row"
                )
        for k, j in enumerate(feature_index):
            value = _parse_number(cells[j])
            if value is None:
                raise DataError(
                    f"row {line}, column {_short(header[j])} holds {_short(cells[j])}, which is "
                    "not a number; feature columns must be numeric"
                )
            if not math.isfinite(value):
                raise DataError(
                    f"row {line}, column {_short(header[j])} is {_short(cells[j])}; use finite "
                    "numbers"
                )
            x[i, k] = value
        labels.append(cells[label_index])

    # Numeric labels are checked for NaN/inf; one text label makes the column text.
    numbers = [_parse_number(label) for label in labels]
    numeric = all(v is not None for v in numbers)
    if numeric:
        for (line, _), label, value in zip(rows, labels, numbers, strict=True):
            if not math.isfinite(value):
                raise DataError(
                    f"row {line}, column {_short(label_name)} is {_short(label)}; use finite "
                    "numbers"
                )
        values = np.array(numbers, dtype=np.float64)
        distinct_count = len(np.unique(values))
    else:
        distinct_count = len(set(labels))
        if task == "regression":
            line, label = next(
                (line, label)
                for (line, _), label, v in zip(rows, labels, numbers, strict=True)
                if v is None
            )
            raise DataError(
                f"row {line}, column {_short(label_name)} holds {_short(label)}, which is not a "
                "number; regression needs a numeric label (or choose classification)"
            )
    if distinct_count < 2:
        raise DataError(
            f"label column {_short(label_name)} has only one value ({_short(labels[0])}); "
            "it needs at least two different values"
        )

    if task == "auto":
        integral = numeric and all(float(v).is_integer() for v in values)
        task = (
            "regression"
            if numeric and not (integral and distinct_count <= MAX_CLASSES)
            else "classification"
        )

    columns = tuple(header[j] for j in feature_index)
    if task == "regression":
        return RawData(x, values, "regression", 0, columns, (), label_name)

    if distinct_count > MAX_CLASSES:
        hint = "; for numeric targets choose regression" if numeric else ""
        raise DataError(
            f"label column {_short(label_name)} has {distinct_count} different values; "
            f"classification allows at most {MAX_CLASSES} classes{hint}"
        )
    if numeric:
        classes, y = np.unique(values, return_inverse=True)
        class_names = tuple(_class_name(c) for c in classes)
    else:
        class_names = tuple(sorted(set(labels)))
        index = {name: k for k, name in enumerate(class_names)}
        y = np.array([index[label] for label in labels])
    return RawData(
        x,
        y.astype(np.int64),
        "classification",
        len(class_names),
        columns,
        class_names,
        label_name,
    )


# ---------------------------------------------------------------------------------------
# Building a dataset from a spec.
# ---------------------------------------------------------------------------------------


def _split_sizes(n: int, train_fraction: float, val_fraction: float) -> tuple[int, int, int]:
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


def _raw_features(spec_features: tuple[str, ...], d: int) -> tuple[str, ...]:
    """For data with more than 2 columns: every raw column, once the spec allows it."""
    for name in spec_features:
        index = raw_column_index(name)
        if index is None or index >= d:
            raise DataError(
                f"features like {name!r} are only for 1- or 2-column data; this CSV has "
                f"{d} feature columns, which the model uses as they are (x1 to x{d})"
            )
    return tuple(f"x{i + 1}" for i in range(d))


def build_dataset(spec: Any, raw: RawData | None = None) -> Dataset:
    """Generate (or take uploaded) data, shuffle, split and compute feature statistics.

    Args:
        spec: any object with ``name`` (a ``DATASETS`` or ``SEQUENCE_TASKS`` name, or
            ``"csv"``), ``n`` (total
            points; ignored for CSV), ``noise``, ``train_fraction``, ``val_fraction``,
            ``features`` (tuple of names), ``seed``, ``standardize`` and ``classes``
            (used by multiclass sets only).
        raw: the parsed upload, required when ``spec.name == "csv"``.

    Returns:
        A ``Dataset`` whose arrays are bit-identical for identical specs.

    Raises:
        SpecError: unknown dataset or feature names, an unusable class count.
        DataError: missing upload, splits that leave no training or test points,
            non-raw features on a CSV with more than 2 columns.
    """
    if spec.name in SEQUENCE_TASKS:
        return _build_sequences(spec)
    features = tuple(spec.features)
    rng = np.random.default_rng(spec.seed)
    if spec.name == "csv":
        if raw is None:
            raise DataError(
                "dataset 'csv' needs uploaded data; upload a CSV file or pick another dataset"
            )
        x, y = raw.x, raw.y
        n, input_dim = x.shape
        sizes = _split_sizes(n, spec.train_fraction, spec.val_fraction)
        task, n_classes, class_names = raw.task, raw.n_classes, raw.class_names
        feature_names = raw.column_names
        # Leave a 10% margin around the data; the floor keeps an all-zero column drawable.
        extent = max(float(np.max(np.abs(x))) * 1.1, 1e-3)
        if input_dim > 2:
            mid = x.mean(axis=0)
            plane = (tuple(float(v) for v in mid), tuple(
                float(v) for v in np.maximum(np.max(np.abs(x - mid), axis=0) * 1.1, 1e-3)))
    else:
        kind = DATASETS.get(spec.name, "data.name")
        n, input_dim, task = int(spec.n), kind.input_dim, kind.task
        # Check before generating: the generators assume n >= 1.
        sizes = _split_sizes(n, spec.train_fraction, spec.val_fraction)
        if kind.multiclass:
            n_classes = int(spec.classes)
            if not 2 <= n_classes <= MAX_CLASSES:
                raise SpecError(
                    "data.classes",
                    f"{spec.name} needs 2 to {MAX_CLASSES} classes, not {spec.classes}",
                )
        else:
            n_classes = 2 if task == "classification" else 0
        x, y = kind.generate(rng, n, float(spec.noise), n_classes)
        class_names = tuple(str(k) for k in range(n_classes))
        feature_names = tuple(f"x{i + 1}" for i in range(input_dim))
        extent = kind.extent
    if input_dim <= 2:
        plane = ((), ())  # the square around 0 (see Dataset)

    if input_dim > 2:
        features = _raw_features(features, input_dim)
    check_features(features, input_dim)

    # The shuffle continues the generator's stream, so the whole dataset hangs on one seed.
    perm = rng.permutation(n)
    x = np.asarray(x, np.float32)[perm]
    y = np.asarray(y)[perm].astype(np.int32 if task == "classification" else np.float32)
    n_train, n_val, _ = sizes
    cut = (n_train, n_train + n_val)
    x_train, x_val, x_test = np.split(x, cut)
    y_train, y_val, y_test = np.split(y, cut)

    if spec.standardize:
        # Statistics of exactly what the model sees: float32 features of the train split.
        train_features = np.asarray(apply_features(x_train, features), np.float64)
        mean = train_features.mean(axis=0)
        std = train_features.std(axis=0)
        std = np.where(std < 1e-6, 1.0, std)  # a constant feature stays as it is
    else:
        mean = np.zeros(len(features))
        std = np.ones(len(features))

    arrays = DataArrays(
        *(jnp.asarray(a) for a in (x_train, y_train, x_val, y_val, x_test, y_test)),
        mean=jnp.asarray(mean, jnp.float32),
        std=jnp.asarray(std, jnp.float32),
    )
    return Dataset(
        arrays=arrays,
        task=task,
        n_classes=n_classes,
        input_dim=input_dim,
        features=features,
        extent=extent,
        feature_names=tuple(feature_names),
        class_names=tuple(class_names),
        centre=plane[0],
        extents=plane[1],
    )


def _build_sequences(spec: Any) -> Dataset:
    """A sequence task's data, split in order (the generators draw i.i.d. sequences).

    Per-token class targets outside the mask become -1 ("no target here"), so the
    arrays keep the points' layout and training needs no separate mask.
    """
    kind = SEQUENCE_TASKS.get(spec.name, "data.name")
    n = int(spec.n)
    sizes = _split_sizes(n, spec.train_fraction, spec.val_fraction)
    seq = generate_task(spec.name, spec.seed, n, spec.length or kind.length[1],
                        spec.symbols or kind.symbols[1], float(spec.noise))
    classify = kind.task == "classification"
    y = np.where(seq.mask > 0, seq.y, -1) if classify else seq.y
    y = y.astype(np.int32 if classify else np.float32)
    x = seq.x.astype(np.int32 if kind.tokens else np.float32)
    n_train, n_val, _ = sizes
    cut = (n_train, n_train + n_val)
    xs, ys = np.split(x, cut), np.split(y, cut)
    arrays = DataArrays(
        *(jnp.asarray(a) for pair in zip(xs, ys, strict=True) for a in pair),
        mean=jnp.zeros(1, jnp.float32), std=jnp.ones(1, jnp.float32))
    width = len(seq.vocab) if kind.tokens else x.shape[2]
    info = SequenceInfo(kind.tokens, kind.per_token, (x.shape[1], width), seq.vocab)
    return Dataset(arrays=arrays, task=kind.task, n_classes=len(seq.classes), input_dim=0,
                   features=(), extent=0.0, feature_names=seq.vocab,
                   class_names=seq.classes, sequence=info)
