"""An uploaded table: CSV parsing with every check a stranger's file needs, and the
``csv`` dataset that trains on it.

The text comes from outside (an upload, a link's spec, a file given to the command
line): ``load_csv`` bounds its size, rows and columns before any per-cell work and
turns every problem into one ``DataError`` naming the row, column or value.
"""

from __future__ import annotations

import csv
import io
import math
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
from engine.data.features import MAX_INPUT_DIM
from engine.errors import DataError
from engine.registry import Registry

TABLE = "csv"
"""The dataset name of an uploaded table."""

MAX_CSV_ROWS = 10_000
"""Most data rows an uploaded CSV may have (the app trains in the browser's time budget)."""

MAX_CSV_BYTES = 2_000_000
"""Most characters a CSV may have (10,000 rows of 17 columns fit)."""

MAX_CSV_CHARS = 200_000
"""Most characters of a CSV table carried inside a spec (``data.csv``); larger uploads
stay in the app's session and travel beside the spec."""

MIN_CSV_ROWS = 4
"""Fewest data rows an uploaded CSV may have (enough to split into train and test)."""

MAX_MAGNITUDE = 1e30
"""Largest size of a number in a table: float32 ends near 3.4e38, and a squared feature
or a loss must stay finite."""


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
    _check_header(header, n_rows, max_rows)
    label_index = _pick_label(header, label_column)
    feature_index = [j for j in range(len(header)) if j != label_index]
    x, labels = _cells(header, rows, feature_index, label_index)
    columns = tuple(header[j] for j in feature_index)
    return _targets(x, labels, rows, header[label_index], columns, task)


def _check_header(header: list[str], n_rows: int, max_rows: int) -> None:
    """A header of at least two distinct, named columns over a usable number of rows."""
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


def _cells(header: list[str], rows: list[tuple[int, list[str]]], feature_index: list[int],
           label_index: int) -> tuple[np.ndarray, list[str]]:
    """The numeric features ``(n, d)`` and the label texts, every cell checked."""
    x = np.empty((len(rows), len(feature_index)), dtype=np.float64)
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
            if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
                raise DataError(
                    f"row {line}, column {_short(header[j])} is {_short(cells[j])}; use finite "
                    f"numbers of at most {MAX_MAGNITUDE:g} in size"
                )
            x[i, k] = value
        labels.append(cells[label_index])
    return x, labels


def _targets(x: np.ndarray, labels: list[str], rows: list[tuple[int, list[str]]],
             label_name: str, columns: tuple[str, ...], task: str) -> RawData:
    """The task (``auto``: decided from the labels), the targets and the class names."""
    # Numeric labels are checked for NaN/inf; one text label makes the column text.
    numbers = [_parse_number(label) for label in labels]
    numeric = all(v is not None for v in numbers)
    if numeric:
        for (line, _), label, value in zip(rows, labels, numbers, strict=True):
            if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
                raise DataError(
                    f"row {line}, column {_short(label_name)} is {_short(label)}; use finite "
                    f"numbers of at most {MAX_MAGNITUDE:g} in size"
                )
        values = np.array(numbers, dtype=np.float64)
        distinct_count = len(np.unique(values))
    else:
        distinct_count = len(set(labels))
        if task == "regression":
            line, label = next((line, label) for (line, _), label, v in
                               zip(rows, labels, numbers, strict=True) if v is None)
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
        task = ("regression" if numeric and not (integral and distinct_count <= MAX_CLASSES)
                else "classification")
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
    return RawData(x, y.astype(np.int64), "classification", len(class_names), columns,
                   class_names, label_name)



@dataclass(frozen=True)
class Table:
    """The ``csv`` dataset: numeric feature columns and a label column from outside."""

    task: str = "any"  # the table decides: classification or regression
    family: ClassVar[str] = "table"

    def build(self, spec: Any, raw: RawData | None = None) -> Dataset:
        """Shuffle, split and pack the parsed table ``raw`` (``spec.n`` is ignored)."""
        if raw is None:
            raise DataError("dataset 'csv' needs its table: upload a CSV file, put the text "
                            "in data.csv, or pick another dataset")
        x, y = raw.x, raw.y
        n, input_dim = x.shape
        split_sizes(n, spec.train_fraction, spec.val_fraction)
        features = check_point_features(tuple(spec.features), input_dim)
        # Leave a 10% margin around the data; the floor keeps an all-zero column drawable.
        extent = max(float(np.max(np.abs(x))) * 1.1, 1e-3)
        plane: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
        if input_dim > 2:  # each column's mean +- its spread (see Dataset)
            mid = x.mean(axis=0)
            plane = (tuple(float(v) for v in mid), tuple(
                float(v) for v in np.maximum(np.max(np.abs(x - mid), axis=0) * 1.1, 1e-3)))
        rng = np.random.default_rng(spec.seed)
        return Dataset(
            arrays=split_points(x, y, spec, rng, features, raw.task), task=raw.task,
            n_classes=raw.n_classes, input_dim=input_dim, features=features, extent=extent,
            feature_names=tuple(raw.column_names), class_names=tuple(raw.class_names),
            centre=plane[0], extents=plane[1])


def register(datasets: Registry) -> None:
    """Add the ``csv`` dataset."""
    datasets.register(TABLE, Table(), "Your own table: numeric feature columns and a label "
                      "column, uploaded or carried in the spec (data.csv).",
                      title="Your table (CSV)")
