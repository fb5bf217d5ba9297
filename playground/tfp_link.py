"""Opening a TensorFlow Playground link on the Playground.

Teachers have years of lessons written as TensorFlow Playground links. One opens
here pasted into the sidebar's box, or as our app's ``tfp`` query parameter
(``/?tfp=activation%3Dtanh%26...``: the link's part after ``#``, URL-encoded). The
engine maps it (``engine.tfp``); this module turns the result into our own link
(``s`` and ``hide``) and the view's toggles, and says in one line what could not be
honoured. A link that cannot be read at all keeps the current setup and says why.
"""

from __future__ import annotations

import streamlit as st

from engine import EngineError
from engine.tfp import TfpLink, parse_link, summary
from playground.core import address, session, url

PARAM = "tfp"
"""Our query parameter that carries a TensorFlow Playground link."""


def _notes(link: TfpLink) -> str:
    return " " + (summary(link) or "Every parameter was honoured.")


def open_link(text: str) -> bool:
    """Make the TensorFlow Playground link ``text`` the Playground's setup (through our
    own link parameters, which the next run applies); False, with a message, when it
    cannot be read."""
    try:
        link = parse_link(text)
    except EngineError as err:
        session.flash("error", f"That TensorFlow Playground link could not be opened: {err}. "
                      "The current setup is kept.")
        return False
    st.query_params["s"] = url.spec_to_query(link.spec)
    address.expect(st.query_params["s"])  # opened on purpose, even if seen before
    hide = sorted({*link.hidden, *(("text",) if link.hide_text else ())})
    if hide:
        st.query_params["hide"] = ",".join(hide)
    elif "hide" in st.query_params:
        del st.query_params["hide"]
    # The view's toggles take the link's values (the toolbar draws them after this).
    st.session_state["pg_show_test"] = link.show_test_data
    st.session_state["pg_discretize"] = link.discretize
    session.flash("info", "Opened a TensorFlow Playground link." + _notes(link))
    return True


def open_from_query() -> None:
    """Open the ``tfp`` query parameter, if the address has one, and drop it (our own
    parameters then hold the setup, so a reload or a share link keeps it)."""
    text = st.query_params.get(PARAM)
    if not text:
        return
    del st.query_params[PARAM]
    open_link(text)


def paste_box() -> None:
    """The sidebar's box for pasting a TensorFlow Playground link."""
    with (st.expander("Open a TensorFlow Playground link"),
          st.form("pg_tfp_form", border=False, clear_on_submit=True)):
        text = st.text_input("Link", key="pg_tfp_text", max_chars=4000,
                             placeholder="https://playground.tensorflow.org/#activation=...",
                             help="The whole link, or only its part after #")
        opened = st.form_submit_button("Open", icon=":material/open_in_new:")
        if opened and text.strip() and open_link(text):
            st.rerun()
