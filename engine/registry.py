"""A tiny registry: one per concept (activations, losses, optimizers, ...).

The engine owns each registry; the UI builds its menus from ``names()`` and
``describe()``, so adding an entry is one line in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from engine.errors import SpecError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered, read-only-after-import mapping from a name to an entry.

    Args:
        concept: what the entries are, in words (used in error messages).
    """

    def __init__(self, concept: str):
        self.concept = concept
        self._entries: dict[str, T] = {}
        self._docs: dict[str, str] = {}
        self._titles: dict[str, str] = {}
        self._internal: dict[str, T] = {}

    def register(self, name: str, entry: T, doc: str = "", *, internal: bool = False,
                 title: str = "") -> T:
        """Add ``entry`` under ``name``; a duplicate name is a programming error.
        ``title``: what a menu shows for it, where the name is a code (read with
        ``Registry.title``).

        An ``internal`` entry is one the engine builds for itself (e.g. the masked
        layers of a padded network): ``get`` finds it, but no menu lists it and no spec
        may name it (``in``, ``names`` and iteration leave it out).
        """
        if name in self._entries or name in self._internal:
            raise KeyError(f"{self.concept} {name!r} is already registered")
        if internal:
            self._internal[name] = entry
            return entry
        self._entries[name] = entry
        self._docs[name] = doc
        if title:
            self._titles[name] = title
        return entry

    def retitle(self, titles: dict[str, str]) -> None:
        """Set the menu titles of entries registered already (``register``'s ``title``);
        an unknown name is a programming error (``KeyError``)."""
        unknown = set(titles) - set(self._entries)
        if unknown:
            raise KeyError(f"no {self.concept} named {sorted(unknown)}")
        self._titles.update(titles)

    def get(self, name: str, field: str = "") -> T:
        """Return the entry for ``name`` or raise a ``SpecError`` listing the choices."""
        if isinstance(name, str) and name in self._internal:
            return self._internal[name]
        if not isinstance(name, str) or name not in self._entries:
            raise SpecError(
                field,
                f"unknown {self.concept} {name!r}; choose one of: {', '.join(self._entries)}",
            )
        return self._entries[name]

    def names(self) -> list[str]:
        """All registered names, in registration order (menu order)."""
        return list(self._entries)

    def title(self, name: str) -> str:
        """What a menu shows for ``name``: its title, or the name itself."""
        return self._titles.get(name, name)

    def describe(self, name: str) -> str:
        """One-sentence description of an entry, for menus and help text."""
        return self._docs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
