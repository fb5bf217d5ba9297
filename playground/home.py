"""The list of presets shown on the home page, built from the engine's registry."""

from __future__ import annotations

import contextlib

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from engine.presets import PRESETS, preset
from playground.core.url import spec_to_query

# The page that runs each topic's presets (streamlit_app.PAGES' files) and its title.
TOPIC_PAGES = {"playground": ("pages/lab.py", "the Playground"),
               "gradients": ("pages/flow.py", "Gradient flow"),
               "sequences": ("pages/sequences.py", "Sequences and attention"),
               "images": ("pages/images.py", "Images and CNNs")}


def preset_list() -> None:
    """One expander per preset: its explanation, a link that opens it on its page, and
    its spec as JSON."""
    for name in PRESETS.names():
        p = PRESETS.get(name)
        with st.expander(f"**{p.title}**  ·  `{name}`"):
            st.write(p.explanation)
            if p.topic in TOPIC_PAGES:
                page, title = TOPIC_PAGES[p.topic]
                # (no link when this page runs alone, outside the app's navigation)
                with contextlib.suppress(StreamlitPageNotFoundError):
                    st.page_link(page, label=f"Open it on {title}",
                                 icon=":material/open_in_new:",
                                 query_params={"s": spec_to_query(preset(name))})
            st.caption(f"Suggested training: {p.epochs} epochs.  "
                       f"Headless: `python -m engine train {name}`")
            st.json(p.spec, expanded=False)
