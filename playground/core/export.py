"""Export: the spec as JSON, the trained weights (.npz) and a runnable script."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import engine
from engine.data import TABLE, UPLOAD
from engine.io import save_params
from playground.core import address, session
from playground.core.controls import lazy_expander
from playground.core.url import SECTIONS, spec_to_query, too_long_for_a_link

SCRIPT = '''"""Train the NN Playground setup headless with its JAX engine.

Install: pip install nn-playground  (or run from a checkout of the project)
"""
import engine

SPEC = engine.Spec.from_json({spec!r})
{raw}
result = engine.run(SPEC, epochs={epochs}{raw_arg})
for name, value in result.metrics.items():
    print(f"{{name:>16}}: {{value}}")
'''

# Uploads that do not travel inside the spec are read from files by the script (the user
# saves their own files there).
RAW_TABLE = '''# your uploaded CSV file, saved beside this script
RAW = engine.read_csv("my_data.csv")
'''
RAW_PICTURES = '''# your .zip of pictures, saved beside this script
with open("my_pictures.zip", "rb") as fh:
    RAW = engine.load_image_zip(fh.read(), size={size}, channels={channels})
'''


def script_for(spec: engine.Spec, epochs: int) -> str:
    """A short Python script that trains ``spec`` for ``epochs`` epochs."""
    raw = ""
    if spec.data.name == TABLE and spec.data.csv is None:
        raw = RAW_TABLE
    elif spec.data.name == UPLOAD:
        raw = RAW_PICTURES.format(size=spec.data.size or 28, channels=spec.data.channels)
    return SCRIPT.format(spec=spec.to_json(indent=None), epochs=max(1, epochs), raw=raw,
                         raw_arg=", raw=RAW" if raw else "")


HIDE, HIDDEN = "pg_share_hide", "pg_share_hidden"  # the widget's key, the kept choice
LINK = "pg_share_link"


def share_link(spec: engine.Spec) -> None:
    """The link to this exact setup, optionally hiding controls for a class."""
    # The choice outlives the widget, which exists only while "Share and export" is open.
    if HIDE not in st.session_state:
        st.session_state[HIDE] = list(st.session_state.get(HIDDEN, []))
    hide = st.multiselect("Hide these controls from students", SECTIONS, key=HIDE,
                          on_change=lambda: st.session_state.update(
                              {HIDDEN: list(st.session_state[HIDE])}),
                          help="The link opens the same setup with these sections hidden.")
    # The page's own parameters (the race's contestants) travel too: each page checks
    # its own when a link is opened. Others in the address (a lesson's) do not.
    own = [(k, v) for k, v in (session.get(address.KEY) or {}).items()
           if k not in ("s", "hide")]
    query = {k: v for k, v in (("s", spec_to_query(spec)), *own, ("hide", ",".join(hide)))
             if v}
    link_box(query)


def link_box(query: dict[str, str]) -> None:
    """The page's address with ``query``, in a text box to select and copy.

    A text box, not ``st.code``: a code block makes every first visit of a page fetch
    and parse Streamlit's syntax highlighter (1.5 MB of JavaScript; the browser's main
    thread was busy 1.95 -> 1.54 s until Play, on this project's 2-core machine). Its
    value is set on every run: whatever a visitor typed into it, it shows this setup's
    link."""
    base = st.context.url or ""
    if base.count("/") == 2:  # "http://host:port": give the query a path to follow
        base += "/"
    st.session_state[LINK] = f"{base}?{urlencode(query)}" if query else base or "/"
    st.text_input("Link to this setup", key=LINK,
                  help="Select it and copy it (Ctrl+A, Ctrl+C): the link opens this setup.")


def latest(exp: engine.Experiment, drawn: engine.TrainState) -> Callable[[], Any]:
    """A reader of the running page's training state at the moment it is called, from
    any thread; ``drawn`` (the state when the button was drawn) whenever the session no
    longer runs ``exp``'s setup (a link or Back switched it) or cannot be read.

    A download button's data built when clicked (a callable: Streamlit calls it in its
    server thread, outside any script run, where ``st.session_state`` is not at hand)
    must show the session as it is then: a playing page stores each frame's training
    state while the run that drew the button goes on looping. Each read is one lookup
    of an immutable ``TrainState``, which the script thread replaces whole."""
    ctx = get_script_run_ctx()
    if ctx is None:  # bare mode: no session to read later
        return lambda: drawn
    state = ctx.session_state
    keys = session.key(session.EXPERIMENT), session.key(session.TRAIN_STATE)

    def read() -> engine.TrainState:
        try:
            now = state[keys[0]]  # the same setup, on the same network (an upload's
            # spec can stay the same for a table of another width)
            same = now.spec == exp.spec and now.structure == exp.structure
            return state[keys[1]] if same else drawn
        except (KeyError, AttributeError):
            return drawn

    return read


def export_buttons(exp: engine.Experiment, tstate: engine.TrainState,
                   weights: bool = True) -> None:
    """Download buttons for the spec, the weights (unless ``weights`` is False) and the
    script. The weights and the script's epoch count are those of the moment the
    button is clicked (``latest``), playing or not. Streamlit forgets a button's data
    when a run redraws the page: a click in the seconds while an edited network
    compiles gets "Failed to generate file", and the next click works."""
    spec = exp.spec
    now = latest(exp, tstate)
    c = st.columns(3)
    c[0].download_button("Spec (JSON)", spec.to_json(), "nn_playground_spec.json",
                         "application/json", icon=":material/data_object:",
                         key="pg_dl_spec", use_container_width=True)

    def packed() -> bytes:
        buf = io.BytesIO()
        save_params(buf, now(), spec)
        return buf.getvalue()

    if weights:
        c[1].download_button("Weights (.npz)", packed, "nn_playground_weights.npz",
                             "application/octet-stream", icon=":material/download:",
                             key="pg_dl_weights", use_container_width=True)
    c[2].download_button("Python script", lambda: script_for(spec, max(int(now().epoch), 100)),
                         "train_nn_playground.py", "text/x-python", icon=":material/code:",
                         key="pg_dl_script", use_container_width=True)
    if spec.data.name == TABLE and spec.data.csv is None:
        st.caption("Your table is too large to travel inside the spec: the script reads it "
                   "from my_data.csv (save your file there), and the link opens without it.")
    if spec.data.points and too_long_for_a_link(spec):
        st.caption("Your hand-placed points are too many for a link (about 1,400 fit): the "
                   "link opens with a starter set; share the spec (JSON) to keep them.")
    if spec.data.name == UPLOAD:
        st.caption("Your pictures do not travel inside the spec: the script reads them from "
                   "my_pictures.zip (save your .zip there), and the link opens without them.")


EXPORT = "pg_export"
"""Session key (per page, ``session.key``) of whether "Share and export" is open."""


def export_section(weights: bool = True) -> None:
    """The "Share and export" expander of the running page's session (``weights``:
    offer the session's trained weights; a page that trains elsewhere says no).

    Its content is built only while it is open (``lazy_expander``): closed, the server
    also writes no download files on every run."""
    title = "link, spec, weights, Python script" if weights else "link, spec, Python script"
    with lazy_expander(f"Share and export: {title}", session.key(EXPORT)) as open_:
        if open_:
            share_link(session.spec())
            export_buttons(session.experiment(), session.train_state(), weights)
