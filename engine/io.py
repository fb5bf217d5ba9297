"""Files on the local machine: trained parameters as ``.npz``, CSV tables.

Only the command line and the Python API, run by the machine's own user, read
files; a spec never names one. Parameter files hold arrays only (never
pickle): keys are ``layer{i}/{name}`` for parameters and ``state{i}/{name}``
for batch-norm statistics; ``spec`` holds the spec's JSON text so a file says
what it is. Reading one is bounded (entries, shapes, uncompressed size), as
for any file that may have come from someone else.
"""

from __future__ import annotations

import math
import os
import re
import stat
import zipfile
from typing import Any, BinaryIO

import numpy as np

from engine.data import MAX_CSV_BYTES, RawData, load_csv
from engine.errors import DataError
from engine.spec import Spec

MAX_ENTRIES = 1_000
"""Most arrays a parameter file may hold."""

MAX_PARAM_BYTES = 400_000_000
"""Most uncompressed bytes a parameter file may hold (100 million float32 values)."""

_KEY = re.compile(r"(?P<group>layer|state)(?P<index>\d{1,4})/(?P<name>\w{1,32})")


def save_params(path: str | os.PathLike | BinaryIO, state: Any, spec: Spec) -> None:
    """Write ``state.params`` and ``state.model_state`` of a ``TrainState`` to ``path``.

    ``path`` may also be a binary file object (e.g. ``io.BytesIO`` for a download).
    """
    arrays: dict[str, np.ndarray] = {"spec": np.array(spec.to_json(indent=None))}
    for i, layer in enumerate(state.params):
        for name, value in layer.items():
            arrays[f"layer{i}/{name}"] = np.asarray(value)
    for i, layer in enumerate(state.model_state):
        for name, value in layer.items():
            arrays[f"state{i}/{name}"] = np.asarray(value)
    if hasattr(path, "write"):
        np.savez(path, **arrays)
        return
    try:
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as err:
        raise DataError(f"cannot write {path}: {err.strerror}") from None


def _regular_file(path: str | os.PathLike, what: str) -> None:
    """Refuse what is not a regular file (a folder, a FIFO that would block, a device)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise DataError(f"cannot read {what} {os.fspath(path)!r}: {err.strerror}") from None
    if not stat.S_ISREG(mode):
        raise DataError(f"{os.fspath(path)!r} is not a regular file")


def read_csv(path: str | os.PathLike, *, label_column: str | None = None) -> RawData:
    """Read and check a CSV file of the local machine (see ``engine.load_csv``).

    Raises:
        DataError: not a regular file, larger than ``MAX_CSV_BYTES``, not UTF-8, or
            a table ``load_csv`` refuses.
    """
    _regular_file(path, "the CSV file")
    with open(path, "rb") as fh:
        data = fh.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise DataError(f"{os.fspath(path)!r} is larger than {MAX_CSV_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{os.fspath(path)!r} is not a UTF-8 text file") from None
    return load_csv(text, label_column=label_column)


def _declared_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """What one .npy entry's header says its array takes (read before the array)."""
    try:
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(fh, max_header_size=10_000)
    except (ValueError, OSError, SyntaxError, zipfile.BadZipFile, EOFError):
        raise DataError(f"{info.filename[:40]!r} is not an array (.npy)") from None
    if dtype.hasobject:
        raise DataError(f"{info.filename[:40]!r} holds Python objects; a parameter file "
                        "holds numbers only")
    return math.prod(shape) * dtype.itemsize


def _check_archive(source: str | os.PathLike | BinaryIO) -> None:
    """Bound a parameter file before NumPy reads it: entries, and both the unpacked size
    and the size the arrays' headers declare (a tiny file may declare a huge array)."""
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise DataError(f"the file holds {len(infos)} arrays; at most {MAX_ENTRIES}")
            total = sum(info.file_size for info in infos)
            if total > MAX_PARAM_BYTES:
                raise DataError(f"the file unpacks to {total:,} bytes; at most "
                                f"{MAX_PARAM_BYTES:,}")
            declared = sum(_declared_bytes(archive, info) for info in infos)
    except DataError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        raise DataError(f"not a parameter file (.npz): {err}") from None
    if declared > MAX_PARAM_BYTES:
        raise DataError(f"the file's arrays declare {declared:,} bytes; at most "
                        f"{MAX_PARAM_BYTES:,}")


def load_params(path: str | os.PathLike | BinaryIO) -> tuple[Spec, list[dict], list[dict]]:
    """Read a file written by ``save_params``: (spec, params, model_state).

    ``path`` may be a file name or a binary file object (an upload).

    Raises:
        DataError: not a bounded .npz of arrays with a spec, or unexpected names.
        SpecError: the spec inside is not valid.
    """
    name = "the upload" if hasattr(path, "read") else repr(os.fspath(path))
    if not hasattr(path, "read"):
        _regular_file(path, "parameters from")
    _check_archive(path)
    if hasattr(path, "seek"):
        path.seek(0)
    try:
        with np.load(path, allow_pickle=False) as npz:
            items = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"cannot read parameters from {name}: {err}") from None
    if "spec" not in items:
        raise DataError(f"{name} has no spec: it was not written by NN Playground")
    spec = Spec.from_json(str(items.pop("spec")))
    params: dict[int, dict] = {}
    states: dict[int, dict] = {}
    for key, value in items.items():
        match = _KEY.fullmatch(key)
        if match is None:
            raise DataError(f"{name}: unexpected array {key[:40]!r}; expected names like "
                            "'layer0/w' or 'state1/mean'")
        target = params if match["group"] == "layer" else states
        target.setdefault(int(match["index"]), {})[match["name"]] = value
    n = max(params) + 1 if params else 0
    return (spec, [params.get(i, {}) for i in range(n)], [states.get(i, {}) for i in range(n)])
