"""The live view's machinery: a light canvas component fed by a measured loop.

Plotly re-renders cost ~300 ms a frame in a browser; the views instead are
``streamlit.components.v2`` components whose JavaScript paints uint8 grids on
canvases, so the browser keeps up at 30+ frames a second. The loop trains a chunk,
pushes one frame and paces itself; after a run's first frame, frames bypass Streamlit
through the app's own websocket where the server offers it (``channel``). Any widget
interaction reruns the script, which ends the loop; the training state lives in the
session, so the next run picks up exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from playground.core import channel, pacing, palette, session, warmup
from playground.core.encode import finite

ASSETS = Path(__file__).resolve().parent.parent / "assets"
_batch = threading.local()  # the frames a playing loop holds back for one message (``show``)


@functools.cache
def component(name: str) -> Callable[..., Any]:
    """The ``components.v2`` component of ``assets/{name}.js`` and ``.css``.

    Its script is ``assets/common.js`` (shared helpers, the palette) followed by the
    view's own, and likewise its styles (``common.css``); registered once per process.
    """
    common = (ASSETS / "common.js").read_text(encoding="utf-8")
    styles = (ASSETS / "common.css").read_text(encoding="utf-8")
    return st.components.v2.component(
        f"nn_playground_{name}",
        js=common.replace("__PALETTE__", palette.as_json()) + "\n"
        + (ASSETS / f"{name}.js").read_text(encoding="utf-8"),
        css=styles + (ASSETS / f"{name}.css").read_text(encoding="utf-8"),
        isolate_styles=False,
    )


def _release_key(key: str) -> bool:
    """Let ``key`` be used again in this script run; False if Streamlit can't.

    A keyed component keeps its identity, so the browser updates the same canvases
    each frame; an unkeyed one gets a new identity whenever its data changes and is
    rebuilt (blank flashes, half the frame rate). Streamlit allows a key once per
    run, and a long-running loop is one run, so before each frame we drop the key
    from this run's registry. This touches Streamlit internals (checked with
    1.50-1.67): if they change, the view falls back to rebuilding each frame.
    """
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        shared = get_script_run_ctx().shared
        for registry in (shared.widget_user_keys_this_run, shared.widget_ids_this_run):
            with registry._lock:
                for value in [v for v in registry._data if key in str(v)]:
                    registry._data.discard(value)
        return True
    except (AttributeError, TypeError):
        return False


def show(placeholder: Any, asset: str, key: str, data: dict[str, Any], first: bool,
         events: dict[str, Callable[[Any], None]] | None = None) -> None:
    """Send ``data`` to the keyed view ``asset`` in ``placeholder`` (see ``_release_key``).

    ``events`` maps what the view may report (``setTriggerValue(name, value)``) to a
    handler of the value, run before the next script run draws anything. Inside
    ``loop``'s batch of frames (a loaded server), a frame that is not ``first`` waits
    to go with the batch's others in one message.
    """
    batch = getattr(_batch, "frames", None)
    if batch is not None and not first:
        batch.append(data)
        _batch.send = functools.partial(_send, placeholder, asset, key, events=events)
        return
    _send(placeholder, asset, key, [data], first, events)


def _send(placeholder: Any, asset: str, key: str, frames: list[dict[str, Any]],
          first: bool = False, events: dict[str, Callable[[Any], None]] | None = None
          ) -> None:
    data = sent(*frames)  # JSON has no NaN/inf: a diverged number must not break the view
    if channel.send(data, first):  # the view listens on the app's own socket
        return
    keyed = first or _release_key(key)
    callbacks = {f"on_{name}_change": functools.partial(_report, key, name, handler)
                 for name, handler in (events or {}).items()} if keyed else {}
    with placeholder:
        component(asset)(data=data, key=key if keyed else None, **callbacks)


def sent(*frames: dict[str, Any]) -> list[dict[str, Any]]:
    """What a view is sent: its frames, finite (JSON has no NaN), in a list (usually of
    one). Streamlit checks each value of a dict it sends for a dataframe, 20 us for
    each list and 2.4 ms for a list of 250 points, every frame; a list it passes as it
    is. The views draw several frames ``_after`` milliseconds apart (``playFrames`` in
    ``assets/common.js``)."""
    return [finite(f) for f in frames]


def _report(key: str, name: str, handler: Callable[[Any], None]) -> None:
    handler(session.component_state(key).get(name))


def first_frame(train: Callable[[int], Any], note: Any, waiting: Any = None,
                count: int = 0) -> Any:
    """The first frame's result: ``train(count)``, the same compiled call as every frame
    (``count`` is traced). A playing run's first frame already trains: after Play its
    counter moves one frame sooner, before the rest of the page is drawn. It calls
    ``train(0)`` first, so that a compile is not timed as training.

    Call it before the view's placeholder is created: while a new network compiles,
    the last run's view then stays on screen (dimmed by Streamlit as stale) instead
    of an empty slot, with a short note in ``note`` (a slot above the view).
    ``waiting`` is the server warm-up's event for this network, if it is compiling it.
    """
    if waiting is not None:
        deadline = time.perf_counter() + warmup.WAIT_SECONDS
        while not waiting.wait(0.25) and time.perf_counter() < deadline:
            # a Streamlit call each quarter second: a click or a closed tab still
            # stops this run at once
            note.info(f"The server is starting: it is compiling the pages' networks "
                      f"({warmup.progress()}). This page starts in a moment.",
                      icon=":material/hourglass_top:")
    # The spinner only appears if this takes longer than half a second (a compile).
    with note, st.spinner("Compiling this network for the engine (once per architecture)..."):
        result = train(0)  # a compile, if any, trains nothing: its seconds must not be
        if count:          # taken for the network's pace (``limits.update_pace``)
            result = train(count)
    note.empty()
    return result


_playing: set[object] = set()  # the loops playing now, in every session of this process
_playing_lock = threading.Lock()


_answering: dict[object, float] = {}  # first visits being drawn now -> their start
ANSWER_YIELD_SECONDS = 0.25
"""Longest a playing loop waits, per frame, for script runs that answer a visitor."""
ANSWER_WINDOW_SECONDS = 3.0
"""A run takes precedence for this long at most: a new network compiling for 20 s
must not slow every other session's frames all that time."""


@contextlib.contextmanager
def answering(first_visit: bool = True) -> Iterator[None]:
    """Mark a script run answering a newcomer (a session's first visit of a page) until
    its view is drawn: meanwhile every playing loop waits before its next frame (at
    most ``ANSWER_YIELD_SECONDS`` a frame, for the run's first ``ANSWER_WINDOW_SECONDS``),
    so the page gets the cores before animation frames do and opens while a classroom
    plays. Any other run (``first_visit`` False: a click) marks nothing: thirty
    students clicking would hold everyone's frames."""
    if not first_visit:
        yield
        return
    token = object()
    with _playing_lock:
        _answering[token] = time.perf_counter()
    try:
        yield
    finally:
        with _playing_lock:
            del _answering[token]


def answers_waiting() -> bool:
    """Whether a script run answering someone started less than
    ``ANSWER_WINDOW_SECONDS`` ago and is still drawing."""
    since = time.perf_counter() - ANSWER_WINDOW_SECONDS
    with _playing_lock:
        return any(start > since for start in _answering.values())


def _yield_to_answers() -> None:
    deadline = time.perf_counter() + ANSWER_YIELD_SECONDS
    while time.perf_counter() < deadline and answers_waiting():
        time.sleep(0.01)


def loop(train: Callable[[int], Any], draw: Callable[[Any, bool], None], speed: int) -> None:
    """While playing, train and draw frame after frame (the first frame is drawn).

    ``train(count)`` trains ``count`` epochs or steps and returns what ``draw(result,
    first)`` needs. The loop ends when the user touches any widget (Streamlit stops
    this run, or for a fragment's widget waits for its end, ``_click_waiting``; the
    next run resumes from the session), or when training stops early or diverges.
    Frames are paced by ``pacing.frame_period``; while more sessions play than the
    server has cores, several go in one message (``pacing.frames_per_message``); while
    another script run answers someone (``answering``), frames wait for it; while the
    browser lags behind the frames sent (``channel.lagging``), the loop waits for it.
    """
    token = object()  # in ``_playing`` while it plays, and its browser keeps up
    clock = pacing.FrameClock()
    try:
        while session.playing():
            lagging = channel.lagging()  # its browser draws fewer frames than it is sent:
            with _playing_lock:  # it waits, and leaves the cores to the others meanwhile
                (_playing.discard if lagging else _playing.add)(token)
            if lagging:
                if _click_waiting():
                    return
                time.sleep(CLICK_CHECK_SECONDS)
                continue
            clock.start()
            playing = len(_playing)
            period = pacing.frame_period(clock.cost, playing)
            frames = pacing.frames_per_message(playing, clock.wall)
            _batch.frames, _batch.send = [], None
            try:
                for _ in range(frames):
                    t = time.perf_counter()
                    result = train(speed)
                    clock.engine(time.perf_counter() - t)  # (XLA's threads work meanwhile)
                    draw(result, False)
                    # a newcomer or a click (Pause, a point) waiting: send now, then yield
                    if not session.playing() or _answering or _click_waiting():
                        break
                drawn, send = _batch.frames, _batch.send
            finally:
                _batch.frames = _batch.send = None
            if len(drawn) > 1:  # the browser plays them a period apart
                for f in drawn:
                    f["_after"] = round(1000 * period)
            if send is not None and drawn:
                send(drawn)
            if not session.playing():  # stopped early or diverged: show why
                st.rerun()
            if _click_waiting():  # see below
                return
            t0 = time.perf_counter() - clock.stop(len(drawn))  # (when the frames began)
            left = len(drawn) * pacing.frame_period(clock.cost, len(_playing)) - (
                time.perf_counter() - t0)
            while left > 0:
                # A click waiting ends the loop, and with it this run: Streamlit does not
                # stop a run for a rerun of fragments only (Play, Pause and the view's
                # own widgets, ``live_part``), it starts that rerun after this one.
                if _click_waiting():
                    return
                time.sleep(min(left, CLICK_CHECK_SECONDS))
                left = len(drawn) * pacing.frame_period(clock.cost, len(_playing)) - (
                    time.perf_counter() - t0)
            if _answering:
                _yield_to_answers()
    finally:  # a rerun or a closed tab ends the loop by an exception
        with _playing_lock:
            _playing.discard(token)


def live_part(first_visit: bool, controls: Callable[[], Any],
              page: Callable[[Any], tuple[Callable[[int], Any], Callable[[Any, bool], None],
                                          int]],
              drawn: Callable[[], Any]) -> None:
    """A live page: ``controls()`` (its sidebar) in the script's run, then
    ``page(controls' result)`` (its toolbar, view and what is under it; it returns the
    trainer, the drawer and the speed) and the live ``loop`` in a fragment
    (``st.fragment``). Play, Pause, Step, the speed and the view's own widgets then rerun
    only the fragment: the browser redraws a few elements instead of the whole page, and
    the first frame after Play shows sooner. A change of the sidebar reruns everything.

    The fragment is called with what the script's last full run chose; ``drawn()`` is
    what the sidebar shows (the spec): should a click in the fragment change it (a point
    placed on the view), everything reruns. ``first_visit``: the run is ``answering``
    until the page is drawn."""
    with contextlib.ExitStack() as newcomer:
        newcomer.enter_context(answering(first_visit))
        chosen = controls()
        st.fragment(_live_part)(page, chosen, drawn, drawn(), newcomer.close)


def _live_part(page: Callable[[Any], Any], chosen: Any, drawn: Callable[[], Any],
               shown: Any, ready: Callable[[], None]) -> None:
    if fragment_rerun() and drawn() != shown:
        st.rerun()  # the sidebar shows it too
    train, draw, speed = page(chosen)
    ready()  # the page is drawn: other sessions' frames go on
    loop(train, draw, speed)


def fragment_rerun() -> bool:
    """Whether this run reruns fragments only (Streamlit internals, checked with 1.67:
    False where they differ)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        return bool(get_script_run_ctx(suppress_warning=True).fragment_ids_this_run)
    except AttributeError:
        return False


CLICK_CHECK_SECONDS = 0.02  # how often a loop waiting for its next frame looks for a click


def _click_waiting() -> bool:
    """Whether Streamlit holds a rerun or stop for this script run (a click, a closed
    tab): a full rerun or stop it carries out at the run's next message, a fragment's
    rerun only after the run ends (``loop`` then returns). Streamlit internals (checked
    with 1.67): False where they differ, and frames then go at their own pace."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

        requests = get_script_run_ctx(suppress_warning=True).script_requests
        return requests is not None and requests._state != ScriptRequestType.CONTINUE
    except (AttributeError, ImportError):
        return False


def toolbar(speeds: tuple[int, ...], speed: int, unit: str, step: Callable[[], Any],
            toggles: bool) -> tuple[int, dict[str, bool]]:
    """Play/pause, Step, Reset, speed and (with ``toggles``) the view toggles.

    Returns (epochs or steps per frame, {"show_test": ..., "discretize": ...}).
    ``step`` is what the Step button runs (one epoch or step, with the page's probes,
    so its compiled function is the one the loop uses).
    """
    playing = session.playing()
    c = st.columns([1.1, 1, 1, 2.2, 2] if toggles else [1.1, 1, 1, 5],  # both toggles in c[4]
                   vertical_alignment="center")

    def toggle() -> None:
        session.set_playing(not session.playing())
        state = session.train_state()
        if session.playing() and (bool(state.monitor.diverged) or bool(state.monitor.stopped)):
            session.reset()
            session.set_playing(True)

    hidden = session.hidden_sections()  # a lesson's or link's hidden buttons
    if "play" not in hidden:
        c[0].button("Pause" if playing else "Play", on_click=toggle, type="primary",
                    icon=":material/pause:" if playing else ":material/play_arrow:",
                    key="pg_play", use_container_width=True)
    if "step" not in hidden:
        c[1].button("Step", on_click=step, key="pg_step", icon=":material/skip_next:",
                    help=f"Train one {unit.lower().rstrip('s')}", use_container_width=True)
    if "reset" not in hidden:
        c[2].button("Reset", on_click=session.reset, key="pg_reset",
                    icon=":material/restart_alt:", use_container_width=True,
                    help="Back to the seed's weights (the same start every time); clears "
                    "the curves")
    name = "pg_speed" if unit == "Epochs" else f"pg_speed_{unit.lower()}"
    speed = c[3].select_slider(f"{unit} per frame", speeds, value=speed, key=name,
                               help=f"How many {unit.lower()} each drawn frame trains")
    if not toggles:
        return speed, {}
    # A hidden toggle keeps the value the link set (``tfp_link``), as TF Playground does.
    return speed, {
        "show_test": bool(st.session_state.get("pg_show_test")) if "show_test_data" in hidden
        else c[4].toggle("Show test data", key="pg_show_test"),
        "discretize": bool(st.session_state.get("pg_discretize")) if "discretize" in hidden
        else c[4].toggle("Discretize output", key="pg_discretize")}  # stacked: apart, cut
