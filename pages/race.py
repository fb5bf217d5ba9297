"""Optimizer race: one network, several optimizers, trained at once, live."""

import streamlit as st

from playground.core.entry import through_entry

through_entry()
st.title("Optimizer race")
st.info("Coming in this change.")
