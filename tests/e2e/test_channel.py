"""End-to-end tests of the frame channel (``playground/core/channel.py``) in Chromium:
while a live page plays, frames after a run's first come over the app's own websocket,
and nobody but the session's own view can open it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from benchmarks.live_fps import counters, wait_epoch_above, wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time


def test_frames_after_the_first_come_over_the_apps_own_socket(page: Page, base_url: str
                                                              ) -> None:
    """While playing, frames go over the app's frame channel, not Streamlit's message
    path: Streamlit's socket carries a few messages, the channel one message a frame,
    and the view draws them; Pause brings the last state back through Streamlit."""
    sockets: dict[str, list[float]] = {"stream": [], "frames": []}

    def watch(ws) -> None:
        name = "frames" if "/api/nnp/frames?t=" in ws.url else "stream"
        ws.on("framereceived", lambda payload: sockets[name].append(time.perf_counter()))

    page.on("websocket", watch)
    page.goto(f"{base_url}/")
    wait_live(page)
    page.get_by_role("button", name="Play").click()
    wait_epoch_above(page, 10)
    f0, n0, s0 = counters(page)[0], len(sockets["frames"]), len(sockets["stream"])
    page.wait_for_timeout(3000)
    frames, over_channel = counters(page)[0] - f0, len(sockets["frames"]) - n0
    over_stream = len(sockets["stream"]) - s0
    print(f"3 s of play: {frames} frames drawn, {over_channel} channel messages, "
          f"{over_stream} Streamlit messages")
    assert frames > 10 and over_channel >= frames * 0.9, (frames, over_channel)
    assert over_stream < frames / 5, (over_stream, frames)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    page.wait_for_timeout(1500)
    epoch = counters(page)[1]
    page.wait_for_timeout(1000)
    assert counters(page)[1] == epoch  # paused: nothing more arrives


def _frame_socket(url: str, token: str, origin: str) -> str:
    """Open the frame channel as a script would: "accepted" or why it was refused.
    (Websockets' own client: Playwright's, in the page, cannot set another Origin.)"""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    try:
        with connect(f"{url}?t={token}", origin=origin, open_timeout=10):
            return "accepted"
    except InvalidStatus as refused:
        return f"refused {refused.response.status_code}"


def test_the_frame_channel_opens_to_nobody_but_the_sessions_own_view(
        page: Page, base_url: str) -> None:
    """Another session's frames are out of reach: the channel's route refuses a guessed
    token, and the view's own token once the view has used it (copied from the page,
    even from the page's own origin); the view keeps its frames meanwhile. (The Origin
    check: ``tests/ui/test_frame_channel.py``.)"""
    page.goto(f"{base_url}/")
    wait_live(page)
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for()
    page.wait_for_function("[...document.querySelectorAll('*')].some(e => e.__nnpSocket && "
                           "e.__nnpSocket.readyState === 1)")
    token = page.evaluate("[...document.querySelectorAll('*')].map(e => e.__nnpSocket)"
                          ".find(Boolean).__token")
    host = base_url.split("://", 1)[1].rstrip("/")
    route = f"ws://{host}/api/nnp/frames"
    assert len(token) >= 43
    assert _frame_socket(route, "A" * 43, base_url).startswith("refused")
    assert _frame_socket(route, token, base_url.rstrip("/")).startswith("refused")
    f0 = counters(page)[0]
    page.wait_for_timeout(1500)
    assert counters(page)[0] > f0 + 10  # still playing, its socket untouched
    assert page.evaluate("[...document.querySelectorAll('*')].map(e => e.__nnpSocket)"
                         ".find(Boolean).readyState") == 1
