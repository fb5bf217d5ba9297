"""Optimizer paths: every optimizer's path on an analytic 2-D loss surface, animated.

The engine (``engine.teach.surfaces``) runs every optimizer of the registry for the
longest race the page offers (``MAX_STEPS``) in one compiled call; the page keeps the
optimizers picked and cuts the paths at the steps chosen. So no control recompiles:
one compile per surface, then about a millisecond per redraw.

The controls live in the sidebar, as on the live pages: the picture keeps the whole
width and stays in view while a slider moves. The URL mirrors them, so a teacher's
link is the lesson: ``?surface=ravine&opt=sgd,momentum&lr=0.035&momentum=0.9&steps=300
&x0=-5&y0=1`` (and ``b1``, ``b2``, ``decay`` when they differ from the defaults). A bad
parameter gets one message naming it and falls back to its default.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from engine import OPTIMIZERS
from engine.teach.surfaces import SURFACES, default_values, optimizer_paths, surface_grid
from playground.core import session as S
from playground.core.encode import plain
from playground.core.palette import CLASSES

DEFAULT_SURFACE = "rosenbrock"
DEFAULT_OPTS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")
LOG_SURFACES = ("rosenbrock", "beale")  # steep walls and a flat floor: log colours
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 10, 1000, 1000
MAX_MOMENTUM = 0.99
# 1, 1.2, 1.5, ..., 8 per decade from 1e-4 to 1: every surface's own rate is on it.
LR_GRID = tuple(sorted({round(m * 10.0 ** e, 6) for e in range(-4, 0)
                        for m in (1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8)} | {1.0}))
B1S = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
B2S = (0.9, 0.99, 0.999, 0.9999)
DECAYS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
REACH = 0.01  # "arrived": this close to a minimum
FRAMES = 60  # animation frames over the steps shown
FRAME_POINTS = 400  # points of all the trails in one animation frame (the last has all)
RESOLUTION = 100  # the contour's grid
MAX_PARAM = 40  # longest URL value read
# One colour per optimizer, the same every time (the app's tab10 classes).
COLORS = dict(zip(("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adamw"),
                  (CLASSES[i] for i in (0, 1, 2, 3, 4, 5, 6)), strict=True))
PARAMS = ("surface", "opt", "lr", "momentum", "steps", "x0", "y0", "b1", "b2", "decay")
KEYS = {p: f"pa_{p}" for p in PARAMS}  # widget keys
SEEN = "pa_url_seen"  # the link last applied or written
LAST = "pa_last"  # the last setup (coming back to the page from another one)


class Setup(NamedTuple):
    """Everything the controls choose; the URL carries exactly this."""

    surface: str
    opt: tuple[str, ...]
    lr: float
    momentum: float
    steps: int
    x0: float
    y0: float
    b1: float = 0.9
    b2: float = 0.999
    decay: float = 0.9


class Outcome(NamedTuple):
    """One optimizer's race, cut at the steps shown."""

    name: str
    points: np.ndarray  # (steps + 1, 2)
    losses: np.ndarray  # (steps + 1,)
    distance: np.ndarray  # (steps + 1,) to the nearest minimum
    reached: int | None  # first step within REACH of a minimum
    diverged_at: int | None  # the step whose update left the finite region


def color(name: str) -> str:
    return "rgb({},{},{})".format(*COLORS.get(name, (90, 90, 90)))


def default_setup(surface: str = DEFAULT_SURFACE) -> Setup:
    s = SURFACES.get(surface)
    return Setup(surface, DEFAULT_OPTS, s.lr, 0.9, DEFAULT_STEPS, *s.start)


# -- the link ---------------------------------------------------------------------------------

def _show(text: str) -> str:
    return repr(text if len(text) <= 24 else text[:24] + "...")


def _number(query: Mapping[str, str], name: str, default: float, errors: list[str],
            lo: float = 0.0, hi: float = 1.0, integer: bool = False,
            options: tuple[float, ...] = ()) -> float:
    """``query[name]`` as a number in [lo, hi] (or one of ``options``), else ``default``
    and a message saying what was wrong."""
    text = query.get(name)
    if text is None:
        return default
    try:
        value = float(text) if len(text) <= MAX_PARAM else math.nan
    except ValueError:
        value = math.nan
    if value in options if options else (math.isfinite(value) and lo <= value <= hi and (
            not integer or value == int(value))):
        return int(value) if integer else value
    what = (f"one of {', '.join(f'{o:g}' for o in options)}" if options else
            f"{'a whole number' if integer else 'a number'} from {lo:g} to {hi:g}")
    shown = f"{len(text)} characters" if len(text) > MAX_PARAM else _show(text)
    errors.append(f"The link's {name} must be {what}, not {shown}; using {default:g}.")
    return default


def parse_link(query: Mapping[str, str]) -> tuple[Setup, list[str]]:
    """The setup a link describes, and one message per parameter that could not be used
    (that parameter then takes its default). Pure: no Streamlit."""
    errors: list[str] = []
    surface = query.get("surface", DEFAULT_SURFACE)
    if surface not in SURFACES.names():
        errors.append(f"The link's surface {_show(surface)} is unknown; choose from "
                      f"{', '.join(SURFACES.names())}. Showing {DEFAULT_SURFACE}.")
        surface = DEFAULT_SURFACE
    d = default_setup(surface)
    opt = d.opt
    if "opt" in query:
        text = query["opt"]
        names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
        unknown = [n for n in names if n not in OPTIMIZERS.names()]
        known = tuple(n for n in names if n in OPTIMIZERS.names())
        if len(text) > 10 * MAX_PARAM:
            errors.append(f"The link's opt is {len(text)} characters long (at most "
                          f"{10 * MAX_PARAM}); showing the default optimizers.")
        elif unknown or not known:
            listed = ", ".join(_show(n) for n in unknown[:5]) or "none"
            errors.append(f"The link names unknown optimizers ({listed}); choose from "
                          f"{', '.join(OPTIMIZERS.names())}. Showing "
                          f"{'the known ones' if known else 'the default ones'}.")
            opt = known or d.opt
        else:
            opt = known
    (xlo, xhi), (ylo, yhi) = SURFACES.get(surface).view
    setup = Setup(
        surface, opt,
        lr=_number(query, "lr", d.lr, errors, LR_GRID[0], LR_GRID[-1]),
        momentum=_number(query, "momentum", d.momentum, errors, hi=MAX_MOMENTUM),
        steps=_number(query, "steps", d.steps, errors, MIN_STEPS, MAX_STEPS, integer=True),
        x0=_number(query, "x0", d.x0, errors, xlo, xhi),
        y0=_number(query, "y0", d.y0, errors, ylo, yhi),
        b1=_number(query, "b1", d.b1, errors, options=B1S),
        b2=_number(query, "b2", d.b2, errors, options=B2S),
        decay=_number(query, "decay", d.decay, errors, options=DECAYS))
    return setup, errors


def to_query(setup: Setup) -> dict[str, str]:
    """The URL parameters of ``setup`` (Adam's and RMSprop's only when not the defaults)."""
    q = {"surface": setup.surface, "opt": ",".join(setup.opt), "lr": f"{setup.lr:g}",
         "momentum": f"{setup.momentum:g}", "steps": str(setup.steps),
         "x0": f"{setup.x0:g}", "y0": f"{setup.y0:g}"}
    base = Setup._field_defaults
    q.update({k: f"{getattr(setup, k):g}" for k in ("b1", "b2", "decay")
              if getattr(setup, k) != base[k]})
    return q


def _follow_link() -> None:
    """Put a new link's setup (or, with no link, the last one) into the widgets."""
    link = {p: st.query_params[p] for p in PARAMS if p in st.query_params}
    if link == S.value(SEEN):
        return
    last = S.value(LAST)
    setup, errors = (last, []) if not link and last else parse_link(link)
    for e in errors:
        st.error(plain(e))
    for p in PARAMS:
        S.set_widget(KEYS[p], list(setup.opt) if p == "opt" else getattr(setup, p))


def _write_link(setup: Setup) -> None:
    new = to_query(setup)
    for p in PARAMS:
        if p in new and st.query_params.get(p) != new[p]:
            st.query_params[p] = new[p]
        elif p not in new and p in st.query_params:
            del st.query_params[p]
    S.set_value(SEEN, new)
    S.set_value(LAST, setup)


# -- the controls -------------------------------------------------------------------------------

def _new_surface() -> None:
    """A new surface starts from its own start, at its own learning rate."""
    s = SURFACES.get(S.value(KEYS["surface"]))
    S.set_widget(KEYS["lr"], s.lr)
    S.set_widget(KEYS["x0"], s.start[0])
    S.set_widget(KEYS["y0"], s.start[1])


def controls() -> Setup:
    """The sidebar's controls; returns what they choose."""
    st.subheader("Race setup")
    surface = st.selectbox(
        "Loss surface", SURFACES.names(), key=KEYS["surface"], on_change=_new_surface,
        format_func=str.capitalize, help=SURFACES.describe(S.value(KEYS["surface"])) +
        " A new surface starts from its own start point and learning rate.")
    opt = st.multiselect(
        "Optimizers", OPTIMIZERS.names(), key=KEYS["opt"],
        help="Each is drawn in its own colour, from the same start.\n\n" + "\n".join(
            f"- **{n}**: {OPTIMIZERS.describe(n)}" for n in OPTIMIZERS.names()))
    lr = st.select_slider(
        "Learning rate", sorted(set(LR_GRID) | {S.value(KEYS["lr"])}), key=KEYS["lr"],
        format_func=lambda v: f"{v:g}",
        help="The step size, shared by all the optimizers. Too small: they crawl; too large: "
             "they overshoot and diverge. Each surface opens at a rate where plain SGD "
             "makes progress.")
    momentum = st.slider(
        "Momentum", 0.0, MAX_MOMENTUM, step=0.01, key=KEYS["momentum"],
        help="For momentum and Nesterov: the share of the last step's velocity kept each "
             "step. 0 is plain SGD; 0.9 lets speed build up about ten times.")
    steps = st.slider("Steps", MIN_STEPS, MAX_STEPS, step=10, key=KEYS["steps"],
                      help="How many updates each optimizer makes. Changing this never "
                           "recomputes: the race is always run to the end and cut here.")
    (xlo, xhi), (ylo, yhi) = SURFACES.get(surface).view
    c = st.columns(2)
    x0 = c[0].number_input("Start x", xlo, xhi, step=0.1, format="%g", key=KEYS["x0"],
                           help=f"Where every optimizer starts, x from {xlo:g} to {xhi:g}.")
    y0 = c[1].number_input("Start y", ylo, yhi, step=0.1, format="%g", key=KEYS["y0"],
                           help=f"Where every optimizer starts, y from {ylo:g} to {yhi:g}.")
    with st.expander("Adam and RMSprop"):
        fmt = {"format_func": lambda v: f"{v:g}"}
        b1 = st.select_slider("Adam's b1", B1S, key=KEYS["b1"], **fmt,
                              help="Adam's momentum: how much of the average gradient it "
                                   "keeps each step.")
        b2 = st.select_slider("Adam's b2", B2S, key=KEYS["b2"], **fmt,
                              help="How slowly Adam's average of squared gradients forgets: "
                                   "it sets each direction's step size.")
        decay = st.select_slider("RMSprop's decay", DECAYS, key=KEYS["decay"], **fmt,
                                 help="The same for RMSprop's average of squared gradients.")
    return Setup(surface, tuple(opt), float(lr), float(momentum), int(steps), float(x0),
                 float(y0), float(b1), float(b2), float(decay))


# -- the race -------------------------------------------------------------------------------

def _diverged_at(points: np.ndarray) -> int:
    """The step that diverged: the engine freezes a path there, so it is the step after
    the last one that moved. points: (steps + 1, 2)."""
    moved = np.flatnonzero(np.any(points[1:] != points[:-1], axis=-1))
    return int(moved[-1]) + 2 if moved.size else 1


def race(setup: Setup) -> list[Outcome]:
    """Every optimizer picked, on the setup's surface (one compiled call for them all)."""
    surf = SURFACES.get(setup.surface)
    names = tuple(OPTIMIZERS.names())  # always all: a new pick never recompiles
    values = default_values(learning_rate=setup.lr, momentum=setup.momentum, b1=setup.b1,
                            b2=setup.b2, decay=setup.decay)
    paths = optimizer_paths(setup.surface, names, values, MAX_STEPS, (setup.x0, setup.y0))
    minima = np.asarray(surf.minima, np.float32)  # (M, 2)
    out = []
    for name in setup.opt:
        i = names.index(name)
        pts = paths.points[i, :setup.steps + 1]
        dist = np.linalg.norm(pts[:, None] - minima[None], axis=-1).min(axis=1)
        near = np.flatnonzero(dist <= REACH)
        at = _diverged_at(paths.points[i]) if paths.diverged[i] else None
        out.append(Outcome(name, pts, paths.losses[i, :setup.steps + 1], dist,
                           int(near[0]) if near.size else None,
                           at if at is not None and at <= setup.steps else None))
    return out


# -- the picture ------------------------------------------------------------------------------

def typed(a: Any) -> dict[str, str]:
    """A float32 array as Plotly's typed array (base64): a third of the JSON of a list,
    and plotly.py checks it in no time (a NumPy array costs it 150 ms a figure here)."""
    a = np.ascontiguousarray(a, np.float32)
    out = {"dtype": "f4", "bdata": base64.b64encode(a.tobytes()).decode("ascii")}
    return {**out, "shape": ",".join(map(str, a.shape))} if a.ndim > 1 else out


def _odd(n: float) -> int:
    """An odd stride: a path that zig-zags every step still zig-zags when thinned."""
    n = max(1, math.ceil(n))
    return n if n % 2 else n + 1


def _path_traces(o: Outcome, k: int, budget: int | None = None) -> list[dict]:
    """A path's line up to step k (about ``budget`` points, its end kept; None: every
    step) and its end point."""
    stride = 1 if budget is None else _odd(k / budget)
    trail = o.points[np.unique(np.r_[np.arange(0, k + 1, stride), k])]
    dead = o.diverged_at is not None and k >= o.diverged_at
    return [dict(x=typed(trail[:, 0]), y=typed(trail[:, 1])),
            dict(x=typed(trail[-1:, 0]), y=typed(trail[-1:, 1]),
                 marker=dict(symbol="x" if dead else "circle"))]


def label(o: Outcome) -> str:
    return o.name + (f" (diverged at step {o.diverged_at})" if o.diverged_at else "")


def figure(setup: Setup, outcomes: list[Outcome]) -> dict[str, Any]:
    """The contour, the minima, the start and each path, with an animation of the steps."""
    surf = SURFACES.get(setup.surface)
    log = setup.surface in LOG_SURFACES
    xs, ys, z = surface_grid(setup.surface, RESOLUTION, log_z=log)
    ztitle = "log10(1 + loss - min)" if log else "loss"
    data: list[dict] = [
        dict(type="contour", x=typed(xs), y=typed(ys), z=typed(z), ncontours=30, showscale=True,
             colorscale=[[0, "#fdfdf8"], [0.35, "#dde3ea"], [1, "#7f8ea3"]],
             contours=dict(coloring="fill", showlines=True), line=dict(width=0.5, color="#fff"),
             colorbar=dict(title=dict(text=ztitle, side="right"), thickness=12, len=0.8),
             hovertemplate=f"x %{{x:.2f}}, y %{{y:.2f}}<br>{ztitle} %{{z:.3g}}<extra></extra>",
             name="surface"),
        dict(type="scatter", mode="markers", name="minimum", x=[m[0] for m in surf.minima],
             y=[m[1] for m in surf.minima], hovertemplate="minimum (%{x:.3f}, %{y:.3f})"
             "<extra></extra>", marker=dict(symbol="star", size=18, color="#ffd24a",
                                             line=dict(color="#333", width=1.2))),
        dict(type="scatter", mode="markers", name="start", x=[setup.x0], y=[setup.y0],
             hovertemplate="start (%{x:.3f}, %{y:.3f})<extra></extra>",
             marker=dict(symbol="diamond", size=12, color="#222", line=dict(color="#fff",
                                                                            width=1.5))),
    ]
    for o in outcomes:
        line, end = _path_traces(o, setup.steps)
        data.append(dict(type="scatter", mode="lines", name=label(o), legendgroup=o.name,
                         line=dict(color=color(o.name), width=2.5), **line,
                         hovertemplate=f"{o.name}<br>(%{{x:.3f}}, %{{y:.3f}})<extra></extra>"))
        data.append(dict(type="scatter", mode="markers", legendgroup=o.name, showlegend=False,
                         name=o.name, hovertemplate=f"{o.name}: end (%{{x:.3f}}, %{{y:.3f}})"
                         "<extra></extra>", **{**end, "marker": dict(
                             **end["marker"], size=11, color=color(o.name),
                             line=dict(color="#fff", width=1.5))}))
    steps = np.unique(np.round(np.linspace(0, setup.steps, FRAMES + 1)).astype(int))
    traces = list(range(3, 3 + 2 * len(outcomes)))
    budget = max(40, FRAME_POINTS // max(1, len(outcomes)))
    frames = [dict(name=str(k), traces=traces, data=[
        t for o in outcomes for t in _path_traces(o, k, None if k == steps[-1] else budget)])
        for k in steps]
    still = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
             "transition": {"duration": 0}}
    play = {"frame": {"duration": 70, "redraw": False}, "fromcurrent": True,
            "transition": {"duration": 0}, "mode": "immediate"}
    (x_lo, x_hi), (y_lo, y_hi) = surf.view
    wide = (x_hi - x_lo) / (y_hi - y_lo) > 1.5
    layout = dict(
        height=520 if wide else 680, uirevision=setup.surface, template="plotly_white",
        margin=dict(l=50, r=10, t=30, b=10), hovermode="closest",
        xaxis=dict(range=[x_lo, x_hi], title="x", constrain="domain"),
        yaxis=dict(range=[y_lo, y_hi], title="y", scaleanchor="x", scaleratio=1,
                   constrain="domain"),
        legend=dict(orientation="h", x=0, y=1.01, yanchor="bottom", font=dict(size=13)),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.07, xanchor="left",
                          yanchor="top", pad=dict(r=10, t=10), showactive=False, buttons=[
                              dict(label="▶ Play", method="animate", args=[None, play]),
                              dict(label="❚❚ Pause", method="animate", args=[[None], still])])],
        sliders=[dict(active=len(steps) - 1, x=0.2, len=0.8, y=-0.05, yanchor="top",
                      pad=dict(t=10, b=10), currentvalue=dict(prefix="step ", font=dict(
                          size=14)), steps=[dict(label=str(k), method="animate",
                                                 args=[[str(k)], still]) for k in steps])])
    return dict(data=data, layout=layout, frames=frames)


# -- the page -----------------------------------------------------------------------------------

def _fmt(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else "n/a"


def table(setup: Setup, outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per optimizer: where its race ended and whether it arrived."""
    return pd.DataFrame({
        "optimizer": [o.name for o in outcomes],
        "final loss": [_fmt(float(o.losses[-1])) for o in outcomes],
        "distance to nearest minimum": [_fmt(float(o.distance[-1])) for o in outcomes],
        f"first within {REACH:g} of a minimum": [
            f"step {o.reached}" if o.reached is not None else "not reached" for o in outcomes],
        "diverged": [f"at step {o.diverged_at}: lower the learning rate"
                     if o.diverged_at else "no" for o in outcomes]})


def render() -> None:
    """Everything of the page below its title."""
    _follow_link()
    with st.sidebar:
        setup = controls()
    _write_link(setup)
    surf = SURFACES.get(setup.surface)
    st.markdown(f"**{setup.surface.capitalize()}.** {plain(surf.lesson)}")
    if not setup.opt:
        st.info("Pick at least one optimizer in the sidebar to race it.")
    outcomes = race(setup)
    st.plotly_chart(figure(setup, outcomes), key="paths_chart",
                    config={"displaylogo": False})
    dead = [o for o in outcomes if o.diverged_at]
    if dead:
        st.warning(f"{', '.join(label(o) for o in dead)}: the steps grew until the path left "
                   f"the surface. Lower the learning rate (now {setup.lr:g}).")
    if outcomes:
        df = table(setup, outcomes)
        st.dataframe(df.style.map(lambda n: f"color: {color(n)}; font-weight: bold",
                                  subset=["optimizer"]), hide_index=True, key="paths_table")
