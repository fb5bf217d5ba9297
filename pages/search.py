"""Hyperparameter search: grid, random and Bayesian search, each round trained at once."""

import streamlit as st

from playground.core.entry import through_entry

through_entry()
st.title("Hyperparameter search")
st.info("Coming in this change.")
