"""Counting XLA compilations, to prove that changing a value never recompiles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax.monitoring

_EVENT = "/jax/core/compile/backend_compile_duration"
_counter = {"n": 0, "listening": False}


def _listen(event: str, duration: float, **kwargs: object) -> None:
    if event == _EVENT:
        _counter["n"] += 1


@contextlib.contextmanager
def count_compiles() -> Iterator[dict[str, int]]:
    """Count backend compilations inside the ``with`` block: ``box["compiles"]``."""
    if not _counter["listening"]:
        jax.monitoring.register_event_duration_secs_listener(_listen)
        _counter["listening"] = True
    box = {"compiles": 0}
    start = _counter["n"]
    try:
        yield box
    finally:
        box["compiles"] = _counter["n"] - start
