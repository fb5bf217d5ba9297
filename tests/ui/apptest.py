"""Helpers the live pages' AppTests share (not a test module)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[2] / "pages"


def run_page(name: str, query: dict[str, str] | None = None, timeout: int = 120) -> AppTest:
    """``pages/{name}.py`` run once, with ``query`` as the URL's parameters."""
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def shown(markdown: str) -> str:
    """What a message's Markdown shows: the app escapes every punctuation character
    of messages (they quote links and uploads) and puts invisible word joiners where
    addresses would become links, so drop both."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def messages(at: AppTest, kind: str = "error") -> list[str]:
    """The text of every ``kind`` ("error", "warning", "info", "success") box, as shown."""
    return [shown(e.value) for e in getattr(at, kind)]


def ok(at: AppTest) -> None:
    """The run raised nothing and showed no error."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def widget(at: AppTest, kind: str, label: str) -> Any:
    """The first widget of ``kind`` ("selectbox", "toggle", ...) with this label."""
    return next(w for w in getattr(at, kind) if w.label == label)


def page_keys(prefix: str, names: tuple[str, ...]) -> dict[str, str]:
    """The session keys a page with ``prefix`` uses for the Playground's key ``names``."""
    return {name: prefix + name.removeprefix("pg") for name in names}


def opened(at: AppTest, key: str) -> AppTest:
    """``at`` run again with the expander of session key ``key`` open (such an expander
    builds its content only while open, as a click on it in the browser would)."""
    at.session_state[key] = True
    return at.run()


def network_compiles(names: list[str]) -> list[str]:
    """Of ``count_compiles``' compiled function names (``jit(name)``), a network's
    (``NETWORK_FUNCTIONS``): the small eager operations of frame builders left out."""
    from engine.train.compile import NETWORK_FUNCTIONS

    return [n for n in names if n.removeprefix("jit(").rstrip(")") in NETWORK_FUNCTIONS]
