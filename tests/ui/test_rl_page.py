"""AppTest of the Reinforcement learning page (``pages/rl.py``) and its pieces."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.rl import PRESETS, SOURCE, DQNLog
from playground import rl_frame as F
from playground import rl_page as P
from tests.ui.apptest import messages, ok, opened, run_page, widget

TIMEOUT = 180


def page(query: dict[str, str] | None = None) -> AppTest:
    return run_page("rl", query, TIMEOUT)


def iteration(at: AppTest) -> int:
    return int(at.session_state[P.STATE].iteration)


@pytest.fixture(scope="module")
def default() -> AppTest:
    return page()


def test_default_opens_the_source_dqn_untrained(default: AppTest) -> None:
    ok(default)
    assert default.session_state[P.CONFIG] == SOURCE
    assert iteration(default) == 0
    assert "rl" not in default.query_params  # the default needs no link
    assert widget(default, "selectbox", "Preset").value == "source_dqn"
    assert PRESETS.get("source_dqn").lesson in [c.value for c in default.caption]
    assert widget(default, "select_slider", "Iterations per frame").value == P.SPEED


def test_step_trains_and_the_return_curve_grows() -> None:
    at = page()
    at.button(key="rl_step").click().run()
    ok(at)
    assert iteration(at) == P.SPEED
    first = len(at.session_state[P.HISTORY].ret)
    assert first > 0  # episodes of the random start end within a frame
    at.button(key="rl_step").click().run()
    h = at.session_state[P.HISTORY]
    assert iteration(at) == 2 * P.SPEED and len(h.ret) > first and len(h.at) == 2
    assert h.ret_at[-1] <= 2 * P.SPEED * SOURCE.n_envs
    at.button(key="rl_reset").click().run()
    assert iteration(at) == 0 and len(at.session_state[P.HISTORY].ret) == 0


def test_a_value_keeps_the_run_and_a_structural_change_starts_afresh() -> None:
    at = page()
    at.button(key="rl_step").click().run()
    widget(at, "select_slider", "Learning rate").set_value(0.003).run()
    ok(at)
    assert at.session_state[P.CONFIG].learning_rate == 0.003
    assert iteration(at) == P.SPEED  # still trained: the values were swapped in
    assert float(at.session_state[P.STATE].values.optimizer.learning_rate) == pytest.approx(0.003)
    assert json.loads(at.query_params["rl"]) == {"learning_rate": 0.003}
    widget(at, "selectbox", "Hidden layers").set_value((32, 32)).run()
    ok(at)
    assert at.session_state[P.CONFIG].hidden == (32, 32)
    assert at.session_state[P.CONFIG].learning_rate == 0.003  # the value stays
    assert iteration(at) == 0 and len(at.session_state[P.HISTORY].ret) == 0


def test_a_combination_the_engine_refuses_says_so_once_and_keeps_the_config() -> None:
    at = page()
    widget(at, "select_slider", "Experience buffer size").set_value(64).run()
    widget(at, "select_slider", "Batch size").set_value(128).run()
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and "buffer_size" in errors[0]
    c = at.session_state[P.CONFIG]
    assert (c.buffer_size, c.batch_size) == (64, 64)  # the last good one
    assert widget(at, "select_slider", "Batch size").value == 64


@pytest.mark.parametrize(("link", "says"), [
    ('{"learning_rate":"fast"}', "learning_rate"),
    ('{"hidden":[100000]}', "hidden"),
    ('{"bogus":1}', "bogus"),
    ("[1,", "not valid JSON"),
    ('{"buffer_size":10}', "buffer_size"),
    ("{" * 3000, "characters long"),
])
def test_a_bad_link_shows_one_message_and_the_default(link: str, says: str) -> None:
    at = page({"rl": link})
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and says in errors[0] and "Showing the default" in errors[0]
    assert at.session_state[P.CONFIG] == SOURCE


def test_a_link_opens_its_config() -> None:
    at = page({"rl": '{"hidden":[32,32],"double":true,"gamma":0.95}'})
    ok(at)
    c = at.session_state[P.CONFIG]
    assert (c.hidden, c.double, c.gamma) == ((32, 32), True, 0.95)
    assert widget(at, "toggle", "Double DQN").value is True


def test_a_preset_loads_with_its_lesson() -> None:
    at = page()
    at.button(key="rl_step").click().run()
    at.selectbox(key="rl_preset").set_value("no_target_network").run()
    assert PRESETS.get("no_target_network").lesson in [c.value for c in at.caption]
    assert "afresh" in at.button(key="rl_load").help  # says it starts over
    at.button(key="rl_load").click().run()
    ok(at)
    assert at.session_state[P.CONFIG] == PRESETS.get("no_target_network").config
    assert iteration(at) == 0  # a preset starts afresh
    assert widget(at, "select_slider", "Target network update period (updates)").value == 1
    assert json.loads(at.query_params["rl"]) == {"target_period": 1}


# -- the pieces without Streamlit ----------------------------------------------------------

def test_the_link_round_trips_and_names_only_differences() -> None:
    c = SOURCE.replace(hidden=(16, 16), learning_rate=0.01, loss="huber", double=True)
    text = F.to_query(c)
    assert json.loads(text) == {"learning_rate": 0.01, "hidden": [16, 16], "loss": "huber",
                                "double": True}
    assert F.from_query(text) == c and F.to_query(SOURCE) == ""
    assert json.loads(F.to_json(c))["hidden"] == [16, 16]


def test_history_records_returns_at_their_steps_and_flags_divergence() -> None:
    nan = math.nan
    log = DQNLog(returns=np.array([[nan, 12.0], [nan, nan], [30.0, nan]]),
                 loss=np.array([nan, 0.5, 1.5]), mean_q=np.array([1.0, 2.0, 3.0]),
                 epsilon=np.array([1.0, 0.9, 0.8]))
    h = F.History.empty().record(log, 10, 2)
    assert h.ret.tolist() == [12.0, 30.0] and h.ret_at.tolist() == [22.0, 26.0]
    assert h.at.tolist() == [26.0] and h.loss.tolist() == [1.0] and h.epsilon.tolist() == [0.8]
    assert not h.diverged() and h.average() == 21.0
    bad = log._replace(mean_q=np.array([1.0, nan, nan]))
    assert h.record(bad, 13, 2).diverged()
    c = F.curves(h)
    assert c["avg"] == [12.0, 21.0] and c["loss"] == [1.0]


def test_divergence_pauses_and_says_so() -> None:
    import dataclasses

    import jax

    at = page()
    state = at.session_state[P.STATE]
    at.session_state[P.STATE] = dataclasses.replace(  # a network blown up to NaN
        state, params=jax.tree.map(lambda a: a * np.nan, state.params))
    at.session_state["rl_playing"] = True
    at.button(key="rl_step").click().run()
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and "diverged" in errors[0]
    assert at.session_state["rl_playing"] is False and at.session_state[P.DIVERGED]
    assert at.button(key="rl_play").label == "Play"
    at.button(key="rl_reset").click().run()
    assert P.DIVERGED not in at.session_state and iteration(at) == 0


def test_the_share_link_box_carries_the_config() -> None:
    at = page({"rl": json.dumps({"target_period": 1})})
    ok(at)
    assert not at.get("download_button")  # built only once the expander is open
    at = opened(at, "rl_export")
    ok(at)
    assert not at.code
    link = widget(at, "text_input", "Link to this setup").value
    assert "rl=" in link and "target_period" in link


# -- what a frame may cost -------------------------------------------------------------------

COSTLY = {"hidden": [512, 512, 512, 512], "batch_size": 1024, "n_envs": 64,
          "learning_starts": 0, "train_every": 1}


def test_a_link_to_a_network_too_costly_for_live_frames_is_refused_with_what_to_lower():
    """Each value is within the link's ranges, but together one frame of the slowest
    speed would hold the server for seconds (measured: 1 s per 10 iterations here)."""
    at = page({"rl": json.dumps(COSTLY)})
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and "could not be used" in errors[0], errors
    assert "10 iterations" in errors[0] and "lower the hidden layers' units" in errors[0]
    assert at.session_state[P.CONFIG] == SOURCE


def test_the_cost_estimate_grows_with_every_field_and_the_presets_fit():
    base = F.iteration_flops(SOURCE)
    for change in ({"hidden": (128,)}, {"batch_size": 128}, {"n_envs": 16}):
        assert F.iteration_flops(SOURCE.replace(**change)) > base
    assert F.iteration_flops(SOURCE.replace(train_every=4)) < base
    assert all(P.refusal(PRESETS.get(n).config) is None for n in PRESETS.names())
    assert P.refusal(SOURCE.replace(**{k: tuple(v) if k == "hidden" else v
                                       for k, v in COSTLY.items()})) is not None


def test_a_slow_network_trains_fewer_iterations_a_call():
    """Calls stay within their budget at the network's pace (as ``limits.plan`` keeps the
    other pages'): Step's 2 s trains 10 iterations, not 100, at 50 ms an iteration."""
    at = page()
    at.session_state[P.PACE] = F.Pace(F.pace_key(SOURCE), 0.05, frozenset({P.SPEED}))
    at.button(key="rl_step").click().run()
    ok(at)
    assert iteration(at) == 10
    assert at.session_state[P.PACE].seconds == 0.05  # a first call (it may compile): kept
    at.button(key="rl_step").click().run()
    assert iteration(at) == 20
    assert at.session_state[P.PACE].seconds < 0.05  # measured: this network is fast
    at.button(key="rl_step").click().run()
    assert iteration(at) == 20 + P.SPEED  # back to the slider's speed


def test_pacing_estimates_first_measures_after_and_keeps_to_compiled_speeds():
    speeds, play = (10, 100, 200), 0.25
    pace = F.pace_of(None, SOURCE, 3e10)  # the default: estimated fast
    assert F.paced(200, speeds, pace, play) == 200
    assert F.pace_of(pace, SOURCE.replace(learning_rate=0.01), 3e10) is pace  # a value
    wide = SOURCE.replace(hidden=(512, 512, 512))  # near the refusal's line
    assert P.refusal(wide) is None
    assert F.paced(100, speeds, F.pace_of(pace, wide, 3e10), play) == 10  # before measuring
    pace = F.measured(pace, 100, 5.0)  # a first call may compile: not measured
    assert pace.seen == {100} and pace.seconds == F.pace_of(None, SOURCE, 3e10).seconds
    pace = F.measured(pace, 100, 1.0)
    assert pace.seconds == pytest.approx(0.01)
    assert F.paced(200, speeds, pace, play) == 10
    assert F.paced(200, speeds, pace, 2.0) == 200  # Step's budget
    assert F.paced(200, speeds, pace._replace(seconds=1.0), play) == 10  # at least the least


def test_a_control_that_makes_the_network_too_costly_is_refused_and_kept_back():
    """A link's wide network fits at batch 64; the sidebar's batch of 256 would not."""
    at = page({"rl": '{"hidden":[512,512,512]}'})
    ok(at)
    widget(at, "select_slider", "Batch size").set_value(256).run()
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and errors[0].startswith("Too costly for this server: "), errors
    assert "lower the hidden layers' units, the batch size" in errors[0]
    assert at.session_state[P.CONFIG].batch_size == 64  # the last good one
    assert at.session_state[P.CONFIG].hidden == (512, 512, 512)
