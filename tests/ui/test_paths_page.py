"""The Optimizer paths page (AppTest): controls, links, the picture and the table."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from engine import OPTIMIZERS
from engine.teach import surfaces
from playground import paths as P
from playground.path_lines import exit_point, thinned
from tests.ui.apptest import messages, ok, run_page, widget

FULL_LINK = {"surface": "himmelblau", "opt": "adam,sgd", "lr": "0.02", "momentum": "0.8",
             "steps": "300", "x0": "-1.5", "y0": "2.5", "b1": "0.8", "b2": "0.99",
             "decay": "0.95"}


def figure(at) -> dict:
    """The page's Plotly figure, as sent to the browser."""
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def array(a) -> np.ndarray:
    """A trace's array: a list, or Plotly's typed array (base64)."""
    if isinstance(a, dict):
        out = np.frombuffer(base64.b64decode(a["bdata"]), np.dtype(a["dtype"]))
        return out.reshape([int(n) for n in a["shape"].split(",")]) if "shape" in a else out
    return np.asarray(a, np.float64)


def paths(fig: dict) -> dict[str, np.ndarray]:
    """Each drawn path's points, (steps + 1, 2), by optimizer (its legend group)."""
    return {t["legendgroup"]: np.stack([array(t["x"]), array(t["y"])], axis=1)
            for t in fig["data"] if t.get("mode") == "lines"}


def query(at) -> dict[str, str]:
    """The URL's parameters after the run (the page writes its setup there)."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def table(at) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


@pytest.fixture(scope="module")
def default_page():
    return run_page("paths")


def test_the_default_page_draws_the_race(default_page) -> None:
    at = default_page
    ok(at)
    fig = figure(at)
    assert set(paths(fig)) == set(P.DEFAULT_OPTS)
    assert all(len(p) == P.DEFAULT_STEPS + 1 for p in paths(fig).values())
    start = next(t for t in fig["data"] if t.get("name") == "start")
    assert (start["x"], start["y"]) == ([-1.2], [1.0])  # rosenbrock's own start
    assert fig["layout"]["uirevision"] == "rosenbrock"
    # the surface is a picture under the axes (Plotly's animation drops contour traces)
    (image,) = fig["layout"]["images"]
    assert image["source"].startswith("data:image/png;base64,") and image["layer"] == "below"
    assert (image["x"], image["y"], image["sizex"], image["sizey"]) == (-2, 3, 4, 4)
    # frames every 20 steps (a round number, at most FRAMES of them), the last one whole
    assert [f["name"] for f in fig["frames"]] == [str(k) for k in range(0, 1001, 20)]
    assert len(array(fig["frames"][-1]["data"][0]["x"])) == P.DEFAULT_STEPS + 1
    assert [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]] == [
        "▶ Play", "❚❚ Pause"]
    assert [r["optimizer"] for r in table(at)] == [OPTIMIZERS.title(n) for n in P.DEFAULT_OPTS]
    assert "banana" in at.markdown[0].value or any("banana" in m.value for m in at.markdown)
    # the URL holds the setup
    assert query(at) == P.to_query(P.default_setup())
    # every figure the page draws is one plotly.py accepts
    go.Figure(fig)


def test_changing_the_surface_redraws_from_its_own_start_and_rate(default_page) -> None:
    at = default_page
    widget(at, "selectbox", "Loss surface").select("himmelblau").run()
    ok(at)
    fig = figure(at)
    minima = next(t for t in fig["data"] if t.get("name") == "minimum")
    assert len(minima["x"]) == 4
    assert widget(at, "select_slider", "Learning rate").value == 0.01
    assert (widget(at, "number_input", "Start x").value,
            widget(at, "number_input", "Start y").value) == (0.0, 0.0)
    assert fig["layout"]["uirevision"] == "himmelblau"
    assert next(iter(paths(fig).values()))[0].tolist() == [0.0, 0.0]


def test_changing_optimizers_and_rate_changes_what_is_drawn() -> None:
    at = run_page("paths")
    before = paths(figure(at))
    widget(at, "multiselect", "Optimizers").set_value(["sgd", "adagrad"]).run()
    ok(at)
    assert set(paths(figure(at))) == {"sgd", "adagrad"}
    assert [r["optimizer"] for r in table(at)] == ["SGD", "Adagrad"]
    np.testing.assert_array_equal(paths(figure(at))["sgd"], before["sgd"])
    widget(at, "select_slider", "Learning rate").set_value(0.0005).run()
    ok(at)
    slower = paths(figure(at))["sgd"]
    assert not np.array_equal(slower, before["sgd"])
    assert np.abs(slower[-1] - slower[0]).sum() < np.abs(before["sgd"][-1] - before["sgd"][0]).sum()
    widget(at, "slider", "Steps").set_value(100).run()
    assert len(paths(figure(at))["sgd"]) == 101
    assert query(at)["lr"] == "0.0005" and query(at)["steps"] == "100"


def test_with_no_optimizer_the_surface_still_shows() -> None:
    at = run_page("paths", {"opt": "sgd"})
    widget(at, "multiselect", "Optimizers").set_value([]).run()
    ok(at)
    assert "Pick at least one optimizer" in messages(at, "info")[0]
    assert paths(figure(at)) == {} and not at.dataframe
    assert figure(at)["layout"]["images"]
    assert query(at)["opt"] == ""  # and that link opens the default race, with no error
    at = run_page("paths", query(at))
    ok(at)
    assert set(paths(figure(at))) == set(P.DEFAULT_OPTS)


def test_no_control_recompiles() -> None:
    """The race is always every optimizer for MAX_STEPS: one compile per surface."""
    setup = P.default_setup("beale")
    P.race(setup)
    misses = surfaces._race.cache_info().misses
    for change in ({"lr": 0.002}, {"steps": 30}, {"opt": ("adam",)}, {"momentum": 0.5},
                   {"x0": 2.0, "y0": -1.0}, {"b2": 0.99}):
        P.race(setup._replace(**change))
    assert surfaces._race.cache_info().misses == misses
    compiled = surfaces._race("beale", tuple(P.OPTIMIZERS.names()), P.MAX_STEPS)
    assert compiled._cache_size() == 1


def test_a_link_sets_every_control() -> None:
    at = run_page("paths", FULL_LINK)
    ok(at)
    assert widget(at, "selectbox", "Loss surface").value == "himmelblau"
    assert widget(at, "multiselect", "Optimizers").value == ["adam", "sgd"]
    assert widget(at, "select_slider", "Learning rate").value == 0.02
    assert widget(at, "slider", "Momentum").value == 0.8
    assert widget(at, "slider", "Steps").value == 300
    assert widget(at, "number_input", "Start x").value == -1.5
    assert widget(at, "number_input", "Start y").value == 2.5
    assert widget(at, "select_slider", "β₁ (Adam)").value == 0.8
    assert widget(at, "select_slider", "β₂ (Adam)").value == 0.99
    assert widget(at, "select_slider", "Decay ρ (RMSprop)").value == 0.95
    fig = figure(at)
    assert set(paths(fig)) == {"adam", "sgd"}
    assert paths(fig)["sgd"].shape == (301, 2)
    assert query(at) == FULL_LINK  # the URL keeps the link as it was
    # a rate between the slider's stops is kept exactly
    at = run_page("paths", {"lr": "0.0033"})
    ok(at)
    assert widget(at, "select_slider", "Learning rate").value == 0.0033


BAD_LINKS = {
    "unknown surface": ({"surface": "moon"}, "surface 'moon' is unknown"),
    "unknown optimizer": ({"opt": "sgd,lion,zoom"}, "unknown optimizers ('lion', 'zoom')"),
    "rate not a number": ({"lr": "abc"}, "lr must be a number from 0.0001 to 1, not 'abc'"),
    "steps too many": ({"steps": "99999"}, "steps must be a whole number from 10 to 1000"),
    "steps not whole": ({"steps": "12.5"}, "steps must be a whole number"),
    "start off the view": ({"x0": "1e9"}, "x0 must be a number from -2 to 2"),
    "momentum nan": ({"momentum": "nan"}, "momentum must be a number from 0 to 0.99"),
    "b2 off the menu": ({"b2": "0.5"}, "b2 must be one of 0.9, 0.99, 0.999, 0.9999"),
    "5000 characters": ({"lr": "9" * 5000},
                        "lr must be a number from 0.0001 to 1, not 5000 characters"),
    "5000 characters of names": ({"opt": "x" * 5000}, "opt is 5000 characters long"),
    "markdown": ({"surface": "[log in](https://evil.example)"}, "is unknown"),
}


@pytest.mark.parametrize("case", BAD_LINKS, ids=list(BAD_LINKS))
def test_a_bad_link_says_what_is_wrong_and_shows_the_default(case) -> None:
    query, expected = BAD_LINKS[case]
    at = run_page("paths", query)
    assert not at.exception, [e.value for e in at.exception]
    errors = messages(at)
    assert len(errors) == 1 and expected in errors[0], errors
    assert "Traceback" not in errors[0]
    assert "](" not in at.error[0].value  # Markdown from a link shows as typed
    fig = figure(at)
    assert set(paths(fig)) >= {"sgd"}
    name = next(iter(query))
    default = P.default_setup()
    if name == "opt" and "lion" in expected:
        assert widget(at, "multiselect", "Optimizers").value == ["sgd"]  # the known one
    elif name == "surface":
        assert widget(at, "selectbox", "Loss surface").value == default.surface
    elif name == "lr":
        assert widget(at, "select_slider", "Learning rate").value == default.lr
    elif name == "steps":
        assert widget(at, "slider", "Steps").value == default.steps
    # the URL now holds a good setup: the next run shows no error
    at.run()
    assert not at.error


def test_a_diverged_optimizer_is_flagged() -> None:
    at = run_page("paths", {"surface": "ravine", "opt": "sgd,momentum", "lr": "0.06"})
    ok(at)
    rows = {r["optimizer"]: r for r in table(at)}  # by title, as the page shows them
    assert set(rows) == {"SGD", "Momentum"}
    assert rows["SGD"]["diverged"].startswith("at step ")
    assert rows["SGD"]["diverged"].endswith("lower the learning rate")
    assert rows["SGD"]["first within 0.01 of a minimum"] == "not reached"
    warnings = messages(at, "warning")
    assert len(warnings) == 1 and "SGD (diverged at step" in warnings[0]
    legend = [t["name"] for t in figure(at)["data"] if t.get("mode") == "lines"]
    assert any(n.startswith("SGD (diverged at step") for n in legend)
    # cut the race before it blows up and the flag goes
    step = int(rows["SGD"]["diverged"].split()[2].rstrip(":"))
    assert step > 10
    widget(at, "slider", "Steps").set_value(10).run()
    assert table(at)[0]["diverged"] == "no" and not at.warning


def test_the_diverged_step_is_where_the_engine_stopped() -> None:
    setup = P.default_setup("ravine")._replace(opt=("sgd",), lr=0.06)
    (o,) = P.race(setup)
    assert o.diverged_at is not None
    k = o.diverged_at
    assert np.all(o.points[k:] == o.points[k - 1])  # frozen from the failing step on
    assert np.any(o.points[k - 1] != o.points[k - 2])
    assert np.all(np.abs(o.points) <= surfaces.BOUND)


def test_parse_link_is_pure_and_bounded() -> None:
    setup, errors = P.parse_link({})
    assert setup == P.default_setup() and not errors
    setup, errors = P.parse_link(FULL_LINK)
    assert not errors and P.to_query(setup) == FULL_LINK
    setup, errors = P.parse_link({"surface": "saddle", "lr": "-1", "steps": "5"})
    assert setup.surface == "saddle" and setup.lr == 0.05 and setup.steps == P.DEFAULT_STEPS
    assert len(errors) == 2


def test_a_typed_link_may_capitalise_the_surface_and_the_optimizers() -> None:
    """The menu shows "Rosenbrock" and "Adam": a teacher typing a link writes them so."""
    setup, errors = P.parse_link({"surface": " Rosenbrock", "opt": "Adam,SGD"})
    assert not errors
    assert setup.surface == "rosenbrock" and setup.opt == ("adam", "sgd")


def test_a_thinned_frame_keeps_a_zig_zag_swing() -> None:
    """An animation frame's path, thinned, still swings as wide as the path: here a
    swing of 13 steps, which every 13th step (one stride of evenly spaced points)
    would draw as a straight line."""
    t = np.arange(1001.0)
    path = np.stack([t, np.sin(2 * np.pi * t / 13)], 1)
    trail = thinned(path, 640, 57)
    assert len(trail) <= 60
    assert (trail[0] == path[0]).all() and (trail[-1] == path[640]).all()
    assert (np.diff(trail[:, 0]) > 0).all()  # in step order
    assert trail[:, 1].max() > 0.95 and trail[:, 1].min() < -0.95
    assert len(thinned(path, 30, 57)) == 31  # short enough: every step


def test_a_diverged_path_ends_with_a_cross_where_it_leaves_the_picture() -> None:
    """The ravine at Nesterov's diverging rate: its line goes no farther than one view
    beyond the picture (it swung out to about 1e6 and back, drawn as strokes across the
    whole picture), and its cross sits on the picture's border."""
    at = run_page("paths", {"surface": "ravine", "opt": "sgd,nesterov", "lr": "0.035"})
    ok(at)
    fig = figure(at)
    (x_lo, x_hi), (y_lo, y_hi) = surfaces.SURFACES.get("ravine").view
    w, h = x_hi - x_lo, y_hi - y_lo
    drawn = paths(fig)
    nesterov, sgd = drawn["nesterov"], drawn["sgd"]
    (o,) = P.race(P.default_setup("ravine")._replace(opt=("nesterov",), lr=0.035))
    assert o.diverged_at is not None and np.abs(o.points).max() > 1e5
    tol = 1e-4
    assert np.all((nesterov[:, 0] >= x_lo - w - tol) & (nesterov[:, 0] <= x_hi + w + tol))
    assert np.all((nesterov[:, 1] >= y_lo - h - tol) & (nesterov[:, 1] <= y_hi + h + tol))
    n = len(nesterov)
    assert 3 <= n < o.diverged_at  # its first growing swings, then cut
    np.testing.assert_allclose(nesterov[:-1], o.points[:n - 1], rtol=1e-6)
    marks = {t["legendgroup"]: t for t in fig["data"]
             if t.get("mode") == "markers" and "legendgroup" in t}
    assert marks["sgd"]["marker"]["symbol"] == "circle"
    assert marks["nesterov"]["marker"]["symbol"] == "x"
    cx, cy = float(array(marks["nesterov"]["x"])[0]), float(array(marks["nesterov"]["y"])[0])
    assert x_lo - tol <= cx <= x_hi + tol and y_lo - tol <= cy <= y_hi + tol
    assert min(abs(cx - x_lo), abs(cx - x_hi), abs(cy - y_lo), abs(cy - y_hi)) < tol
    assert len(sgd) == P.default_setup("ravine").steps + 1  # a path that stays: in full


def test_exit_point_cuts_at_the_margin_and_crosses_at_the_border() -> None:
    view = ((-1.0, 1.0), (-1.0, 1.0))  # the margin: -3..3 either way

    def cut(points: list, diverged_at: int | None = None):
        p = np.array(points, np.float64)
        return exit_point(p, view, len(p) if diverged_at is None else diverged_at)

    out = cut([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [5.5, 0.5], [50.0, -80.0]])
    assert out.step == 3 and np.allclose(out.edge, [3.0, 0.5])  # 0.5 -> 5.5 meets x = 3
    assert np.allclose(out.cross, [1.0, 0.5])  # and leaves the view at x = 1
    swing = cut([[0.0, 0.0], [0.0, -2.0], [0.5, 2.5], [0.5, -9.0]])
    assert swing.step == 3 and np.allclose(swing.edge, [0.5, -3.0])
    assert np.allclose(swing.cross, [0.5, -1.0])  # the last stroke shown crosses the view
    # ends in view (out and back): drawn whole, its cross on its last good point
    back = cut([[0.0, 0.0], [5.0, 0.0], [0.2, 0.1], [0.2, 0.1]], diverged_at=3)
    assert back.step == 2 and np.array_equal(back.cross, [0.2, 0.1])
    # ends in the margin, out of view: whole, its cross where it last leaves the view
    margin = cut([[0.0, 0.0], [0.0, 2.0], [0.0, 2.0]], diverged_at=2)
    assert margin.step == 1 and np.allclose(margin.cross, [0.0, 1.0])
    # diverged at its first step: its cross on the start
    first = cut([[0.5, 0.5], [0.5, 0.5]], diverged_at=1)
    assert first.step == 0 and np.array_equal(first.cross, [0.5, 0.5])
    gone = cut([[0.0, 0.0], [0.5, 0.0], [np.nan, np.nan]])  # not finite: its last point
    assert gone.step == 2 and np.array_equal(gone.edge, [0.5, 0.0])


def test_every_diverged_path_ends_with_a_cross() -> None:
    """Beale at the slider's largest rate: SGD diverges at its first step (a path of one
    point); at 0.1 it leaves the picture and stops in the margin. Both end with a cross
    in the picture, from the step they diverged on."""
    for lr, start in ((1.0, (-3.0, 4.5)), (0.1, None)):
        setup = P.default_setup("beale")._replace(opt=("sgd",), lr=lr)
        if start:
            setup = setup._replace(x0=start[0], y0=start[1])
        (o,) = P.race(setup)
        assert o.diverged_at is not None
        fig = P.figure(setup, [o])
        end = next(t for t in fig["data"] if t.get("name") == "sgd: end")
        assert end["marker"]["symbol"] == "x"
        (x_lo, x_hi), (y_lo, y_hi) = surfaces.SURFACES.get("beale").view
        x, y = float(array(end["x"])[0]), float(array(end["y"])[0])
        assert x_lo - 1e-4 <= x <= x_hi + 1e-4 and y_lo - 1e-4 <= y <= y_hi + 1e-4
