"""Optimizer paths: every optimizer's path on an analytic 2-D loss surface, animated.

The engine (``engine.teach.surfaces``) races every optimizer of the registry for the page's
longest race (``MAX_STEPS``) in one compiled call; the page keeps the ones picked and cuts
the paths at the steps chosen, so no control recompiles (one compile per surface, then
about 2 ms a race). The controls sit in the sidebar, as on the live pages, so the picture
keeps the width and stays in view while a slider moves. The URL mirrors them (``surface``,
``opt``, ``lr``, ``momentum``, ``steps``, ``x0``, ``y0``; ``b1``, ``b2``, ``decay`` when
not the defaults): a teacher's link is the lesson, and a bad parameter gets one message
naming it and falls back to its default.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from engine import OPTIMIZERS
from engine.teach.surfaces import SURFACES, default_values, optimizer_paths, surface_grid
from playground.core import address
from playground.core import session as S
from playground.core.encode import plain
from playground.core.link_params import LinkParams, shown
from playground.core.palette import CLASSES
from playground.path_lines import exit_point, path_traces

ENGINE = default_values()  # OptimizerSpec's defaults: momentum, b1, b2, decay
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_OPTS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")
LOG_SURFACES = ("rosenbrock", "beale", "himmelblau")  # steep walls, flat floors: log colours
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 10, 1000, 1000
MAX_MOMENTUM = 0.99
# 1, 1.2, 1.5, ..., 8 per decade from 1e-4 to 1: every surface's own rate is on it.
LR_GRID = tuple(sorted({round(m * 10.0 ** e, 6) for e in range(-4, 0)
                        for m in (1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8)} | {1.0}))
# The expander's choices: (parameter, label, options, help).
ADAM_RMSPROP = (
    ("b1", "β₁ (Adam)", (0.0, 0.5, 0.8, 0.9, 0.95, 0.99),
     "Adam's momentum: how much of the average gradient it keeps each step."),
    ("b2", "β₂ (Adam)", (0.9, 0.99, 0.999, 0.9999),
     "How slowly Adam's average of squared gradients forgets: it sets each direction's step."),
    ("decay", "Decay ρ (RMSprop)", (0.5, 0.8, 0.9, 0.95, 0.99, 0.999),
     "The same for RMSprop's average of squared gradients."))
REACH = 0.01  # "arrived": this close to a minimum
FRAMES, NICE = 60, (1, 2, 5, 10, 20, 25, 50, 100)  # frames: at most 60, a round step apart
FRAME_POINTS = 400  # points of all the trails in one animation frame (the last has all)
RESOLUTION, BANDS = 300, 30  # the surface's picture: pixels a side, colour bands
# Colour stops of the picture (light low loss to slate high) and each channel at them.
SHADES = ((0, 0.35, 1), ((253, 221, 127), (253, 227, 142), (248, 234, 163)))
SQUARE_HEIGHT, WIDE_HEIGHT = 600, 460  # the figure's, in pixels
MAX_PARAM = 40  # longest URL value read
# One colour per optimizer, the same every time (the app's tab10 classes).
COLORS = {n: "rgb({},{},{})".format(*CLASSES[i % len(CLASSES)]) for i, n in enumerate(dict.fromkeys(
    ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adamw", *OPTIMIZERS.names())))}
PARAMS = ("surface", "opt", "lr", "momentum", "steps", "x0", "y0", "b1", "b2", "decay")
KEYS = {p: f"pa_{p}" for p in PARAMS}  # widget keys
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
    b1: float = ENGINE.b1
    b2: float = ENGINE.b2
    decay: float = ENGINE.decay


class Outcome(NamedTuple):
    """One optimizer's race, cut at the steps shown."""

    name: str
    points: np.ndarray  # (steps + 1, 2)
    losses: np.ndarray  # (steps + 1,)
    distance: np.ndarray  # (steps + 1,) to the nearest minimum
    reached: int | None  # first step within REACH of a minimum
    diverged_at: int | None  # the step whose update left the finite region


def label(o: Outcome) -> str:
    """The legend's name of ``o``: its optimizer, and where it diverged."""
    gone = f" (diverged at step {o.diverged_at})" if o.diverged_at else ""
    return OPTIMIZERS.title(o.name) + gone


def default_setup(surface: str = DEFAULT_SURFACE) -> Setup:
    s = SURFACES.get(surface)
    return Setup(surface, DEFAULT_OPTS, s.lr, ENGINE.momentum, DEFAULT_STEPS, *s.start)


_g = "{:g}".format


def parse_link(query: Mapping[str, str]) -> tuple[Setup, list[str]]:
    """The setup a link describes, and one message per parameter that could not be used
    (that parameter then takes its default). Pure: no Streamlit."""
    link = LinkParams(query, MAX_PARAM)
    errors = link.errors
    surface = query.get("surface", DEFAULT_SURFACE)
    if surface.strip().lower() in SURFACES.names():  # a typed link may say "Rosenbrock"
        surface = surface.strip().lower()
    else:
        errors.append(f"The link's surface {shown(surface)} is unknown; choose from "
                      f"{', '.join(SURFACES.names())}. Showing {DEFAULT_SURFACE}.")
        surface = DEFAULT_SURFACE
    d = default_setup(surface)
    text = query.get("opt", "")
    names = [] if len(text) > 10 * MAX_PARAM else list(
        dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    known = tuple(n for n in names if n in OPTIMIZERS.names())
    unknown = [shown(n) for n in names if n not in known][:5]
    if len(text) > 10 * MAX_PARAM:
        errors.append(f"The link's opt is {len(text)} characters long (at most "
                      f"{10 * MAX_PARAM}); showing the default optimizers.")
    elif unknown:  # (an empty list, as a link with none picked has, means the defaults)
        errors.append(f"The link names unknown optimizers ({', '.join(unknown)}); "
                      f"choose from {', '.join(OPTIMIZERS.names())}. Showing the "
                      f"{'known' if known else 'default'} ones.")
    (xlo, xhi), (ylo, yhi) = SURFACES.get(surface).view
    return Setup(
        surface, known or d.opt,
        lr=link.number("lr", d.lr, LR_GRID[0], LR_GRID[-1]),
        momentum=link.number("momentum", d.momentum, hi=MAX_MOMENTUM),
        steps=link.number("steps", d.steps, MIN_STEPS, MAX_STEPS, integer=True),
        x0=link.number("x0", d.x0, xlo, xhi),
        y0=link.number("y0", d.y0, ylo, yhi),
        **{p: link.number(p, getattr(d, p), options=options)
           for p, _, options, _ in ADAM_RMSPROP}), errors


def to_query(setup: Setup) -> dict[str, str]:
    """The URL parameters of ``setup`` (Adam's and RMSprop's only when not the defaults)."""
    return {"surface": setup.surface, "opt": ",".join(setup.opt)} | {
        p: f"{getattr(setup, p):g}" for p in PARAMS[2:]
        if getattr(setup, p) != Setup._field_defaults.get(p)}


def _follow_link() -> None:
    """On opening the page, put the link's setup (with no link, the last one) into the
    widgets; and on Back or Forward, the setup of the history entry. Otherwise the
    widgets hold the setup and the URL only follows: a rerun can carry the address from
    before the last rerun's update, and must not undo it."""
    link = {p: st.query_params[p] for p in PARAMS if p in st.query_params}
    if S.value(KEYS["surface"]) is not None and not (link and address.history_navigation()):
        return
    setup, errors = (S.value(LAST), []) if not link and S.value(LAST) else parse_link(link)
    for e in errors:
        st.error(plain(e))
    for p in PARAMS:
        S.set_widget(KEYS[p], list(setup.opt) if p == "opt" else getattr(setup, p))


def _write_link(setup: Setup) -> None:
    """Put ``setup`` into the URL (no rerun), keeping other parameters, in one write: each
    write is a history entry (one change, one press of Back)."""
    new = to_query(setup)
    if {p: st.query_params[p] for p in PARAMS if p in st.query_params} != new:
        others = {k: v for k, v in st.query_params.to_dict().items() if k not in PARAMS}
        st.query_params.from_dict({**others, **new})
    S.set_value(LAST, setup)


def _new_surface() -> None:
    """A new surface starts from its own start, at its own learning rate."""
    d = default_setup(S.value(KEYS["surface"]))
    for p in ("lr", "x0", "y0"):
        S.set_widget(KEYS[p], getattr(d, p))


def controls() -> Setup:
    """The sidebar's controls; returns what they choose."""
    st.subheader("Surface and optimizers")
    surface = st.selectbox(
        "Loss surface", SURFACES.names(), key=KEYS["surface"], on_change=_new_surface,
        format_func=str.capitalize, help=SURFACES.describe(S.value(KEYS["surface"])) +
        " A new surface starts from its own start point and learning rate.")
    opt = st.multiselect(
        "Optimizers", OPTIMIZERS.names(), key=KEYS["opt"], format_func=OPTIMIZERS.title,
        help="Each is drawn in its own colour, from the same start.\n\n" + "\n".join(
            f"- **{OPTIMIZERS.title(n)}**: {OPTIMIZERS.describe(n)}"
            for n in OPTIMIZERS.names()))
    lr = st.select_slider(
        "Learning rate", sorted(set(LR_GRID) | {S.value(KEYS["lr"])}), key=KEYS["lr"],
        format_func=_g, help="The step size, shared by all the optimizers. Too small: they "
        "crawl; too large: they overshoot and diverge. Each surface opens at a rate where "
        "plain SGD makes progress.")
    momentum = st.slider(
        "Momentum", 0.0, MAX_MOMENTUM, step=0.01, key=KEYS["momentum"],
        help="For momentum and Nesterov: the share of the last step's velocity kept each "
             "step. 0 is plain SGD; 0.9 lets speed build up about ten times.")
    steps = st.slider("Steps", MIN_STEPS, MAX_STEPS, step=10, key=KEYS["steps"],
                      help="How many updates each optimizer makes (the animation shows "
                           "them in about 60 frames).")
    x0, y0 = (col.number_input(f"Start {a}", lo, hi, step=0.1, format="%g", key=KEYS[f"{a}0"],
                               help=f"Where every optimizer starts: {a} from {lo:g} to {hi:g}.")
              for col, a, (lo, hi) in zip(st.columns(2), "xy", SURFACES.get(surface).view,
                                          strict=True))
    with st.expander("Adam and RMSprop"):
        b1, b2, decay = (st.select_slider(title, options, key=KEYS[p], help=text, format_func=_g)
                         for p, title, options, text in ADAM_RMSPROP)
    return Setup(surface, tuple(opt), float(lr), float(momentum), int(steps), float(x0),
                 float(y0), float(b1), float(b2), float(decay))


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


@st.cache_data(max_entries=16, show_spinner=False)
def picture(surface: str) -> str:
    """The surface as filled contours in a PNG (data URL), darker where the loss is higher.
    An image under the axes, not a contour trace: Plotly's animation drops contour and
    heatmap traces from the picture (plotly/plotly.js#4491)."""
    _, _, z = surface_grid(surface, RESOLUTION, log_z=surface in LOG_SURFACES)  # (y, x)
    band = np.floor((z - z.min()) / max(float(np.ptp(z)), 1e-30) * BANDS) / BANDS
    rgb = np.stack([np.interp(band, SHADES[0], c) for c in SHADES[1]], axis=-1)
    edge = np.zeros(band.shape, bool)  # a thin light line between bands
    edge[1:] |= band[1:] != band[:-1]
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    rgb[edge] = 0.5 * rgb[edge] + 127.5
    buf = io.BytesIO()
    Image.fromarray(rgb[::-1].astype(np.uint8)).save(buf, "PNG")  # rows: y downwards
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _points(name: str, x: Any, y: Any, **marker: Any) -> dict[str, Any]:
    return dict(type="scatter", mode="markers", name=name, x=x, y=y, marker=marker,
                hovertemplate=f"{name} (%{{x:.3f}}, %{{y:.3f}})<extra></extra>")


def _player(names: list[str], left: float) -> dict[str, list]:
    """Play and Pause buttons, and a slider over the frames ``names`` from ``left`` on
    (in the figure's width) with the last frame shown."""
    still = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
             "transition": {"duration": 0}}
    play = {**still, "frame": {"duration": 70, "redraw": False}, "fromcurrent": True}
    return dict(
        updatemenus=[dict(type="buttons", direction="left", x=0, y=1.0, xanchor="left",
                          yanchor="bottom", pad=dict(r=10, b=30), showactive=False, buttons=[
                              dict(label="▶ Play", method="animate", args=[None, play]),
                              dict(label="❚❚ Pause", method="animate", args=[[None], still])])],
        sliders=[dict(active=len(names) - 1, x=left, len=1 - left, y=1.0, yanchor="bottom",
                      pad=dict(t=0, b=10), currentvalue=dict(prefix="step ", font=dict(size=14)),
                      steps=[dict(label=n, method="animate", args=[[n], still]) for n in names])])


def figure(setup: Setup, outcomes: list[Outcome]) -> dict[str, Any]:
    """The surface's picture, the minima, each path and the start (on top), with an
    animation of the steps."""
    surf = SURFACES.get(setup.surface)
    data: list[dict] = [dict(legendrank=1, **_points(
        "minimum", [m[0] for m in surf.minima], [m[1] for m in surf.minima], symbol="star",
        size=18, color="#ffd24a", line=dict(color="#333", width=1.2)))]
    exits = {o.name: None if o.diverged_at is None else exit_point(o.points, surf.view,
                                                                   o.diverged_at)
             for o in outcomes}  # a diverged path ends where it leaves the picture
    for o in outcomes:
        line, end = path_traces(o.points, setup.steps, cut=exits[o.name])
        data.append(dict(type="scatter", mode="lines", name=label(o), legendgroup=o.name,
                         line=dict(color=COLORS[o.name], width=2.5), **line,
                         hovertemplate=f"{o.name} (%{{x:.3f}}, %{{y:.3f}})<extra></extra>"))
        data.append({**_points(f"{o.name}: end", end["x"], end["y"], size=11, color=COLORS[
            o.name], line=dict(color="#fff", width=1.5), **end["marker"]),
            "legendgroup": o.name, "showlegend": False})
    data.append(dict(legendrank=2, **_points("start", [setup.x0], [setup.y0], size=12,
                     symbol="diamond", color="#222", line=dict(color="#fff", width=1.5))))
    every = next((n for n in NICE if setup.steps / n <= FRAMES), NICE[-1])
    steps = np.unique(np.r_[np.arange(0, setup.steps, every), setup.steps])
    traces = list(range(1, 1 + 2 * len(outcomes)))
    budget = max(40, FRAME_POINTS // max(1, len(outcomes)))
    frames = [dict(name=str(k), traces=traces, data=[
        t for o in outcomes for t in path_traces(
            o.points, k, None if k == steps[-1] else budget, exits[o.name])])
        for k in steps]
    (x_lo, x_hi), (y_lo, y_hi) = surf.view
    wide = (x_hi - x_lo) / (y_hi - y_lo) > 1.5
    axis = dict(constrain="domain", showgrid=False, zeroline=False)
    layout = dict(
        height=WIDE_HEIGHT if wide else SQUARE_HEIGHT, uirevision=setup.surface,
        template="plotly_white", margin=dict(l=50, r=40, t=30, b=10), hovermode="closest",
        modebar=dict(orientation="v"),  # at the side: across the top it hid the legend
        xaxis=dict(range=[x_lo, x_hi], title="x", **axis),
        yaxis=dict(range=[y_lo, y_hi], title="y", scaleanchor="x", **axis),
        images=[dict(source=picture(setup.surface), xref="x", yref="y", x=x_lo, y=y_hi,
                     sizex=x_hi - x_lo, sizey=y_hi - y_lo, sizing="stretch", layer="below")],
        # below the x axis title: in paper units, a short (wide) plot needs the larger offset
        legend=dict(orientation="h", x=0, y=-0.2 if wide else -0.1, yanchor="top",
                    font=dict(size=13)),
        **_player([str(k) for k in steps], 0.2 if wide else 0.36))
    return dict(data=data, layout=layout, frames=frames)


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per optimizer: where its race ended and whether it arrived."""
    return pd.DataFrame({
        "optimizer": [OPTIMIZERS.title(o.name) for o in outcomes],
        "final loss": [f"{float(o.losses[-1]):.3g}" for o in outcomes],  # finite: see Paths
        "distance to nearest minimum": [f"{float(o.distance[-1]):.3g}" for o in outcomes],
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
    outcomes = race(setup)
    fig = figure(setup, outcomes)
    # A square surface leaves room beside it for the lesson; a wide one takes the width.
    wide = fig["layout"]["height"] < SQUARE_HEIGHT
    plot, text = (st.container(), st.container()) if wide else st.columns([3, 2], gap="medium")
    with text:
        lesson = SURFACES.get(setup.surface).lesson
        st.markdown(f"**{setup.surface.capitalize()}.** {plain(lesson)}")
        if not setup.opt:
            st.info("Pick at least one optimizer in the sidebar to race it.")
        dead = [o for o in outcomes if o.diverged_at]
        if dead:
            st.warning(f"{', '.join(label(o) for o in dead)}: the steps grew until the path "
                       f"left the surface. Lower the learning rate (now {setup.lr:g}).")
    with plot:
        st.plotly_chart(fig, key="paths_chart", config={"displaylogo": False})
    if outcomes:
        color = {OPTIMIZERS.title(o.name): COLORS[o.name] for o in outcomes}  # the paths'
        bold = table(outcomes).style.map(lambda t: f"color: {color[t]}; font-weight: bold",
                                         subset=["optimizer"])
        st.dataframe(bold, hide_index=True, key="paths_table",
                     column_config={"diverged": st.column_config.TextColumn(width="large")})
