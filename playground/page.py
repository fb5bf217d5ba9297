"""The Playground page, assembled from the components (pages stay thin)."""

from __future__ import annotations

import functools

import streamlit as st

import engine
from engine import DataError, Spec, load_csv
from engine.presets import preset
from playground import controls as C
from playground import live, session
from playground import state as S
from playground.export import export_section

DEFAULT = preset("tf_playground")  # what a TensorFlow Playground user expects to see


def _upload() -> None:
    up = st.file_uploader("Your own data (CSV)", type=["csv", "txt"], key="pg_csv",
                          help="Numeric feature columns and a label column (named label, "
                          "target, class or y, or the last one); at most 10,000 rows.")
    if up is None or st.session_state.get("pg_csv_done") == up.file_id:
        return
    st.session_state["pg_csv_done"] = up.file_id
    try:
        raw = load_csv(up.getvalue().decode("utf-8-sig", errors="strict"))
    except UnicodeDecodeError:
        S.flash("error", f"{up.name} is not a UTF-8 text file: export it as CSV and try again.")
        return
    except DataError as err:
        S.flash("error", f"{up.name}: {err}")
        return
    d = st.session_state[S.key(S.SPEC)].to_dict()
    features = ["x1", "x2"][: raw.x.shape[1]] if raw.x.shape[1] <= 2 else ["x1", "x2"]
    d["data"].update(name="csv", features=features)
    if raw.task != st.session_state[S.key(S.EXPERIMENT)].dataset.task:
        d["model"]["output_activation"], d["loss"] = "auto", "auto"
    if session.apply_spec(Spec.from_dict(d), raw=raw):
        C.bump()
        S.flash("success", f"Loaded {up.name}: {raw.x.shape[0]} rows, {raw.x.shape[1]} "
                f"feature column(s), {raw.task}.")


def sidebar(hidden: set[str]) -> None:
    """Presets, upload and every control; applies what changed."""
    with st.sidebar:
        C.preset_menu()
        if "data" not in hidden:
            _upload()
        exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
        d = C.controls(st.session_state[S.key(S.SPEC)], exp.dataset.input_dim, hidden)
    session.apply_changes(d)


def playground_page() -> None:
    """Everything below the page title."""
    S.use_page("pg")
    session.ensure_session(DEFAULT)
    hidden = S.hidden_sections()
    sidebar(hidden)
    speed, view = live.toolbar()
    S.show_flash()
    placeholder = st.empty()
    if "export" not in hidden:
        export_section()
    live.run(placeholder, speed, functools.partial(live.render, view=view))
