"""The Hyperparameter search page (AppTest): rounds, the pictures, links good and bad."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.ui.apptest import messages, ok, run_page, widget

SMALL = {"budget": "8", "round": "4", "epochs": "30"}


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _rows(at) -> int:
    return len(at.dataframe[0].value) if at.dataframe else 0


def _traces(at) -> list[tuple[str, str | None]]:
    """(type, name) of every trace of every Plotly chart on the page."""
    return [(d.get("type"), d.get("name")) for c in at.get("plotly_chart")
            for d in json.loads(c.proto.spec)["data"]]


def _values(y) -> np.ndarray:
    """A trace's values as Plotly writes them: a list, or typed bytes (numpy arrays)."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).astype(float)
    return np.array(y, float)


def _text(at) -> str:
    return "\n".join(m.value for m in (*at.markdown, *at.caption))


def test_the_page_opens_on_the_default_search_with_nothing_tried():
    at = run_page("search")
    ok(at)
    assert widget(at, "selectbox", "Hyperparameter").value == "learning_rate"
    assert widget(at, "selectbox", "Method").value == "bayesian"
    assert "0 of 16" in _text(at)
    assert "Nothing tried yet" in messages(at, "info")[0]
    assert not at.dataframe


def test_run_next_round_adds_a_round_of_trials_and_shows_the_best():
    at = run_page("search", {**SMALL, "method": "random"})
    _button(at, "Run next round").click().run()
    ok(at)
    assert _rows(at) == 4
    assert "Best so far:" in _text(at) and "learning rate = " in _text(at)
    assert "4 of 8" in _text(at)
    assert "Test loss" not in [m.label for m in at.metric]  # not before the end
    links = at.get("link_button")
    assert links and links[0].proto.url.startswith("./?s=")
    _button(at, "Run next round").click().run()
    ok(at)
    assert _rows(at) == 8


def test_run_to_the_end_finishes_and_reads_the_test_split_once():
    at = run_page("search", {**SMALL, "method": "random"})
    _button(at, "Run to the end").click().run()
    ok(at)
    assert _rows(at) == 8
    assert "The search is done" in _text(at)
    labels = [m.label for m in at.metric]
    assert "Test loss" in labels and "Test accuracy" in labels
    assert "read once" in _text(at)
    kept = at.session_state["hs_test"]
    at.run()  # a rerun keeps the same reading
    assert at.session_state["hs_test"] is kept or at.session_state["hs_test"][1] == kept[1]
    assert _button(at, "Run next round").disabled and _button(at, "Run to the end").disabled


def test_a_bayesian_search_over_one_hyperparameter_draws_the_gp_and_ei():
    at = run_page("search", {**SMALL, "method": "bayesian"})
    _button(at, "Run to the end").click().run()
    ok(at)
    names = [n for _, n in _traces(at)]
    assert "GP mean (fitted to log10 loss)" in names and "GP ±2 std: the curve" in names
    # Where a new result may land: the curve's band widened by the fitted noise, so a
    # result outside the curve's band is explained (a class asked why the best sat there).
    data = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    top = {d.get("name"): _values(d["y"]) for d in data if d.get("fill") == "tonexty"}
    curve, noisy = top["GP ±2 std: the curve"], top["±2 std with the noise: a new result"]
    assert (noisy >= curve * (1 - 1e-6)).all() and (noisy > curve).any()
    assert "expected improvement" in names and "tried" in names
    assert "log10" in _text(at)
    gp = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert gp["yaxis2"]["exponentformat"] == "e"  # EI of 2e-8, not Plotly's "20n"


def test_a_log_axis_gets_a_tick_near_a_top_far_above_its_last_decade():
    from playground import search as hs

    assert hs._nice(6.5e-5, 0.69) == [1e-4, 1e-3, 1e-2, 0.1, 0.5]  # losses from ln 2
    assert hs._nice(1e-4, 0.2) == [1e-4, 1e-3, 1e-2, 0.1]  # near enough to 0.1


def test_two_hyperparameters_draw_a_map():
    at = run_page("search", {**SMALL, "hp2": "momentum", "method": "grid", "budget": "4"})
    _button(at, "Run to the end").click().run()
    ok(at)
    assert _rows(at) == 4 and "a 2 x 2 grid" in _text(at)
    assert ("scatter", "tried") in _traces(at)


def test_a_link_with_every_parameter_sets_every_control():
    query = {"preset": "xor_backprop", "noise": "0.3", "hp": "l2_rate", "lo": "1e-05",
             "hi": "0.01", "log": "1", "hp2": "momentum", "lo2": "0.1", "hi2": "0.9",
             "log2": "0", "method": "random", "budget": "12", "round": "3", "epochs": "40",
             "seed": "7"}
    at = run_page("search", query)
    ok(at)
    assert widget(at, "selectbox", "Network and data").value == "xor_backprop"
    assert widget(at, "selectbox", "Hyperparameter").value == "l2_rate"
    assert widget(at, "selectbox", "Second hyperparameter").value == "momentum"
    assert widget(at, "selectbox", "Method").value == "random"
    assert at.number_input(key="hs_noise").value == pytest.approx(0.3)
    assert at.number_input(key="hs_lo").value == pytest.approx(1e-5)
    assert at.number_input(key="hs_hi").value == pytest.approx(0.01)
    assert at.toggle(key="hs_log").value is True
    assert at.number_input(key="hs_lo2").value == pytest.approx(0.1)
    assert at.number_input(key="hs_hi2").value == pytest.approx(0.9)
    assert at.toggle(key="hs_log2").value is False
    for key, v in (("budget", 12), ("round", 3), ("epochs", 40), ("seed", 7)):
        assert at.number_input(key=f"hs_{key}").value == v
    # kept in the URL, less what equals its default (both axes' log switches here)
    assert dict(at.query_params) == {k: v for k, v in query.items() if k not in ("log", "log2")}


@pytest.mark.parametrize(("query", "names"), [
    ({"hp": "evil"}, ("hp", "evil")),
    ({"lo": "1", "hi": "0.5"}, ("lo", "hi", "default range")),
    ({"budget": "99999"}, ("budget", "99999")),
    ({"method": "evil"}, ("method", "evil")),
    ({"hp": "x" * 5000}, ("hp", "5000 characters")),
    ({"epochs": "1e9"}, ("epochs", "whole number")),
    ({"lo": "nan"}, ("lo", "nan")),
], ids=["hp", "lo-above-hi", "budget", "method", "5000-chars", "epochs", "nan"])
def test_a_bad_link_names_the_bad_parameter_once_and_uses_the_default(query, names):
    at = run_page("search", query)
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1, errors
    assert all(n in errors[0] for n in names), errors[0]
    assert widget(at, "selectbox", "Hyperparameter").value == "learning_rate"
    assert widget(at, "selectbox", "Method").value == "bayesian"
    assert at.number_input(key="hs_budget").value == 16
    assert at.number_input(key="hs_epochs").value == 200
    assert at.number_input(key="hs_lo").value == pytest.approx(1e-4)
    assert at.number_input(key="hs_hi").value == pytest.approx(1.0)
    run_buttons = {"Run next round", "Run to the end", "Start over"}
    assert {b.label for b in at.button} >= run_buttons  # the default search is ready to run
    at.run()  # the URL now holds the defaults: the message is not repeated
    assert not at.error


def test_a_hyperparameter_the_network_lacks_is_the_engines_message_not_a_traceback():
    at = run_page("search", {"hp": "dropout_rate"})
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and "no dropout layer" in errors[0], errors
    # what to do, in the page's words: a network of its menu that has dropout
    assert "Network and data" in errors[0] and "Dropout against over-fitting" in errors[0]
    # nothing to run, and no range to reset (the range is not at fault)
    assert not {b.label for b in at.button} & {"Run next round", "Run to the end",
                                                "Default range"}


@pytest.mark.parametrize(("query", "says"), [
    ({"lo": "0", "hi": "1", "log": "0"},
     ["Learning rate from 0 to 1", "(0, 100]", "Narrow From and To"]),
    ({"hp": "units", "hi": "1000000"}, ["Units per layer from 1 to 1e+06", "[1, 512]"]),
    ({"hp": "batch_size", "hi": "1000000"}, ["Batch size from 1 to 1e+06"]),
], ids=["learning-rate-0", "units-1e6", "batch-1e6"])
def test_a_range_the_network_refuses_names_it_and_default_range_fixes_it(query, says):
    """A range a link (or the sidebar's From and To) gives that the network cannot take
    is named with its hyperparameter and the controls to change; "Default range" puts
    the hyperparameter's usual range back and the search is ready to run."""
    at = run_page("search", query)
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and all(s in errors[0] for s in says), errors
    _button(at, "Default range").click().run()
    ok(at)
    assert not at.error
    assert {b.label for b in at.button} >= {"Run next round", "Run to the end"}


def test_log_scale_on_momentum_says_to_raise_from_or_turn_log_off():
    at = run_page("search", {"hp": "momentum"})
    ok(at)
    at.toggle(key="hs_log").set_value(True).run()
    errors = messages(at)
    assert len(errors) == 1, errors
    assert errors[0].startswith("Momentum: From must be > 0 on a log axis")
    assert "turn Log scale off" in errors[0]
    at.toggle(key="hs_log").set_value(False).run()
    ok(at)
    assert not at.error


def test_changing_the_setup_starts_a_new_search_and_says_so():
    at = run_page("search", {**SMALL, "method": "random"})
    _button(at, "Run next round").click().run()
    assert _rows(at) == 4
    at.number_input(key="hs_seed").set_value(3).run()
    ok(at)
    assert any("new search starts" in m for m in messages(at, "info"))
    assert _rows(at) == 0
    assert at.query_params["seed"] == "3"


def test_loading_a_lesson_sets_every_control_and_the_link():
    at = run_page("search")
    at.selectbox(key="hs_lesson").set_value("grid_vs_random").run()  # Load is enabled
    at.button(key="hs_load").click().run()
    assert not at.exception and not at.error
    assert widget(at, "selectbox", "Hyperparameter").value == "learning_rate"
    assert widget(at, "selectbox", "Second hyperparameter").value == "momentum"
    assert widget(at, "selectbox", "Method").value == "grid"
    assert at.number_input(key="hs_budget").value == 9
    assert at.query_params["hp2"] == "momentum"


def test_a_round_too_big_for_the_server_is_refused_before_it_trains():
    at = run_page("search", {"preset": "deep_relu_early_stopping", "hp": "units",
                             "lo": "256", "hi": "512", "method": "random", "budget": "256",
                             "round": "64", "epochs": "2000"})
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and "too big for this server" in errors[0], errors
    assert "lower the epochs" in errors[0]
    step = next(b for b in at.button if b.label == "Run next round")
    assert step.disabled


def test_raising_the_budget_continues_the_search_with_its_trials():
    at = run_page("search", {"budget": "4", "round": "4", "epochs": "20"})
    next(b for b in at.button if b.label == "Run to the end").click().run()
    assert not at.exception and len(at.session_state["hs_search"].trials) == 4
    assert at.session_state["hs_search"].done
    at.number_input(key="hs_budget").set_value(8).run()
    search = at.session_state["hs_search"]
    assert len(search.trials) == 4 and not search.done and search.budget == 8
    next(b for b in at.button if b.label == "Run next round").click().run()
    assert not at.exception and len(at.session_state["hs_search"].trials) == 8
    assert not any("new search starts" in m for m in messages(at, "info"))


def test_the_dropout_lesson_searches_the_rate_of_a_network_with_dropout():
    at = run_page("search")
    at.selectbox(key="hs_lesson").set_value("dropout").run()
    at.button(key="hs_load").click().run()
    ok(at)
    assert widget(at, "selectbox", "Hyperparameter").value == "dropout_rate"
    assert at.query_params["preset"] == "dropout_spirals"
    at.number_input(key="hs_epochs").set_value(20).run()  # a short round, same lesson
    _button(at, "Run next round").click().run()
    ok(at)
    assert _rows(at) == 8 and "dropout rate = " in _text(at)


def test_the_same_hyperparameter_twice_points_at_the_second():
    at = run_page("search")
    at.selectbox(key="hs_hp2").set_value("learning_rate").run()
    assert not at.exception
    errors = messages(at)
    assert errors == ["The second hyperparameter repeats the first: pick another one, or "
                      "none."], errors
    assert "Default range" not in {b.label for b in at.button}


def test_the_lesson_menu_names_the_setup_that_runs():
    at = run_page("search")  # the page's default is no lesson
    menu = at.selectbox(key="hs_lesson")
    assert menu.value == "" and menu.options[0] == "Default search"
    assert at.button(key="hs_load").disabled
    menu.set_value("learning_rate").run()
    at.button(key="hs_load").click().run()
    ok(at)
    assert at.selectbox(key="hs_lesson").value == "learning_rate"
    assert "" not in at.selectbox(key="hs_lesson").options
    # an edit makes it the user's own; a link of a lesson's setup names that lesson
    at.number_input(key="hs_seed").set_value(5).run()
    ok(at)
    menu = at.selectbox(key="hs_lesson")
    assert menu.value == "" and menu.options[0] == "Your own search"
    assert any("this link's or your own" in c.value for c in at.caption)
    again = run_page("search", {"noise": "0.1", "hi": "3"})
    assert again.selectbox(key="hs_lesson").value == "learning_rate"


def test_the_menus_and_charts_speak_words_not_code_names() -> None:
    """A teacher's review: the menus read learning_rate, l2_rate, bayesian, none."""
    at = run_page("search", {**SMALL, "method": "bayesian"})
    ok(at)
    assert {"Learning rate", "L2 rate", "Dropout rate", "Batch size"} <= set(
        widget(at, "selectbox", "Hyperparameter").options)
    assert widget(at, "selectbox", "Second hyperparameter").options[0] == "None"
    assert widget(at, "selectbox", "Method").options == ["Grid", "Random", "Bayesian"]
    assert widget(at, "toggle", "Log scale").value is True
    assert "_" not in widget(at, "selectbox", "Hyperparameter").help.replace("\\_", "")


def test_a_best_at_the_end_of_its_range_says_to_widen_it() -> None:
    """A teacher's review: the default search's best learning rate sat at the top of its
    range, and nothing said that a better one may lie beyond."""
    grid = {"budget": "4", "round": "4", "epochs": "30", "method": "grid"}
    notes = {}
    for lo, hi in (("0.0001", "0.01"), ("0.01", "100")):  # four values, a grid of each
        at = run_page("search", {**grid, "lo": lo, "hi": hi})
        _button(at, "Run next round").click().run()
        ok(at)
        best = at.session_state["hs_search"].best().values["learning_rate"]
        notes[hi] = (best, [m for m in messages(at, "info") if "Widen the range" in m])
    assert notes["0.01"][0] == 0.01 and notes["0.01"][1] == [
        "The best learning rate is at the high end of its range (0.01): a better value may "
        "lie beyond it. Widen the range (From, To) and search again before trusting it."], notes
    assert 0.01 < notes["100"][0] < 100 and notes["100"][1] == [], notes
