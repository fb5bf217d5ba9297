"""The views' decoding of a frame (``frameOf`` in ``assets/common.js``) in Chromium: the
curves the server encodes with ``encode.floats`` come back as the numbers, gaps null."""

from __future__ import annotations

import itertools
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


def test_play_frames_draws_a_messages_frames_in_order_a_period_apart(browser):
    """``playFrames`` (``assets/common.js``): a message's frames ``_after`` ms apart, the
    first at once; a message that comes while frames wait queues behind them (none lost
    or drawn twice), at most MAX_FRAMES_BEHIND behind; the same message again
    (Streamlit re-renders on a theme change) draws nothing; unmounted, nothing follows."""
    page = browser.new_page()
    try:
        common = (ASSETS / "common.js").read_text(encoding="utf-8")
        page.add_script_tag(content=common.replace("__PALETTE__", palette.as_json()))
        page.evaluate("""() => {
            window.log = [];
            window.view = playFrames(c => window.log.push([c.data[0].n, performance.now(),
                                                         c.data.length, c.tag]));
            window.host = document.createElement("div");
        }""")
        # What was drawn is read in the same call: a loaded machine may take longer than a
        # frame period between two calls.
        drawn = page.evaluate("""() => { window.a = {parentElement: host, tag: "a",
            data: [{n: 0, _after: 80}, {n: 1, _after: 80}, {n: 2, _after: 80}]}; view(a);
            return log.map(r => r[0]); }""")
        assert drawn == [0]  # the first at once
        page.wait_for_timeout(400)
        log = page.evaluate("() => log")
        assert [r[0] for r in log] == [0, 1, 2] and {r[2] for r in log} == {1}
        assert all(b[1] - a[1] >= 75 for a, b in itertools.pairwise(log))  # apart
        assert {r[3] for r in log} == {"a"}  # the component's other fields go along
        page.evaluate("() => view(a)")  # the same message again: nothing replays
        assert page.evaluate("() => log.length") == 3
        # A message while frames wait queues behind them, played at the same pace.
        drawn = page.evaluate("""() => { log.length = 0;
            view({parentElement: host, data: [{n: 10, _after: 40}, {n: 11, _after: 40},
                                              {n: 12, _after: 40}]});
            view({parentElement: host, data: [{n: 20, _after: 40}, {n: 21, _after: 40}]});
            return log.map(r => r[0]); }""")
        assert drawn == [10]
        page.wait_for_timeout(500)
        log = page.evaluate("() => log")
        assert [r[0] for r in log] == [10, 11, 12, 20, 21]
        assert all(b[1] - a[1] >= 35 for a, b in itertools.pairwise(log))
        # Far behind: the oldest frames go, the view catches up.
        page.evaluate("""() => { log.length = 0;
            view({parentElement: host, data: Array.from({length: 12},
                                                        (_, i) => ({n: 30 + i, _after: 5}))}); }""")
        page.wait_for_timeout(300)
        assert page.evaluate("() => log.map(r => r[0])") == list(range(34, 42))
        # Unmounted (Streamlit calls what the view returned): the rest never draws.
        page.evaluate("""() => { log.length = 0;
            const stop = view({parentElement: host,
                               data: [{n: 50, _after: 50}, {n: 51, _after: 50}]});
            stop(); }""")
        page.wait_for_timeout(200)
        assert page.evaluate("() => log.map(r => r[0])") == [50]
    finally:
        page.close()


def test_play_frames_drops_a_frame_older_than_one_it_has(browser):
    """Frames numbered by the server (``_seq``: two sockets carry them, ``channel``):
    one that arrives after a newer one is not drawn; unnumbered frames all are; a
    message naming the channel opens one socket to it, with its token."""
    page = browser.new_page()
    try:
        common = (ASSETS / "common.js").read_text(encoding="utf-8")
        page.add_script_tag(content=common.replace("__PALETTE__", palette.as_json()))
        # A stand-in socket: the page is about:blank (no server to connect to).
        page.evaluate("""() => { window.WebSocket = class {
            static OPEN = 1;
            constructor(url) { this.url = url; this.readyState = 0; }
            close() { this.readyState = 3; }
            send() {} }; }""")
        drawn = page.evaluate("""() => {
            const log = [], host = document.createElement("div");
            const where = token => ({path: "/api/nnp/frames", token});
            document.body.appendChild(host);
            const view = playFrames(c => log.push(c.data[0].n));
            view({parentElement: host, data: [{n: 1, _seq: 5,
                  _channel: {path: "/api/nnp/frames", token: "tok"}}]});
            host.__nnpPlay([{n: 2, _seq: 7}]);      // over the channel
            view({parentElement: host, data: [{n: 3, _seq: 6}]});  // late, through Streamlit
            host.__nnpPlay([{n: 4, _seq: 7}]);      // the same again
            view({parentElement: host, data: [{n: 5, _seq: 9}]});
            const first = host.__nnpSocket;
            first.readyState = 3;  // refused: the same token is not tried again
            view({parentElement: host, data: [{n: 8, _seq: 10, _channel: where("tok")}]});
            const retried = host.__nnpSocket !== first;
            view({parentElement: host, data: [{n: 9, _seq: 11, _channel: where("tok2")}]});
            const renewed = host.__nnpSocket.__token === "tok2" && first.readyState === 3;
            const plain = document.createElement("div");
            const other = playFrames(c => log.push(c.data[0].n));
            other({parentElement: plain, data: [{n: 6}]});
            other({parentElement: plain, data: [{n: 7}]});
            return {log, socket: first.url, token: first.__token, retried, renewed,
                    none: plain.__nnpSocket === undefined};
        }""")
        assert drawn["log"] == [1, 2, 5, 8, 9, 6, 7]
        assert not drawn["retried"] and drawn["renewed"]
        # Each numbered frame drawn is acknowledged on the open socket (the server waits
        # for a browser that lags), queued ones as they are drawn; a dropped one is not.
        acks = page.evaluate("""async () => {
            const acks = [], host = document.createElement("div");
            host.__nnpSocket = {readyState: WebSocket.OPEN, send: t => acks.push(t)};
            const view = playFrames(c => null);
            view({parentElement: host, data: [{n: 1, _seq: 3}]});
            view({parentElement: host, data: [{n: 2, _seq: 2}]});
            view({parentElement: host, data: [{n: 3, _seq: 4, _after: 30},
                                              {n: 4, _seq: 5, _after: 30}]});
            await new Promise(r => setTimeout(r, 200));
            return acks;
        }""")
        assert acks == ["3", "4", "5"]
        assert drawn["socket"] == "ws:///api/nnp/frames?t=tok" and drawn["token"] == "tok"
        assert drawn["none"]
    finally:
        page.close()


def _blend(a, b, t):
    return [a[i] + (b[i] - a[i]) * t for i in range(3)]


def test_paint_grid_paints_each_byte_the_palettes_colour_and_surface_follows_resizes(browser):
    """``paintGrid`` (colours by byte from a table) paints each value the palette's blend:
    diverging around 128 for a binary output (thresholded when discretized), and for
    several classes the class colour faded by confidence; flipped so row 0 is the bottom.
    ``surface`` sizes a canvas to its box, and again after the box is resized."""
    page = browser.new_page()
    try:
        common = (ASSETS / "common.js").read_text(encoding="utf-8")
        page.add_script_tag(content=common.replace("__PALETTE__", palette.as_json()))
        rng = np.random.default_rng(0)
        n = 16
        grid, conf = rng.integers(0, 256, (2, n * n))
        for mode, discretize in itertools.product(("binary", "multiclass"), (False, True)):
            got = np.array(page.evaluate(f"""() => {{ const c = document.createElement("canvas");
                paintGrid(c, Uint8Array.from({grid.tolist()}), {n}, "{mode}",
                          Uint8Array.from({conf.tolist()}), {json.dumps(discretize)});
                return Array.from(c.getContext("2d").getImageData(0, 0, {n}, {n}).data);
                }}""")).reshape(n, n, 4)[::-1].reshape(n * n, 4)  # row 0 at the bottom
            for i in rng.choice(n * n, 40, replace=False):
                v, c = int(grid[i]), int(conf[i])
                if mode == "multiclass":
                    base = palette.CLASSES[v % 10]
                    want = _blend(palette.MID, base, 0.6 if discretize else 0.15 + 0.55 * c / 255)
                else:
                    v = (255 if v >= 128 else 0) if discretize else v
                    t = (v - 128) / 127 * 0.62
                    want = _blend(palette.MID, palette.NEG if t < 0 else palette.POS, abs(t))
                assert np.abs(got[i, :3] - np.array(want)).max() <= 0.5 + 1e-9, (mode, i)
                assert got[i, 3] == 255
        sizes = page.evaluate("""async () => {
            const c = document.createElement("canvas");
            c.style.width = "120px"; c.style.height = "40px"; document.body.appendChild(c);
            const first = surface(c).slice(1);
            c.style.width = "300px";
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            return [first, surface(c).slice(1)]; }""")
        assert sizes == [[120, 40], [300, 40]]
    finally:
        page.close()
