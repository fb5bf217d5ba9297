"""Showing what came from outside (links, uploads) safely.

Streamlit renders message text as Markdown: a field name like
``[Session expired](https://evil.example)`` in an error would become a real link,
and ``![x](http://host/t.png)`` would make every visitor's browser fetch that
address. ``plain`` escapes text so it is shown as typed. ``finite`` makes a frame
safe to send: JSON has no NaN or Infinity, and a browser cannot parse a frame
that holds them.
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

_ESCAPE = str.maketrans({c: "\\" + c for c in string.punctuation})

LARGEST = 1e30
"""Numbers beyond +-LARGEST are clipped in frames (a diverged weight near 1e38
would overflow to Infinity in JavaScript's float32 arrays and in canvases)."""


def plain(text: Any) -> str:
    """``text`` as Markdown that shows exactly these characters (no links, images,
    HTML, directives or formulas): every ASCII punctuation character is escaped."""
    return str(text).translate(_ESCAPE)


def finite(value: Any) -> Any:
    """A copy of a JSON-able frame with NaN/inf as None and huge numbers clipped.

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
        if not math.isfinite(v):
            return None
        return max(-LARGEST, min(LARGEST, v))
    if isinstance(value, np.integer):
        return int(value)
    return value
