"""Playground: TensorFlow Playground's 2-D lab, live on a JAX engine."""

import streamlit as st

from playground.core import livepage
from playground.core.entry import through_entry
from playground.lab import PAGE

through_entry()
st.title("Playground")
st.caption(
    "Pick data and a network, press **Play**, and watch the decision boundary, every "
    "neuron and every weight change as it learns. Orange is negative, blue positive; "
    "links are weights (width = size). The URL always holds the whole setup: share it."
)
livepage.run(PAGE)
