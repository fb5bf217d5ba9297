"""Hyperparameter search: grid, random and Bayesian search, each round trained at once."""

import streamlit as st

from playground.core.entry import through_entry
from playground.search_page import render

through_entry()
st.title("Hyperparameter search")
render()
