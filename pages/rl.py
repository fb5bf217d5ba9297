"""Reinforcement learning: a Q-network learns to balance a pole, live."""

import streamlit as st

from playground.core.entry import through_entry
from playground.rl_page import page

through_entry()
st.title("Reinforcement learning")
st.caption(
    "A deep Q-network (DQN) learns to balance a pole on a cart. Nobody shows it the right "
    "move: it acts, mostly at random at first (epsilon), gets 1 point for every step the "
    "pole stays up, and learns to predict each action's future points, Q(state, action). "
    "Press **Play** and watch the return climb to 500, the greedy policy's map sharpen and "
    "the cart find its balance."
)
page()
