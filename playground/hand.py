"""Points placed by hand on the Playground's output plane.

With the ``hand`` (or ``hand_regression``) dataset, a click on the output plane adds a
point of the chosen class (or value) and a shift-click, or a click with the eraser,
removes the nearest point. The set lives in the spec (``data.points``, compact: see
``engine.data.hand``), so it travels in the link and the export like any setup, and
the network keeps training while points come and go (``restart.points_moved``).

Until a set has enough points for its split (an empty plane, say), it waits here
(``PENDING``): the view shows the points placed so far and a note says how many more
are needed; training resumes on the set as soon as it has them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

import engine
from engine import DATASETS, EngineError, datasets_of
from engine.data import (
    HAND,
    HAND_REGRESSION,
    MAX_HAND_POINTS,
    decode_points,
    encode_points,
    points_of,
    snap,
)
from engine.data.hand import points_needed
from playground.core import session
from playground.core.encode import plain
from playground.core.session import wkey

HANDS = (HAND, HAND_REGRESSION)
PENDING = "pg_hand_pending"  # (x, y) of a set still too small to train on
APPLIED = "pg_hand_applied"  # the ``t`` of the last click applied (the view's queue)
LOG = "pg_hand_log"  # the last clicks' result, changed in place (see ``on_click``)
MAX_CLICKS = 50  # edits one report may carry (the view keeps at most this many)
ERASE_RADIUS = 0.6  # plane units: a removing click takes the nearest point this close


def active(spec: engine.Spec) -> bool:
    """Whether ``spec`` trains on points placed by hand."""
    return spec.data.name in HANDS


def _task(name: str) -> str:
    return DATASETS.get(name).task


def current_points(exp: engine.Experiment) -> tuple[np.ndarray, np.ndarray]:
    """The hand set as it stands: the pending points, or the experiment's."""
    pending = session.get(PENDING)
    if pending is not None:
        return pending
    data = exp.spec.data
    if data.points is not None:
        return decode_points(data.points, _task(data.name))
    return points_of(exp.dataset)  # the starter set of a spec without points yet


def _store(x: np.ndarray, y: np.ndarray) -> None:
    """Make ``(x, y)`` the hand set: the spec's, or pending while too few to train."""
    spec = session.spec()
    data = spec.data
    need = points_needed(len(x), data.train_fraction, data.val_fraction)
    if len(x) < need:
        session.put(PENDING, (x, y))
        session.set_playing(False)
        return
    try:
        text = encode_points(x, y, _task(data.name))
    except EngineError as err:  # e.g. a pending set of the other hand task's labels
        session.flash("error", f"These points cannot be kept: {err}. Press Start to begin "
                      "again.")
        return
    session.drop(PENDING)
    session.apply_spec(spec.updated(data={"points": text}))


def _edit(x: np.ndarray, y: np.ndarray, click: dict, extent: float, task: str,
          classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` with one click applied: a point added, or the nearest removed."""
    try:
        u, v = float(click["u"]), float(click["v"])
    except (KeyError, TypeError, ValueError):
        return x, y
    if not (np.isfinite(u) and np.isfinite(v)) or max(abs(u), abs(v)) > 1.05:
        return x, y
    point = snap(np.array([[u * extent, v * extent]]))
    if click.get("remove") or st.session_state.get(wkey("hand_erase")):
        if not len(x):
            return x, y
        d = np.hypot(*(x - point).T)
        k = int(np.argmin(d))
        return (np.delete(x, k, 0), np.delete(y, k, 0)) if d[k] <= ERASE_RADIUS else (x, y)
    if len(x) >= MAX_HAND_POINTS:
        session.flash("warning", f"A hand-placed set holds at most {MAX_HAND_POINTS:,} "
                      "points: remove some to add more.")
        return x, y
    # The class (or value) chosen now: the view's copy may be a frame behind.
    label = st.session_state.get(wkey("hand_label"))
    if label is None or (task == "classification" and not 0 <= int(label) < classes):
        # nothing chosen (a segmented control can be emptied)
        label = 1 if task == "classification" else 0.5
    y_new = np.asarray([label], y.dtype if len(y) else None)
    return np.concatenate([x.reshape(-1, 2), point]), np.concatenate([y, y_new])


def on_click(value: Any) -> None:
    """The view's report of clicks on the plane: ``{"clicks": [...]}``, the queue of
    edits it has not seen applied, each ``{"u", "v"}`` in [-1, 1] over the plane,
    ``remove`` (a shift-click or the eraser) and ``t`` (its order). Edits
    already applied (``t`` up to ``APPLIED``) are skipped; anything malformed too."""
    exp = session.experiment()
    if not active(exp.spec) or not isinstance(value, dict):
        return
    clicks = value.get("clicks")
    if not isinstance(clicks, list):
        return
    # Streamlit can undo a run's session changes when a rerun interrupts it, after the
    # view has seen that run's frame and dropped its clicks (seen in Chromium: one click
    # in a few was lost when clicking during a compile). The log below is one dict,
    # changed in place, so no undo reaches it: a log ahead of the session redoes its set.
    log = session.get(LOG)
    if log is None:
        log = {}
        session.put(LOG, log)
    done, base = session.get(APPLIED, 0), None
    undone = log.get("t", 0) > done or (log.get("t") == done and log.get("base") ==
                                         exp.spec.data.points != log.get("text"))
    if undone and log.get("name") == exp.spec.data.name:
        done, base = log["t"], log["points"]
    fresh = sorted((c for c in clicks[-MAX_CLICKS:] if isinstance(c, dict)
                    and isinstance(c.get("t"), int | float) and not isinstance(c["t"], bool)
                    and done < c["t"] < 2**53),  # the view's clock, a whole number
                   key=lambda c: c["t"])
    if not fresh:
        return
    task, extent = _task(exp.spec.data.name), float(exp.dataset.extent)
    classes = int(exp.dataset.n_classes)
    x, y = base if base is not None else current_points(exp)
    for click in fresh:
        x, y = _edit(x, y, click, extent, task, classes)
    session.put(APPLIED, fresh[-1]["t"])
    before = exp.spec.data.points if base is None else log.get("text")
    log.update(t=fresh[-1]["t"], points=(x, y), name=exp.spec.data.name, base=before,
               text=_text(x, y, task))
    _store(x, y)


def _text(x: np.ndarray, y: np.ndarray, task: str) -> str | None:
    """The set as ``data.points`` holds it (None if it cannot be encoded)."""
    try:
        return encode_points(x, y, task)
    except EngineError:
        return None


def _start_from(source: str, d: dict) -> None:
    """Replace the hand set with an empty plane or a copy of dataset ``source``."""
    if source == "empty":
        task = _task(d["data"]["name"])
        session.put(PENDING, (np.zeros((0, 2)), np.zeros(0, np.int64 if task ==
                                                         "classification" else np.float64)))
        session.set_playing(False)
        return
    spec = session.spec().updated(data={"name": source, "points": None})
    try:
        x, y = points_of(engine.build(spec).dataset)
    except EngineError as err:
        session.flash("error", f"Could not copy {source}: {err}")
        return
    session.drop(PENDING)
    name = HAND if DATASETS.get(source).task == "classification" else HAND_REGRESSION
    classes = int(y.max()) + 1 if name == HAND else 2
    patch = {"name": name, "points": encode_points(x, y, DATASETS.get(name).task),
             "classes": max(2, classes), "n": spec.data.n}
    if session.apply_spec(session.spec().updated(data=patch)):
        session.bump_widgets()


def controls(d: dict, before: dict) -> dict:
    """The hand set's controls below the data section: what a click adds, the eraser,
    and where to start from. ``before``: the spec dict before the section's changes
    (a newly chosen hand set starts from the generated set it replaces)."""
    data = d["data"]
    if data["name"] not in HANDS:
        return {}
    patch: dict[str, Any] = {}
    if before["data"]["name"] != data["name"]:  # just chosen: two classes, the starter set
        patch = {"data": {"points": None, "classes": 2}}
        session.drop(PENDING)  # (a pending set of the other task's labels too)
    task = _task(data["name"])
    st.caption("Click the output plane to add a point; shift-click (or the eraser) "
               "removes the nearest one. The network keeps training as you go.")
    if task == "classification":
        classes = int(patch.get("data", data).get("classes", data["classes"]))
        names = ["orange", "blue"] if classes == 2 else [f"class {k}" for k in range(classes)]
        st.segmented_control("A click adds", range(classes), default=1, key=wkey("hand_label"),
                             format_func=lambda k: names[k])
    else:
        st.slider("A click adds the value", -1.0, 1.0, 0.5, 0.1, key=wkey("hand_label"))
    st.toggle("Eraser: a click removes the nearest point", key=wkey("hand_erase"))
    sources = ["empty", *[n for n in datasets_of("points") if n not in HANDS
                          and DATASETS.get(n).input_dim == 2]]
    c = st.columns([2, 1], vertical_alignment="bottom")
    source = c[0].selectbox("Start again from", sources, key=wkey("hand_from"),
                            format_func=lambda n: "an empty plane" if n == "empty" else n)
    if c[1].button("Start", key=wkey("hand_start")):
        _start_from(source, d)
        st.rerun()
    return patch


def note() -> None:
    """While a set is too small to train on: how many points to add (above the view)."""
    pending = session.get(PENDING)
    if pending is None or not active(session.spec()):
        return
    data = session.spec().data
    n = len(pending[0])
    need = points_needed(n, data.train_fraction, data.val_fraction)
    st.info(plain(f"{n} point{'s' * (n != 1)} placed: add at least {need - n} more to "
                  "start training (the network on the right is the last one trained)."),
            icon=":material/touch_app:")


def patch_frame(frame: dict[str, Any], exp: engine.Experiment) -> dict[str, Any]:
    """Tell the view that clicks place points, and show pending points."""
    if not active(exp.spec):
        return frame
    task = _task(exp.spec.data.name)
    label = st.session_state.get(wkey("hand_label"))
    frame["edit"] = {"erase": bool(st.session_state.get(wkey("hand_erase"))),
                     "label": label, "task": task, "classes": int(exp.dataset.n_classes),
                     "applied": session.get(APPLIED, 0)}
    pending = session.get(PENDING)
    if pending is not None:
        x, y = pending
        extent = float(exp.dataset.extent)
        if task == "classification" and exp.dataset.n_classes == 2:
            colour = np.where(y == 1, 1.0, -1.0)
        else:
            colour = np.asarray(y, np.float64)
        rows = [[float(a / extent), float(b / extent), float(c), 0]
                for (a, b), c in zip(x, colour, strict=True)]
        frame["points"], frame["points_id"] = rows, f"pending{len(rows)}"
    return frame
