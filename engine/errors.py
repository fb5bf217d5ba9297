"""Typed errors raised by the engine.

Every error a user can cause (a bad spec, a bad CSV, an impossible network)
is one of these, with a message that names the field, the bad value and what
is allowed. Callers (the CLI, the app) print ``str(err)`` and never a traceback.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class SpecError(EngineError, ValueError):
    """A spec (or one of its fields) is invalid.

    Attributes:
        field: dotted path of the offending field, e.g. ``"model.layers[1].units"``.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class DataError(EngineError, ValueError):
    """A dataset (for example an uploaded CSV) cannot be used."""
