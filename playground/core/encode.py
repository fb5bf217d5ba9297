"""Everything that goes to the browser: compact frame encoders, and text made safe.

Grids become uint8 (128 = zero for diverging colours) and travel as base64; curves
are downsampled and travel as base64 float32 (``floats``: NaN stays NaN, and the
views read it as null, a gap); elsewhere NaN and infinities travel as null
(``finite``: JSON has none, and a browser cannot parse a frame that holds them; a
diverged network's weights near 1e38 overflow to infinity as soon as anything rounds
them in float32). Names from uploads are cut (``short``) and reach the page only
through ``textContent``; message text is escaped so Streamlit's Markdown shows it as
typed (``plain``): a field name like ``[Session expired](https://evil.example)`` must
not become a link, nor ``![x](http://host/t.png)`` an image every visitor's browser fetches.
"""

from __future__ import annotations

import base64
import math
import re
import string
import unicodedata
from typing import Any

import numpy as np

CURVE_POINTS = 300  # loss-curve points sent per frame
MAX_NAME = 40  # characters of a class or column name shown (names come from uploads)

_ESCAPE = str.maketrans({c: "\\" + c for c in string.punctuation})


# GitHub Markdown turns bare addresses into links after escapes are resolved, so an
# invisible word joiner goes where the link finder looks: after "www" and the scheme's
# colon, before "@".
_NO_AUTOLINK = (("://", ":\u2060//"), ("@", "\u2060@"))
_WWW = re.compile(r"(w)(ww)", re.IGNORECASE)


def plain(text: Any) -> str:
    """``text`` as Markdown that shows exactly these characters (no links, images,
    HTML, directives or formulas): every ASCII punctuation character is escaped, and
    bare addresses (``www.``, ``https://``, e-mail) are kept from becoming links by an
    invisible word joiner. Characters that are not valid text are replaced; control and
    format characters are dropped."""
    text = str(text).encode("utf-8", "replace").decode("utf-8")
    # Control and format characters (NUL, bidi overrides, zero-width) from a link would
    # hide or reorder what a message says: drop them (newlines and tabs stay).
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf"))
    for old, new in _NO_AUTOLINK:
        text = text.replace(old, new)
    return _WWW.sub("\\1\u2060\\2", text).translate(_ESCAPE)


def finite(value: Any) -> Any:
    """A copy of a JSON-able frame with NaN and infinities as None (the views draw them
    as missing and write "n/a").

    Walks dicts, lists and tuples; NumPy scalars and arrays become plain Python
    (arrays as nested lists). Strings and other values pass unchanged.
    """
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def short(name: str) -> str:
    """A name from outside, cut to ``MAX_NAME`` characters for display."""
    name = str(name)
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "\u2026"


def b64(a: np.ndarray) -> str:
    """uint8 bytes of ``a`` as base64 text (what the views decode)."""
    return base64.b64encode(np.ascontiguousarray(a, np.uint8).tobytes()).decode("ascii")


def unit_bytes(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map [lo, hi] to 0..255 (NaN to ``lo``'s end, infinities clipped)."""
    span = hi - lo if hi > lo else 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        v = (np.asarray(x, np.float64) - lo) * (255.0 / span)
    return _bytes(v, 0.0)


def symmetric_bytes(x: np.ndarray) -> np.ndarray:
    """Map [-m, m] (m = the largest finite |x|) to 0..255 with 0 at 128 (NaN at 128)."""
    x = np.asarray(x, np.float64)
    size = np.abs(x)
    m = float(np.max(size, initial=0.0, where=np.isfinite(size)))
    m = m if m > 1e-12 else 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        v = x * (127.0 / m) + 128.0
    return _bytes(v, 128.0)


def per_unit_bytes(x: np.ndarray, floor_share: float = 0.02) -> np.ndarray:
    """``symmetric_bytes`` with each unit (the last axis) scaled to its own largest finite
    |x|, but at least ``floor_share`` of the largest in ``x``: each thumbnail shows its
    neuron's shape at full contrast, as the Images page's feature maps do; scaled to one
    layer's largest, ReLU layers of eight drew most of theirs almost blank (a teacher's
    review). A unit under the floor (nearly dead) stays pale, an all-zero one neutral.
    Drawn at sqrt(|x| / m): a ReLU's ramp, most of it a small share of its largest value
    in one corner, showed as a pale wash; TensorFlow Playground clips its colours at
    |x| = 1 to the same end."""
    x = np.asarray(x, np.float64)
    size = np.abs(x)
    finite = np.isfinite(size)
    axes = tuple(range(x.ndim - 1))
    m = np.max(size, axis=axes, initial=0.0, where=finite)  # (units,)
    m = np.maximum(m, floor_share * float(np.max(m, initial=0.0)))
    m = np.where(m > 1e-12, m, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        r = np.clip(x / m, -1.0, 1.0)
        v = np.sign(r) * np.sqrt(np.abs(r)) * 127.0 + 128.0
    return _bytes(v, 128.0)


def _bytes(v: np.ndarray, nan: float) -> np.ndarray:
    """``v`` (float64, a fresh array: changed in place) rounded into 0..255, NaN as
    ``nan``. In place and without ``np.nan_to_num``: a frame encodes a dozen grids, and
    this took half the time of the straightforward version (measured, 64 x 64 x 4)."""
    np.clip(v, 0.0, 255.0, out=v)
    v[np.isnan(v)] = nan
    return np.rint(v, out=v).astype(np.uint8)


def floats(values: Any) -> dict[str, str]:
    """A series of numbers as ``{"__f32": base64 of little-endian float32}``, NaN for a
    gap (the views decode it: ``frameOf`` in ``assets/common.js``). Against a JSON list
    of 300-point curves this saves the server about 0.3 ms a frame (measured: the
    curve, ``finite``'s walk and JSON's float printing)."""
    return {"__f32": base64.b64encode(np.asarray(values, "<f4").tobytes()).decode("ascii")}


def unfloats(sent: dict[str, str]) -> list[float | None]:
    """What a view reads from ``floats``: the numbers, None for a gap or infinity."""
    a = np.frombuffer(base64.b64decode(sent["__f32"]), "<f4").astype(np.float64)
    return [float(v) if math.isfinite(v) else None for v in a]


def _stride(n: int) -> int:
    """Every how many epochs an ``n``-epoch curve is drawn: the least power of two that
    keeps it to ``CURVE_POINTS`` (its last epoch added). A power of two keeps the points
    drawn from frame to frame while the history grows, so a noisy curve does not shimmer,
    and a list slice picks them at C speed."""
    stride = 1
    while -(-n // stride) > CURVE_POINTS - 1:
        stride *= 2
    return stride


def curve(history: dict[str, list[float]], stop_epoch: int | None,
          metric: str = "loss") -> dict[str, Any]:
    """The train, test and validation curves of ``metric`` ("loss" or "accuracy"),
    downsampled to at most CURVE_POINTS points each, as ``floats`` (a split without
    values: an empty list); ``stop_at``, the early stop's place along x (0-1, or None),
    and ``epochs``, the x axis's end."""
    n = len(history.get("train_loss", []))
    stride = _stride(n)
    out: dict[str, Any] = {}
    for split in ("train", "test", "val"):
        # Only the drawn points are read: the history grows by up to 100 epochs a
        # frame, and converting all of it every frame cost more than training.
        values = history.get(f"{split}_{metric}", [])
        got = values[::stride] if n and len(values) == n else []
        if got and (n - 1) % stride:
            got.append(values[-1])
        vals = np.fromiter(got, np.float32, len(got))  # twice asarray's speed on a list
        out[split] = floats(vals) if np.isfinite(vals).any() else []  # inf: a gap too
    out["stop_at"] = (stop_epoch - 1) / max(n - 1, 1) if stop_epoch and n > 1 else None
    out["epochs"] = n  # the x axis's end
    return out


def metric_rows(metrics: dict[str, float | None]) -> list[dict[str, Any]]:
    """Per split: ``{"split": "Train", "loss": ..., "accuracy": ... or None}``."""
    rows = []
    for split in ("train", "val", "test"):
        loss = metrics.get(f"{split}_loss")
        if loss is not None:
            rows.append({"split": split.capitalize(), "loss": loss,
                         "accuracy": metrics.get(f"{split}_accuracy")})
    return rows



def confusion(names: tuple[str, ...], m) -> dict[str, Any] | None:
    """A confusion matrix for the view: rows are true classes, columns predicted."""
    if m is None:
        return None
    return {"names": [short(n) for n in names], "counts": np.asarray(m).astype(int).tolist()}
