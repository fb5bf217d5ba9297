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

LANDSCAPE = "pg_landscape"  # the last landscape figure drawn


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
    if race is None or len(race["trajectory"]) < 3:
        st.info("Play the race for a few seconds first: the landscape needs the path the "
                "weights took.")
        return
    cs = race["key"][1]
    c = st.columns([2, 1.4, 1, 1], vertical_alignment="bottom")
    who = c[0].selectbox("Contestant", range(len(cs)), format_func=lambda i: label(*cs[i]),
                         key="race_land_who")
    how = c[1].radio("Directions", ("pca", "random"), horizontal=True, key="race_land_dirs",
                     format_func=lambda s: "path's own" if s == "pca" else "random")
    res = c[2].select_slider("Resolution", (11, 21, 31, 41), value=21, key="race_land_res")
    if not c[3].button("Draw", key="race_land_draw", icon=":material/landscape:"):
        old = session.get(LANDSCAPE)
        if old is not None:
            st.plotly_chart(old, use_container_width=True, key="race_land_fig")
        return
    sw = race["sweep"]
    state = sw.state(race["states"], who)
    path = [jax.tree_util.tree_map(lambda x: x[who], p) for _, p in race["trajectory"]]
    exp = engine.build(sw.specs[who])
    try:
        with st.spinner("Evaluating the loss on the plane..."):
            land = exp.landscape(state, path, resolution=res, directions=how, span=1.0)
    except EngineError as err:
        st.error(plain(str(err)))
        return
    fig = figure(land, label(*cs[who]), colors[who % len(colors)])
    session.put(LANDSCAPE, fig)
    st.plotly_chart(fig, use_container_width=True, key="race_land_fig")


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
                                 marker={"symbol": "star", "size": 14, "color": color},
                                 name="now"))
    fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis_title="direction 1", yaxis_title="direction 2",
                      title=f"Training loss around {name}'s weights", uirevision="race",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0})
    return fig
