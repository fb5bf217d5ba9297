"""Field checks shared by the spec and the layer options.

A check is a small frozen object: ``check(value, field) -> normalised value``,
raising ``SpecError`` with the field, the bad value and what is allowed. One
mechanism validates every section of the spec and every layer's options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.errors import SpecError
from engine.registry import Registry


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Num:
    """A number in ``[lo, hi]`` (``lo`` excluded when ``lo_open``); ints when ``integer``."""

    lo: float
    hi: float
    integer: bool = False
    lo_open: bool = False

    def allowed(self) -> str:
        kind = "an integer" if self.integer else "a number"
        left = "(" if self.lo_open else "["
        # an integer's bounds in full: a seed's is 2147483647, not "2.14748e+09"
        lo, hi = (f"{int(self.lo)}", f"{int(self.hi)}") if self.integer else (
            f"{self.lo:g}", f"{self.hi:g}")
        return f"{kind} in {left}{lo}, {hi}]"

    def __call__(self, value: Any, field: str) -> int | float:
        given = value  # messages quote what was given, not its conversion
        ok_type = isinstance(value, int) if self.integer else isinstance(value, int | float)
        if isinstance(value, float) and self.integer and value.is_integer():
            value, ok_type = int(value), True
        if isinstance(value, bool) or not ok_type:
            raise SpecError(field, f"got {_show(given)}; expected {self.allowed()}")
        # Python ints have no size limit: compare them as they are (float(10**400)
        # overflows), and keep NaN/inf out of floats.
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(field, f"got {_show(given)}; expected {self.allowed()}")
        too_low = value <= self.lo if self.lo_open else value < self.lo
        if too_low or value > self.hi:
            raise SpecError(field, f"got {_show(given)}; expected {self.allowed()}")
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class Flag:
    """A JSON boolean."""

    def allowed(self) -> str:
        return "true or false"

    def __call__(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise SpecError(field, f"got {_show(value)}; expected true or false")
        return value


@dataclass(frozen=True)
class OneOf:
    """A name from a registry, or one of ``extra`` (e.g. ``"auto"``)."""

    registry: Registry
    extra: tuple[str, ...] = ()

    def choices(self) -> list[str]:
        return [*self.extra, *self.registry.names()]

    def allowed(self) -> str:
        return "one of: " + ", ".join(self.choices())

    def __call__(self, value: Any, field: str) -> str:
        if isinstance(value, str) and value in self.extra:
            return value
        if not isinstance(value, str) or value not in self.registry:
            raise SpecError(
                field, f"unknown {self.registry.concept} {_show(value)}; {self.allowed()}"
            )
        return value


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings (or of integers)."""

    options: tuple[Any, ...]

    def allowed(self) -> str:
        return "one of: " + ", ".join(str(o) for o in self.options)

    def __call__(self, value: Any, field: str) -> Any:
        kind = type(self.options[0])
        if isinstance(value, bool) or not isinstance(value, kind) or value not in self.options:
            raise SpecError(field, f"got {_show(value)}; expected {self.allowed()}")
        return value


@dataclass(frozen=True)
class Text:
    """A string of at most ``max_len`` characters, or null when ``optional``."""

    max_len: int = 500
    optional: bool = True

    def allowed(self) -> str:
        tail = " or null" if self.optional else ""
        return f"a string of at most {self.max_len} characters{tail}"

    def __call__(self, value: Any, field: str) -> str | None:
        if value is None and self.optional:
            return None
        if not isinstance(value, str) or len(value) > self.max_len:
            raise SpecError(field, f"got {_show(value)}; expected {self.allowed()}")
        return value


@dataclass(frozen=True)
class Names:
    """A non-empty list of distinct strings of at most ``max_items`` items."""

    max_items: int = 16

    def allowed(self) -> str:
        return f"a list of 1 to {self.max_items} distinct names"

    def __call__(self, value: Any, field: str) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= self.max_items:
            raise SpecError(field, f"got {_show(value)}; expected {self.allowed()}")
        if not all(isinstance(v, str) for v in value) or len(set(value)) != len(value):
            raise SpecError(field, f"got {_show(value)}; expected {self.allowed()}")
        return tuple(value)


def check_object(value: Any, field: str, known: list[str]) -> dict[str, Any]:
    """Check ``value`` is a JSON object whose keys are all in ``known``."""
    if not isinstance(value, dict):
        raise SpecError(field, f"got {_show(value)}; expected a JSON object")
    unknown = [k for k in value if k not in known]
    if unknown:
        name = str(unknown[0])
        name = name if len(name) <= 40 else name[:37] + "..."  # a name may be a whole essay
        raise SpecError(
            f"{field}.{name}" if field else name,
            f"unknown field; known fields here: {', '.join(known)}",
        )
    return value
