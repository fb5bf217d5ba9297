"""Saving and loading trained parameters as ``.npz`` (arrays only, never pickle).

Keys are ``layer{i}/{name}`` for parameters and ``state{i}/{name}`` for
batch-norm statistics; ``spec`` holds the spec's JSON text so a file says
what it is.
"""

from __future__ import annotations

import os
import re
import zipfile
from typing import Any, BinaryIO

import numpy as np

from engine.errors import DataError
from engine.spec import Spec

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


def load_params(path: str | os.PathLike) -> tuple[Spec, list[dict], list[dict]]:
    """Read a file written by ``save_params``: (spec, params, model_state)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            items = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"cannot read parameters from {path}: {err}") from None
    if "spec" not in items:
        raise DataError(f"{path} has no spec: it was not written by NN Playground")
    spec = Spec.from_json(str(items.pop("spec")))
    params: dict[int, dict] = {}
    states: dict[int, dict] = {}
    for key, value in items.items():
        match = _KEY.fullmatch(key)
        if match is None:
            raise DataError(f"{path}: unexpected array {key!r:.40}; expected names like "
                            "'layer0/w' or 'state1/mean'")
        target = params if match["group"] == "layer" else states
        target.setdefault(int(match["index"]), {})[match["name"]] = value
    n = max(params) + 1 if params else 0
    return (spec, [params.get(i, {}) for i in range(n)], [states.get(i, {}) for i in range(n)])
