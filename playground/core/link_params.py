"""Reading a page's own link parameters: one reader for every page that has some.

A link comes from anyone. Each parameter is read on its own: a bad one takes its
default and adds one message saying what it must be, what it was (cut when long) and
what is used instead, so the rest of the link still opens. Pure: no Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_CHARS = 64
"""A parameter's value longer than this is a mistake, not a setting."""


def shown(text: str) -> str:
    """A link's text as a message quotes it: cut, and quoted."""
    return repr(text if len(text) <= 24 else text[:24] + "...")


def _default(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


class LinkParams:
    """The parameters of one link, read one at a time; ``errors`` holds one message per
    parameter that could not be used."""

    def __init__(self, query: Mapping[str, str], max_chars: int = MAX_CHARS) -> None:
        self.query, self.max_chars = query, max_chars
        self.errors: list[str] = []

    def _refuse(self, name: str, what: str, text: str, default: Any) -> Any:
        quoted = f"{len(text)} characters" if len(text) > self.max_chars else shown(text)
        self.errors.append(f"The link's {name} must be {what}, not {quoted}; using "
                           f"{_default(default)}.")
        return default

    def number(self, name: str, default: float, lo: float = 0.0, hi: float = 1.0, *,
               integer: bool = False, options: tuple[float, ...] = ()) -> Any:
        """``name`` as a number in [lo, hi] (a whole one with ``integer``; one of
        ``options`` when given), else ``default`` and a message."""
        text = self.query.get(name)
        if text is None:
            return default
        try:
            value = float(text) if len(text) <= self.max_chars else math.nan
        except ValueError:
            value = math.nan
        ok = value in options if options else (
            math.isfinite(value) and lo <= value <= hi and (not integer or value == int(value)))
        if ok:
            return int(value) if integer else value
        what = (f"one of {', '.join(f'{o:g}' for o in options)}" if options else
                f"a whole number from {int(lo)} to {int(hi)}" if integer else
                f"a number from {lo:g} to {hi:g}")
        return self._refuse(name, what, text, default)

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        """``name`` as one of ``options``, else ``default`` and a message."""
        text = self.query.get(name)
        if text is None or text in options:
            return default if text is None else text
        return self._refuse(name, f"one of {', '.join(options)}", text, default)

    def flag(self, name: str, default: bool) -> bool:
        """``name`` as 1/0 (true/false, yes/no, on/off), else ``default`` and a message."""
        text = self.query.get(name)
        if text is None:
            return default
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        return self._refuse(name, "1 or 0", text, default)
