"""Sequences and attention: RNN, LSTM, GRU and transformers learning, with live attention maps."""

import streamlit as st

from playground.core import livepage
from playground.core.entry import through_entry
from playground.sequences import PAGE

through_entry()
st.title("Sequences and attention")
st.caption(
    "Pick a task and a stack of layers, press **Play**, and watch a test example: the "
    "model's answer at each step, every attention map (which steps each step looks at), "
    "the recurrent states over time and how much gradient reaches each input step. Turn on "
    "**Compare** to race a simple RNN, an LSTM, a GRU and a transformer on the same task."
)
livepage.run(PAGE)
