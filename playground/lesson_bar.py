"""A lesson in progress: its card above every page, and the projector's presentation mode.

A lesson (``engine.lessons``) is a list of steps, each a page of the app with a setup,
controls to hide, a text and a question. Opening a step switches to its page with the
step's setup as the page's own link parameters (``s``, ``hide``, the page's others),
so the page loads it exactly as it loads any link, and the address bar holds a link
to the step. The card stays above each page until the lesson is closed.

Text from an uploaded lesson comes from outside: it is shown as plain text
(``encode.plain``); the shipped lessons' Markdown is ours and is rendered.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from engine import Spec
from engine.lessons import Lesson, Step
from playground.core import address, url
from playground.core.encode import plain

LESSON = "ls_lesson"  # the Lesson being taught
STEP = "ls_step"  # the index of its current step
NAME = "ls_name"  # the shipped lesson's name (None for an uploaded or written one)
PRESENT = "ls_present"  # presentation mode on
NOTE = "ls_note"  # a message about the lesson's link, shown once by the card

PRESENT_CSS = """
<style>
/* A projector at the back of a classroom: larger type and pictures. */
[data-testid="stMain"] { font-size: 1.25rem; }
[data-testid="stMain"] h1 { font-size: 2.6rem; }
[data-testid="stMain"] .stMarkdown p, [data-testid="stMain"] .stMarkdown li,
[data-testid="stMain"] [data-testid="stAlert"] p { font-size: 1.3rem; }
.lv-root, .fv-root, .iv-root, .rv-root, .sv-root { zoom: 1.35; }
[data-testid="stSidebar"] { font-size: 1.1rem; }
</style>
"""


LESSON_CSS = """
<style>
/* A lesson's card stands above the page: less room above it and a smaller page title,
   so that the page's network or picture still starts above an 800 px projector's fold. */
[data-testid="stMainBlockContainer"] { padding-top: 4.5rem; }
[data-testid="stMain"] h1 { font-size: 2rem; padding-top: 0.5rem; padding-bottom: 0.25rem; }
</style>
"""

THINK = "Think about it, or talk it over:"  # a step's question has no answer key


def _pages() -> dict[str, Any]:
    return st.session_state.get("ls_pages", {})


def register_pages(pages: dict[str, Any]) -> None:
    """The app's pages by lesson page id (``engine.lessons.PAGES``); the entry script
    calls this each run, before the card is drawn."""
    st.session_state["ls_pages"] = pages


def _default(page: str) -> Spec | None:
    """The default setup of live page ``page`` (a step without a setup opens it);
    None for pages that keep no setup."""
    import importlib

    module = {"playground": "lab", "flow": "flow", "sequences": "sequences",
              "images": "images", "race": "race"}.get(page)
    return importlib.import_module(f"playground.{module}").PAGE.default if module else None


def step_query(lesson: Lesson, index: int, name: str | None) -> dict[str, str]:
    """The link parameters that open step ``index`` of ``lesson`` on its page."""
    step: Step = lesson.steps[index]
    query: dict[str, str] = dict(step.params)
    setup = step.setup if step.setup is not None else _default(step.page)
    if setup is not None:
        query["s"] = url.spec_to_query(setup)
    if step.hide:
        query["hide"] = ",".join(step.hide)
    if step.play:
        query["play"] = "1"
    if name:  # a shipped lesson: the address is a link back to this step
        query["lesson"], query["step"] = name, str(index + 1)
    if st.session_state.get(PRESENT):
        query["present"] = "1"
    return query


def start(lesson: Lesson, name: str | None, index: int = 0) -> None:
    """Begin ``lesson`` (``name``: a shipped one's) at step ``index`` and open it."""
    st.session_state[LESSON], st.session_state[NAME] = lesson, name
    go(index)


def go(index: int) -> None:
    """Open step ``index`` of the lesson in progress (switches page; does not return)."""
    lesson: Lesson = st.session_state[LESSON]
    index = max(0, min(index, len(lesson.steps) - 1))
    st.session_state[STEP] = index
    page = _pages()[lesson.steps[index].page]
    query = step_query(lesson, index, st.session_state.get(NAME))
    address.expect(query.get("s"))  # the step's setup, even if the page had it before
    st.switch_page(page, query_params=query)


def close() -> None:
    """End the lesson (the pages keep their setups) and leave presentation mode."""
    for k in (LESSON, STEP, NAME, PRESENT):
        st.session_state.pop(k, None)
    for k in ("lesson", "step", "present"):  # or the address would open it again
        if k in st.query_params:
            del st.query_params[k]


def presenting() -> bool:
    """Whether presentation mode is on (``?present=1`` in a link turns it on, ``0`` off)."""
    flag = st.query_params.get("present")
    if flag in ("0", "1"):
        st.session_state[PRESENT] = flag == "1"
    return bool(st.session_state.get(PRESENT))


def from_link() -> None:
    """Open ``?lesson=<shipped name>&step=<n>`` (a teacher's link to a lesson step): a
    lesson not yet open starts at that step, on its page with its setup; the browser's
    Back and Forward move the card to the address's step. An unknown name gets one
    message. Call after the pages are registered."""
    from engine.lessons import lesson_names, load_lesson

    q = st.query_params
    name = q.get("lesson")
    if not name:
        return
    if name not in lesson_names():
        st.error(plain(f"There is no lesson called {name[:60]!r}; the lessons are: "
                       f"{', '.join(lesson_names())}."))
        for k in ("lesson", "step"):  # said once: the address no longer asks for it
            if k in q:
                del q[k]
        return
    same = st.session_state.get(NAME) == name and LESSON in st.session_state
    lesson = st.session_state[LESSON] if same else load_lesson(name)
    step = q.get("step", "1")
    n = len(lesson.steps)
    index = int(step) - 1 if re.fullmatch(r"[0-9]{1,3}", step) else -1
    if not 0 <= index < n:
        # Shown by the card (opening the step switches page, which drops this run's
        # elements).
        st.session_state[NOTE] = (f"{lesson.title} has steps 1 to {n}, not {step[:20]!r}: "
                                  "it opens at step 1.")
        index, q["step"] = 0, "1"  # said once
    if same:
        st.session_state[STEP] = index  # Back/Forward: the address's step
        return
    start(lesson, name, index)


def card() -> None:
    """The lesson's card: the step's title, text and question, Back and Next."""
    lesson: Lesson | None = st.session_state.get(LESSON)
    if st.session_state.get(PRESENT):
        st.html(PRESENT_CSS)
        if lesson is None and st.button("Leave presentation mode", key="ls_leave_present",
                                        icon=":material/fullscreen_exit:"):
            st.session_state[PRESENT] = False
            if "present" in st.query_params:
                del st.query_params["present"]
            st.rerun()
    if lesson is None:
        return
    st.html(LESSON_CSS)
    if NOTE in st.session_state:
        st.warning(plain(st.session_state.pop(NOTE)))
    index = st.session_state.get(STEP, 0)
    step = lesson.steps[index]
    trusted = st.session_state.get(NAME) is not None  # a shipped lesson: our Markdown
    show = (lambda t: t) if trusted else plain
    with st.container(border=True, key="lesson_card"):
        st.markdown(f"**{show(lesson.title)}** \u00b7 step {index + 1} of "
                    f"{len(lesson.steps)}: {show(step.title)}")
        # The buttons on a row of their own, each as wide as its label, wrapping when the
        # row is narrow: in columns beside the title a projector's 1280 pixels cut them to
        # "Prev...", "N..." (a teacher's review).
        row = st.container(horizontal=True, vertical_alignment="center", gap="medium")
        # "... step" and not orange: the page below has its own orange "Next example" or
        # Play, which students pressed this for (a teacher's review)
        if row.button("Previous step", icon=":material/arrow_back:", disabled=index == 0,
                      key="ls_back"):
            go(index - 1)
        if row.button("Next step", icon=":material/arrow_forward:",
                      disabled=index + 1 >= len(lesson.steps), key="ls_next"):
            go(index + 1)
        present = row.toggle("Presentation", value=bool(st.session_state.get(PRESENT)),
                              key="ls_present_toggle", help="Larger type and pictures for a "
                              "projector; the sidebar folds (open it with the arrow at the "
                              "top left)")
        if present != bool(st.session_state.get(PRESENT)):
            st.session_state[PRESENT] = present
            if present:
                st.query_params["present"] = "1"
            elif "present" in st.query_params:
                del st.query_params["present"]
            st.rerun()
        if row.button("Close", icon=":material/close:", key="ls_close"):
            close()
            st.rerun()
        if step.text:
            st.markdown(show(step.text))
        if step.question:  # no answer key: a question to think over, or to discuss in class
            st.info(f"**{THINK}** {show(step.question)}", icon=":material/help:")
