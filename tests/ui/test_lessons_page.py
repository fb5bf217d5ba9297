"""AppTest of the Lessons page: the shipped lessons listed, a lesson file opened (or
refused with one message), and a lesson written from the pages' setups."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from engine.lessons import lesson_names, load_lesson, parse_lesson
from engine.presets import preset
from tests.ui.apptest import PAGES, messages

LESSONS = str(PAGES / "lessons.py")


def lessons_page() -> AppTest:
    return AppTest.from_file(LESSONS, default_timeout=60).run()


def test_every_shipped_lesson_is_listed_with_a_start_button() -> None:
    at = lessons_page()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    for name in lesson_names():
        assert load_lesson(name).title in text
    assert sum(b.label == "Start" for b in at.button) == len(lesson_names())


def test_writing_a_lesson_takes_a_pages_setup_and_offers_downloads() -> None:
    at = AppTest.from_file(LESSONS, default_timeout=60)
    at.session_state["pg_spec"] = preset("xor_backprop")  # the Playground, as left
    at.run()
    at.text_input(key="ls_title").set_value("My XOR lesson")
    at.text_input(key="ls_new_title").set_value("Two neurons")
    at.text_area(key="ls_new_text").set_value("Press **Play**.")
    at.text_input(key="ls_new_q").set_value("What does each neuron draw?")
    at.multiselect(key="ls_new_hide").set_value(["presets", "learning_rate"])
    next(b for b in at.button if b.label.startswith("Add this page")).click()
    at.run()
    assert not at.exception and not messages(at)
    draft = at.session_state["ls_draft"]
    assert [s["title"] for s in draft["steps"]] == ["Two neurons"]
    lesson = parse_lesson(json.dumps(draft))
    assert lesson.steps[0].setup == preset("xor_backprop")
    assert lesson.steps[0].hide == ("presets", "learning_rate")
    assert lesson.steps[0].question == "What does each neuron draw?"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download (Markdown)", "Download (JSON)"]


def test_a_step_of_a_page_not_yet_opened_opens_it_as_left() -> None:
    at = lessons_page()
    at.selectbox(key="ls_new_page").set_value("paths")
    next(b for b in at.button if b.label.startswith("Add this page")).click()
    at.run()
    assert not at.exception
    step = at.session_state["ls_draft"]["steps"][0]
    assert step["page"] == "paths" and "setup" not in step
    assert any("keeps no setup" in m for m in messages(at, "info"))
