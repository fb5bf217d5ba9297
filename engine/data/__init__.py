"""Data: one registry of every dataset a spec can name, and how each is built.

Four families register their entries in ``DATASETS``, in menu order: ``points``
(TensorFlow Playground's sets and more, ``points.py``; points placed by hand, which travel
in ``data.points``, ``hand.py``), ``table`` (an uploaded CSV,
``table.py``), ``sequence`` (sequence tasks, ``sequences.py``) and ``images`` (MNIST,
generated shapes, the user's own pictures; ``images.py``). Input features
(x1, x1^2, sin(x2), ...) are in ``features.py``; containers, splitting and feature
statistics in ``base.py``.

May import: the ground floor (``errors``, ``registry``, ``schema``), NumPy, JAX.
"""

from __future__ import annotations

from typing import Any

from engine.data import hand, images, points, reviews, sequences, table
from engine.data.base import (
    DATASETS,
    FAMILIES,
    MAX_CLASSES,
    DataArrays,
    Dataset,
    RawData,
    SequenceInfo,
    datasets_of,
)
from engine.data.features import FEATURES, MAX_INPUT_DIM, apply_features, check_features
from engine.data.hand import (
    HAND,
    HAND_REGRESSION,
    MAX_HAND_POINTS,
    MAX_POINTS_CHARS,
    decode_points,
    encode_points,
    points_of,
    snap,
    snap_value,
)
from engine.data.images import UPLOAD, RawImages, load_image_zip, load_picture
from engine.data.sequences import SequenceData, generate_task
from engine.data.table import MAX_CSV_BYTES, MAX_CSV_CHARS, MAX_CSV_ROWS, TABLE, load_csv

for _family in (points, hand, table, sequences, reviews, images):
    _family.register(DATASETS)


def build_dataset(spec: Any, raw: RawData | None = None) -> Dataset:
    """Make the dataset a data spec names: generate, shuffle, split, compute statistics.

    Args:
        spec: a ``DataSpec`` (or any object with its fields).
        raw: the parsed table of the ``csv`` dataset (``load_csv``).

    Returns:
        A ``Dataset`` whose arrays are bit-identical for identical specs.

    Raises:
        SpecError: unknown dataset or feature names, an unusable class count, a sequence
            length or alphabet outside the task's bounds.
        DataError: a missing table, splits that leave no training or test points,
            non-raw features on a table with more than 2 columns.
    """
    return DATASETS.get(spec.name, "data.name").build(spec, raw)


__all__ = [
    "DATASETS",
    "FAMILIES",
    "FEATURES",
    "HAND",
    "HAND_REGRESSION",
    "MAX_CLASSES",
    "MAX_CSV_BYTES",
    "MAX_CSV_CHARS",
    "MAX_CSV_ROWS",
    "MAX_HAND_POINTS",
    "MAX_INPUT_DIM",
    "MAX_POINTS_CHARS",
    "TABLE",
    "UPLOAD",
    "DataArrays",
    "Dataset",
    "RawData",
    "RawImages",
    "SequenceData",
    "SequenceInfo",
    "apply_features",
    "build_dataset",
    "check_features",
    "datasets_of",
    "decode_points",
    "encode_points",
    "generate_task",
    "load_csv",
    "load_image_zip",
    "load_picture",
    "points_of",
    "snap",
    "snap_value",
]
