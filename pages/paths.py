"""Optimizer paths: every optimizer on the same analytic surface, from the same start."""

import streamlit as st

from playground.core.entry import through_entry

through_entry()
st.title("Optimizer paths")
st.info("Coming in this change.")
