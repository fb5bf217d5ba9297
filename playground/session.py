"""The per-user training session: experiment, train state and history.

All of it lives in ``st.session_state`` (never module globals). Changing a
value (learning rate, regularisation rate, ...) keeps the training state, as
TensorFlow Playground does; changing the data, the network or the seed starts
afresh. A spec that fails to build leaves everything as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

import engine
from engine import EngineError, Spec
from playground import limits
from playground import state as S

FAILED = "pg_failed"  # the last controls' dict that could not be applied

HISTORY_KEYS = ("train_loss", "val_loss", "test_loss", "train_accuracy", "val_accuracy",
                "test_accuracy")


def _needs_reset(old: engine.Experiment | None, new: engine.Experiment) -> bool:
    if old is None:
        return True
    return (old.structure != new.structure or old.spec.data != new.spec.data
            or old.spec.seed != new.spec.seed or old.spec.model.init != new.spec.model.init
            or old.dataset is not new.dataset)


def bump_widgets() -> None:
    """Make every control re-read the spec on this run (see ``controls.bump``)."""
    from playground.controls import bump

    bump()


def apply_spec(spec: Spec, raw: engine.RawData | None = None) -> bool:
    """Make ``spec`` the current setup; on failure show why and keep the last good one."""
    old: engine.Experiment | None = st.session_state.get(S.key(S.EXPERIMENT))
    try:
        if old is not None and raw is None and spec.data == old.spec.data:
            exp = old.with_spec(spec)  # same data: keep it (and, for values, the training)
        else:
            if raw is None and spec.data.name == "csv":
                raw = st.session_state.get(S.key(S.RAW))
            exp = engine.build(spec, raw)
    except EngineError as err:
        S.flash("error", f"{err}. The last working setup is kept: change that value.")
        return False
    problem = limits.refusal(exp)
    if problem:
        S.flash("error", f"This setup is too big for one session: {problem}. The last working "
                "setup is kept.")
        return False
    if raw is not None:
        st.session_state[S.key(S.RAW)] = raw
    st.session_state[S.key(S.SPEC)] = spec
    st.session_state[S.key(S.EXPERIMENT)] = exp
    if _needs_reset(old, exp):
        reset()
    S.write_url(spec)
    return True


def apply_changes(d: dict[str, Any]) -> None:
    """Apply the spec dict the controls describe, if it changed, and rerun.

    A dict that fails validation flashes the reason and puts the widgets back on
    the last good spec, so nothing the user built is lost.
    """
    if d == st.session_state[S.key(S.SPEC)].to_dict():
        return
    try:
        spec = Spec.from_dict(d)
    except EngineError as err:
        S.flash("error", f"{err}. The last working setup is kept.")
        spec = None
    if spec is None or not apply_spec(spec):
        bump_widgets()
        # Widgets that cannot show the kept setup would send the same bad dict again
        # on every rerun: stop after the first retry and just show the message.
        if st.session_state.get(S.key(FAILED)) == d:
            return
        st.session_state[S.key(FAILED)] = d
    else:
        st.session_state.pop(S.key(FAILED), None)
    st.rerun()


def reset() -> None:
    """Fresh weights (from the spec's seed) and an empty history; pauses training."""
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    st.session_state[S.key(S.TRAIN_STATE)] = exp.init()
    st.session_state[S.key(S.HISTORY)] = {k: [] for k in HISTORY_KEYS}
    for extra in (S.TRACE, S.COMPARE):  # what pages keep beside the history
        st.session_state.pop(S.key(extra), None)
    st.session_state[S.key(S.PLAYING)] = False


def points_only(spec: Spec) -> str | None:
    """Why ``spec`` does not belong on a page of 2-D points (None when it does)."""
    if spec.data.name in engine.SEQUENCE_TASKS:
        return (f"{spec.data.name!r} is a sequence task: open the link on the Sequences and "
                "attention page")
    kinds = sorted({layer.type for layer in spec.model.layers} & set(engine.SEQUENCE_KINDS))
    if kinds:
        return f"its {', '.join(kinds)} layers read sequences, and this page's data are points"
    return None


def ensure_session(default: Spec, fits: Callable[[Spec], str | None] = points_only) -> None:
    """Load the setup from the URL on first visit (or when the URL changes).

    ``fits(spec)`` says why a link's spec does not belong on this page (then the
    page keeps its setup and says so), or None.
    """
    url = st.query_params.get("s", "")
    if S.key(S.EXPERIMENT) in st.session_state and st.session_state.get(S.key(S.URL_SEEN)) == url:
        return
    current: Spec | None = st.session_state.get(S.key(S.SPEC))
    fallback = current or default
    kept = "the current setup" if current else "the default"
    spec, error = S.spec_from_url(fallback, kept)
    problem = None if error else fits(spec)
    if problem:
        error = f"The link's setup is not for this page ({problem}). Showing {kept}."
        spec = fallback
    if error:
        S.flash("error", error)
    if spec != current and not apply_spec(spec) and current is None:
        apply_spec(default)
    if not url and current is not None:
        # Streamlit drops the query when the user moves between pages: put the setup
        # back, so the address bar can still be copied or reloaded.
        S.write_url(st.session_state[S.key(S.SPEC)])
    # A link opened in a running session (or the browser's Back button) must reach the
    # widgets too, or they would put their old values straight back.
    bump_widgets()
    st.session_state[S.key(S.URL_SEEN)] = st.query_params.get("s", "")


def train_paced(exp: engine.Experiment, state: engine.TrainState, count: int,
                by_steps: bool = False, budget: float = limits.CALL_SECONDS, **options: Any
                ) -> tuple[engine.TrainState, engine.Chunk]:
    """Train ``count`` epochs (``by_steps``: steps), fewer if the call would take more
    than ``budget`` seconds at this network's measured pace (see ``limits.plan``).

    ``options`` go to ``Experiment.train``. The pace is kept per network structure.
    """
    paces: dict = st.session_state.setdefault(S.key(S.PACE), {})
    pace = paces.get(exp.structure)
    plan = limits.plan(exp, count, by_steps, pace, budget)
    t0 = time.perf_counter()
    train = exp.train_steps if plan.by_steps else exp.train
    before = int(state.step)
    state, chunk = train(state, plan.count, **options)
    steps = int(state.step) - before
    if steps > 0:
        if len(paces) > 8:  # the compare mode's four models, and a few recent ones
            paces.clear()
        paces[exp.structure] = limits.update_pace(pace, time.perf_counter() - t0, steps)
    return state, chunk


def train_frame(epochs: int, resolution: int = 100, neuron_resolution: int = 20,
                by_steps: bool = False, budget: float = limits.CALL_SECONDS,
                **probe_options: Any):
    """Train ``epochs`` epochs (``by_steps``: steps) with probes; return the probes.

    Paced to the server's time budget (``train_paced``). Updates the session's state
    and history. ``probe_options`` go to ``Experiment.train`` (``layers``,
    ``sequence``, ``plane``, ...).
    """
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    state, chunk = train_paced(exp, st.session_state[S.key(S.TRAIN_STATE)], epochs, by_steps,
                               budget, probes=True, resolution=resolution,
                               neuron_resolution=neuron_resolution, **probe_options)
    st.session_state[S.key(S.TRAIN_STATE)] = state
    hist = st.session_state[S.key(S.HISTORY)]
    trained = chunk.history["trained"]
    for k in HISTORY_KEYS:
        hist[k].extend(np.asarray(chunk.history[k])[trained].tolist())
    mon = state.monitor
    if bool(mon.diverged):
        st.session_state[S.key(S.PLAYING)] = False
        S.flash("error", "Training diverged: the loss became NaN or infinite, so training "
                "was paused and the last finite weights kept. Lower the learning rate "
                "(or add gradient clipping), then press Reset.")
    elif bool(mon.stopped):
        st.session_state[S.key(S.PLAYING)] = False
        S.flash("info", f"Early stopping: the validation loss has not improved since epoch "
                f"{int(mon.best_epoch)}; the weights from that epoch were restored.")
    return chunk.probes


def current_metrics() -> dict[str, Any]:
    """The latest per-split metrics from the history (None before any training)."""
    hist = st.session_state[S.key(S.HISTORY)]
    out: dict[str, Any] = {}
    for k in HISTORY_KEYS:
        v = hist[k][-1] if hist[k] else None
        out[k] = None if v is None or not np.isfinite(v) else v
    return out
