"""Optimizer race: one network, several optimizers or learning rates, trained at once, live."""

import streamlit as st

from playground.core import livepage
from playground.core.entry import through_entry
from playground.race import PAGE

through_entry()
st.title("Optimizer race")
st.caption(
    "The same network, from the same starting weights, trained by several optimizers (or one "
    "optimizer at several learning rates) side by side. They all train in one compiled call: "
    "JAX's vmap runs the contestants together for little more than one costs. Press "
    "**Play** and watch which boundary settles first, and whose loss falls fastest."
)
livepage.run(PAGE)
