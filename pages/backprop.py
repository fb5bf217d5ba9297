"""Backprop, step by step: the classic 2-2-1 sigmoid network on XOR, number by number."""

import streamlit as st

from playground.backprop import controls, show
from playground.core.entry import through_entry

through_entry()
st.title("Backprop, step by step")
st.caption(
    "One example at a time: the forward pass, each local derivative, the chain-rule "
    "products flowing back, the gradients and the weight update. Press **Next example** "
    "to apply the update and move on; after four examples an epoch is done."
)
show(controls())
