"""Gradient flow: a deep network's gradients, activations and weights, layer by layer, live."""

import streamlit as st

from playground.core import livepage
from playground.core.entry import through_entry
from playground.flow import PAGE

through_entry()
st.title("Gradient flow")
st.caption(
    "Backpropagation multiplies one slope and one weight matrix per layer, so in a deep "
    "network the gradient can shrink to nothing (vanishing) or blow up (exploding) on its "
    "way to the first layers. Pick a lesson from the presets, press **Play**, and watch each "
    "layer's gradient, activations and weights. Purple bars are layers getting 100x less "
    "gradient than the last hidden layer, red ones 100x more."
)
livepage.run(PAGE)
