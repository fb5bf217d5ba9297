"""An optimizer's path as the Optimizer paths page draws it: thinned for the animation's
frames, and a diverged path cut where it leaves the picture for good."""

from __future__ import annotations

import base64
from typing import Any, NamedTuple

import numpy as np

View = tuple[tuple[float, float], tuple[float, float]]  # (x_lo, x_hi), (y_lo, y_hi)


def typed(a: Any) -> dict[str, str]:
    """A float32 vector as Plotly's typed array (base64): a third of the JSON of a list,
    and plotly.py checks it in no time (a NumPy array costs it 150 ms a figure here)."""
    a = np.ascontiguousarray(a, np.float32).tobytes()
    return {"dtype": "f4", "bdata": base64.b64encode(a).decode("ascii")}


def thinned(points: np.ndarray, k: int, budget: int | None) -> np.ndarray:
    """Steps 0..k of a path ``points`` (steps + 1, 2), about ``budget`` of them (None:
    every step), its start and end kept.

    The steps are cut into ``budget // 2`` runs; each keeps its two points farthest
    either side of the run's chord (first to last point). A path that zig-zags keeps
    its swing, where every n-th step would alias it into a few straight strokes
    (momentum swings over several steps)."""
    if budget is None or k + 1 <= budget:
        return points[: k + 1]
    runs = max(1, budget // 2)
    m = -(-(k + 1) // runs)  # steps per run, the last run padded with the end point
    padded = np.concatenate([points[: k + 1], np.repeat(points[k: k + 1], runs * m - k - 1, 0)])
    p = padded.reshape(runs, m, 2)
    chord = p[:, -1] - p[:, 0]
    side = np.einsum("rmi,ri->rm", p - p[:, :1], np.stack([-chord[:, 1], chord[:, 0]], 1))
    side = np.nan_to_num(side, nan=0.0, posinf=0.0, neginf=0.0)  # a diverged run: its start
    picks = np.stack([np.argmin(side, 1), np.argmax(side, 1)], 1) + (np.arange(runs) * m)[:, None]
    return points[np.unique(np.minimum(np.r_[0, picks.ravel(), k], k))]


def _clip(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray
          ) -> tuple[float, float] | None:
    """The part (t0, t1) of the segment a -> b, a + t (b - a), inside the box lo..hi, or
    None (Liang and Barsky's clip)."""
    t0, t1, d = 0.0, 1.0, b - a
    for i in range(2):
        if d[i] == 0:
            if not lo[i] <= a[i] <= hi[i]:
                return None
            continue
        u, v = sorted(((lo[i] - a[i]) / d[i], (hi[i] - a[i]) / d[i]))
        t0, t1 = max(t0, u), min(t1, v)
    return (t0, t1) if t0 <= t1 else None


class Exit(NamedTuple):
    """Where a diverged path is cut: its steps before ``step``, then ``edge``; its cross
    at ``cross``."""

    step: int  # the first step outside the margin for good, or the last good one
    edge: np.ndarray  # (2,): where the step to it crosses the margin's border (or it)
    cross: np.ndarray  # (2,): where the line drawn last leaves the picture


def exit_point(points: np.ndarray, view: View, diverged_at: int) -> Exit:
    """Where a path ``points`` (steps + 1, 2) that diverged at step ``diverged_at`` (the
    engine holds its last good point from there on) ends in the picture ``view``.

    The line is drawn through every step within a margin (the view's own width and
    height on each side); a path that leaves that margin for good ends where it crosses
    the margin's border. Its cross goes where the line drawn last leaves the view, or on
    its last point if that is in view.

    Drawn in full, a diverged path's steps are long strokes across the whole picture
    (out to the engine's bound and back) that hide the other paths; cut, the first
    swings still show it growing."""
    p = np.asarray(points, np.float64)[:max(1, diverged_at)]  # its good steps
    lo, hi = np.array([v[0] for v in view]), np.array([v[1] for v in view])
    far_lo, far_hi = 2 * lo - hi, 2 * hi - lo
    with np.errstate(invalid="ignore"):
        near = np.all((p >= far_lo) & (p <= far_hi), axis=1)
    if near[-1] or not near.any():  # it ends near the picture (or was never near it)
        s, edge = len(p) - 1, p[-1]
    else:
        s = int(np.flatnonzero(near)[-1]) + 1
        part = _clip(p[s - 1], p[s], far_lo, far_hi) if np.all(np.isfinite(p[s])) else None
        edge = p[s - 1] + part[1] * (p[s] - p[s - 1]) if part else p[s - 1]
    line = np.concatenate([p[:s], edge[None]])
    for a, b in zip(line[-2::-1], line[:0:-1], strict=True):  # the last segment that shows
        part = _clip(a, b, lo, hi)
        if part:
            return Exit(s, edge, b if part[1] >= 1 else a + part[1] * (b - a))
    return Exit(s, edge, line[-1])


def path_traces(points: np.ndarray, k: int, budget: int | None = None,
                cut: Exit | None = None) -> list[dict]:
    """A path's line up to step k (``thinned`` to about ``budget`` points) and its end
    point: a circle, or a cross once the line has reached ``cut`` (``exit_point``)."""
    end = None
    if cut is not None:
        points = np.concatenate([points[:cut.step], cut.edge[None]])
        k, end = min(k, cut.step), (cut.cross if k >= cut.step else None)
    trail = thinned(points, k, budget)
    mark = trail[-1:] if end is None else end[None]
    return [dict(x=typed(trail[:, 0]), y=typed(trail[:, 1])),
            dict(x=typed(mark[:, 0]), y=typed(mark[:, 1]),
                 marker=dict(symbol="circle" if end is None else "x"))]
