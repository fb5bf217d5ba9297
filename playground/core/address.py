"""The address bar of a live page: each page keeps its own, whatever Streamlit does.

What Streamlit 1.67 does with the address (seen in Chromium, history.pushState and
replaceState logged: ``tests/e2e/test_navigation.py``):

- a sidebar link, or ``st.switch_page`` without parameters, drops every parameter and
  pushes the bare path of the new page (``st.page_link`` with ``query_params`` pushes
  the new path with those parameters, once);
- each write to ``st.query_params`` pushes a history entry (a replace while a Back or
  Forward run is running); Back and Forward rerun the entry's page with the entry's
  parameters;
- a write made early in a page's first run after a move lands before Streamlit has
  changed the path: the history then holds this page's ``s`` under the page before's
  path (every return to a page already visited did so), and ``st.switch_page`` with
  parameters pushes them under the old path too.

So Back could open one page's setup on another page. ``arrive`` refuses such an entry
(``foreign``): an ``s`` reached by Back or Forward that another page of this session
wrote and this page never did. And coming back to a page by the sidebar, it puts the
page's own parameters back (``s``, ``hide``, the race's ``race``) in one write, one
history entry. Session keys: the page's address under ``session.key(KEY)``; the
``s`` values each page wrote under ``WRITTEN``. No other module writes them.
"""

from __future__ import annotations

import streamlit as st

KEY = "pg_address"  # a page's own parameters (``session.key`` gives the page's key)
EXPECTED = "nav_expected"  # an s this session is about to open on purpose (``expect``)
WRITTEN = "nav_written"  # {page prefix: {hash of an s it wrote or applied: None}}
MAX_WRITTEN = 500  # s values remembered per page (the oldest are forgotten)


def history_navigation() -> bool:
    """Whether the browser's Back or Forward button started this run (Streamlit's run
    context says so; False where it cannot tell)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))


def remember(key: str) -> None:
    """Keep the page's own parameters (under session key ``key``) as the URL has them
    now: ``s``, ``hide`` and those kept by ``keep``."""
    names = {"s", "hide", *st.session_state.get(key, {})}
    st.session_state[key] = {k: st.query_params[k] for k in sorted(names)
                             if k in st.query_params}


def keep(key: str, name: str, value: str) -> None:
    """Put the page's own parameter ``name`` (the race's ``race``) into the URL and keep
    it with the page's address (session key ``key``)."""
    if st.query_params.get(name) != value:
        st.query_params[name] = value
    st.session_state[key] = {**st.session_state.get(key, {}), name: value}


def own(page: str, text: str) -> None:
    """Remember that page ``page`` (a session prefix) wrote or applied the setup ``text``."""
    mine = st.session_state.setdefault(WRITTEN, {}).setdefault(page, {})
    mine.pop(hash(text), None)
    mine[hash(text)] = None
    while len(mine) > MAX_WRITTEN:
        del mine[next(iter(mine))]


def wrote(page: str, key: str, text: str) -> None:
    """Page ``page`` just put the setup ``text`` into the URL."""
    own(page, text)
    remember(key)


def foreign(page: str, text: str) -> bool:
    """Whether ``text``, reached by Back or Forward, is another page's setup: written by
    another page of this session and never by ``page``."""
    if not text or not history_navigation():
        return False
    h, written = hash(text), st.session_state.get(WRITTEN, {})
    return h not in written.get(page, {}) and any(
        h in seen for other, seen in written.items() if other != page)


def expect(text: str | None) -> None:
    """The app itself is about to open the setup ``text`` (a lesson's step, a pasted
    link): apply it even if the page had it before (see ``stale``)."""
    if text:
        st.session_state[EXPECTED] = text


def arrived(text: str) -> None:
    """The URL holds ``text`` now: if the app opened it on purpose (``expect``), that
    purpose is spent, and a later echo of it is stale like any other (left set, it
    would let the browser's echo undo the user's next edit, and restart training)."""
    if text and st.session_state.get(EXPECTED) == text:
        st.session_state.pop(EXPECTED)


def stale(page: str, text: str, seen: str) -> bool:
    """Whether ``text`` is the browser echoing an address this page wrote before, not a
    link: a rerun carries the address the browser last received, which can be one
    update behind (a click right after a change). Applying it would undo that change.
    Back and Forward, and what the app opens on purpose (``expect``), are not stale."""
    if not text or text == seen or history_navigation():
        return False
    if st.session_state.get(EXPECTED) == text:
        st.session_state.pop(EXPECTED)
        return False
    return hash(text) in st.session_state.get(WRITTEN, {}).get(page, {})


def arrive(page: str, key: str) -> str:
    """Make the URL page ``page``'s (its address under session key ``key``) where
    Streamlit left another page's or none; returns the ``s`` the page should read."""
    address: dict[str, str] = st.session_state.get(key, {})
    text = st.query_params.get("s", "")
    if foreign(page, text):  # never apply it: the page's own address instead
        st.query_params.from_dict(address)
    elif not st.query_params and address:  # moved here by the sidebar: all back, at once
        st.query_params.update(address)
    elif text:
        own(page, text)  # a link (or Back within the page): this page's setup from now
    remember(key)
    return st.query_params.get("s", "")
