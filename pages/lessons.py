"""Lessons: a teacher's sequence of pages, setups, texts and questions."""

import streamlit as st

from playground.core.entry import through_entry
from playground.lessons import page

through_entry()
st.title("Lessons")
st.caption(
    "A lesson walks a class through the app: each step opens a page with a setup, hides "
    "what would distract, and asks a question. Start one of ours, open a file a colleague "
    "shared, or write your own from the pages' setups."
)
page()
