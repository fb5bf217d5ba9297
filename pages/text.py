"""Pretrained attention: a real transformer reads a sentence."""

import streamlit as st

from playground.core.entry import through_entry
from playground.text_page import page

through_entry()
st.title("Pretrained attention")
st.caption(
    "A real transformer, all-MiniLM-L6-v2 (6 layers of 12 attention heads, trained on a "
    "billion sentence pairs), reads your sentence. Each small map is one head: row = the "
    "token that looks, column = the token looked at. Click a map to draw that head's "
    "attention as lines. Below: the review sentences closest in meaning."
)
page()
