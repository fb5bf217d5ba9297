"""The Playground page, assembled from the components (pages stay thin)."""

from __future__ import annotations

import dataclasses
import functools

import streamlit as st

import engine
from engine import DataError, Spec, load_csv
from engine.data import MAX_CSV_BYTES, MAX_CSV_CHARS
from engine.presets import preset
from playground import controls as C
from playground import frames, live, session
from playground import state as S
from playground.export import export_section

DEFAULT = preset("tf_playground")  # what a TensorFlow Playground user expects to see


def _upload() -> None:
    up = st.file_uploader("Your own data (CSV)", type=["csv", "txt"], key="pg_csv",
                          help="Numeric feature columns and a label column (named label, "
                          "target, class or y, or the last one); at most 10,000 rows and "
                          "16 feature columns.")
    if up is None or st.session_state.get("pg_csv_done") == up.file_id:
        return
    st.session_state["pg_csv_done"] = up.file_id
    if up.size > MAX_CSV_BYTES:
        S.flash("error", f"{up.name} is {up.size:,} bytes; a CSV may have at most "
                f"{MAX_CSV_BYTES:,}. The last working setup is kept.")
        return
    try:
        text = up.getvalue().decode("utf-8-sig", errors="strict")
        raw = load_csv(text)
    except UnicodeDecodeError:
        S.flash("error", f"{up.name} is not a UTF-8 text file: export it as CSV and try again.")
        return
    except DataError as err:
        S.flash("error", f"{up.name}: {err}")
        return
    d = st.session_state[S.key(S.SPEC)].to_dict()
    features = ["x1", "x2"][: raw.x.shape[1]] if raw.x.shape[1] <= 2 else ["x1", "x2"]
    # A small table travels inside the spec (links and exports carry it); a larger one
    # stays in this session beside it.
    d["data"].update(name="csv", features=features,
                     csv=text if len(text) <= MAX_CSV_CHARS else None)
    if raw.task != st.session_state[S.key(S.EXPERIMENT)].dataset.task:
        d["model"]["output_activation"], d["loss"] = "auto", "auto"
    if session.apply_spec(Spec.from_dict(d), raw=raw):
        C.bump()
        S.flash("success", f"Loaded {up.name}: {raw.x.shape[0]} rows, {raw.x.shape[1]} "
                f"feature column(s), {raw.task}.")


def plane_picker(exp: engine.Experiment, view: live.View) -> live.View:
    """For data with more than two columns: which two the pictures span."""
    names = [frames.short(n) for n in exp.dataset.feature_names]
    tag = f"{hash(tuple(names)) & 0xFFFF:x}"  # a new table starts from its first columns
    c = st.columns(2)
    across = c[0].selectbox("Across (\u2192)", range(len(names)), index=0,
                            format_func=lambda k: names[k], key=f"pg_plane_x_{tag}")
    up = c[1].selectbox("Up (\u2191)", range(len(names)), index=1,
                        format_func=lambda k: names[k], key=f"pg_plane_y_{tag}",
                        help="The pictures show the network over these two columns; the "
                        "others are held at their means")
    return dataclasses.replace(view, plane=(int(across), int(up)))


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
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    if exp.dataset.input_dim > 2:
        view = plane_picker(exp, view)
    S.show_flash()
    placeholder = st.empty()
    if "export" not in hidden:
        export_section()
    live.run(placeholder, speed, functools.partial(live.render, view=view), plane=view.plane)
