"""The queued message's showing: it stays queued until the page it is shown on is drawn."""

from __future__ import annotations

import streamlit as st

from playground.core import session
from playground.core.encode import plain


def show_flash() -> tuple[str, str] | None:
    """Show the message ``session.flash`` queued, as typed (it may quote a link or a
    file); returns it.

    It stays queued until ``flash_shown(it)``, called once the page is drawn: a click
    that cuts the run short in between (Streamlit then starts a new run) would otherwise
    lose it, and an upload's error would never be seen (it happened in CI)."""
    msg = session.get(session.MESSAGE)
    if msg:
        getattr(st, msg[0])(plain(msg[1]))
    return msg


def flash_shown(msg: tuple[str, str] | None) -> None:
    """Clear the message ``show_flash`` returned, not one queued since (it shows next)."""
    if msg is not None and session.get(session.MESSAGE) is msg:
        session.drop(session.MESSAGE)
