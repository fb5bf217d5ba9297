"""The views' decoding of a frame (``frameOf`` in ``assets/common.js``) in Chromium: the
curves the server encodes with ``encode.floats`` come back as the numbers, gaps null."""

from __future__ import annotations

import json

import numpy as np

from playground.core import palette
from playground.core.encode import curve, floats
from playground.core.live import ASSETS


def test_frame_of_decodes_the_servers_curves(browser):
    page = browser.new_page()
    try:
        common = (ASSETS / "common.js").read_text(encoding="utf-8")
        page.add_script_tag(content=common.replace("__PALETTE__", palette.as_json()))
        history = {"train_loss": [1.0, 0.5, float("nan"), 0.25],
                   "test_loss": [2.0, float("inf"), 1.0, 0.5]}
        frame = {"curve": curve(history, stop_epoch=3), "epoch": 4, "grid": "AAEC",
                 "layers": [{"units": [{"x": floats([1.5, -2.0])}]}], "ticks": [1, 2]}
        out = page.evaluate(f"() => frameOf([{json.dumps(frame)}])")
        assert out["curve"]["train"] == [1.0, 0.5, None, 0.25]
        assert out["curve"]["test"] == [2.0, None, 1.0, 0.5]
        assert out["curve"]["val"] == [] and out["curve"]["stop_at"] == 2 / 3
        assert out["layers"][0]["units"][0]["x"] == [1.5, -2.0]  # nested anywhere
        assert out["grid"] == "AAEC" and out["ticks"] == [1, 2] and out["epoch"] == 4
        small = float(np.float32(1e-7))
        assert page.evaluate(f"() => frameOf({json.dumps([floats([1e-7])])})") == [small]
        # not base64: no curve, and the view goes on drawing
        assert page.evaluate('() => frameOf([{"c": {"__f32": "@@@"}}])') == {"c": []}
    finally:
        page.close()
