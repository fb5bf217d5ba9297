"""The Images page: train a CNN (or an MLP) on pictures and see inside it, live.

Described once as a ``LivePage``; ``pages/images.py`` runs it. Its sidebar: presets,
the data (MNIST, shapes or a .zip of your own pictures), the layer stack, output and
loss, training. Above the view: which test picture to look at, or one you draw or
upload. The view (``assets/image_view.js``, frame: ``image_frame``) reports two clicks:
a feature-map pixel (its arithmetic is then written out) and a wrong picture of the
gallery (it becomes the one looked at).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np
import streamlit as st

import engine
from engine import DATASETS, LAYERS, DataError, Spec, datasets_of
from engine.blocks import SEQUENCE_KINDS
from engine.data import UPLOAD, load_image_zip, load_picture
from engine.data.images import MAX_PICTURE_BYTES, MAX_ZIP_BYTES
from engine.presets import preset
from playground import image_frame
from playground.core import controls as C
from playground.core import live, session, stack
from playground.core.encode import plain
from playground.core.livepage import LivePage
from playground.core.session import wkey

PREFIX = "im"  # this page's session namespace (see ``session.use_page``)
DEFAULT = preset("shapes_cnn")  # trains in seconds: the page comes alive at once
SPEEDS = (1, 2, 4, 8, 16, 32)  # optimizer steps per frame
PROBES = engine.ProbeOptions(resolution=0, neuron_resolution=0, gradients=False, images=True)
SIZES = (0, 14, 16, 28, 32)  # input sides offered (0: the data's own)
MAX_LAYERS = 12
EXAMPLE = "im_example"  # the test picture's widget key
DRAW_PAD = "im_draw_pad"


def image_only(spec: Spec) -> str | None:
    """Why ``spec`` does not belong on this page (None when it does)."""
    if DATASETS.get(spec.data.name).family != "images":
        return (f"{spec.data.name!r} is not an image set: open the link on the page of its "
                "data (Playground or Sequences)")
    return None


# -- the sidebar ------------------------------------------------------------------------------

def _upload_mb() -> float:
    """The most megabytes a .zip may have: the engine's bound, or the server's upload
    limit (``server.maxUploadSize``) where that is lower (Streamlit refuses past it)."""
    return min(MAX_ZIP_BYTES / 1e6, float(st.get_option("server.maxUploadSize")))


def upload() -> None:
    """The .zip uploader: one folder of PNG or JPEG pictures per class."""
    up = st.file_uploader("Your own pictures (.zip)", type=["zip"], key="im_zip",
                          help="One folder per class, each with PNG or JPEG pictures; 2 to "
                          "10 classes, at most 5,000 files and "
                          f"{_upload_mb():g} MB.")
    colour = st.toggle("Colour pictures", session.spec().data.channels == 3,
                       key=wkey("im_colour"), help="Off: grey (1 channel); on: RGB (3)")
    if up is None or session.get(session.UPLOADED) == (up.file_id, colour):
        return
    session.put(session.UPLOADED, (up.file_id, colour))
    if up.size > MAX_ZIP_BYTES:
        session.flash("error", f"{up.name} is {up.size:,} bytes; at most {MAX_ZIP_BYTES:,}. "
                      "The last working setup is kept.")
        return
    d = session.spec().to_dict()
    side = d["data"]["size"] or 28
    try:
        raw = load_image_zip(up.getvalue(), size=side, channels=3 if colour else 1)
    except DataError as err:
        session.flash("error", f"{up.name}: {str(err).rstrip('.')}. The last working setup "
                      "is kept.")
        return
    d["data"].update(name=UPLOAD, n=len(raw.x), size=side, channels=3 if colour else 1)
    if session.apply_spec(Spec.from_dict(d), raw=raw):
        session.bump_widgets()
        note = f" ({raw.resized} resized to {side} x {side})" if raw.resized else ""
        session.flash("success", f"Loaded {up.name}: {len(raw.x)} pictures in "
                      f"{len(raw.class_names)} classes{note}.")


def data_section(d: dict) -> dict:
    """Which pictures, how many, their size, splits, normalisation and the batch."""
    data = dict(d["data"])
    names = list(datasets_of("images"))
    if session.get(session.RAW) is None and data["name"] != UPLOAD:
        names.remove(UPLOAD)  # nothing uploaded yet
    data["name"] = C.pick("Pictures", names, data["name"], "im_data",
                          help="MNIST digits, generated shapes, or your own .zip")
    st.caption(DATASETS.describe(data["name"]))
    # the short labels side by side, the long ones full width (a half column cut them)
    c = st.columns(2)
    sizes = sorted({*SIZES, int(data["size"])})
    data["size"] = c[0].selectbox("Input size", sizes, index=sizes.index(int(data["size"])),
                                  format_func=lambda s: "original" if s == 0 else f"{s} x {s}",
                                  key=wkey("im_size"), help="The side the pictures are "
                                  "resized to; original: their own (shapes 16, MNIST 28)")
    batch = C.number("Batch size", 1, 1000, int(d["batch_size"]), key="im_batch",
                     container=c[1])
    data["n"] = C.number("Pictures to use", 100, 20_000, int(data["n"]), 100, key="im_n",
                         help="MNIST: training pictures (its 2,000 test pictures are "
                         "always the test set)")
    c = st.columns(2)
    if data["name"] != "mnist":
        data["train_fraction"] = C.slider("Training share", 0.1, 0.9,
                                          float(data["train_fraction"]), 0.05, key="im_train",
                                          container=c[0])
    data["val_fraction"] = C.slider("Validation share", 0.0, 0.4, float(data["val_fraction"]),
                                    0.05, key="im_val", container=c[1])
    if data["name"] == "shapes":
        data["noise"] = C.slider("Noise", 0.0, 0.5, float(data["noise"]), 0.05, key="im_noise")
    data["standardize"] = st.checkbox("Standardise", bool(data["standardize"]),
                                      key=wkey("im_std"), help="Subtract the mean pixel and "
                                      "divide by the spread; off: pixels in [0, 1]")
    return {"data": data, "batch_size": batch}


def layers_section(d: dict) -> dict:
    """The layer stack: convolutions, pools, flatten, dense, dropout, norms."""
    kinds = [k for k in LAYERS.names() if k not in SEQUENCE_KINDS]
    return stack.stack_section(d, kinds, "im", {"type": "dense", "units": 32,
                                                "activation": "relu"}, MAX_LAYERS)


def sidebar(spec: Spec, exp: engine.Experiment, hidden: set[str]) -> dict:
    """Presets, upload and the sections not hidden; returns the spec dict."""
    if "presets" not in hidden:
        C.preset_menu("images")
    if "data" not in hidden:
        upload()  # may change the setup: the sections below show the new one
    return C.sections(session.spec().to_dict(), [("data", "Data", data_section),
                                       ("network", "Layers", layers_section),
                                       ("output", "Output and loss", C.output_section),
                                       ("training", "Training", C.training_section)],
                      hidden, expanded=("data", "network"))


# -- above the view: which picture ---------------------------------------------------------

def _drawing(exp: engine.Experiment) -> np.ndarray | None:
    """The draw pad's picture at the network's input shape, if any (checked: it comes
    from the browser)."""
    value = session.component_state(DRAW_PAD).get("drawing")
    h, w, c = exp.dataset.image
    if not isinstance(value, dict) or value.get("side") != h or h != w:
        return None
    text = value.get("pixels")
    if not isinstance(text, str) or len(text) > 4 * h * w:
        return None
    try:
        pixels = np.frombuffer(base64.b64decode(text, validate=True), np.uint8)
    except (binascii.Error, ValueError):
        return None
    if pixels.size != h * w:
        return None
    grey = pixels.reshape(h, w, 1).astype(np.float32) / 255.0
    return np.repeat(grey, c, axis=2)


def picture_picker(exp: engine.Experiment) -> dict:
    """The test picture to look at, or one drawn or uploaded instead."""
    n_test = exp.dataset.arrays.x_test.shape[0]
    if int(session.value(EXAMPLE, 0)) >= n_test:
        session.set_widget(EXAMPLE, 0)
    # one row: the view's feature maps then begin above a projector's 800 px fold
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    example = int(left.number_input("Test picture to look at", 0, n_test - 1, key=EXAMPLE))
    h, w, c = exp.dataset.image
    picture = None
    with right.expander("Draw a picture, or upload one, for the network to look at"):
        if h == w:
            live.component("draw_pad")(data={"side": h}, key=DRAW_PAD,
                                       on_drawing_change=lambda: session.drop(session.INSPECT))
            picture = _drawing(exp)
        up = st.file_uploader("A picture (PNG or JPEG)", type=["png", "jpg", "jpeg"],
                              key=f"im_picture_{h}x{w}x{c}")
        if up is not None:
            try:
                picture = load_picture(up.getvalue()[:MAX_PICTURE_BYTES + 1], (h, w, c))
            except DataError as err:
                st.error(plain(f"{err}."))
    return {"example": example, "drawing": picture, "image": picture,
            "inspect": session.get(session.INSPECT)}


def on_inspect(value: Any) -> None:
    """A feature-map pixel was clicked: keep it (checked) so its arithmetic is shown."""
    if isinstance(value, dict) and all(isinstance(value.get(k), int) and 0 <= value[k] < 4096
                                       for k in ("layer", "row", "col", "channel")):
        session.put(session.INSPECT, {k: value[k] for k in ("layer", "row", "col", "channel")})


def on_example(value: Any) -> None:
    """A gallery picture was clicked: look at that test picture."""
    if isinstance(value, int) and 0 <= value < 100_000:
        session.set_widget(EXAMPLE, value)
        session.drop(session.INSPECT)


PAGE = LivePage(prefix=PREFIX, default=DEFAULT, sidebar=sidebar, frame=image_frame.render,
                asset="image_view", probes=PROBES, fits=image_only, by_steps=True,
                speeds=SPEEDS, speed=4, unit="Steps", view=picture_picker,
                events={"inspect": on_inspect, "example": on_example}, graph_budget=30.0)
