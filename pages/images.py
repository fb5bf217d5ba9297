"""Images and CNNs: train a convolutional network on pictures and see inside it, live."""

import streamlit as st

from playground.core import livepage
from playground.core.entry import through_entry
from playground.images import PAGE

through_entry()
st.title("Images and CNNs")
st.caption(
    "Pick pictures and a stack of layers, press **Play**, and look inside the network while "
    "it learns: every feature map of the picture, every kernel, the class probabilities and "
    "which pixels matter (saliency). Click a feature map's pixel to see the multiply-and-sum "
    "behind it, draw your own digit, and browse the test pictures it gets wrong."
)
livepage.run(PAGE)
