"""The live view: a light canvas renderer fed by a measured training loop.

Plotly re-renders cost ~300 ms a frame in a browser; this view instead is a
``streamlit.components.v2`` component whose JavaScript paints uint8 grids on
canvases, so the browser keeps up at 30+ frames a second. The loop trains a
chunk of epochs, pushes one frame, and paces itself. Any widget interaction
reruns the script, which ends the loop; the training state lives in
``st.session_state``, so the next run picks up exactly where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import streamlit as st

import engine
from playground import limits, palette, session
from playground import state as S
from playground.frames import View, make_frame
from playground.safe import finite

_ASSETS = Path(__file__).parent / "assets"


def canvas_component(name: str):
    """A ``components.v2`` component from ``assets/{name}.js`` and ``.css``.

    Its script is ``assets/common.js`` (shared helpers, the palette) followed by
    the view's own.
    """
    common = (_ASSETS / "common.js").read_text(encoding="utf-8")
    return st.components.v2.component(
        f"nn_playground_{name}",
        js=common.replace("__PALETTE__", palette.as_json()) + "\n"
        + (_ASSETS / f"{name}.js").read_text(encoding="utf-8"),
        css=(_ASSETS / f"{name}.css").read_text(encoding="utf-8"),
        isolate_styles=False,
    )


_component = canvas_component("live_view")

FRAME_SECONDS = 1 / 40  # pace: at most 40 frames a second
SPEEDS = (1, 2, 5, 10, 25, 50, 100)  # epochs per frame


LIVE_KEY = "pg_live_view"


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


def show(placeholder, component, key: str, data: dict[str, Any], first: bool) -> None:
    """Send ``data`` to the keyed ``component`` in ``placeholder`` (see ``_release_key``)."""
    keyed = first or _release_key(key)
    with placeholder:  # JSON has no NaN/inf: a diverged number must not break the view
        component(data=finite(data), key=key if keyed else None)


def render(placeholder, probes, first: bool, view: View) -> None:
    """Draw one frame of the current session into ``placeholder``."""
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    tstate = st.session_state[S.key(S.TRAIN_STATE)]
    hist = st.session_state[S.key(S.HISTORY)]
    metrics = session.current_metrics() if hist["train_loss"] else exp.metrics(tstate)
    stop = int(tstate.monitor.best_epoch) if bool(tstate.monitor.stopped) else None
    frame = make_frame(exp, jax.device_get(tstate.params), probes, int(tstate.epoch),
                       metrics, hist, view, stop, with_points=first, step=int(tstate.step),
                       confusion_counts=exp.confusion_matrix(tstate))
    show(placeholder, _component, LIVE_KEY, frame, first)


def run(placeholder, speed: int, draw: Callable[..., None],
        train: Callable[..., Any] | None = None, **probe_options) -> None:
    """Draw the current state, then, while playing, train and draw frame after frame.

    ``draw(placeholder, probes, first)`` renders one frame; ``train(epochs,
    **probe_options)`` trains and returns what ``draw`` needs (default: the
    session's experiment, ``session.train_frame``); ``probe_options`` go to
    ``Experiment.train`` (resolutions, ``layers``, ...). The loop ends when the user
    touches any widget (Streamlit stops this run and starts a new one, which
    resumes from ``st.session_state``), or when training stops early or diverges.
    """
    train = train or session.train_frame
    # The first frame of a new architecture waits for XLA to compile (seconds on a
    # small CPU); the spinner only appears if that takes longer than half a second.
    with st.spinner("Compiling this network for the engine (once per architecture)..."):
        probes = train(0, **probe_options)  # the same compiled function as every frame
    draw(placeholder, probes, first=True)
    while st.session_state.get(S.key(S.PLAYING)):
        t0 = time.perf_counter()
        probes = train(speed, **probe_options)
        draw(placeholder, probes, first=False)
        if not st.session_state.get(S.key(S.PLAYING)):  # stopped early or diverged: show why
            st.rerun()
        left = FRAME_SECONDS - (time.perf_counter() - t0)
        if left > 0:
            time.sleep(left)


def toolbar(views: bool = True, speeds: tuple[int, ...] = SPEEDS, speed: int = 50,
            train: Callable[..., Any] | None = None, unit: str = "Epochs",
            **probe_options) -> tuple[int, View]:
    """Play/pause, step, reset, speed and (with ``views``) the view toggles.

    Returns (epochs per frame, view). ``train`` and ``probe_options`` are the
    page's, as for ``run`` (Step trains with them, so its compiled function is the
    one the loop uses).
    """
    train = train or session.train_frame
    playing = st.session_state.get(S.key(S.PLAYING), False)
    c = st.columns([1.1, 1, 1, 2.2, 1.4, 1.4] if views else [1.1, 1, 1, 5],
                   vertical_alignment="center")

    def toggle():
        st.session_state[S.key(S.PLAYING)] = not st.session_state.get(S.key(S.PLAYING), False)
        tstate = st.session_state[S.key(S.TRAIN_STATE)]
        if st.session_state[S.key(S.PLAYING)] and (bool(tstate.monitor.diverged)
                                            or bool(tstate.monitor.stopped)):
            session.reset()
            st.session_state[S.key(S.PLAYING)] = True

    c[0].button("Pause" if playing else "Play", on_click=toggle, type="primary",
                icon=":material/pause:" if playing else ":material/play_arrow:",
                key="pg_play", use_container_width=True)
    c[1].button("Step", on_click=lambda: train(1, budget=limits.STEP_SECONDS, **probe_options),
                key="pg_step",
                icon=":material/skip_next:", help=f"Train one {unit.lower().rstrip('s')}",
                use_container_width=True)
    c[2].button("Reset", on_click=session.reset, key="pg_reset", icon=":material/restart_alt:",
                help="New weights from the seed; clears the curves", use_container_width=True)
    key = "pg_speed" if unit == "Epochs" else f"pg_speed_{unit.lower()}"
    speed = c[3].select_slider(f"{unit} per frame", speeds, value=speed, key=key,
                               help=f"How many {unit.lower()} each drawn frame trains")
    if not views:
        return speed, View()
    show_test = c[4].toggle("Show test data", key="pg_show_test")
    discretize = c[5].toggle("Discretize output", key="pg_discretize")
    return speed, View(show_test=show_test, discretize=discretize)
