"""Hostile input against this round's classroom features: message text, lesson links,
clicks on the plane (found by attacking them; each case failed before its fix)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.data import decode_points, encode_points
from engine.errors import SpecError
from engine.lessons import parse_lesson
from playground.core.encode import plain
from tests.ui.apptest import PAGES, messages

APP = str(PAGES.parent / "streamlit_app.py")


def test_messages_drop_control_and_format_characters() -> None:
    shown = plain("a\x00b\u202ec\u200bd\ne\tf")
    assert shown == "abcd\ne\tf"


@pytest.mark.parametrize("step", ["\u00b2", "\u0663", "9" * 5000, "0", "-1", "999"])
def test_a_lesson_link_with_a_bad_step_opens_step_one_and_says_so(step: str) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lesson"] = "xor"
    at.query_params["step"] = step
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["ls_step"] == 0
    assert any("has steps 1 to 5" in m for m in messages(at, "warning"))


def test_an_unknown_lesson_is_said_once_and_leaves_the_address() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lesson"] = "../../etc/passwd"
    at.run()
    assert not at.exception
    assert any("There is no lesson called" in m for m in messages(at))
    assert "lesson" not in at.query_params


def test_a_lesson_file_may_not_set_the_apps_own_parameters() -> None:
    for name in ("lesson", "step", "present", "play", "tfp"):
        lesson = {"title": "T", "steps": [{"title": "S", "page": "race",
                                           "params": {name: "1"}}]}
        with pytest.raises(SpecError, match="is not a parameter name"):
            parse_lesson(json.dumps(lesson))


def test_present_zero_leaves_presentation_mode() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["present"] = "1"
    at.run()
    assert at.session_state["ls_present"]
    assert any(b.label == "Leave presentation mode" for b in at.button)
    at.query_params["present"] = "0"
    at.run()
    assert not at.session_state["ls_present"]


def _hand_session(points: int):
    """A Playground session (Streamlit's bare session state, as in a callback) training
    a hand set of ``points`` points."""
    import streamlit as st

    import engine
    from playground.core import session

    rng = np.random.default_rng(0)
    x = rng.uniform(-6, 6, (points, 2))
    y = (x[:, 0] > 0).astype(np.int64)
    spec = engine.Spec.from_dict({"data": {"name": "hand", "classes": 2, "points":
                                           encode_points(x, y, "classification")}})
    st.session_state.clear()
    session.use_page("pg")
    session.put(session.SPEC, spec)
    session.put(session.EXPERIMENT, engine.build(spec))
    return session


def _count(session) -> int:
    return len(decode_points(session.spec().data.points, "classification")[0])


def test_clicks_with_bad_times_are_ignored_and_do_not_block_later_ones() -> None:
    from playground import hand

    session = _hand_session(30)
    for t in (1e309, float("nan"), True, "5", -1, 2.0**60):
        hand.on_click({"clicks": [{"u": 0.1, "v": 0.1, "t": t}]})
    assert _count(session) == 30
    hand.on_click({"clicks": [{"u": 0.2, "v": 0.2, "t": 10}, {"u": 0.3, "v": 0.3, "t": 11}]})
    assert _count(session) == 32
    hand.on_click({"clicks": [{"u": 0.2, "v": 0.2, "t": 10}, {"u": 0.3, "v": 0.3, "t": 11}]})
    assert _count(session) == 32  # a report sent again changes nothing


def test_the_most_points_stop_adding_with_a_message_not_an_error() -> None:
    from playground import hand

    session = _hand_session(1998)
    hand.on_click({"clicks": [{"u": 0.01 * k, "v": 0.5, "t": 100 + k} for k in range(5)]})
    assert _count(session) == 2000
    assert "at most 2,000 points" in session.get(session.MESSAGE)[1]


def test_a_pending_set_of_the_other_hand_task_is_refused_with_a_message() -> None:
    from playground import hand

    session = _hand_session(30)
    session.put(hand.PENDING, (np.zeros((3, 2)), np.full(3, 0.5)))  # regression values
    hand.on_click({"clicks": [{"u": 0.1, "v": 0.1, "t": 5}]})
    assert "cannot be kept" in session.get(session.MESSAGE)[1]
    assert _count(session) == 30


def test_an_address_this_page_wrote_before_is_a_stale_echo_unless_opened_on_purpose() -> None:
    import streamlit as st

    from playground.core import address

    st.session_state.clear()
    address.own("pg", "old")
    address.own("pg", "new")
    assert address.stale("pg", "old", seen="new")  # the browser one update behind
    assert not address.stale("pg", "new", seen="new")
    assert not address.stale("pg", "never-seen", seen="new")  # a link: applied
    assert not address.stale("gf", "old", seen="x")  # another page's: not this one's echo
    address.expect("old")  # a lesson step opening it again on purpose
    assert not address.stale("pg", "old", seen="new")
    assert address.stale("pg", "old", seen="new")  # once
