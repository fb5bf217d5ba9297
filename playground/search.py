"""The Hyperparameter search page's parts, apart from Streamlit: the setup and its link,
starting an ``engine.hyper.Search``, and its pictures (Plotly) and table.

Every setting lives in the URL (``preset``, ``noise``, ``hp``/``hp2``, ``lo``/``hi``/
``log`` and ``lo2``/``hi2``/``log2``, ``method``, ``budget``, ``round``, ``epochs``,
``seed``); links come from anyone, so each is parsed within bounds and a bad one is
named once and replaced by its default. ``search_page`` draws the controls, keeps the
search in the session (keys ``hs_...``) and places the pictures.

May import: plotly, numpy and the engine's public surface.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine import PRESETS, EngineError, datasets_of, preset
from engine.hyper import HYPERPARAMETERS, Search
from engine.search import STRATEGIES, Axis, grid_per_axis
from engine.sweep_presets import SEARCHES, search_base
from playground.core.link_params import LinkParams
from playground.core.palette import TEST, VAL
from playground.core.url import spec_to_query

PRESET_NAMES = tuple(n for n in PRESETS.names() if preset(n).data.name in datasets_of("points"))
HP_NAMES = tuple(HYPERPARAMETERS.names())
NONE = "none"
LIMITS = {"budget": (4, 256), "round": (1, 64), "epochs": (10, 2000), "seed": (0, 2**31 - 1)}
MAX_PARAM_CHARS = 64  # a link's value longer than this is a mistake, not a setting
MAX_RANGE = 1e6  # the largest |lo|, |hi| a link may give
CURVE_POINTS = 200  # points per validation curve sent to the browser


@dataclass(frozen=True)
class Setup:
    """Everything that defines a search; a change starts a new one.

    ``axes``: one or two (hyperparameter, low, high, log) tuples."""

    preset: str = "tf_playground"
    noise: float = 0.0
    axes: tuple[tuple[str, float, float, bool], ...] = (("learning_rate", 1e-4, 1.0, True),)
    method: str = "bayesian"
    budget: int = 16
    round: int = 4
    epochs: int = 200
    seed: int = 0


DEFAULT = Setup(noise=preset("tf_playground").data.noise)


def default_axis(name: str) -> tuple[str, float, float, bool]:
    h = HYPERPARAMETERS.get(name)
    return name, h.low, h.high, h.log


# -- the link ------------------------------------------------------------------------------

def parse_query(q: dict[str, str]) -> tuple[Setup, list[str]]:
    """The setup a link describes and one message per bad parameter (its default used)."""
    link = LinkParams(q, MAX_PARAM_CHARS)
    errors = link.errors
    name = link.choice("preset", DEFAULT.preset, PRESET_NAMES)
    noise = link.number("noise", preset(name).data.noise, 0.0, 5.0)
    hps = [link.choice("hp", DEFAULT.axes[0][0], HP_NAMES)]
    hp2 = link.choice("hp2", NONE, (NONE, *HP_NAMES))
    if hp2 == hps[0]:
        errors.append(f"The link's hp2 repeats hp ({hp2}); searching {hp2} alone.")
    elif hp2 != NONE:
        hps.append(hp2)
    axes = []
    for i, hp in enumerate(hps):
        s = "2" if i else ""
        _, low, high, log = default_axis(hp)
        lo = link.number("lo" + s, low, -MAX_RANGE, MAX_RANGE)
        hi = link.number("hi" + s, high, -MAX_RANGE, MAX_RANGE)
        lg = link.flag("log" + s, log)
        if not lo < hi:
            errors.append(f"The link's lo{s} ({lo:g}) must be below hi{s} ({hi:g}); using "
                          f"{hp}'s default range, {low:g} to {high:g}.")
            lo, hi = low, high
        if lg and lo <= 0:
            errors.append(f"The link's lo{s} ({lo:g}) must be above 0 on a log axis; using "
                          f"{hp}'s default range, {low:g} to {high:g}.")
            lo, hi, lg = low, high, log
        axes.append((hp, lo, hi, lg))
    setup = Setup(name, noise, tuple(axes),
                  link.choice("method", DEFAULT.method, tuple(STRATEGIES.names())),
                  *(link.number(k, getattr(DEFAULT, k), *LIMITS[k], integer=True)
                    for k in ("budget", "round", "epochs", "seed")))
    return setup, errors


def to_query(setup: Setup) -> dict[str, str]:
    """The link's parameters for ``setup``: only what differs from the defaults."""
    q = {}
    if setup.preset != DEFAULT.preset:
        q["preset"] = setup.preset
    if setup.noise != preset(setup.preset).data.noise:
        q["noise"] = f"{setup.noise:.10g}"
    for i, (hp, lo, hi, log) in enumerate(setup.axes):
        s = "2" if i else ""
        _, low, high, lg = default_axis(hp)
        if hp != DEFAULT.axes[0][0] or i:
            q["hp" + s] = hp
        for key, v, d in (("lo", lo, low), ("hi", hi, high)):
            if v != d:
                q[key + s] = f"{v:.10g}"
        if log != lg:
            q["log" + s] = str(int(log))
    for k in ("method", "budget", "round", "epochs", "seed"):
        if getattr(setup, k) != getattr(DEFAULT, k):
            q[k] = str(getattr(setup, k))
    return q


# -- the search ----------------------------------------------------------------------------

def start(setup: Setup) -> Search:
    """A new search for ``setup``; raises ``EngineError`` (``SpecError``) when it cannot."""
    axes = [Axis(*a) for a in setup.axes]
    return Search.start(search_base(setup.preset, setup.noise), axes, setup.method,
                        setup.budget, setup.round, setup.epochs, setup.seed)


def has_dropout(name: str) -> bool:
    """Whether preset ``name``'s network has a dropout layer (``dropout_rate`` sets it)."""
    return any(layer.type == "dropout" for layer in preset(name).model.layers)


def edge_note(search: Search, values: dict[str, float]) -> str | None:
    """A note if the best ``values`` lie at a movable end of their range
    (``Search.at_edge``)."""
    ends = [f"{HYPERPARAMETERS.title(ax.name).lower()} is at the {end} end of its range "
            f"({ax.low if end == 'low' else ax.high:g})" for ax, end in search.at_edge(values)]
    return (f"The best {' and '.join(ends)}: a better value may lie beyond it. Widen the "
            "range (From, To) and search again before trusting it.") if ends else None


def explain(setup: Setup, err: EngineError) -> tuple[str, bool]:
    """Why ``setup``'s search cannot start (``start``'s error), in the sidebar's words;
    and whether its ranges are at fault (then each hyperparameter's default range
    fixes it). The engine names a spec's field ("optimizer.learning_rate"); the page
    names its controls (From, To, Log scale, Network and data)."""
    field = getattr(err, "field", "")
    bare = str(err).removeprefix(f"{field}: ") if field else str(err)
    for hp, _, _, log in setup.axes:
        if field in (f"search.{hp}.low", f"search.{hp}.high"):
            end = "From" if field.endswith(".low") else "To"
            off = " or turn Log scale off" if log and "log axis" in bare else ""
            return (f"{HYPERPARAMETERS.title(hp)}: {end} {bare}. Change {end}{off} in the "
                    f"sidebar, or press "
                    f"Default range.", True)
    if "no dropout layer" in bare:
        with_dropout = [PRESETS.get(n).title for n in PRESET_NAMES if has_dropout(n)]
        return (f"Dropout rate: the network \"{PRESETS.get(setup.preset).title}\" has no "
                f"dropout layer. Pick one with dropout under Network and data ("
                f"{', '.join(with_dropout) or 'none here'}), or another hyperparameter.",
                False)
    if "each hyperparameter once" in bare:
        return ("The second hyperparameter repeats the first: pick another one, or none.",
                False)
    if field.startswith("search.") or not field:  # budget, seed, ...: not a range
        return bare[:1].upper() + bare[1:] + ".", False
    # the network refused one end of a range: the axis whose name the field holds
    axes = [a for a in setup.axes if a[0] in field] or list(setup.axes)
    ranges = " and ".join(f"{HYPERPARAMETERS.title(hp)} from {lo:g} to {hi:g}"
                          for hp, lo, hi, _ in axes)
    return (f"This network cannot take every value of {ranges} ({field}: {bare}). "
            "Narrow From and To in the sidebar, or press Default range.", True)


def lesson_setup(name: str) -> Setup:
    """The setup of the named search lesson (``engine.sweep_presets.SEARCHES``)."""
    p = SEARCHES.get(name)
    return Setup(p.base, p.noise, p.axes, p.method, p.budget, p.round_size, p.epochs, 0)


def planned(search: Search) -> tuple[int, int]:
    """(configurations, rounds) the search will try in all."""
    n = search.budget
    if search.method == "grid":
        n = grid_per_axis(search.budget, len(search.space)) ** len(search.space)
    return n, math.ceil(n / search.round_size)


# -- the pictures --------------------------------------------------------------------------

def _layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    kw.setdefault("legend", {"orientation": "h", "y": -0.18})
    fig.update_layout(height=height, template="plotly_white", uirevision="hs",
                      margin={"l": 60, "r": 20, "t": 40, "b": 50}, **kw)
    return fig


def _points(search: Search) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The values tried (n, d), their validation losses (n,) and 1-based rounds (n,)."""
    x, _ = search.observed()
    return (x, np.array([t.val_loss for t in search.trials], np.float64),
            np.array([t.round + 1 for t in search.trials]))


def _hover(search: Search) -> list[str]:
    return [", ".join(f"{k} = {v:.4g}" for k, v in t.values.items())
            + f"<br>validation loss {t.val_loss:.4g} (round {t.round + 1})"
            for t in search.trials]


def picture_1d(search: Search) -> go.Figure:
    """Validation loss against the value tried, coloured by round; for Bayesian search
    the GP's mean and band above, its expected improvement below."""
    ax = search.space[0]
    bayes = search.method == "bayesian" and bool(search.trials)
    fig = make_subplots(rows=2 if bayes else 1, cols=1, shared_xaxes=True,
                        row_heights=[0.7, 0.3] if bayes else [1.0], vertical_spacing=0.08)
    x, loss, rounds = _points(search)
    if bayes:
        pic = search.picture()
        grid, mean, std = pic["axes"][0], pic["mean"], pic["std"]
        # Two bands: the curve's (what expected improvement reads), and, wider, where a
        # new result may land: the fitted noise added. A result outside the first is
        # not a bug; the lighter one says why (a teacher's class asked).
        spread = np.sqrt(std ** 2 + np.nan_to_num(pic["noise_std"]) ** 2)
        for width, name, alpha in ((spread, "±2 std with the noise: a new result", 0.07),
                                   (std, "GP ±2 std: the curve", 0.15)):
            fig.add_scatter(x=grid, y=10 ** (mean - 2 * width), line={"width": 0},
                            showlegend=False, hoverinfo="skip", row=1, col=1)
            fig.add_scatter(x=grid, y=10 ** (mean + 2 * width), line={"width": 0},
                            fill="tonexty", fillcolor=f"rgba(8,119,189,{alpha})", name=name,
                            hoverinfo="skip", row=1, col=1)
        fig.add_scatter(x=grid, y=10 ** mean, line={"color": VAL, "width": 2},
                        name="GP mean (fitted to log10 loss)", row=1, col=1)
        fig.add_scatter(x=grid, y=pic["ei"], line={"color": TEST, "width": 2}, fill="tozeroy",
                        name="expected improvement", row=2, col=1)
        fig.update_yaxes(title_text="Expected<br>improvement<br>(decades of loss)",
                         exponentformat="e", row=2, col=1)  # Plotly's default writes 2e-8 as "20n"
    ok = np.isfinite(loss)
    fig.add_scatter(x=x[ok, 0], y=loss[ok], mode="markers", name="tried",
                    text=np.array(_hover(search), dtype=object)[ok], hoverinfo="text",
                    marker={"size": 10, "color": rounds[ok], "colorscale": "Plasma",
                            "showscale": bool(rounds.max(initial=1) > 1),
                            "cmin": 1, "cmax": max(2, int(rounds.max(initial=1))),
                            "line": {"width": 1, "color": "white"},
                            "colorbar": {"title": "round", "len": 0.6, "y": 0.7,
                                         "dtick": max(1, math.ceil(rounds.max(initial=1) / 8))}},
                    row=1, col=1)
    if (best := search.best()) is not None:
        _star(fig, best.values[ax.name], best.val_loss, row=1, col=1)
    if (~ok).any():  # diverged at once: no finite loss to place, so drawn along the top
        top = float(np.nanmax(np.where(ok, loss, np.nan), initial=1.0)) * 2
        fig.add_scatter(x=x[~ok, 0], y=np.full((~ok).sum(), top), mode="markers",
                        marker={"symbol": "x", "size": 10, "color": "#d62728"},
                        name="diverged (no finite loss)", row=1, col=1)
    shown = [*loss, *(10 ** (mean + 2 * spread) if bayes else []), *(10 ** mean if bayes else [])]
    fig.update_yaxes(title_text="validation loss (log scale)", **_log_axis(shown), row=1, col=1)
    fig.update_xaxes(range=_range(ax), **(_log_axis([ax.low, ax.high]) if ax.log else {}))
    fig.update_xaxes(title_text=HYPERPARAMETERS.title(ax.name), row=2 if bayes else 1,
                     col=1)
    return _layout(fig, 520 if bayes else 400)


def _star(fig: go.Figure, x: float, y: float, **at: Any) -> None:
    """A star on the best trial so far, at (x, y)."""
    fig.add_scatter(x=[x], y=[y], mode="markers", name="best so far", hoverinfo="skip",
                    marker={"symbol": "star", "size": 18, "color": "#ffd60a",
                            "line": {"width": 1.5, "color": "black"}}, **at)


def _range(ax: Axis) -> list[float]:
    """The axis's range with a margin, so points at its ends show whole (log10 on log)."""
    lo, hi = (math.log10(ax.low), math.log10(ax.high)) if ax.log else (ax.low, ax.high)
    pad = 0.03 * (hi - lo)
    return [lo - pad, hi + pad]


def _coord(ax: Axis, v: np.ndarray) -> np.ndarray:
    """Where values sit on a map: log10 on a log axis (a heatmap's cells stay even)."""
    return np.log10(v) if ax.log else np.asarray(v)


def _nice(lo: float, hi: float) -> list[float]:
    """Round values from lo to hi (> 0) for a log axis's ticks: whole decades if at least
    three fit, else 1, 2, 5 x 10^k, else every digit, else four rounded steps."""
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for digits in ((1,), (1, 2, 5), range(1, 10)):
        out = [m * 10.0**k for k in range(k0, k1 + 1) for m in digits if lo <= m * 10.0**k <= hi]
        if len(out) >= 3:
            # a top far above the last tick gets one too (0.69 over 0.1: 0.5), so that
            # values near it can be read
            top = max((m * 10.0**k for k in range(k0, k1 + 1) for m in (1, 2, 5)
                       if m * 10.0**k <= hi), default=out[-1])
            return [*out, top] if top >= 3 * out[-1] else out
    return [float(f"{v:.2g}") for v in np.geomspace(lo, hi, 4)]


def _log_axis(values: Any, coord: bool = False) -> dict[str, Any]:
    """A log axis's ticks in plain numbers (Plotly writes 0.05 as "5"), for ``values``;
    ``coord``: the axis holds log10 of the values (a map's)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    ticks = _nice(v.min(), v.max()) if len(v) else [1.0]
    return {"tickvals": np.log10(ticks) if coord else ticks, "ticktext": [f"{t:g}" for t in ticks],
            **({} if coord else {"type": "log"})}


def _ticks(ax: Axis) -> dict[str, Any]:
    """A map's axis: its title, and on a log10 coordinate tick labels in real units."""
    if not ax.log:
        return {"title_text": HYPERPARAMETERS.title(ax.name)}
    return {"title_text": f"{HYPERPARAMETERS.title(ax.name)} (log scale)",
            **_log_axis([ax.low, ax.high], True)}


def picture_2d(search: Search) -> go.Figure:
    """Two hyperparameters: the GP's mean and EI maps (Bayesian) or the points coloured by
    their loss (grid, random), with the points tried on top."""
    a, b = search.space
    x, loss, _ = _points(search)
    z = np.where(np.isfinite(loss) & (loss > 0), np.log10(np.maximum(loss, 1e-300)), np.nan)
    px, py = _coord(a, x[:, 0]), _coord(b, x[:, 1])
    bayes = search.method == "bayesian" and bool(search.trials)
    fig = make_subplots(rows=1, cols=2 if bayes else 1, horizontal_spacing=0.16,
                        subplot_titles=["GP mean of log10 validation loss",
                                        "expected improvement (decades of loss)"]
                        if bayes else None)
    hover = np.array(_hover(search), dtype=object)
    if bayes:
        pic = search.picture(48)
        ga, gb = (_coord(ax, g) for ax, g in zip(search.space, pic["axes"], strict=True))
        r = len(ga)
        for col, vals, scale, bar_x, title in (
                (1, pic["mean"], "Viridis", 0.42, "log10 loss"),
                (2, pic["ei"], "Oranges", 1.0, "EI")):
            fig.add_heatmap(x=ga, y=gb, z=vals.reshape(r, r).T, colorscale=scale,
                            colorbar={"title": title, "x": bar_x, "len": 0.9,
                                      "exponentformat": "e"},
                            hovertemplate="%{z:.3g}<extra></extra>", row=1, col=col)
        marker = {"size": 9, "color": "white", "line": {"width": 1.5, "color": "black"}}
    else:
        marker = {"size": 22, "color": z, "colorscale": "Viridis", "symbol": "square",
                  "line": {"width": 1, "color": "white"},
                  "colorbar": {"title": "log10<br>validation<br>loss"}}
    best = search.best()
    for col in range(1, 3 if bayes else 2):
        fig.add_scatter(x=px, y=py, mode="markers", marker=marker, text=hover,
                        hoverinfo="text", name="tried", showlegend=False, row=1, col=col)
        if best is not None:
            _star(fig, *(float(_coord(ax, np.array(best.values[ax.name])))
                         for ax in search.space), showlegend=col == 1, row=1, col=col)
        fig.update_xaxes(range=_range(a), **_ticks(a), row=1, col=col)
        fig.update_yaxes(range=_range(b), **_ticks(b), row=1, col=col)
    if bayes:  # the maps share their axes: one set of y labels is enough
        fig.update_yaxes(showticklabels=False, title_text="", row=1, col=2)
    return _layout(fig, 460, legend={"orientation": "h", "y": -0.3})


def curves(search: Search) -> go.Figure:
    """Every trial's validation loss per epoch (faint), the best one highlighted."""
    fig = go.Figure()
    best = search.best()
    xs: list[Any] = []
    ys: list[Any] = []
    for t in search.trials:
        step = max(1, len(t.curve) // CURVE_POINTS)
        c = np.asarray(t.curve, np.float64)[::step]
        xs += [*range(1, len(t.curve) + 1, step), None]
        ys += [*np.where(np.isfinite(c) & (c > 0), c, np.nan), None]
    fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": "rgba(90,90,90,0.25)", "width": 1},
                    name="every trial", hoverinfo="skip")
    if best is not None:
        c = np.asarray(best.curve, np.float64)
        fig.add_scatter(x=np.arange(1, len(c) + 1), y=np.where(np.isfinite(c), c, np.nan),
                        mode="lines", line={"color": VAL, "width": 3}, name="best so far")
    fig.update_yaxes(title_text="validation loss (log scale)", **_log_axis(ys))
    fig.update_xaxes(title_text="epoch")
    return _layout(fig, 320, title={"text": "Validation loss while training", "x": 0.01})


def leaderboard(search: Search) -> list[dict[str, Any]]:
    """The trials as table rows, best (lowest validation loss) first."""
    rows = sorted(search.trials, key=lambda t: t.val_loss)
    return [{**t.values, "validation loss": t.val_loss,
             "validation accuracy (%)": None if t.val_accuracy is None else 100 * t.val_accuracy,
             "best epoch": t.best_epoch, "diverged": t.diverged, "round": t.round + 1}
            for t in rows]


def playground_link(search: Search) -> str | None:
    """A link that opens the best configuration on the Playground (its ``s`` parameter)."""
    best = search.best()
    return None if best is None else "./?s=" + urllib.parse.quote(spec_to_query(best.spec),
                                                                   safe="")
