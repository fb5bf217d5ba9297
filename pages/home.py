"""Home: what NN Playground is, and the presets."""

import streamlit as st

from playground.core.entry import through_entry
from playground.home import preset_list

through_entry()
st.title("NN Playground")
st.markdown(
    "Build a neural network, press play, and watch it learn: decision boundaries, "
    "gradients and attention maps update live while it trains. Everything runs on a "
    "jitted JAX engine that you can also use without this app "
    "(`python -m engine`)."
)
st.subheader("Presets")
st.caption("Ready-made setups, each with a few sentences a teacher can read aloud.")
preset_list()
