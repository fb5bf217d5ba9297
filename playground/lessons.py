"""The Lessons page: open a shipped lesson or a lesson file, or write one in the app.

A teacher writes a lesson by visiting pages and setting them up, then, here, taking
each page's current setup as a step with a text and a question; the draft can be
tried at once and downloaded as Markdown (or JSON) to share. Uploaded files are
untrusted: ``engine.lessons.parse_lesson`` bounds and checks them, and one clear
message names what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from engine import EngineError, Spec
from engine.lessons import PAGES, Lesson, lesson_names, load_lesson, parse_lesson
from playground import lesson_bar
from playground.core import url
from playground.core.encode import plain

MAX_LESSON_BYTES = 200_000
DRAFT = "ls_draft"  # the lesson being written: {"title", "summary", "steps": [dict]}

TITLES = {"playground": "Playground", "flow": "Gradient flow",
          "sequences": "Sequences and attention", "images": "Images and CNNs",
          "race": "Optimizer race", "paths": "Optimizer paths",
          "search": "Hyperparameter search", "explore": "Activations and losses",
          "backprop": "Backprop, step by step", "text": "Pretrained attention",
          "rl": "Reinforcement learning"}
"""Each lesson page id's title in the app's navigation."""

PREFIXES = {"playground": "pg", "flow": "gf", "sequences": "sq", "images": "im",
            "race": "race"}
"""The live pages' session prefixes (``session.use_page``): where their setups live."""

HIDEABLE = sorted({*url.SECTIONS, *url.CONTROLS})


def shipped() -> None:
    """The shipped lessons, each with its summary and a Start button."""
    for name in lesson_names():
        lesson = load_lesson(name)
        with st.container(border=True):
            c = st.columns([5, 1], vertical_alignment="center")
            c[0].markdown(f"**{lesson.title}** \u00b7 {len(lesson.steps)} steps")
            c[0].caption(lesson.summary)
            if c[1].button("Start", key=f"ls_start_{name}", type="primary",
                           icon=":material/school:", use_container_width=True):
                lesson_bar.start(lesson, name)


def upload() -> None:
    """Open a lesson file (Markdown or JSON): started at once, or one message."""
    up = st.file_uploader("Open a lesson file", type=["md", "json", "txt"], key="ls_file",
                          help="A lesson written here and downloaded, or by hand: "
                          "Markdown with a JSON block per step, or JSON")
    if up is None:
        return
    if up.size > MAX_LESSON_BYTES:
        st.error(plain(f"{up.name} is {up.size:,} bytes; a lesson may have at most "
                       f"{MAX_LESSON_BYTES:,}."))
        return
    try:
        lesson = parse_lesson(up.getvalue().decode("utf-8-sig"))
    except UnicodeDecodeError:
        st.error(plain(f"{up.name} is not a UTF-8 text file."))
        return
    except EngineError as err:
        st.error(plain(f"{up.name}: {err}"))
        return
    st.success(plain(f"{lesson.title}: {len(lesson.steps)} steps."))
    if st.button("Start this lesson", type="primary", key="ls_start_file"):
        lesson_bar.start(lesson, None)


def _draft() -> dict[str, Any]:
    return st.session_state.setdefault(DRAFT, {"title": "", "summary": "", "steps": []})


def _current_setup(page: str) -> dict | None:
    """What differs from ``Spec()`` in the page's setup in this session (None: the page
    keeps no setup, or has not been opened yet)."""
    spec = st.session_state.get(f"{PREFIXES[page]}_spec") if page in PREFIXES else None
    return url.diff(spec.to_dict(), Spec().to_dict()) if isinstance(spec, Spec) else None


def _lesson(draft: dict[str, Any]) -> Lesson:
    """The draft as a checked lesson (raises ``EngineError`` naming what is wrong)."""
    return parse_lesson(json.dumps({"title": draft["title"] or "Untitled lesson",
                                    "summary": draft["summary"], "steps": draft["steps"]}))


def add_step(draft: dict[str, Any]) -> None:
    """The form that takes a page's current setup as the draft's next step."""
    with st.form("ls_step_form", clear_on_submit=True):
        c = st.columns(2)
        page = c[0].selectbox("Page", PAGES, format_func=TITLES.get, key="ls_new_page")
        title = c[1].text_input("Step title", max_chars=120, key="ls_new_title")
        text = st.text_area("Text to read (Markdown)", max_chars=6000, key="ls_new_text")
        question = st.text_input("Question to ask", max_chars=1000, key="ls_new_q")
        c = st.columns([3, 1])
        hide = c[0].multiselect("Controls to hide", HIDEABLE, key="ls_new_hide")
        play = c[1].checkbox("Start playing", key="ls_new_play")
        if not st.form_submit_button("Add this page's current setup as a step",
                                     icon=":material/add:"):
            return
    step = {"title": title or TITLES[page], "page": page, "hide": hide, "text": text,
            "question": question, "play": play}
    setup = _current_setup(page)
    if setup is not None:
        step["setup"] = setup
    try:
        _lesson({**draft, "steps": [*draft["steps"], step]})
    except EngineError as err:
        st.error(plain(f"This step cannot be added: {err}"))
        return
    draft["steps"].append(step)
    if setup is None:
        st.info(plain(f"{TITLES[page]} keeps no setup here yet (open it and set it up "
                      "first): the step opens it as the student left it."))


def writer() -> None:
    """Write a lesson: title, summary, steps from the pages' setups; try, download."""
    draft = _draft()
    draft["title"] = st.text_input("Lesson title", draft["title"], max_chars=120,
                                   key="ls_title")
    draft["summary"] = st.text_area("Summary", draft["summary"], max_chars=1000,
                                    key="ls_summary", height=80)
    st.caption("Set a page up (data, network, hidden controls), come back here and add it "
               "as a step. Each step opens its page with that setup.")
    add_step(draft)
    for i, step in enumerate(draft["steps"]):
        c = st.columns([6, 1], vertical_alignment="center")
        c[0].markdown(plain(f"{i + 1}. {step['title']} ({TITLES[step['page']]})"))
        if c[1].button("Remove", key=f"ls_rm_{i}"):
            draft["steps"].pop(i)
            st.rerun()
    if not draft["steps"]:
        return
    try:
        lesson = _lesson(draft)
    except EngineError as err:
        st.error(plain(str(err)))
        return
    c = st.columns(3)
    if c[0].button("Try it", icon=":material/play_arrow:", key="ls_try"):
        lesson_bar.start(lesson, None)
    c[1].download_button("Download (Markdown)", lesson.to_markdown(), "lesson.md",
                         "text/markdown", key="ls_dl_md")
    c[2].download_button("Download (JSON)", lesson.to_json(), "lesson.json",
                         "application/json", key="ls_dl_json")


def page() -> None:
    """Everything on the Lessons page below its title."""
    tabs = st.tabs(["Lessons", "Open a file", "Write a lesson"])
    with tabs[0]:
        shipped()
    with tabs[1]:
        upload()
    with tabs[2]:
        writer()
