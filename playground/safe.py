"""Showing what came from outside (links, uploads) safely.

Streamlit renders message text as Markdown: a field name like
``[Session expired](https://evil.example)`` in an error would become a real link,
and ``![x](http://host/t.png)`` would make every visitor's browser fetch that
address. ``plain`` escapes text so it is shown as typed. ``finite`` makes a frame
safe to send: JSON has no NaN or Infinity, and a browser cannot parse a frame
that holds them (a diverged network's weights near 1e38 overflow to infinity as
soon as anything rounds or scales them in float32).
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

_ESCAPE = str.maketrans({c: "\\" + c for c in string.punctuation})

def plain(text: Any) -> str:
    """``text`` as Markdown that shows exactly these characters (no links, images,
    HTML, directives or formulas): every ASCII punctuation character is escaped."""
    return str(text).translate(_ESCAPE)


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
