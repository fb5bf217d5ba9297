"""The list of presets shown on the home page, built from the engine's registry."""

from __future__ import annotations

import streamlit as st

from engine.presets import PRESETS, preset
from playground.core import address
from playground.core.url import spec_to_query

# The page that runs each topic's presets (streamlit_app.PAGES' files) and its title.
TOPIC_PAGES = {"playground": ("pages/lab.py", "the Playground"),
               "gradients": ("pages/flow.py", "Gradient flow"),
               "sequences": ("pages/sequences.py", "Sequences and attention"),
               "images": ("pages/images.py", "Images and CNNs")}


def preset_list() -> None:
    """One expander per preset: its explanation, a button that opens it on its page (a
    button, not a page link: a link's setup that the page showed before would be taken
    for the browser's echo and ignored, ``address.stale``), and its spec as JSON."""
    for name in PRESETS.names():
        p = PRESETS.get(name)
        with st.expander(f"**{p.title}**  ·  `{name}`"):
            st.write(p.explanation)
            if p.topic in TOPIC_PAGES:
                page, title = TOPIC_PAGES[p.topic]
                if st.button(f"Open it on {title}", key=f"home_open_{name}",
                             icon=":material/open_in_new:"):
                    q = spec_to_query(preset(name))
                    # applied even where that page showed this setup before (address.stale)
                    address.expect(q)
                    st.switch_page(page, query_params={"s": q})
            st.caption(f"Suggested training: {p.epochs} epochs.  "
                       f"Headless: `python -m engine train {name}`")
            st.json(p.spec, expanded=False)
