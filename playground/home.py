"""The list of presets shown on the home page, built from the engine's registry."""

from __future__ import annotations

import streamlit as st

from engine.presets import PRESETS


def preset_list() -> None:
    """One expander per preset: its explanation and its spec as JSON."""
    for name in PRESETS.names():
        p = PRESETS.get(name)
        with st.expander(f"**{p.title}**  ·  `{name}`"):
            st.write(p.explanation)
            st.caption(f"Suggested training: {p.epochs} epochs.  "
                       f"Headless: `python -m engine train {name}`")
            st.json(p.spec, expanded=False)
