"""Hostile links and uploads in real Chromium: what a visitor's browser does with them.

AppTests check the messages' Markdown; here a real browser renders them. A link's text
must not become a link or an image in our error box, an uploaded file's labels must
not run as script, a diverged network must not break the view, and closing the tab
must stop the server's work.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from benchmarks.live_fps import app_server, counters, wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

COMPILE_MS = 90_000


def query(spec: dict) -> str:
    return "s=" + quote(json.dumps(spec, separators=(",", ":")))


def errors(page: Page):
    return page.get_by_test_id("stAlertContentError")


def test_markdown_in_a_link_is_shown_as_text(page: Page, base_url: str, shots: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    link_text = "[Session expired - log in again](https://evil.example)"
    spec = {link_text: 1}
    page.goto(f"{base_url}/?{query(spec)}")
    wait_live(page)
    box = errors(page)
    expect(box).to_have_count(1)
    expect(box).to_contain_text(link_text[:37])  # the characters, as typed (cut at 40)
    expect(box.locator("a")).to_have_count(0)
    page.screenshot(path=shots / "hostile_01_markdown_link.png", full_page=True)

    page.goto(f"{base_url}/flow?{query({'data': {'![x](http://tracker.invalid/t.png)': 1}})}")
    wait_live(page, view="flow-view")
    box = errors(page)
    expect(box).to_have_count(1)
    # As typed, but for invisible word joiners that keep browsers from linking addresses.
    assert "![x](http://tracker.invalid/t.png)" in box.inner_text().replace("\u2060", "")
    expect(errors(page).locator("img")).to_have_count(0)
    fetched = [u.split("/")[2] for u in requests]  # the hosts the browser contacted
    assert not [h for h in fetched if "evil.example" in h or "tracker.invalid" in h]


def test_an_uploaded_label_never_runs_as_script(page: Page, base_url: str,
                                                shots: Path) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base_url + "/")
    wait_live(page)
    evil = "<img src=x onerror=alert(document.domain)>"
    rows = "".join(f"{i % 7 - 3},{(i * 3) % 5 - 2},{(i * 5) % 11 - 5},"
                   f"{evil if i % 3 == 0 else 'ok'}\n" for i in range(60))
    page.locator("input[type=file]").set_input_files(files=[{
        "name": "labels.csv", "mimeType": "text/csv",
        "buffer": ("a,b,c,label\n" + rows).encode()}])
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("labels.csv")
    cm = page.locator(".lv-cm")
    expect(cm).to_be_visible(timeout=COMPILE_MS)
    expect(cm).to_contain_text("<img src=x onerror=alert(")  # the label, as text
    expect(page.locator(".lv-root img")).to_have_count(0)
    # three feature columns: the pictures span two chosen ones
    expect(page.locator(".lv-axis")).to_contain_text("the other columns at their means")
    page.get_by_role("button", name="Play").click()
    time.sleep(2.0)
    page.get_by_role("button", name="Pause").click()
    assert dialogs == []
    assert page.evaluate("() => document.querySelectorAll('img[src=x]').length") == 0
    page.screenshot(path=shots / "hostile_02_script_label.png", full_page=True)


def test_a_diverged_run_keeps_the_view_and_reset_recovers(page: Page, base_url: str,
                                                           shots: Path) -> None:
    # A large learning rate with a strong L2 rate: the weights race towards 1e38.
    spec = {"data": {"name": "spiral"}, "optimizer": {"learning_rate": 3.0},
            "regularization": {"kind": "l2", "rate": 10.0}, "batch_size": 30}
    page.goto(f"{base_url}/?{query(spec)}")
    wait_live(page)
    page.get_by_role("button", name="Play").click()
    expect(errors(page)).to_contain_text("diverged", timeout=60_000)
    expect(page.get_by_role("button", name="Play")).to_be_visible()  # paused
    view = page.get_by_test_id("live-view")
    expect(view).to_be_visible()
    frame, _ = counters(page)
    assert frame >= 1
    page.screenshot(path=shots / "hostile_03_diverged.png", full_page=True)
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_test_id("epoch-counter")).to_have_text("0")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("epoch-counter")).not_to_have_text("0", timeout=30_000)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def _cpu_until_idle(pid: int, limit: float = 12.0) -> float:
    """CPU seconds the server spends until it spends under 0.2 s in a 1-second window
    (inf if it never does within ``limit`` s). CPU time, not wall time: other tests
    running beside this one stretch the wall clock, not the server's work."""
    start, t0 = _cpu_seconds(pid), time.perf_counter()
    while time.perf_counter() - t0 < limit:
        c0 = _cpu_seconds(pid)
        time.sleep(1.0)
        if _cpu_seconds(pid) - c0 < 0.2:
            return c0 - start
    return float("inf")


def test_pause_and_closing_the_tab_stop_the_servers_work(browser, shots: Path) -> None:
    """A heavy network (one epoch: 3,600 steps) trains in short calls: the server
    goes idle soon after Pause and after the tab is closed. (Its own server: the
    CPU time measured is this session's alone.)"""
    spec = {"data": {"name": "circle", "n": 4000, "train_fraction": 0.9},
            "model": {"layers": [{"type": "dense", "units": 256, "activation": "relu"}] * 6},
            "batch_size": 1}
    with app_server(with_process=True) as (url, proc):
        context = browser.new_context(viewport={"width": 1400, "height": 950})
        page = context.new_page()
        page.goto(f"{url}/?{query(spec)}")
        wait_live(page, timeout_ms=COMPILE_MS)
        expect(errors(page)).to_have_count(0)
        page.get_by_role("button", name="Play").click()
        page.get_by_role("button", name="Pause").wait_for(timeout=COMPILE_MS)
        time.sleep(4.0)
        assert int(page.get_by_test_id("step-counter").text_content()) > 0
        page.screenshot(path=shots / "hostile_04_heavy_network.png", full_page=True)
        page.get_by_role("button", name="Pause").click()
        paused = _cpu_until_idle(proc.pid)  # the paused state is drawn once more
        page.get_by_role("button", name="Play").click()
        page.get_by_role("button", name="Pause").wait_for()
        time.sleep(2.0)
        assert _cpu_seconds(proc.pid) > 0  # (it plays again)
        context.close()  # the student closes the tab while it plays
        closed = _cpu_until_idle(proc.pid)
    # Each training call is about 0.35 CPU s: the server goes idle within a few of them
    # (``_cpu_until_idle`` is inf if it plays on). After Pause it draws the paused view
    # once more, with every probe (measured alone: 3 CPU seconds, its compilation
    # included). After the tab closes, the call in flight ends it: measured alone, 0-0.3
    # CPU s; in CI beside another test 2.7 s, as the loaded browser's close reaches the
    # server later; on a day this machine ran 2.7x slower, beside the other worker's
    # tests, 5.0 and 6.4. A server that plays on never goes idle (inf), and playing on
    # for the 15 minutes the issue measured would be 1,800: the bound says "a few calls".
    assert paused < 8.0 and closed < 8.0, (paused, closed)
