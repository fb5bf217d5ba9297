"""The one owner of ``st.session_state``: a page's setup, its training and its messages.

Every live page (the Playground, Gradient flow, Sequences, ...) keeps its own session
under its own prefix, so each opens on its own default and leaving one never disturbs
another; the key names below are the Playground's (``pg_...``), and ``key(name)`` maps
them to the running page's. Everything per user lives here (never in module globals).

Changing a value (learning rate, rates) keeps the training state, as TensorFlow
Playground does; changing the data, the network or the seed starts afresh. A spec
that fails to build, or is too big for one session (``limits``), leaves everything
as it was and says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

import engine
from engine import EngineError, ProbeOptions, Spec
from playground.core import address, limits, restart, url
from playground.core.plan import Plan, planned

# Session keys (the Playground's; see ``key``).
SPEC = "pg_spec"  # the last good Spec
EXPERIMENT = "pg_experiment"  # engine.Experiment of SPEC
TRAIN_STATE = "pg_train_state"  # engine.TrainState
HISTORY = "pg_history"  # dict of lists: per-epoch metrics
PLAYING = "pg_playing"
MESSAGE = "pg_message"  # (level, text) shown once above the view
RAW = "pg_raw"  # uploaded CSV as engine.RawData
URL_SEEN = "pg_url_seen"  # the query string already applied
TRACE = "pg_trace"  # a page's per-frame record (Gradient flow's heatmap), cleared by reset
COMPARE = "pg_compare"  # the Sequences page's side-by-side models, cleared by reset
RACE = "pg_race"  # the Optimizer race's contestants, trained together, cleared by reset
PACE = "pg_pace"  # seconds per optimizer step, per network structure (limits.plan)
FAILED = "pg_failed"  # the last controls' dict that could not be applied
UPLOADED = "pg_uploaded"  # the file id of the upload already applied
INSPECT = "pg_inspect"  # the feature-map value whose arithmetic the Images page shows
REPORT = "pg_report"  # the Images page's test report, computed once an epoch
EXPLAINED = "pg_explained"  # the Images page's last conv arithmetic (throttled)
CONFUSION = "pg_confusion"  # the Playground's (experiment, frames, last confusion matrix)
RATE = "pg_rate"  # the learning rate the last epoch trained began with (schedule applied)
PAGE = "pg_page"  # which page's session the keys above refer to now
BUDGET = "pg_graph_budget"  # the running page's limits.graph_weight bound
PADDED = "pg_padded"  # whether the running page trains small MLPs padded (no compiles)
PLAN = "pg_padded_plan"  # which networks train padded, which natively (plan.Plan)
COPIES = "pg_copies"  # how many copies of its network the running page trains at once
WIDGETS = "pg_widgets_version"  # bumped to make every widget re-read the spec

HISTORY_KEYS = engine.METRICS


# -- the page's namespace -------------------------------------------------------------------

def use_page(prefix: str, graph_budget: float = float("inf"), padded: bool | str = False,
             copies: int = 1, plan: Plan | None = None) -> None:
    """Make the session keys refer to page ``prefix`` for this script run; setups on it
    may weigh at most ``graph_budget`` (``limits.graph_weight``); ``padded``: its small
    MLPs train padded (``engine.build(..., padded=padded)``); ``copies``: how many copies
    of its network it trains at once (``limits.refusal``); ``plan``: ``plan.planned``."""
    st.session_state[PAGE] = prefix
    st.session_state[BUDGET] = graph_budget
    st.session_state[PADDED], st.session_state[PLAN] = padded, plan
    st.session_state[COPIES] = copies


def key(name: str) -> str:
    """The running page's session key for ``name`` (one of the constants above)."""
    prefix = st.session_state.get(PAGE, "pg")
    return name if prefix == "pg" else prefix + name.removeprefix("pg")


def get(name: str, default: Any = None) -> Any:
    """The running page's value of ``name`` (a constant above)."""
    return st.session_state.get(key(name), default)


def put(name: str, value: Any) -> None:
    """Set the running page's value of ``name``."""
    st.session_state[key(name)] = value


def drop(name: str) -> Any:
    """Remove and return the running page's value of ``name`` (None if absent)."""
    return st.session_state.pop(key(name), None)


def spec() -> Spec:
    """The running page's current (last good) spec."""
    return st.session_state[key(SPEC)]


def experiment() -> engine.Experiment:
    """The running page's experiment."""
    return st.session_state[key(EXPERIMENT)]


def train_state() -> engine.TrainState:
    """The running page's training state."""
    return st.session_state[key(TRAIN_STATE)]


def history() -> dict[str, list[float]]:
    """The running page's per-epoch metrics."""
    return st.session_state[key(HISTORY)]


def playing() -> bool:
    """Whether the running page is playing."""
    return bool(get(PLAYING, False))


def set_playing(on: bool) -> None:
    put(PLAYING, on)


def value(name: str, default: Any = None) -> Any:
    """A page's own value that belongs to no live page's namespace (e.g. the Backprop
    page's steps)."""
    return st.session_state.get(name, default)


def set_value(name: str, new: Any) -> None:
    """Set (or, with None, remove) a value read by ``value``."""
    if new is None:
        st.session_state.pop(name, None)
    else:
        st.session_state[name] = new


def component_state(component_key: str) -> dict:
    """The values a keyed component sent back (``setStateValue``/``setTriggerValue``)."""
    value = st.session_state.get(component_key)
    return dict(value) if hasattr(value, "keys") else {}


def set_widget(widget_key: str, value: Any) -> None:
    """Set a (not versioned) widget's value before it is drawn, e.g. from a callback."""
    st.session_state[widget_key] = value


# -- widgets re-read the spec -----------------------------------------------------------------

def bump_widgets() -> None:
    """Make every widget re-read the spec on the next run (see ``wkey``)."""
    st.session_state[WIDGETS] = st.session_state.get(WIDGETS, 0) + 1


def wkey(name: str) -> str:
    """The versioned widget key for control ``name``: loading a preset or a link, or
    refusing a value, bumps the version so every widget shows the spec again."""
    return f"pg_{name}_{st.session_state.get(WIDGETS, 0)}"


# -- messages -------------------------------------------------------------------------------

def flash(level: str, text: str) -> None:
    """Queue a message ("error", "warning", "info", "success") for the next render
    (``flash.show_flash``)."""
    put(MESSAGE, (level, text))


# -- the URL ----------------------------------------------------------------------------------

def hidden_sections() -> set[str]:
    """Control sections hidden by the link (``?hide=data,network``)."""
    return url.hidden_sections(st.query_params.get("hide", ""))


def spec_from_url(fallback: Spec, fallback_name: str = "the default"
                  ) -> tuple[Spec, str | None]:
    """The spec in the URL, or ``fallback`` plus an error message if it is bad."""
    text = st.query_params.get("s", "")
    if not text:  # no setup in the link: the page's default (or what is running)
        return fallback, None
    try:
        return url.spec_from_query(text), None
    except EngineError as err:
        return fallback, (f"The link's setup could not be used ({err}). "
                          f"Showing {fallback_name}.")


def write_url(spec: Spec) -> None:
    """Put ``spec`` into the URL (without rerunning), keeping other parameters."""
    q = url.spec_to_query(spec)
    if st.query_params.get("s", "") != q:
        st.query_params["s"] = q
    put(URL_SEEN, q)
    address.wrote(st.session_state.get(PAGE, "pg"), key(address.KEY), q)


# -- applying a setup -------------------------------------------------------------------------

def apply_spec(new: Spec, raw: engine.RawData | None = None, edit: bool = False) -> bool:
    """Make ``new`` the current setup; on failure say why and keep the last good one.
    ``edit``: a change made in the page's menus (``restart.needed``)."""
    old: engine.Experiment | None = get(EXPERIMENT)
    problem, padded = None, st.session_state.get(PADDED, False)
    try:
        if old is not None and raw is None and new.data == old.spec.data:
            exp = old.with_spec(new)  # same data: keep it (and, for values, the training)
        else:
            # A spec without its table or pictures (too large to carry) takes the upload's.
            kind = engine.DATASETS.get(new.data.name)
            if raw is None and ((kind.family == "images" and kind.source == "upload")
                                or (kind.family == "table" and new.data.csv is None)):
                raw = get(RAW)
            problem = limits.data_refusal(new, raw)  # before a picture is drawn
            exp = None if problem else engine.build(new, raw, padded=padded)
        exp = exp and planned(exp, padded, st.session_state.get(PLAN))
    except EngineError as err:
        flash("error", f"{err}. The last working setup is kept: change that value.")
        return False
    problem = problem or limits.refusal(exp, st.session_state.get(BUDGET, float("inf")),
                                        st.session_state.get(COPIES, 1))
    if problem:
        flash("error", f"This setup is too big for one session: {problem}. The last working "
              "setup is kept.")
        return False
    if raw is not None:
        put(RAW, raw)
    put(SPEC, new)
    put(EXPERIMENT, exp)
    if restart.needed(old, exp, edit):
        state = get(TRAIN_STATE)
        # A setup arriving whole (a link, a lesson step) explains itself, and may play.
        told = edit and restart.note(old, exp, state is not None and int(state.step) > 0)
        reset()
        if told:
            flash("info", told)
    elif old is not None and (old.spec.optimizer.learning_rate, old.spec.optimizer.schedule
                              ) != (new.optimizer.learning_rate, new.optimizer.schedule):
        drop(RATE)  # the last epoch's rate is not the next one's: shown again once trained
    write_url(new)
    return True


def apply_changes(d: dict[str, Any]) -> None:
    """Apply the spec dict the controls describe, if it changed.

    A change of values (learning rate, rates) applies in this very run: the widgets
    already show it and the network stays. Anything else reruns the script so every
    widget shows the new setup. A dict that fails validation flashes the reason and
    puts the widgets back on the last good spec, so nothing the user built is lost.
    """
    current = spec()
    if d == current.to_dict():
        return
    try:
        new = Spec.from_dict(d)
    except EngineError as err:
        flash("error", f"{err}. The last working setup is kept.")
        new = None
    old = experiment()
    if new is not None and apply_spec(new, edit=True):
        drop(FAILED)
        if experiment().structure == old.structure and experiment().dataset is old.dataset:
            return  # values only: nothing on the page has to be drawn again
        st.rerun()
    bump_widgets()
    # Widgets that cannot show the kept setup would send the same bad dict again on
    # every rerun: stop after the first retry and just show the message.
    if get(FAILED) == d:
        return
    put(FAILED, d)
    st.rerun()


def reset() -> None:
    """The seed's weights again and an empty history; pauses training."""
    put(TRAIN_STATE, experiment().init())
    put(HISTORY, {k: [] for k in HISTORY_KEYS})
    for extra in (TRACE, COMPARE, RACE, REPORT, EXPLAINED, RATE):  # what pages keep beside history
        drop(extra)
    set_playing(False)


def ensure_session(default: Spec, fits: Callable[[Spec], str | None]) -> None:
    """Load the setup from the URL on first visit (or when the URL changes: a link, Back
    or Forward); back from another page, the page's own address (``address.arrive``).

    ``fits(spec)`` says why a link's spec does not belong on this page (then the
    page keeps its setup and says so), or None.
    """
    page = st.session_state.get(PAGE, "pg")
    if get(EXPERIMENT) is not None and address.stale(page, st.query_params.get("s", ""),
                                                    get(URL_SEEN)):
        st.query_params["s"] = get(URL_SEEN)  # the page's own, newer address back
    text = address.arrive(page, key(address.KEY))
    address.arrived(text)
    if get(EXPERIMENT) is not None and get(URL_SEEN) == text:
        return
    current: Spec | None = get(SPEC)
    fallback = current or default
    kept = "the current setup" if current else "the default"
    new, error = spec_from_url(fallback, kept)
    problem = None if error else fits(new)
    if problem:
        error = f"The link's setup is not for this page ({problem}). Showing {kept}."
        new = fallback
    if error:
        flash("error", error)
    if new != current and not apply_spec(new) and current is None:
        apply_spec(default)
    if not text and current is not None:  # a page whose address was not kept yet
        write_url(spec())
    # A link opened in a running session (or the browser's Back button) must reach the
    # widgets too, or they would put their old values straight back.
    bump_widgets()
    put(URL_SEEN, st.query_params.get("s", ""))


# -- training -----------------------------------------------------------------------------------

def train_paced(exp: engine.Experiment, state: engine.TrainState, count: int,
                by_steps: bool = False, budget: float = limits.CALL_SECONDS,
                probes: ProbeOptions | None = None
                ) -> tuple[engine.TrainState, engine.Chunk]:
    """Train ``count`` epochs (``by_steps``: steps), fewer if the call would take more
    than ``budget`` seconds at this network's measured pace (see ``limits.plan``).

    The pace is kept per network structure.
    """
    paces: dict = st.session_state.setdefault(key(PACE), {})
    pace = paces.get(exp.structure)
    plan = limits.plan(exp, count, by_steps, pace, budget)
    t0 = time.perf_counter()
    train = exp.train_steps if plan.by_steps else exp.train
    before = int(state.step)
    state, chunk = train(state, plan.count, probes)
    steps = int(state.step) - before
    if steps > 0:
        if len(paces) > 8:  # the compare mode's four models, and a few recent ones
            paces.clear()
        paces[exp.structure] = limits.update_pace(pace, time.perf_counter() - t0, steps)
    return state, chunk


def record(chunk: engine.Chunk, hist: dict[str, list] | None = None) -> None:
    """Append a chunk's trained epochs to ``hist`` (default: the page's history), for
    each metric ``hist`` keeps."""
    hist = history() if hist is None else hist
    trained = chunk.history["trained"]
    for k in hist:
        hist[k].extend(np.asarray(chunk.history[k])[trained].tolist())


def train_frame(count: int, probes: ProbeOptions, by_steps: bool = False,
                budget: float = limits.CALL_SECONDS) -> engine.Probes:
    """Train ``count`` epochs (``by_steps``: steps), paced, and return the probes.

    Updates the session's state and history; divergence and early stopping pause
    training and say so.
    """
    exp = experiment()
    state, chunk = train_paced(exp, train_state(), count, by_steps, budget,
                               limits.fit_probes(exp, probes))
    put(TRAIN_STATE, state)
    record(chunk)
    rates = chunk.history["learning_rate"][chunk.history["trained"]]
    if rates.size:  # what the view shows beside the losses
        put(RATE, float(rates[-1]))
    mon = state.monitor
    if bool(mon.diverged):
        set_playing(False)
        flash("error", "Training diverged: the loss became NaN or infinite, so training "
              "was paused and the last finite weights kept. Lower the learning rate "
              "(or add gradient clipping), then press Reset.")
    elif bool(mon.stopped):
        set_playing(False)
        flash("info", f"Early stopping: the validation loss has not improved since epoch "
              f"{int(mon.best_epoch)}; the weights from that epoch were restored.")
    return chunk.probes


def current_metrics(hist: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """The latest per-split metrics from ``hist`` (default: the page's history; None
    before any training)."""
    hist = history() if hist is None else hist
    out: dict[str, Any] = {}
    for k in HISTORY_KEYS:
        v = hist[k][-1] if hist[k] else None
        out[k] = None if v is None or not np.isfinite(v) else v
    return out
