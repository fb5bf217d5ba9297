"""Parsing text that came from outside (links, uploads, spec files), with limits.

Python's ``json.loads`` recurses once per nesting level (7,000 ``[`` raise
``RecursionError``), turns a 5,000-digit number into ``ValueError`` and a 400-digit
one into an integer that later overflows a float. ``parse_json`` checks size and
nesting depth before parsing and number lengths while parsing, so every failure is
one ``SpecError`` naming what to change. (``NaN`` and ``Infinity`` parse; every
numeric field's check refuses them by name.)
"""

from __future__ import annotations

import json
from typing import Any

from engine.errors import SpecError

MAX_DEPTH = 12
"""Deepest nesting of objects and lists a spec needs is 5 (``model.layers[i]``)."""

MAX_NUMBER_CHARS = 40
"""Longest number literal accepted; 1e-300 to 1e300 and 2**63 fit in far fewer."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``{``/``[`` outside strings in JSON ``text`` (linear time)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _number(kind: type):
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise SpecError("", f"a number of {len(text)} characters is too long; numbers "
                                f"may have at most {MAX_NUMBER_CHARS}")
        return kind(text)  # 1e999 becomes inf: the field's check refuses it by name
    return parse


def parse_json(text: Any, *, what: str = "the setup", max_chars: int = 300_000,
               max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON ``text`` from outside, within limits.

    Args:
        text: the JSON text (anything else is refused).
        what: how messages name the text, e.g. ``"the link's setup"``.
        max_chars: most characters accepted.
        max_depth: deepest nesting of objects and lists accepted.

    Returns:
        The parsed value (dicts, lists, str, int, float, bool, None).

    Raises:
        SpecError: too long, too deep, a number too long or not finite, or not JSON;
            the message says which and where.
    """
    if not isinstance(text, str):
        raise SpecError("", f"{what} must be JSON text")
    if len(text) > max_chars:
        raise SpecError("", f"{what} is too long ({len(text)} characters; at most "
                            f"{max_chars})")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise SpecError("", f"{what} is nested {depth} levels deep; at most {max_depth} "
                            "are allowed")
    try:
        # NaN and Infinity parse as floats; the checks of the fields they land in
        # refuse them with the field's name.
        value = json.loads(text, parse_int=_number(int), parse_float=_number(float))
    except SpecError as err:
        raise SpecError("", f"{what}: {err}") from None
    except json.JSONDecodeError as err:
        raise SpecError("", f"{what} is not valid JSON ({err.msg} at line {err.lineno}, "
                            f"column {err.colno})") from None
    except (ValueError, RecursionError):  # belt and braces: the checks above catch these
        raise SpecError("", f"{what} is not valid JSON") from None
    if not _valid_text(value):
        raise SpecError("", f"{what} holds a character that is not valid text (a lone "
                            "surrogate such as \\ud800)")
    return value


def _valid_text(value: Any) -> bool:
    """Every string (keys included) encodes as UTF-8: JSON's ``\\ud800`` escapes can
    make lone surrogates, which no page or file can show."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
