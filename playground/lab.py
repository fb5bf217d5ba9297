"""The Playground page: TensorFlow Playground's 2-D lab, live on the JAX engine.

Described once as a ``LivePage``; ``pages/lab.py`` runs it. Its sidebar: presets,
the CSV upload, data, input features, hidden layers, output and loss, training. Its
frame: ``lab_frame``.
"""

from __future__ import annotations

import streamlit as st

import engine
from engine import ACTIVATIONS, FEATURES, DataError, Spec, load_csv
from engine.data import MAX_CSV_BYTES, MAX_CSV_CHARS, TABLE
from engine.presets import preset
from playground import hand, lab_frame, tfp_link
from playground.core import controls as C
from playground.core import session
from playground.core.controls import number, pick, slider
from playground.core.encode import short
from playground.core.livepage import LivePage
from playground.core.session import wkey
from playground.core.url import merge

DEFAULT = preset("tf_playground")  # what a TensorFlow Playground user expects to see
MAX_HIDDEN = 8
MAX_UNITS = 64


def upload() -> None:
    """The CSV uploader: a good table becomes the setup; a bad one gets one message."""
    up = st.file_uploader("Your own data (CSV)", type=["csv", "txt"], key="pg_csv",
                          help="Numeric feature columns and a label column (named label, "
                          "target, class or y, or the last one); at most 10,000 rows and "
                          "16 feature columns.")
    if up is None or session.get(session.UPLOADED) == up.file_id:
        return
    session.put(session.UPLOADED, up.file_id)
    if up.size > MAX_CSV_BYTES:
        session.flash("error", f"{up.name} is {up.size:,} bytes; a CSV may have at most "
                f"{MAX_CSV_BYTES:,}. The last working setup is kept.")
        return
    try:
        text = up.getvalue().decode("utf-8-sig", errors="strict")
        raw = load_csv(text)
    except UnicodeDecodeError:
        session.flash("error", f"{up.name} is not a UTF-8 text file: export it as CSV and "
                      "try again. The last working setup is kept.")
        return
    except DataError as err:
        session.flash("error", f"{up.name}: {str(err).rstrip('.')}. The last working setup "
                      "is kept.")
        return
    d = session.spec().to_dict()
    features = ["x1", "x2"][: raw.x.shape[1]] if raw.x.shape[1] <= 2 else ["x1", "x2"]
    # A small table travels inside the spec (links and exports carry it); a larger one
    # stays in this session beside it.
    d["data"].update(name=TABLE, features=features,
                     csv=text if len(text) <= MAX_CSV_CHARS else None)
    if raw.task != session.experiment().dataset.task:
        d["model"]["output_activation"], d["loss"] = "auto", "auto"
    if session.apply_spec(Spec.from_dict(d), raw=raw):
        session.bump_widgets()
        session.flash("success", f"Loaded {up.name}: {raw.x.shape[0]} rows, {raw.x.shape[1]} "
                f"feature column(s), {raw.task}.")



def features_section(d: dict, input_dim: int) -> dict:
    """The input features (TF Playground's checkboxes): a patch of the spec dict."""
    data = d["data"]
    if input_dim > 2:
        st.caption(f"This CSV has {input_dim} feature columns; all are used as inputs.")
        return {}
    usable = [f for f in FEATURES.names() if FEATURES.get(f).needs_dim <= input_dim]
    shown = [f for f in usable if not C.hidden(f)]  # a link may hide a feature (TF's x_hide)
    cols = st.columns(min(2, max(len(shown), 1)))
    chosen = [f for f in usable if C.hidden(f) and f in data["features"]]
    for i, f in enumerate(shown):
        if cols[i % len(cols)].checkbox(FEATURES.get(f).label, f in data["features"],
                                        key=wkey(f"feat_{f}")):
            chosen.append(f)
    chosen.sort(key=usable.index)
    if not chosen:
        st.warning("Keep at least one input feature.")
    return {"data": {"features": chosen or list(data["features"])}}



def _blocks(layers: list[dict]) -> list[dict]:
    """Group a layer list into blocks: a dense layer and what follows it."""
    blocks: list[dict] = []
    for layer in layers:
        if layer["type"] == "dense" or not blocks:
            blocks.append({"dense": layer, "after": []})
        else:
            blocks[-1]["after"].append(layer)
    return blocks


def network_section(d: dict) -> dict:
    """Hidden layers: neurons, activation, batch norm and dropout per layer.

    The menus describe a stack as blocks (a dense layer, then batch norm and dropout);
    a link's stack they cannot describe exactly (another order, a second dropout)
    stays as it is until a control moves.
    """
    original = d["model"]["layers"]
    blocks = _blocks(original)
    # A link or preset may hold more than the menus offer: widen them, never crash.
    n = number("Hidden layers", 0, MAX_HIDDEN, len(blocks), key="nlayers", hide="hidden_layers")
    moved = n != len(blocks)
    while len(blocks) < n:
        last = blocks[-1]["dense"] if blocks else {"units": 4, "activation": "tanh"}
        blocks.append({"dense": {"type": "dense", "units": last.get("units", 4),
                                 "activation": last.get("activation", "tanh")}, "after": []})
    blocks = blocks[:n]
    acts = ACTIVATIONS.names()
    layers: list[dict] = []
    for i, b in enumerate(blocks):
        dense = dict(b["dense"])
        if dense["type"] == "dense":
            c = st.columns([0.8, 1.2], vertical_alignment="bottom")  # "Sigmoid", not "Sigmoi"
            units = int(dense.get("units", 8))
            dense["units"] = number(f"Layer {i + 1} neurons", 1, MAX_UNITS, units,
                                    key=f"units{i}", container=c[0])
            dense["activation"] = pick(f"Layer {i + 1} activation", acts,
                                       dense.get("activation", "relu"), f"act{i}",
                                       container=c[1], hide="activation",
                                       format_func=ACTIVATIONS.title)
            moved |= dense != b["dense"]
        after = [x for x in b["after"] if x["type"] not in ("batch_norm", "dropout")]
        c = st.columns(2)
        has_bn = any(x["type"] == "batch_norm" for x in b["after"])
        was = next((x.get("rate", 0.2) for x in b["after"] if x["type"] == "dropout"), 0.0)
        bn = c[0].checkbox("Batch norm", has_bn, key=wkey(f"bn{i}"))
        if bn:
            after.insert(0, next((x for x in b["after"] if x["type"] == "batch_norm"),
                                 {"type": "batch_norm"}))
        rate = slider("Dropout", 0.0, 0.8, float(was), 0.05, key=f"drop{i}", container=c[1])
        if rate > 0:
            after.append({"type": "dropout", "rate": rate})
        moved |= bn != has_bn or rate != was
        layers += [dense, *after]
    return {"model": {"layers": layers if moved else original}}


def data_section(d: dict) -> dict:
    """The shared data controls, and a hand-placed set's own below them."""
    patch = C.data_section(d)
    return merge(patch, hand.controls(merge(d, patch), d))


def plane_picker(exp: engine.Experiment) -> dict:
    """For data with more than two columns: which two the pictures span (and, for a
    hand-placed set still too small to train on, how many points to add)."""
    hand.note()
    if exp.dataset.input_dim <= 2:
        return {}
    names = [short(n) for n in exp.dataset.feature_names]
    tag = f"{hash(tuple(names)) & 0xFFFF:x}"  # a new table starts from its first columns
    c = st.columns(2)
    across = c[0].selectbox("Across (\u2192)", range(len(names)), index=0,
                            format_func=lambda k: names[k], key=f"pg_plane_x_{tag}")
    up = c[1].selectbox("Up (\u2191)", range(len(names)), index=1,
                        format_func=lambda k: names[k], key=f"pg_plane_y_{tag}",
                        help="The pictures show the network over these two columns; the "
                        "others are held at their means")
    return {"plane": (int(across), int(up))}



def sidebar(spec: Spec, exp: engine.Experiment, hidden: set[str]) -> dict:
    """Presets, upload and every section not hidden; returns the spec dict."""
    if "presets" not in hidden:
        C.preset_menu()
        tfp_link.paste_box()
    if "data" not in hidden:
        upload()
    return C.sections(session.spec().to_dict(), [
        ("data", "Data", data_section),
        ("features", "Input features", lambda d: features_section(d, exp.dataset.input_dim)),
        ("network", "Hidden layers", network_section),
        ("output", "Output and loss", C.output_section),
        ("training", "Training", C.training_section),
    ], hidden, expanded=("data", "features", "network"))


PAGE = LivePage(prefix="pg", default=DEFAULT, sidebar=sidebar, frame=lab_frame.render,
                asset="live_view", probes=engine.ProbeOptions(resolution=100,
                                                              neuron_resolution=20),
                toggles=True, view=plane_picker, padded=True,
                foreign=tfp_link.open_from_query, events={"click": hand.on_click})
