"""Make sure every page runs through the entry script's ``st.navigation``.

Streamlit keeps a relic of its first multipage design: while a ``pages/``
folder exists, the first run in a process is routed the legacy way, straight
to the page file, and the entry never runs (no navigation titles, no device
badge) until someone opens the root URL. A teacher's link to a sub-page on a
freshly started server would hit exactly that. Each page calls ``through_entry``
first: in that legacy case it switches the legacy routing off and reruns, so
the entry script handles the page.
"""

from __future__ import annotations

import streamlit as st


def through_entry() -> None:
    """Rerun through ``streamlit_app.py`` if Streamlit routed here the legacy way."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the relic
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
