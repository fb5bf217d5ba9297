"""Points placed by hand: a compact text codec and the ``hand`` datasets built from it.

A hand set travels in a spec's ``data.points`` (and so in a page's link) as URL-safe
base64 (alphabet ``A-Z a-z 0-9 - _``, no padding: safe inside JSON inside a query
string) of 4 bytes per point::

    byte 0        byte 1              byte 2        byte 3
    qx[11:4]      qx[3:0] | qy[11:8]  qy[7:0]       label

``qx``, ``qy`` are the coordinates quantised to 12 bits over TF Playground's plane
``[-6, 6]`` (``q = round((x + 6) / 12 * 4095)``; points outside are clipped). The
label is the class id 0..9, or for regression the value in ``[-1, 1]`` quantised to
0..254 (``round((v + 1) * 127)``, so 0 is exact); 255 is never written. A point costs
16/3 characters: 100 points take 534, 500 take 2,667, the most (``MAX_HAND_POINTS``)
10,667. Decoding is exact for points on the grid (``snap``): ``encode(decode(t)) == t``.
The text comes from links: ``decode_points`` bounds its length first and turns every
fault into one ``DataError``.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.data.base import (
    MAX_CLASSES,
    Dataset,
    RawData,
    check_point_features,
    split_points,
    split_sizes,
)
from engine.data.points import TF_EXTENT
from engine.errors import DataError, SpecError
from engine.registry import Registry

HAND = "hand"
"""The dataset name of hand-placed classes."""

HAND_REGRESSION = "hand_regression"
"""The dataset name of hand-placed values."""

MAX_HAND_POINTS = 2000
"""Most points a hand set may have (its text then takes ``MAX_POINTS_CHARS``)."""

MIN_HAND_POINTS = 4
"""Fewest points a hand set trains on (like the smallest generated or uploaded set)."""

BYTES_PER_POINT = 4

MAX_POINTS_CHARS = math.ceil(MAX_HAND_POINTS * BYTES_PER_POINT * 4 / 3)
"""Most characters of an encoded hand set (``data.points``): 10,667."""

_LEVELS = 4095  # 12 bits: grid positions 0..4095 over [-TF_EXTENT, TF_EXTENT]
_STEP = 2 * TF_EXTENT / _LEVELS  # about 0.0029
_VALUE_LEVELS = 254  # regression labels 0..254 over [-1, 1]; byte 255 is invalid
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


# --- the grid ----------------------------------------------------------------------------


def _grid(x: np.ndarray) -> np.ndarray:
    """Grid indices 0..4095 of coordinates (clipped to the plane), int64, same shape."""
    clipped = np.clip(np.asarray(x, np.float64), -TF_EXTENT, TF_EXTENT)
    return np.rint((clipped + TF_EXTENT) / _STEP).astype(np.int64)


def _value_grid(y: np.ndarray) -> np.ndarray:
    """Label bytes 0..254 of regression values (clipped to [-1, 1])."""
    clipped = np.clip(np.asarray(y, np.float64), -1.0, 1.0)
    return np.rint((clipped + 1.0) * (_VALUE_LEVELS / 2)).astype(np.int64)


def snap(x: np.ndarray) -> np.ndarray:
    """Points as a link holds them: clipped to ``[-6, 6]``, rounded to the 12-bit grid.

    ``x`` is any array of coordinates (e.g. ``(n, 2)``); returns float64, same shape.
    """
    return _grid(x) * _STEP - TF_EXTENT


def snap_value(y: np.ndarray) -> np.ndarray:
    """Regression values as a link holds them: clipped to [-1, 1], in steps of 1/127."""
    return _value_grid(y) / (_VALUE_LEVELS / 2) - 1.0


# --- the codec ---------------------------------------------------------------------------


def _check_task(task: str) -> None:
    if task not in ("classification", "regression"):
        raise DataError(f"hand points are for 'classification' or 'regression', not {task!r}")


def _label_bytes(y: np.ndarray, task: str) -> np.ndarray:
    """The label byte of each point ``(n,)`` int64; raises ``DataError`` for bad labels."""
    y = np.asarray(y)
    if y.dtype.kind not in "iuf":
        raise DataError(f"hand points: labels must be numbers, not {y.dtype}")
    if task == "regression":
        if not np.all(np.isfinite(y)):
            raise DataError("hand points: every value must be a finite number")
        return _value_grid(y)
    bad = ~((y >= 0) & (y < MAX_CLASSES) & (y == np.rint(y)))  # NaN is bad too
    if np.any(bad):
        raise DataError(f"hand points: class ids are whole numbers 0 to {MAX_CLASSES - 1}, "
                        f"not {y[bad][0]:g}")
    return y.astype(np.int64)


def encode_points(x: np.ndarray, y: np.ndarray, task: str) -> str:
    """The text of a hand set: 4 bytes per point, URL-safe base64 without padding.

    Args:
        x: points ``(n, 2)``; coordinates outside ``[-6, 6]`` are clipped.
        y: labels ``(n,)``: class ids 0..9, or regression values (clipped to [-1, 1]).
        task: ``"classification"`` or ``"regression"``.

    Returns:
        ``ceil(16 n / 3)`` characters from ``A-Z a-z 0-9 - _`` (``""`` for no points).

    Raises:
        DataError: wrong shapes, more than ``MAX_HAND_POINTS`` points, non-finite
            coordinates, class ids that are not 0..9.
    """
    _check_task(task)
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or x.shape[1] != 2 or y.shape != (x.shape[0],):
        raise DataError(f"hand points need x of shape (n, 2) and y of shape (n,), not "
                        f"{x.shape} and {y.shape}")
    if x.shape[0] > MAX_HAND_POINTS:
        raise DataError(f"a hand set holds at most {MAX_HAND_POINTS} points, not {x.shape[0]}")
    if x.dtype.kind not in "iuf" or not np.all(np.isfinite(x)):
        raise DataError("hand points: every coordinate must be a finite number")
    q = _grid(x)  # (n, 2)
    packed = np.stack([q[:, 0] >> 4, ((q[:, 0] & 0xF) << 4) | (q[:, 1] >> 8), q[:, 1] & 0xFF,
                       _label_bytes(y, task)], axis=1)  # (n, 4)
    return _b64(packed.astype(np.uint8).tobytes())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _damaged(why: str) -> DataError:
    return DataError(f"the hand-placed points (data.points) are damaged: {why}; place "
                     "them again or load the link as it was shared")


def decode_points(text: str, task: str) -> tuple[np.ndarray, np.ndarray]:
    """The points a hand set's text holds (inverse of ``encode_points``).

    Returns:
        ``x`` float64 ``(n, 2)`` on the grid, and ``y`` ``(n,)``: int64 class ids, or
        float64 values in [-1, 1] for regression.

    Raises:
        DataError: text that ``encode_points`` cannot have written (too long, a
            character outside the alphabet, a length that is not whole points, a class
            id of 10 or more, a label byte 255), with one message.
    """
    _check_task(task)
    if not isinstance(text, str):
        raise _damaged(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_POINTS_CHARS:
        raise _damaged(f"{len(text)} characters; a hand set takes at most "
                       f"{MAX_POINTS_CHARS} ({MAX_HAND_POINTS} points)")
    if not _ALPHABET.fullmatch(text):
        bad = next(c for c in text if not _ALPHABET.fullmatch(c))
        raise _damaged(f"{bad!r} is not one of A-Z a-z 0-9 - _")
    n_bytes = len(text) * 3 // 4
    if n_bytes % BYTES_PER_POINT or len(text) != math.ceil(n_bytes * 4 / 3):
        raise _damaged(f"{len(text)} characters are not a whole number of points "
                       f"({BYTES_PER_POINT * 4 / 3:.3g} characters each)")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as err:  # binascii.Error; the checks above should leave none
        raise _damaged(str(err)) from None
    if _b64(data) != text:  # unused low bits of the last character set
        raise _damaged("its last character is not one encode_points writes")
    packed = np.frombuffer(data, np.uint8).reshape(-1, BYTES_PER_POINT).astype(np.int64)
    qx = (packed[:, 0] << 4) | (packed[:, 1] >> 4)
    qy = ((packed[:, 1] & 0xF) << 8) | packed[:, 2]
    x = np.stack([qx, qy], axis=1) * _STEP - TF_EXTENT  # (n, 2)
    label = packed[:, 3]
    if task == "regression":
        if np.any(label > _VALUE_LEVELS):
            raise _damaged(f"label byte 255 (values take 0 to {_VALUE_LEVELS})")
        return x, label / (_VALUE_LEVELS / 2) - 1.0
    if np.any(label >= MAX_CLASSES):
        raise _damaged(f"class id {int(label.max())} (class ids are 0 to {MAX_CLASSES - 1})")
    return x, label


def points_of(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Every point of a built 2-column dataset, to start a hand set from it.

    Returns ``x`` float64 ``(n, 2)`` as generated (the arrays hold raw points; ``mean``
    and ``std`` standardise features only inside the model) and ``y`` ``(n,)``: int64
    class ids or float64 targets; training, then validation, then test points.
    ``encode_points`` clips what lies outside the plane or outside [-1, 1].
    """
    if dataset.input_dim != 2 or dataset.sequence is not None or dataset.image is not None:
        raise DataError("a hand set starts from 2-column points; this dataset has "
                        f"{dataset.input_dim or 'no'} input columns")
    a = dataset.arrays
    x = np.concatenate([np.asarray(v, np.float64) for v in (a.x_train, a.x_val, a.x_test)])
    y = np.concatenate([np.asarray(v) for v in (a.y_train, a.y_val, a.y_test)])
    return x, y.astype(np.int64 if dataset.task == "classification" else np.float64)


# --- the datasets ------------------------------------------------------------------------


def points_needed(n: int, train_fraction: float, val_fraction: float) -> int:
    """Fewest points (at least ``n``) that leave training and test points after the split."""
    for m in range(max(n, MIN_HAND_POINTS), MAX_HAND_POINTS + 1):
        try:
            split_sizes(m, train_fraction, val_fraction)
        except DataError:
            continue
        return m
    return MAX_HAND_POINTS + 1  # no hand set fits these fractions


def _starter(task: str) -> tuple[np.ndarray, np.ndarray]:
    """The points of a hand set whose spec has none yet (``points`` null): a few to start.

    Classification: 10 points of class 1 around (2, 2), 10 of class 0 around (-2, -2).
    Regression: a 5 x 5 grid over [-4, 4]^2 with the target (x1 + x2) / 8.
    """
    a = np.linspace(-4.0, 4.0, 5)
    if task == "regression":
        x = np.stack(np.meshgrid(a, a), axis=-1).reshape(-1, 2)  # (25, 2)
        return snap(x), snap_value(x.sum(axis=1) / 8.0)
    ring = 1.5 * np.stack([np.cos(np.arange(10) * 0.7), np.sin(np.arange(10) * 1.1)], axis=1)
    x = np.concatenate([ring + 2.0, -ring - 2.0])  # (20, 2)
    return snap(x), np.repeat(np.array([1, 0], np.int64), 10)


def _shuffle_keys(x: np.ndarray, seed: int) -> np.ndarray:
    """A pseudo-random key per point from its grid position and the seed (splitmix64's
    finaliser): the shuffle sorts by it, so adding or removing a point by hand leaves
    every other point in its split, or moves one across the cut (a permutation of the
    whole set would reshuffle it on every click)."""
    q = np.rint((np.clip(x, -TF_EXTENT, TF_EXTENT) + TF_EXTENT) / _STEP).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (q[:, 0] << np.uint64(12)) + q[:, 1] + np.uint64(seed) * np.uint64(
            0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class HandSet:
    """Points placed by hand, read from ``spec.points`` (see the module docstring).

    Attributes:
        task: ``"classification"`` (``spec.classes`` classes, 2..10, like ``blobs``) or
            ``"regression"`` (values in [-1, 1]).
    """

    task: str
    input_dim: int = 2
    extent: float = TF_EXTENT
    family: ClassVar[str] = "points"

    @property
    def multiclass(self) -> bool:
        """Whether ``spec.classes`` sets the number of classes (it does for classes)."""
        return self.task == "classification"

    def build(self, spec: Any, raw: RawData | None = None) -> Dataset:
        """Decode ``spec.points``, then shuffle and split with ``spec.seed`` like any set."""
        text = getattr(spec, "points", None)
        x, y = _starter(self.task) if text is None else decode_points(text, self.task)
        n, need = len(x), points_needed(len(x), spec.train_fraction, spec.val_fraction)
        if n < need:
            split = f"train_fraction {spec.train_fraction:g}" + (
                f" and val_fraction {spec.val_fraction:g}" if spec.val_fraction else "")
            raise DataError(f"the hand-placed set has {n} point{'s' * (n != 1)}; with "
                            f"{split} it needs {need}: add at least {need - n} more "
                            f"point{'s' * (need - n != 1)}")
        n_classes = 0
        if self.task == "classification":
            n_classes = int(getattr(spec, "classes", 2))
            if not 2 <= n_classes <= MAX_CLASSES:
                raise SpecError("data.classes", f"{spec.name} needs 2 to {MAX_CLASSES} "
                                                f"classes, not {n_classes}")
            if int(y.max()) >= n_classes:
                raise SpecError("data.classes", f"the hand-placed points use class "
                                f"{int(y.max())} but there are {n_classes} classes (0 to "
                                f"{n_classes - 1}); set classes to {int(y.max()) + 1} or "
                                "more, or remove those points")
        features = check_point_features(tuple(spec.features), self.input_dim)
        rng = np.random.default_rng(spec.seed)
        order = np.argsort(_shuffle_keys(x, spec.seed), kind="stable")
        return Dataset(
            arrays=split_points(x, y, spec, rng, features, self.task, order),
            task=self.task,
            n_classes=n_classes, input_dim=self.input_dim, features=features,
            extent=self.extent, feature_names=("x1", "x2"),
            class_names=tuple(str(k) for k in range(n_classes)))


def register(datasets: Registry) -> None:
    """Add the hand-placed sets (after the generated point sets in the menu)."""
    datasets.register(
        HAND,
        HandSet("classification"),
        "Points you place: click the plane to add a point of the chosen class, shift-click "
        "to remove one. Up to 10 classes (set Classes). Noise and the point count do not "
        "apply.",
        title="Your points (classes)",
    )
    datasets.register(
        HAND_REGRESSION,
        HandSet("regression"),
        "Points you place with a target value from -1 to 1: click the plane to add one, "
        "shift-click to remove one. Noise and the point count do not apply.",
        title="Your points (regression)",
    )
