"""The per-user training session: experiment, train state and history.

All of it lives in ``st.session_state`` (never module globals). Changing a
value (learning rate, regularisation rate, ...) keeps the training state, as
TensorFlow Playground does; changing the data, the network or the seed starts
afresh. A spec that fails to build leaves everything as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

import engine
from engine import EngineError, Spec
from playground import state as S

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
        bump_widgets()
        st.rerun()
    if not apply_spec(spec):
        bump_widgets()
    st.rerun()


def reset() -> None:
    """Fresh weights (from the spec's seed) and an empty history; pauses training."""
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    st.session_state[S.key(S.TRAIN_STATE)] = exp.init()
    st.session_state[S.key(S.HISTORY)] = {k: [] for k in HISTORY_KEYS}
    for extra in (S.TRACE, S.COMPARE):  # what pages keep beside the history
        st.session_state.pop(S.key(extra), None)
    st.session_state[S.key(S.PLAYING)] = False


def ensure_session(default: Spec) -> None:
    """Load the setup from the URL on first visit (or when the URL changes)."""
    url = st.query_params.get("s", "")
    if S.key(S.EXPERIMENT) in st.session_state and st.session_state.get(S.key(S.URL_SEEN)) == url:
        return
    current: Spec | None = st.session_state.get(S.key(S.SPEC))
    fallback = current or default
    spec, error = S.spec_from_url(fallback, "the current setup" if current else "the default")
    if error:
        S.flash("error", error)
    if spec != current and not apply_spec(spec) and current is None:
        apply_spec(default)
    # A link opened in a running session (or the browser's Back button) must reach the
    # widgets too, or they would put their old values straight back.
    bump_widgets()
    st.session_state[S.key(S.URL_SEEN)] = st.query_params.get("s", "")


def train_frame(epochs: int, resolution: int = 100, neuron_resolution: int = 20,
                by_steps: bool = False, **probe_options: Any):
    """Train ``epochs`` epochs (``by_steps``: steps) with probes; return the probes.

    Updates the session's state and history. ``probe_options`` go to
    ``Experiment.train`` (``layers``, ``sequence``, ...).
    """
    exp: engine.Experiment = st.session_state[S.key(S.EXPERIMENT)]
    train = exp.train_steps if by_steps else exp.train
    state, chunk = train(st.session_state[S.key(S.TRAIN_STATE)], epochs, probes=True,
                         resolution=resolution, neuron_resolution=neuron_resolution,
                         **probe_options)
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
