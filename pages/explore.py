"""Explorers: activation functions and losses, with their derivatives."""

import streamlit as st

from playground.core.entry import through_entry
from playground.explore import activation_explorer, loss_explorer

through_entry()
st.title("Activations and losses")
st.caption(
    "Every curve and derivative here is computed by the engine with `jax.grad`, exactly "
    "what training uses. Grey bands mark where an activation saturates: gradients "
    "passing through there almost vanish."
)
tab_act, tab_loss = st.tabs(["Activation explorer", "Loss explorer"])
with tab_act:
    activation_explorer()
with tab_loss:
    loss_explorer()
