"""Pacing of the live loop (``playground.core.live``): sessions share the server."""

from __future__ import annotations

import pytest
import streamlit as st

from playground.core import live, pacing


def test_one_light_session_draws_at_full_rate():
    assert pacing.frame_period(0.010, 1, cores=2) == pacing.FRAME_SECONDS


@pytest.mark.parametrize("playing", [1, 2, 4, 8, 30])
@pytest.mark.parametrize("work", [0.002, 0.01, 0.03, 0.2])
def test_playing_sessions_together_keep_to_their_share_of_the_cores(playing, work):
    period = pacing.frame_period(work, playing, cores=2)
    assert period >= pacing.FRAME_SECONDS
    busy = playing * work / period  # cores the sessions keep busy together
    assert busy <= pacing.CPU_SHARE * 2 + 1e-9
    if period > pacing.FRAME_SECONDS:  # slowed down only as far as the share requires
        assert busy == pytest.approx(pacing.CPU_SHARE * 2)


def test_thirty_sessions_of_3_ms_frames_draw_15_frames_a_second_each():
    """The issue's classroom: 30 students on a 2-core server at 3 ms of CPU per frame."""
    assert 1 / pacing.frame_period(0.003, 30, cores=2) >= 15


def test_a_loop_counts_itself_as_playing_until_it_ends(monkeypatch):
    seen = []
    monkeypatch.setattr(live.session, "playing", lambda: True)

    def draw(result, first):
        seen.append(len(live._playing))
        if len(seen) == 3:
            raise RuntimeError("the tab was closed")  # as Streamlit's StopException

    with pytest.raises(RuntimeError):
        live.loop(lambda count: count, draw, 1)
    assert seen == [1, 1, 1] and not live._playing


def test_playing_loops_wait_while_a_run_answers_someone(monkeypatch):
    """A page opening (or a click) takes precedence: while it draws, a playing loop
    draws no frame (up to ANSWER_YIELD_SECONDS at a time); after it, frames go on."""
    import threading
    import time

    monkeypatch.setattr(live.session, "playing", lambda: True)
    monkeypatch.setattr(live, "ANSWER_YIELD_SECONDS", 5.0)
    frames: list[float] = []
    done = threading.Event()

    def draw(result, first):
        frames.append(time.perf_counter())
        if done.is_set():
            raise RuntimeError("the tab was closed")

    entered, leave = threading.Event(), threading.Event()

    def visitor():
        with live.answering():
            entered.set()
            leave.wait(5)

    t = threading.Thread(target=visitor)
    t.start()
    entered.wait(5)
    assert live.answers_waiting()
    ended: list[BaseException] = []

    def play():
        try:
            live.loop(lambda c: c, draw, 1)
        except RuntimeError as err:  # the closed tab below
            ended.append(err)

    loop = threading.Thread(target=play)
    loop.start()
    time.sleep(0.5)
    assert len(frames) == 1  # its first frame, then it waits for the visitor's page
    answered = time.perf_counter()
    leave.set()
    t.join(5)
    assert not live.answers_waiting()
    time.sleep(0.2)
    done.set()
    loop.join(5)
    assert len(frames) >= 3 and frames[1] >= answered  # frames go on once it is drawn
    assert len(ended) == 1 and not loop.is_alive()


def test_a_run_takes_precedence_only_for_a_bounded_time(monkeypatch):
    """A new network compiling for many seconds must not slow every other session."""
    monkeypatch.setattr(live, "ANSWER_WINDOW_SECONDS", 0.05)
    import time

    with live.answering():
        assert live.answers_waiting()
        time.sleep(0.1)
        assert not live.answers_waiting()
    assert not live._answering


def test_a_live_page_answers_until_its_view_is_drawn(monkeypatch):
    """A first visit of the Playground is ``answering`` while it draws the page (its
    view included) and no longer once it would play; a later run (a click) is not."""
    import contextlib
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    spans = []
    real = live.answering

    @contextlib.contextmanager
    def recording(first_visit=True):
        with real(first_visit):
            if live._answering:
                spans.append("open")
            yield
            if live._answering:
                spans.append("drawn")

    monkeypatch.setattr(live, "answering", recording)
    monkeypatch.setattr(live, "show", lambda *a, **k: spans.append("view"))
    root = Path(__file__).resolve().parents[2]
    at = AppTest.from_file(str(root / "pages" / "lab.py"), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    assert spans[0] == "open" and spans[-1] == "drawn" and "view" in spans
    assert not live._answering
    spans.clear()
    at.button(key="pg_step").click().run()
    assert not at.exception, at.exception
    assert "view" in spans and "open" not in spans


@pytest.mark.parametrize("cores", [1, 2, 16])
def test_a_message_carries_one_frame_until_the_sessions_outnumber_the_cores(cores):
    light = 0.005  # seconds of work a frame (the default Playground's, about)
    assert [pacing.frames_per_message(n, light, cores) for n in range(1, cores + 1)] == [
        1] * cores
    counts = [pacing.frames_per_message(n, light, cores) for n in range(1, 40 * cores)]
    assert counts == sorted(counts)  # more sessions, never fewer frames a message
    assert pacing.frames_per_message(2 * cores + 1, light, cores) == 3
    assert max(counts) == pacing.MAX_FRAMES_PER_MESSAGE


@pytest.mark.parametrize("work", [0.0, 0.02, 0.05, 0.3])
def test_a_batch_holds_back_a_click_no_longer_than_its_bound(work):
    """Streamlit answers a click (Pause) at the loop's next message: the frames of one
    message take at most BATCH_SECONDS of work (one frame, however long, always goes;
    an unmeasured frame goes alone)."""
    frames = pacing.frames_per_message(100, work, 2)
    assert frames >= 1
    assert frames == 1 or frames * work <= pacing.BATCH_SECONDS
    if work == 0.0 or work >= pacing.BATCH_SECONDS:
        assert frames == 1


def test_a_loaded_loop_sends_its_frames_together_a_period_apart(monkeypatch):
    """Eight sessions on a 2-core server (here: a loop and seven stand-ins): each
    message of light frames carries four, in order, each marked with the frame period
    (ms) the browser waits between them."""
    sent: list[list[dict]] = []
    monkeypatch.setattr(live.session, "playing", lambda: True)
    monkeypatch.setattr(live, "_send", lambda placeholder, asset, key, frames, first=False,
                        events=None: sent.append(frames))
    others = [object() for _ in range(4 * pacing.CORES - 1)]
    monkeypatch.setattr(live, "_playing", set(others))
    count = iter(range(100))

    def draw(result, first):
        n = next(count)
        if n == 9:
            raise RuntimeError("the tab was closed")  # the tenth frame is never sent
        live.show(None, "live_view", "pg_live_view", {"n": n}, first)

    with pytest.raises(RuntimeError):
        live.loop(lambda c: c, draw, 1)
    # The first frame goes alone (its work not measured yet), then four at a time.
    assert [[f["n"] for f in frames] for frames in sent] == [[0], [1, 2, 3, 4], [5, 6, 7, 8]]
    assert "_after" not in sent[0][0]  # a message of one frame: drawn when it comes
    for frames in sent[1:]:
        gaps = {f["_after"] for f in frames}
        assert len(gaps) == 1 and gaps.pop() >= round(1000 * pacing.FRAME_SECONDS)
    assert live._playing == set(others)  # the loop took itself out when it ended
    assert live._batch.frames is None and live._batch.send is None  # and its batch


def test_a_waiting_click_cuts_the_batch_short_and_ends_the_loop(monkeypatch):
    """A click (Pause, a placed point) waits for the loop: the loop sends what it has at
    once instead of finishing the batch, then returns, so that the run ends and
    Streamlit starts the click's rerun (a fragment's rerun does not stop a run)."""
    sent: list[list[dict]] = []
    monkeypatch.setattr(live.session, "playing", lambda: True)
    monkeypatch.setattr(live, "_send", lambda placeholder, asset, key, frames, first=False,
                        events=None: sent.append(frames))
    monkeypatch.setattr(live, "_playing", {object() for _ in range(4 * pacing.CORES - 1)})
    drawn: list[int] = []
    monkeypatch.setattr(live, "_click_waiting", lambda: len(drawn) >= 7)  # after frame 6

    def draw(result, first):
        n = len(drawn)
        drawn.append(n)
        live.show(None, "live_view", "pg_live_view", {"n": n}, first)

    live.loop(lambda c: c, draw, 1)  # returns: no exception needed to end it
    # alone (unmeasured), four at a time, then cut short by the click after frame 6
    assert [[f["n"] for f in frames] for frames in sent] == [[0], [1, 2, 3, 4], [5, 6]]
    assert drawn == list(range(7))  # and nothing trained after the click
    assert len(live._playing) == 4 * pacing.CORES - 1  # the loop took itself out


def test_a_click_waiting_during_the_pause_between_frames_ends_the_loop(monkeypatch):
    """A click that comes while the loop waits for its next frame's time ends the loop
    at once, not after the wait."""
    import time

    monkeypatch.setattr(live.session, "playing", lambda: True)
    monkeypatch.setattr(live, "_send", lambda *args, **kwargs: None)
    monkeypatch.setattr(pacing, "frame_period", lambda cost, playing, cores=2: 1.0)
    clicked_at: list[float] = []
    monkeypatch.setattr(live, "_click_waiting", lambda: bool(clicked_at) and
                        time.perf_counter() >= clicked_at[0])
    frames: list[int] = []

    def draw(result, first):
        frames.append(result)
        clicked_at.append(time.perf_counter() + 0.1)  # a click 0.1 s into the wait
        live.show(None, "live_view", "k", {}, first)

    t0 = time.perf_counter()
    live.loop(lambda c: c, draw, 1)
    assert frames == [1]  # one frame, then the click
    assert time.perf_counter() - t0 < 0.6  # not the whole second's wait


def test_a_click_is_seen_in_streamlits_script_requests(monkeypatch):
    """``_click_waiting`` reads Streamlit's pending request of the script run (an
    internal: this fails when Streamlit changes it)."""
    import streamlit.runtime.scriptrunner as runner
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    requests = ScriptRequests()
    ctx = type("Ctx", (), {"script_requests": requests})()
    monkeypatch.setattr(runner, "get_script_run_ctx", lambda suppress_warning=False: ctx)
    assert not live._click_waiting()
    requests.request_rerun(RerunData())
    assert live._click_waiting()
    monkeypatch.setattr(runner, "get_script_run_ctx", lambda suppress_warning=False: None)
    assert not live._click_waiting()  # outside a script run


def test_a_first_frame_goes_at_once_even_inside_a_batch(monkeypatch):
    sent = []
    monkeypatch.setattr(live, "_send", lambda placeholder, asset, key, frames, first=False,
                        events=None: sent.append((first, frames)))
    live._batch.frames = []
    try:
        live.show(None, "live_view", "k", {"n": 0}, True)
        assert sent == [(True, [{"n": 0}])] and live._batch.frames == []
    finally:
        live._batch.frames = None


def test_a_playing_first_frame_compiles_before_it_trains():
    """``first_frame(count=...)`` calls ``train(0)`` (which compiles a new network) before
    it trains: a compile timed as training would make the next frames plan too little
    (a race then planned single steps, a second compiled variant)."""
    calls = []

    def train(count: int) -> int:
        calls.append(count)
        return count

    assert live.first_frame(train, st.empty(), count=5) == 5
    assert calls == [0, 5]
    calls.clear()
    assert live.first_frame(train, st.empty()) == 0 and calls == [0]


def test_a_fragment_rerun_that_changed_the_spec_reruns_everything(monkeypatch):
    """The live part reruns alone on Play, Pause or a click on its view; should that
    click change the spec (a placed point), the sidebar must show it too: a full rerun,
    before anything is drawn. A full run, or a rerun that changed nothing, draws."""

    class Rerun(Exception):
        pass

    def rerun():
        raise Rerun

    monkeypatch.setattr(live.st, "rerun", rerun)
    monkeypatch.setattr(live, "loop", lambda train, draw, speed: None)
    for fragment, now, shown, reruns in ((True, "b", "a", True), (True, "a", "a", False),
                                         (False, "b", "a", False)):
        monkeypatch.setattr(live, "fragment_rerun", lambda fragment=fragment: fragment)
        drawn, ready = [], []

        def page(chosen, drawn=drawn):
            drawn.append(chosen)
            return None, None, 1

        if reruns:
            with pytest.raises(Rerun):
                live._live_part(page, "chosen", lambda now=now: now, shown,
                                lambda ready=ready: ready.append(1))
        else:
            live._live_part(page, "chosen", lambda now=now: now, shown,
                            lambda ready=ready: ready.append(1))
        assert drawn == ([] if reruns else ["chosen"])
        assert ready == ([] if reruns else [1])  # the newcomer's precedence ends once drawn


def test_a_frame_costs_its_own_cpu_not_the_time_other_sessions_took_meanwhile():
    """Under load a frame's wall time includes other sessions' frames (the thread waits
    for a core); pacing by it slowed everyone more the more sessions played. The clock
    charges a frame the loop thread's CPU (scaled by the process's overhead), and keeps
    the wall time for the batch size."""
    import time

    clock = pacing.FrameClock(pacing.ProcessLoad())  # not yet measured: OVERHEAD
    assert clock.cost == clock.wall == 0.0  # not measured yet
    clock.start()
    time.sleep(0.05)  # waiting, as for a core another session holds
    end = time.thread_time() + 0.01
    while time.thread_time() < end:  # 10 ms of its own work
        pass
    wall = clock.stop(frames=2)
    assert wall >= 0.06 and clock.wall == pytest.approx(wall / 2)
    first_cost, first_wall = clock.cost, clock.wall
    assert 0.005 * pacing.OVERHEAD <= first_cost < 0.02
    clock.start()
    clock.stop(frames=1)  # a frame of almost nothing: smoothed in, not replacing
    assert 0.8 * first_cost <= clock.cost < 0.81 * first_cost + 0.001
    assert 0.8 * first_wall <= clock.wall < 0.81 * first_wall + 0.001


def test_a_frame_is_charged_the_cpu_xla_spends_for_it_while_its_loop_waits():
    """XLA runs a convolution on its own threads while the loop's thread waits (40x the
    waiting thread's CPU): frames are charged XLA's CPU too, shared out by the time each
    loop waited in its engine calls, so a heavy page's frames pay for it, not the light
    pages' beside it."""
    cpu = [0.0]
    load = pacing.ProcessLoad(clock=lambda: cpu[0])
    # until a window is measured: the thread's CPU times OVERHEAD
    assert load.cost(0.003, 0.001, now=0.0) == pytest.approx(0.003 * pacing.OVERHEAD)
    for t in range(1, 12):  # per second: a heavy chunk waits 0.2 s, a light one 0.002 s
        cpu[0] += 0.2  # and XLA's threads spend 0.2 s
        heavy = load.cost(0.005, 0.2, now=t - 0.5)
        light = load.cost(0.003, 0.002, now=float(t))
    assert load.rate == pytest.approx(0.2 / 0.202, rel=0.02)
    assert heavy == pytest.approx(0.005 * pacing.SENDING + 0.2 * 0.99, rel=0.02)
    assert light < 0.006 and heavy > 30 * light  # the heavy page pays, not the light
    for t in range(12, 30):  # XLA idle: a frame costs its thread's CPU and sending
        load.cost(0.003, 0.002, now=float(t))
    assert load.rate == pytest.approx(0.0, abs=1e-4)
    cpu[0] += 100.0  # XLA's threads busy while nothing played (another page) ...
    assert load.cost(0.003, 0.002, now=60.0) == pytest.approx(0.003 * pacing.SENDING,
                                                              rel=0.05)  # ... not counted
    cpu[0] += 10.0  # ... and while playing: at most the process's cores per second waited
    load.cost(0.003, 0.002, now=61.0)
    assert load.rate == pytest.approx(0.5 * pacing.MAX_RATE, abs=1e-3)  # (smoothed)


def test_xla_threads_cpu_counts_what_xla_runs_on_its_own_threads():
    """JAX's default dispatch runs a computation on XLA's pool while the caller waits:
    that CPU shows in ``xla_threads_cpu``, not in the caller's thread time."""
    import time

    import jax
    import jax.numpy as jnp

    matmul = jax.jit(lambda a: a @ a)
    a = jnp.ones((512, 512))
    matmul(a).block_until_ready()
    before, mine = pacing.xla_threads_cpu(), time.thread_time()
    for _ in range(40):  # about 0.1 s of CPU
        matmul(a).block_until_ready()
    assert pacing.xla_threads_cpu() - before > 0.03
    assert time.thread_time() - mine < pacing.xla_threads_cpu() - before
