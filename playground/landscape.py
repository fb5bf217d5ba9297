"""The loss landscape under the Optimizer race: the loss on a plane through one
contestant's weights, with the path its training took (Li, Xu, Taylor, Studer and
Goldstein, "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018;
``engine.Experiment.landscape``). Drawn on a button: it costs one compiled call of R x R
evaluations, a second or two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
import plotly.graph_objects as go
import streamlit as st

import engine
from engine import EngineError, Spec
from playground.core import session
from playground.core.encode import plain

RESOLUTIONS = (11, 21, 31, 41)  # points per side of the plane
PLANE_FLOPS = 2e11  # arithmetic of one drawing (a few seconds at limits.ASSUMED_FLOPS)


def section(spec: Spec, label: Callable[..., str], colors: Sequence[str]) -> None:
    """The loss around one contestant's weights, and its path there (on a button);
    ``label(optimizer, rate)`` names a contestant, ``colors`` are the race's."""
    race = session.get(session.RACE)
    st.subheader("Loss landscape")
    st.caption("The training loss on a plane through a contestant's current weights: along "
               "the two directions its path moved most (principal components of its "
               "trajectory), or two random filter-normalised directions (Li et al., "
               "\"Visualizing the Loss Landscape of Neural Nets\", 2018). The line is where "
               "training went.")
    if session.playing():  # (this section is drawn when Play is pressed, not per frame)
        st.info("Pause the race to draw the loss landscape around a contestant's weights "
                "and the path they took.")
        return
    if race is None or len(race["trajectory"]) < 3:
        st.info("Play the race for a few seconds first: the landscape needs the path the "
                "weights took." if race is None or race["keep"] >= 3 else
                "This network is too large to keep its path in memory: the landscape is "
                "drawn for smaller networks.")
        return
    cs = race["key"][1]
    c = st.columns([2, 1.4, 1, 1], vertical_alignment="bottom")
    who = c[0].selectbox("Contestant", range(len(cs)), format_func=lambda i: label(*cs[i]),
                         key="race_land_who")
    how = c[1].radio("Directions", ("pca", "random"), horizontal=True, key="race_land_dirs",
                     format_func=lambda s: "path's own" if s == "pca" else "random")
    res = c[2].select_slider("Resolution", RESOLUTIONS, value=21, key="race_land_res")
    if not c[3].button("Draw", key="race_land_draw", icon=":material/landscape:"):
        if race["landscape"] is not None:  # the last one drawn for this very race
            st.plotly_chart(race["landscape"], key="race_land_fig")
        return
    sw = race["sweep"]
    exp = session.experiment()
    side = affordable(exp, res)
    if side < RESOLUTIONS[0]:
        st.error(f"Evaluating this network's loss on even a {RESOLUTIONS[0]} x "
                 f"{RESOLUTIONS[0]} plane would take more than this page allows: the "
                 "landscape is drawn for smaller networks or fewer points.")
        return
    if side < res:
        st.info(f"A {res} x {res} plane is too much arithmetic for this network: drawing "
                f"{side} x {side}.")
    state = sw.state(race["states"], who)
    path = [jax.tree_util.tree_map(lambda x: x[who], p) for _, p in race["trajectory"]]
    try:
        with st.spinner("Evaluating the loss on the plane..."):
            land = engine.build(sw.specs[who]).landscape(state, path, resolution=side,
                                                         directions=how, span=1.0)
    except (EngineError, MemoryError, RuntimeError) as err:  # XLA's errors are these
        st.error(plain(f"The landscape could not be drawn: {err}"))
        return
    race["landscape"] = figure(land, label(*cs[who]), colors[who % len(colors)])
    st.plotly_chart(race["landscape"], key="race_land_fig")


def affordable(exp: engine.Experiment, resolution: int) -> int:
    """The largest of ``RESOLUTIONS`` up to ``resolution`` whose plane costs at most
    ``PLANE_FLOPS`` (0 if none): R x R points, each the loss of up to 2,048 training
    examples."""
    per_point = min(exp.cost.train_examples, 2048) * max(exp.cost.forward_flops, 1.0)
    fits = [r for r in RESOLUTIONS if r <= resolution and r * r * per_point <= PLANE_FLOPS]
    return max(fits, default=0)


def figure(land: Any, name: str, color: str) -> Any:
    """A contour of log10 loss with the path and its end marked."""
    with np.errstate(divide="ignore"):
        z = np.log10(np.maximum(np.asarray(land.loss, np.float64), 1e-12))
    fig = go.Figure(go.Contour(x=land.alphas, y=land.betas, z=z, colorscale="Viridis",
                               colorbar={"title": "log10 loss"}, ncontours=25))
    if len(land.path):
        fig.add_trace(go.Scatter(x=land.path[:, 0], y=land.path[:, 1], mode="lines+markers",
                                 line={"color": color, "width": 3}, marker={"size": 4},
                                 name=f"{name}: path"))
        fig.add_trace(go.Scatter(x=[land.path[-1, 0]], y=[land.path[-1, 1]], mode="markers",
                                 marker={"symbol": "star", "size": 18, "color": color,
                                         "line": {"color": "white", "width": 2}},
                                 name="now"))  # outlined: seen on any contour colour
    fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis_title="direction 1", yaxis_title="direction 2",
                      title=f"Training loss around {name}'s weights", uirevision="race",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0})
    return fig
