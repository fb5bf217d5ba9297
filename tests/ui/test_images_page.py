"""AppTest of the Images and CNNs page (``pages/images.py``) and its frame builder."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import engine
from engine import ProbeOptions, Spec
from engine.presets import PRESETS, preset, topic_presets
from playground import image_frame, images
from playground.core import session as S
from playground.core import url
from playground.core.encode import finite
from playground.core.livepage import Frame
from tests.ui.apptest import messages, ok, page_keys, run_page, widget

TIMEOUT = 180
IM = page_keys("im", (S.SPEC, S.EXPERIMENT, S.TRAIN_STATE, S.HISTORY, S.INSPECT, S.RAW))


def page(query: dict[str, str] | None = None) -> AppTest:
    return run_page("images", query, TIMEOUT)


def link(spec: Spec) -> dict[str, str]:
    return {"s": url.spec_to_query(spec)}


@pytest.fixture(scope="module")
def default() -> AppTest:
    return page()


def test_default_is_the_tiny_cnn_on_shapes(default: AppTest) -> None:
    ok(default)
    assert default.session_state[IM[S.SPEC]] == preset("shapes_cnn")
    assert widget(default, "selectbox", "Pictures").value == "shapes"
    assert [widget(default, "selectbox", f"Layer {i}").value for i in range(1, 5)] == [
        "conv2d", "max_pool", "conv2d", "global_avg_pool"]
    assert {"Play", "Step", "Reset"} <= {b.label for b in default.button}
    offered = set(default.selectbox(key="pg_preset").options)
    assert offered == {PRESETS.get(n).title for n in topic_presets("images")}
    assert default.selectbox(key="pg_preset").value == "shapes_cnn"  # the one running
    layer_menu = set(widget(default, "selectbox", "Layer 1").options)
    assert {"conv2d", "max_pool", "avg_pool", "global_avg_pool", "flatten", "dense",
            "dropout", "batch_norm"} <= layer_menu
    assert not layer_menu & set(engine.SEQUENCE_KINDS)


def test_step_trains_and_reset_restores() -> None:
    at = page()
    at.button(key="pg_step").click().run()
    ok(at)
    assert int(at.session_state[IM[S.TRAIN_STATE]].step) == 1
    at.button(key="pg_reset").click().run()
    ok(at)
    assert int(at.session_state[IM[S.TRAIN_STATE]].step) == 0


def test_every_image_preset_opens_from_a_link() -> None:
    for name in topic_presets("images"):
        at = page(link(preset(name)))
        ok(at)
        assert at.session_state[IM[S.SPEC]] == preset(name), name


def test_a_points_link_is_refused_here() -> None:
    at = page(link(preset("tf_playground")))
    assert not at.exception
    assert any("not an image set" in m for m in messages(at))
    assert at.session_state[IM[S.SPEC]] == images.DEFAULT


def test_a_dense_layer_on_pictures_says_to_flatten_and_keeps_the_setup() -> None:
    at = page()
    widget(at, "selectbox", "Layer 4").set_value("dense").run()
    assert not at.exception
    assert any("flatten" in m for m in messages(at))
    assert at.session_state[IM[S.SPEC]] == images.DEFAULT


def _png(side: int, value: int, mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (side, side), value).save(buf, format="PNG")
    return buf.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    """A zip of ``entries``, the same bytes whenever it is built (a fixed date: the
    cases below are built as pytest collects, once on each xdist worker)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def test_a_zip_of_pictures_becomes_the_data() -> None:
    at = page()
    pictures = {f"dark/{i}.png": _png(20, 10 + i) for i in range(12)}
    pictures |= {f"light/{i}.png": _png(30, 240 - i) for i in range(12)}
    at.file_uploader(key="im_zip").set_value(("mine.zip", _zip(pictures), "application/zip"))
    at.run()
    ok(at)
    exp = at.session_state[IM[S.EXPERIMENT]]
    assert exp.spec.data.name == "my_images" and exp.dataset.class_names == ("dark", "light")
    assert exp.dataset.image == (28, 28, 1)  # "original" sizes: pictures come at 28 x 28
    assert any("24 pictures in 2 classes" in m for m in messages(at, "success"))


@pytest.mark.parametrize("name, data, fragment", [
    ("notzip.zip", b"not a zip at all", "not a .zip"),
    ("one.zip", _zip({f"only/{i}.png": _png(8, i) for i in range(5)}), "1 class folder"),
    ("none.zip", _zip({"a/readme.txt": b"hello"}), "no PNG or JPEG"),
], ids=["not_a_zip", "one_class", "no_pictures"])  # ids free of the bytes: workers agree
def test_a_bad_zip_gets_one_message_and_keeps_the_setup(name, data, fragment) -> None:
    at = page()
    at.file_uploader(key="im_zip").set_value((name, data, "application/zip"))
    at.run()
    assert not at.exception
    assert any(fragment in m for m in messages(at)), messages(at)
    assert at.session_state[IM[S.SPEC]] == images.DEFAULT


def test_a_drawn_picture_is_checked_and_is_what_the_network_looks_at(monkeypatch) -> None:
    store: dict = {}
    monkeypatch.setattr(S.st, "session_state", store)
    exp = engine.build(preset("shapes_cnn"))  # 16 x 16 grey
    pixels = np.zeros((16, 16), np.uint8)
    pixels[8, 2:14] = 255  # a horizontal line
    good = {"side": 16, "pixels": base64.b64encode(pixels.tobytes()).decode()}
    for hostile in (None, "x", {"side": 28, "pixels": good["pixels"]},
                    {"side": 16, "pixels": "%%%not base64"},
                    {"side": 16, "pixels": base64.b64encode(b"short").decode()},
                    {"side": 16, "pixels": "A" * 10_000}):
        store[images.DRAW_PAD] = {"drawing": hostile}
        assert images._drawing(exp) is None, hostile
    store[images.DRAW_PAD] = {"drawing": good}
    drawn = images._drawing(exp)
    np.testing.assert_allclose(drawn[..., 0], pixels / 255.0)
    state = exp.init()
    pr = exp.probe(state, ProbeOptions(resolution=0, neuron_resolution=0, images=True,
                                       image=drawn)).images
    np.testing.assert_allclose(np.asarray(pr.image), drawn, atol=1e-6)
    example = exp.probe(state, ProbeOptions(resolution=0, neuron_resolution=0, images=True,
                                            example=0)).images
    assert not np.allclose(np.asarray(pr.probs), np.asarray(example.probs))


def test_the_views_clicks_are_checked_before_they_are_kept(monkeypatch) -> None:
    store: dict = {}
    monkeypatch.setattr(S.st, "session_state", store)  # the session's one owner
    monkeypatch.setattr(S, "key", lambda name: name)
    for hostile in ("<img>", {"layer": "0"}, {"layer": -1, "row": 0, "col": 0, "channel": 0},
                    {"layer": 0, "row": 10**9, "col": 0, "channel": 0}, None, [1, 2]):
        images.on_inspect(hostile)
        assert S.INSPECT not in store
    images.on_inspect({"layer": 2, "row": 3, "col": 4, "channel": 1, "extra": "x"})
    assert store[S.INSPECT] == {"layer": 2, "row": 3, "col": 4, "channel": 1}
    images.on_example("7")
    assert images.EXAMPLE not in store
    images.on_example(7)  # a gallery picture: looked at, and the arithmetic starts over
    assert store[images.EXAMPLE] == 7 and S.INSPECT not in store


def _frame(spec: Spec, view: dict) -> dict:
    exp = engine.build(spec)
    state, chunk = exp.train_steps(exp.init(), 3, images.PROBES)
    return exp, state, chunk.probes, view


def test_the_frame_shows_maps_kernels_probabilities_and_the_arithmetic(monkeypatch) -> None:
    store: dict = {}
    monkeypatch.setattr(S.st, "session_state", store)  # the session's one owner
    monkeypatch.setattr(S, "key", lambda name: name)
    store[S.HISTORY] = {k: [] for k in engine.METRICS}
    exp, state, probes, view = _frame(preset("shapes_cnn"), {
        "example": 2, "inspect": {"layer": 0, "row": 5, "col": 6, "channel": 1}})
    frame = image_frame.render(Frame(exp, state, probes, view, True))
    json.dumps(finite(frame), allow_nan=False)
    maps = [layer for layer in exp.structure.net.layers
            if layer.type in ("conv2d", "max_pool", "avg_pool")]
    assert [m["kind"] for m in frame["layers"]] == [layer.type for layer in maps]
    assert [k["cols"] for k in frame["kernels"]] == [4, 8]  # the filters of each conv
    assert abs(sum(p["p"] for p in frame["probs"]) - 1.0) < 1e-3
    assert frame["title"].startswith("Test image #2")
    ex = frame["explain"]
    m0 = np.asarray(probes.images.maps[0])
    assert ex["kind"] == "conv2d" and ex["value"] == pytest.approx(float(m0[5, 6, 1]), abs=1e-4)
    assert len(frame["confusion"]["names"]) == 4 and len(frame["class_accuracy"]) == 4
    assert all(g["truth"] != g["predicted"] for g in frame["gallery"])
    assert ex["padded"] is False  # rows 4..6, columns 5..7 of 16: inside the picture
    for row, col in ((0, 6), (5, 15)):  # same padding: the window reaches over the edge
        corner = image_frame.explanation(exp, state, np.asarray(probes.images.image), {
            "layer": 0, "row": row, "col": col, "channel": 1})
        assert corner["padded"] is True, (row, col)


def test_a_frame_stays_within_its_size_budget(monkeypatch) -> None:
    store: dict = {S.HISTORY: {k: [] for k in engine.METRICS}}
    monkeypatch.setattr(S.st, "session_state", store)
    monkeypatch.setattr(S, "key", lambda name: name)
    big = Spec.from_dict({"data": {"name": "mnist", "n": 500}, "model": {"layers": [
        *[{"type": "conv2d", "filters": 128}] * 4, {"type": "global_avg_pool"}]}})
    exp, state, probes, view = _frame(big, {"example": 0})
    frame = image_frame.render(Frame(exp, state, probes, view, True))
    size = len(json.dumps(finite(frame)))
    assert size < 1.5 * image_frame.PICTURE_BYTES + 100_000, size
    assert frame["omitted"] and frame["layers"]  # what fits is drawn, the rest said
