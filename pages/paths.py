"""Optimizer paths: every optimizer on the same analytic surface, from the same start."""

import streamlit as st

from playground.core.entry import through_entry
from playground.paths import render

through_entry()
st.title("Optimizer paths")
st.caption(
    "Training a network means walking downhill on its loss surface. Here the surface has "
    "only two weights, x and y, so you can see the whole landscape: darker is higher loss, "
    "the gold stars are the lowest points. Every optimizer starts at the black diamond and "
    "takes the same number of steps at the same learning rate: the Play button above the "
    "picture shows them go. Change the surface, the learning rate or the start in the "
    "sidebar and see who zig-zags, who stalls, who overshoots and who arrives first."
)
render()
