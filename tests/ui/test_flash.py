"""A queued message (an upload's error, a refused link) survives a run cut short."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.ui.apptest import messages


def _script() -> None:
    import streamlit as st

    from playground.core import session
    from playground.core.flash import flash_shown, show_flash

    if st.session_state.get("queue"):
        session.flash("error", st.session_state.pop("queue"))
    shown = show_flash()
    if st.session_state.get("cut_short"):
        st.stop()  # as a click that starts a new run before the page is drawn
    if st.session_state.get("queue_late"):  # queued after the message was shown
        session.flash("warning", st.session_state.pop("queue_late"))
    flash_shown(shown)


def test_a_message_stays_until_a_run_has_drawn_the_page():
    at = AppTest.from_function(_script)
    at.session_state["queue"] = "bad.zip: not a zip"
    at.session_state["cut_short"] = True
    at.run()
    assert messages(at) == ["bad.zip: not a zip"]
    at.session_state["cut_short"] = False
    at.run()  # the run that was cut short did not draw the page: shown again
    assert messages(at) == ["bad.zip: not a zip"]
    at.run()  # drawn once: gone
    assert messages(at) == []


def test_a_message_queued_after_the_shown_one_waits_for_the_next_run():
    at = AppTest.from_function(_script)
    at.session_state["queue"] = "first"
    at.session_state["queue_late"] = "second"
    at.run()
    assert messages(at) == ["first"] and not at.warning
    at.run()
    assert messages(at, "warning") == ["second"] and messages(at) == []
    at.run()
    assert not at.warning
