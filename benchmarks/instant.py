"""How soon the app answers, and how it carries several sessions (issue "Instant").

Starts a fresh app server with the compilation cache off (``NN_PLAYGROUND_COMPILE_CACHE=off``,
so every network compiles as on a first visit), drives headless Debian Chromium and prints,
in one run:

- per live page: seconds from opening it until Play can be pressed (the live view drawn),
  and from pressing Play until its step (or epoch) counter moves;
- on the Playground, while playing: seconds from an edit (a layer's neurons 4 -> 5, the
  number of hidden layers, an input feature; then the batch size, the number of points
  and the training share) until the view draws the new network or data, median over
  the edits; the same on Gradient flow for its depth, width and residual connections;
- for N concurrent sessions of the default Playground (browsers on this same machine):
  frames/s and epochs/s each, the server's CPU milliseconds per drawn frame (its process
  CPU time over the frames all sessions drew), the cores it and the whole machine (the
  browsers included) kept busy, its resident memory, and a newcomer's wait for Play.

    python benchmarks/instant.py [--sessions 1,4,8] [--seconds 8] [--json]
    python benchmarks/instant.py --warm   # wait for the server's warm-up before visiting
    python benchmarks/instant.py --warm --parts pages --visits 5   # medians of 5 visitors

The browsers share this machine's cores with the server: on a 2-core machine the
server's CPU per frame is the figure that carries over to a server with its clients
elsewhere.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.headless_clients import Classroom
from benchmarks.live_fps import app_server, counters, launch, set_speed
from benchmarks.server_memory import rss_mb

PAGES = {"Playground": "/", "Gradient flow": "/flow", "Sequences": "/sequences",
         "Images": "/images", "Optimizer race": "/race", "Reinforcement learning": "/rl"}
VIEWS = {"/": "live-view", "/flow": "flow-view", "/sequences": "seq-view",
         "/images": "image-view", "/race": "race-view", "/rl": "rl-view"}
VIEWPORT = {"width": 1400, "height": 950}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds every process of this machine has used so far (Linux ``/proc/stat``:
    user, nice, system, irq, softirq, steal), to tell the server's share from the
    browsers'."""
    with open("/proc/stat") as fh:
        fields = fh.readline().split()[1:]
    busy = [int(fields[i]) for i in (0, 1, 2, 5, 6, 7)]
    return sum(busy) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, limit: float = 400.0) -> float:
    """Seconds until process ``pid`` spends under 0.1 CPU s in a 1-second window."""
    t0 = time.perf_counter()
    time.sleep(2.0)
    while time.perf_counter() - t0 < limit:
        c0 = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - c0 < 0.1:
            return round(time.perf_counter() - t0, 1)
    raise TimeoutError(f"the server was still busy after {limit} s")


def _progress(page) -> int:
    """The view's step counter (its epoch counter where it shows no steps)."""
    for name in ("step-counter", "epoch-counter"):
        counter = page.get_by_test_id(name)
        if counter.count():
            return int((counter.first.text_content() or "0").replace(",", "") or 0)
    return 0


def open_and_play(browser, url: str, path: str) -> dict:
    """Seconds until Play can be pressed, then until frames move, on page ``path``."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    t0 = time.perf_counter()
    page.goto(url + path)
    page.get_by_test_id(VIEWS[path]).wait_for(timeout=180_000)
    play = page.get_by_role("button", name="Play")
    play.wait_for(timeout=180_000)
    ready = time.perf_counter() - t0
    e0 = _progress(page)
    t1 = time.perf_counter()
    play.click()
    while _progress(page) == e0:
        if time.perf_counter() - t1 > 180:
            raise TimeoutError(f"{path}: no frame 180 s after Play")
        page.wait_for_timeout(20)
    moving = time.perf_counter() - t1
    page.context.close()
    return {"play_ready_s": round(ready, 2), "frames_move_s": round(moving, 2)}


def neurons(page) -> int:
    return page.locator(".lv-neuron").count()


def _wait_neurons(page, want: int, what: str, t0: float) -> float:
    """Seconds since ``t0`` when the view draws ``want`` neurons."""
    while neurons(page) != want:  # (a blank view counts 0: it does not end the wait)
        if time.perf_counter() - t0 > 120:
            raise TimeoutError(f"{what}: view not redrawn")
        page.wait_for_timeout(10)
    return round(time.perf_counter() - t0, 3)


def edit_latencies(browser, url: str) -> list[dict]:
    """Edits of the Playground (a layer's neurons, the number of layers, an input
    feature; the first while it plays: a new network stops Play, as in TensorFlow
    Playground): seconds until the view draws the new network."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(url + "/")
    page.get_by_test_id("live-view").wait_for(timeout=180_000)
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=60_000)
    rows, seen = [], set()
    shape = {"units": 4, "layers": [4, 2], "features": 2}

    def drawn() -> int:  # neurons the view draws: features, hidden (8 at most), output
        return shape["features"] + sum(min(u, 8) for u in shape["layers"]) + 1

    def edit(what: str, act, **change) -> None:
        shape.update(change)
        key = (shape["features"], *shape["layers"])
        t0 = time.perf_counter()
        act()
        rows.append({"edit": what, "new_network": key not in seen,
                     "seconds": _wait_neurons(page, drawn(), what, t0)})
        seen.add(key)
        page.wait_for_timeout(500)

    def fill(label: str, value: int):
        def act():
            box = page.get_by_label(label)
            box.fill(str(value))
            box.press("Enter")
        return act

    seen.add((2, 4, 2))
    for units in (5, 6, 5, 4, 3, 4, 7, 8, 4, 5):
        edit(f"layer 1 neurons -> {units}", fill("Layer 1 neurons", units),
             layers=[units, *shape["layers"][1:]])
    for n in (3, 4, 3, 2, 1, 2):  # a new layer gets the last one's neurons
        layers = shape["layers"][:n] + [shape["layers"][-1]] * (n - len(shape["layers"]))
        edit(f"hidden layers -> {n}", fill("Hidden layers", n), layers=layers)
    sidebar = page.get_by_test_id("stSidebar")
    for label in ("x₁²", "x₁x₂", "sin(x₂)"):
        edit(f"feature {label} on", sidebar.get_by_text(label, exact=True).click,
             features=shape["features"] + 1)
    rows += data_edit_latencies(page, sidebar)
    page.context.close()
    return rows


def _frames(page) -> int:
    return page.evaluate("window.__nnpFrames || 0")


def _points_key(page) -> str:
    return page.evaluate("(document.querySelector('.lv-points') || {dataset: {}})"
                         ".dataset.key || ''")


def _spin(sidebar, label: str, value: int):
    """An action: type ``value`` into the sidebar's number box ``label``."""
    def act():
        box = sidebar.get_by_role("spinbutton", name=label)
        box.fill(str(value))
        box.press("Enter")
    return act


def _restart_seconds(page, what: str, act, epoch, frames, unchanged=lambda: False) -> float:
    """Play (a new setup stops it) until an epoch is done, then ``act``: seconds until
    the view draws a frame that starts over (``epoch()`` back at 0; ``frames()`` counts
    the view's frames) and no longer ``unchanged()``."""
    play = page.get_by_role("button", name="Play")
    if play.count():
        play.click()
    while epoch() < 1:
        page.wait_for_timeout(10)
    seen = frames()
    t0 = time.perf_counter()
    act()
    while frames() <= seen or epoch() >= 1 or unchanged():
        if time.perf_counter() - t0 > 120:
            raise TimeoutError(f"{what}: view not redrawn")
        page.wait_for_timeout(10)
    seconds = round(time.perf_counter() - t0, 3)
    page.wait_for_timeout(500)
    return seconds


def data_edit_latencies(page, sidebar) -> list[dict]:
    """Edits that change the examples or the batch, not the network (batch size, the
    number of points, the training share): seconds until the view draws the edit's
    first frame (its points, for the data edits). The network's shape is the same,
    so ``new_network`` is False; for the padded Playground none of them compiles."""
    rows = []

    def epoch() -> int:
        return int(page.locator(".lv-epoch").inner_text() or 0)

    def edit(what: str, act, new_points: bool) -> None:
        key = _points_key(page)  # (the same while it plays: the same data)
        seconds = _restart_seconds(page, what, act, epoch, lambda: _frames(page),
                                   lambda: new_points and _points_key(page) == key)
        rows.append({"edit": what, "new_network": False, "seconds": seconds})

    number = functools.partial(_spin, sidebar)

    for batch in (5, 1, 20, 30, 10):
        edit(f"batch size -> {batch}", number("Batch size", batch), new_points=False)
    for n in (400, 300, 450):
        edit(f"points -> {n}", number("Points", n), new_points=True)
    share = sidebar.get_by_role("slider", name="Training share")
    for key in ("ArrowRight", "ArrowRight", "ArrowLeft", "ArrowLeft", "ArrowLeft"):
        def act(key=key):
            share.focus()
            page.keyboard.press(key)
        edit(f"training share {'+' if key == 'ArrowRight' else '-'}0.05", act,
             new_points=True)
    return rows


def newcomer_play_ready(browser, url: str) -> float:
    """Seconds until a new visitor (a fresh Chromium context) can press Play on the
    Playground."""
    late = browser.new_context(viewport=VIEWPORT).new_page()
    t0 = time.perf_counter()
    late.goto(url + "/")
    late.get_by_test_id("live-view").wait_for(timeout=180_000)
    late.get_by_role("button", name="Play").wait_for(timeout=180_000)
    newcomer = time.perf_counter() - t0
    late.context.close()
    return newcomer


def classroom(browser, url: str, pid: int, n: int, seconds: float,
              speed: int | None = None) -> dict:
    """``n`` sessions of the default Playground playing at once (``speed``: epochs per
    frame set on each first; None: the page's default)."""
    pages = []
    for _ in range(n):
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(url + "/")
        page.get_by_test_id("live-view").wait_for(timeout=180_000)
        if speed:
            set_speed(page, speed)
        pages.append(page)
    per_frame = int(pages[0].get_by_role("slider", name="Epochs per frame")
                    .get_attribute("aria-valuetext"))
    for page in pages:
        page.get_by_role("button", name="Play").click()
    time.sleep(3.0)  # all playing, settled
    start = [counters(p) for p in pages]
    c0, m0, t0 = cpu_seconds(pid), machine_cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    end = [counters(p) for p in pages]
    dt, cpu = time.perf_counter() - t0, cpu_seconds(pid) - c0
    machine = machine_cpu_seconds() - m0
    frames = [b[0] - a[0] for a, b in zip(start, end, strict=True)]
    epochs = [b[1] - a[1] for a, b in zip(start, end, strict=True)]
    memory = rss_mb(pid)
    newcomer = newcomer_play_ready(browser, url)
    for page in pages:
        page.context.close()
    return {"sessions": n, "epochs_per_frame": per_frame,
            "frames_per_s_each": [round(f / dt, 1) for f in frames],
            "epochs_per_s_each": [round(e / dt) for e in epochs],
            "server_cpu_ms_per_frame": round(1000 * cpu / max(sum(frames), 1), 2),
            # per frame the server trained and sent (browsers that fall behind drop some)
            "server_cpu_ms_per_frame_sent": round(
                1000 * cpu * per_frame / max(sum(epochs), 1), 2),
            # the cores the server kept busy, and the whole machine (browsers included)
            "server_cores": round(cpu / dt, 2), "machine_cores": round(machine / dt, 2),
            "server_rss_mb": round(memory, 1), "newcomer_play_ready_s": round(newcomer, 2)}


def headless_classroom(browser, url: str, pid: int, n: int, seconds: float) -> dict:
    """``n`` browserless sessions of the default Playground playing at once
    (``headless_clients.Classroom``: the server sees browsers, this machine draws
    nothing), then a new visitor in Chromium while they play: a classroom whose
    browsers are elsewhere, as far as one machine can show it."""
    with Classroom(url, n) as room:
        time.sleep(3.0)  # all playing, settled
        start, c0, t0 = room.frames(), cpu_seconds(pid), time.perf_counter()
        time.sleep(seconds)
        dt, cpu = time.perf_counter() - t0, cpu_seconds(pid) - c0
        frames = [b - a for a, b in zip(start, room.frames(), strict=True)]
        memory = rss_mb(pid)
        newcomer = newcomer_play_ready(browser, url)
    return {"sessions": n, "frames_per_s_each": [round(f / dt, 1) for f in frames],
            "server_cpu_ms_per_frame": round(1000 * cpu / max(sum(frames), 1), 2),
            "server_cores": round(cpu / dt, 2), "server_rss_mb": round(memory, 1),
            "newcomer_play_ready_s": round(newcomer, 2)}


def flow_edit_latencies(browser, url: str) -> list[dict]:
    """Edits of Gradient flow's stack while it plays (the number of hidden layers, the
    neurons per layer, residual connections): seconds until the view draws the new
    network's first frame (its epoch starts over at 0). The page trains them padded:
    none compiles after the warm-up."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(url + "/flow")
    page.get_by_test_id("flow-view").wait_for(timeout=180_000)
    sidebar = page.get_by_test_id("stSidebar")
    rows = []

    def epoch() -> int:
        return int(page.get_by_test_id("epoch-counter").inner_text() or 0)

    def frames() -> int:
        return page.evaluate("window.__nnpFlowFrames || 0")

    def edit(what: str, act) -> None:
        rows.append({"edit": what, "new_network": True,
                     "seconds": _restart_seconds(page, what, act, epoch, frames)})

    number = functools.partial(_spin, sidebar)

    for depth in (11, 12, 8, 20, 3, 10):
        edit(f"flow: hidden layers -> {depth}", number("Hidden layers", depth))
    for units in (24, 16, 40, 64, 32):  # 40 and 64: the second width capacity
        edit(f"flow: neurons -> {units}", number("Neurons per layer", units))
    for state in ("on", "off"):
        edit(f"flow: residual {state}",
             sidebar.get_by_text("Residual connections", exact=True).click)
    page.context.close()
    return rows


PARTS = ("pages", "edits", "classroom", "headless")


def visits_of(browser, url: str, path: str, visits: int) -> dict:
    """``open_and_play`` ``visits`` times (each a new visitor: a fresh browser context,
    nothing cached): the first visit's figures, and with more than one the median of
    all (a single visit's Play-ready varies by a few tenths of a second here)."""
    rows = [open_and_play(browser, url, path) for _ in range(visits)]
    out = dict(rows[0])
    if visits > 1:
        for k in ("play_ready_s", "frames_move_s"):
            out[k.replace("_s", "_median_s")] = round(statistics.median(r[k] for r in rows), 2)
    return out


def measure(sessions: tuple[int, ...], seconds: float, warm: bool,
            parts: tuple[str, ...] = PARTS, visits: int = 1, speed: int | None = None,
            pin: bool = False, clients: tuple[int, ...] = (1, 8, 16, 30)) -> dict:
    from playwright.sync_api import sync_playwright

    os.environ["NN_PLAYGROUND_COMPILE_CACHE"] = "off"
    cores = sorted(os.sched_getaffinity(0))
    server_cores = set(cores[:len(cores) // 2]) if pin and len(cores) > 1 else None
    if server_cores:  # the browsers (children of this process) on the other cores
        os.sched_setaffinity(0, set(cores) - server_cores)
    out: dict = {"machine": f"{os.cpu_count()} cores, browsers on the same machine"
                 + (f"; the server pinned to {len(server_cores)} of them, the browsers to "
                    f"the other {len(cores) - len(server_cores)}" if server_cores else ""),
                 "compile_cache": "off"}
    with app_server(with_process=True, warmup=warm, cores=server_cores) as (url, proc), \
            sync_playwright() as p:
        if warm:  # the warm-up at server start compiles each page's default
            out["warmup_s"] = wait_idle(proc.pid)
        browser = launch(p)
        if "pages" in parts:
            out["pages"] = {name: visits_of(browser, url, path, visits)
                            for name, path in PAGES.items()}
        if "edits" in parts:
            edits = edit_latencies(browser, url)
            out["edits"] = edits
            out["edit_median_s"] = statistics.median(r["seconds"] for r in edits)
            for kind, new in (("new", True), ("compiled_before", False)):
                times = [r["seconds"] for r in edits if r["new_network"] == new]
                out[f"edit_median_{kind}_s"] = statistics.median(times) if times else None
            out["flow_edits"] = flow_edit_latencies(browser, url)
            out["flow_edit_median_s"] = statistics.median(
                r["seconds"] for r in out["flow_edits"])
        if "classroom" in parts:
            out["classroom"] = [classroom(browser, url, proc.pid, n, seconds, speed)
                                for n in sessions]
        if "headless" in parts:
            out["headless"] = [headless_classroom(browser, url, proc.pid, n, seconds)
                               for n in clients]
        browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", default="1,4,8")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--warm", action="store_true")
    ap.add_argument("--visits", type=int, default=1,
                    help="visitors per live page (pages part); more than one adds medians")
    ap.add_argument("--speed", type=int, default=None, help="epochs per frame in the "
                    "classroom part (default: the Playground's own, 2)")
    ap.add_argument("--pin", action="store_true", help="the server on half the cores, the "
                    "browsers on the others (closer to browsers elsewhere: they no longer "
                    "share the server's cores and caches)")
    ap.add_argument("--clients", default="1,8,16,30", help="browserless sessions for the "
                    "headless part (benchmarks/headless_clients.py)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--parts", default=",".join(PARTS), help="what to measure, of "
                    + ", ".join(PARTS))
    a = ap.parse_args()
    r = measure(tuple(int(n) for n in a.sessions.split(",")), a.seconds, a.warm,
                tuple(a.parts.split(",")), max(1, a.visits), a.speed, a.pin,
                tuple(int(n) for n in a.clients.split(",")))
    if a.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"machine: {r['machine']}; compilation cache {r['compile_cache']}")
    if "warmup_s" in r:
        print(f"server warm-up done (idle) after {r['warmup_s']} s")
    for name, row in r.get("pages", {}).items():
        print(f"{name:22s} Play ready {row['play_ready_s']:5.2f} s (goal 2)   frames move "
              f"{row['frames_move_s']:5.2f} s after Play (goal 0.5)")
        if "play_ready_median_s" in row:
            print(f"{'':22s} median of {a.visits} visitors: Play ready "
                  f"{row['play_ready_median_s']:.2f} s, frames move "
                  f"{row['frames_move_median_s']:.2f} s")
    for row in r.get("edits", []):
        new = "new network" if row["new_network"] else "seen before"
        print(f"  {row['edit']:24s} {row['seconds']:.3f} s  ({new})")
    if "edits" in r:
        print(f"edit -> new network drawn, median {r['edit_median_s']:.3f} s (goal 0.3): "
              f"{r['edit_median_new_s']:.3f} s for a network not seen before, "
              f"{r['edit_median_compiled_before_s']:.3f} s for one seen before")
    for row in r.get("flow_edits", []):
        print(f"  {row['edit']:24s} {row['seconds']:.3f} s")
    if "flow_edits" in r:
        print(f"Gradient flow edit -> new network drawn, median {r['flow_edit_median_s']:.3f} s "
              "(goal 0.3)")
    for row in r.get("classroom", []):
        print(f"{row['sessions']} sessions ({row['epochs_per_frame']} epochs a frame): "
              f"frames/s each {row['frames_per_s_each']}, "
              f"epochs/s each {row['epochs_per_s_each']}, server "
              f"{row['server_cpu_ms_per_frame']} ms CPU per frame drawn (goal 3; "
              f"{row['server_cpu_ms_per_frame_sent']} per frame sent), "
              f"busy cores: server {row['server_cores']} of the machine's "
              f"{row['machine_cores']}, {row['server_rss_mb']} MB, a newcomer's Play after "
              f"{row['newcomer_play_ready_s']} s (goal 5)")
    for row in r.get("headless", []):
        each = row["frames_per_s_each"]
        print(f"{row['sessions']} browserless sessions: frames/s each min "
              f"{min(each)}, median {statistics.median(each):.1f}, max {max(each)}; server "
              f"{row['server_cpu_ms_per_frame']} ms CPU per frame (goal 3), "
              f"{row['server_cores']} cores busy, {row['server_rss_mb']} MB; a newcomer "
              f"(Chromium) gets Play after {row['newcomer_play_ready_s']} s (goal 5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
