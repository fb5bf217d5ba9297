"""The Playground recounts its confusion matrix every few frames while playing
(``playground.lab_frame.confusion_counts``), at once otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import streamlit as st

from playground.core import session
from playground.core.livepage import Frame
from playground.lab_frame import CONFUSION_EVERY, confusion_counts


class Counting:
    """An experiment whose confusion matrix says how often it was counted."""

    def __init__(self) -> None:
        self.counted = 0

    def confusion_matrix(self, state) -> np.ndarray:
        self.counted += 1
        return np.array([[self.counted]])


def _frame(exp, first: bool = False) -> Frame:
    return Frame(exp, None, None, {}, first)


@pytest.fixture
def playing():
    st.session_state.clear()
    session.use_page("pg")
    session.set_playing(True)
    yield
    st.session_state.clear()


def test_while_playing_it_is_recounted_every_few_frames(playing):
    exp = Counting()
    assert confusion_counts(_frame(exp, first=True))[0, 0] == 1
    shown = [int(confusion_counts(_frame(exp))[0, 0]) for _ in range(2 * CONFUSION_EVERY)]
    assert exp.counted == 3  # the first frame, then every CONFUSION_EVERY frames
    assert shown[0] == 1 and shown[-1] == 3  # the last count is shown in between


def test_paused_a_new_network_or_a_first_frame_recount_at_once(playing):
    exp = Counting()
    confusion_counts(_frame(exp, first=True))
    other = Counting()
    assert confusion_counts(_frame(other))[0, 0] == 1  # another experiment: its own count
    session.set_playing(False)
    confusion_counts(_frame(other))
    confusion_counts(_frame(other))
    assert other.counted == 3
